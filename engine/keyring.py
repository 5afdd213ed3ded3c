"""The control plane's own key, and what is derived from it: the keys that wrap functions'
secret values (envelope encryption), the fingerprints shown in their place, and the signature
of console sessions.

The master key is `LAMBDACLONE_SECRET_KEY` (base64 of 32 bytes), or one generated once into
`<data_dir>/secret.key` (mode 0600). It never encrypts data itself: each sealed set of values
gets a fresh data key, and only that data key is wrapped by a `KeyWrapper` — the local one
below (AES-256-GCM under the master key), or any other with the same two methods (a cloud KMS).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from engine.errors import SecretKeyError
from engine.files import write_private
from engine.spec import SealedValue, Secrets

KEY_BYTES = 32
NONCE_BYTES = 12
KEY_FILE = "secret.key"


class KeyWrapper(Protocol):
    """Wraps and unwraps data keys (a KMS's Encrypt/Decrypt of a data key)."""

    def wrap(self, data_key: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes) -> bytes: ...


class LocalKeyWrapper:
    def __init__(self, master: bytes) -> None:
        self._aead = AESGCM(master)

    def wrap(self, data_key: bytes) -> bytes:
        return seal_bytes(self._aead, data_key, b"lambdaclone data key")

    def unwrap(self, wrapped: bytes) -> bytes:
        return open_bytes(self._aead, wrapped, b"lambdaclone data key")


class Keyring:
    def __init__(self, master: bytes, wrapper: KeyWrapper | None = None) -> None:
        if len(master) != KEY_BYTES:
            raise SecretKeyError(f"the secret key must be {KEY_BYTES} bytes")
        self.wrapper = wrapper or LocalKeyWrapper(master)
        self._fingerprints = _derive(master, b"secret fingerprints")
        self._sessions = _derive(master, b"console sessions")

    def fingerprint(self, name: str, value: str) -> str:
        """Tells values apart without revealing them: keyed, so no one can test guesses."""
        digest = hmac.new(self._fingerprints, f"{name}\0{value}".encode(), hashlib.sha256)
        return digest.hexdigest()[:16]

    def seal(self, updates: Mapping[str, str | None], current: Secrets) -> Secrets:
        """`current` with `updates` applied (a None removes the name), sealed under the set's
        data key (a new one for a new set)."""
        data_key = self._data_key(current)
        aead = AESGCM(data_key)
        values = dict(current.values)
        for name, value in updates.items():
            if value is None:
                values.pop(name, None)
                continue
            sealed = seal_bytes(aead, value.encode(), name.encode())
            values[name] = SealedValue(_b64(sealed), self.fingerprint(name, value))
        if not values:
            return Secrets()
        wrapped = current.data_key or _b64(self.wrapper.wrap(data_key))
        return Secrets(wrapped, tuple(sorted(values.items())))

    def open(self, secrets: Secrets) -> dict[str, str]:
        """The plain values: only for the environment of the worker that runs them."""
        if not secrets.values:
            return {}
        aead = AESGCM(self.wrapper.unwrap(_unb64(secrets.data_key)))
        return {
            name: open_bytes(aead, _unb64(sealed.ciphertext), name.encode()).decode()
            for name, sealed in secrets
        }

    def _data_key(self, current: Secrets) -> bytes:
        if current.data_key:
            return self.wrapper.unwrap(_unb64(current.data_key))
        return AESGCM.generate_key(bit_length=KEY_BYTES * 8)

    def sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._sessions, payload, hashlib.sha256).digest())

    def verify(self, payload: bytes, signature: str) -> bool:
        return hmac.compare_digest(self.sign(payload), signature)


def seal_bytes(aead: AESGCM, plain: bytes, context: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + aead.encrypt(nonce, plain, context)


def open_bytes(aead: AESGCM, sealed: bytes, context: bytes) -> bytes:
    try:
        return aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
    except (InvalidTag, ValueError) as exc:
        raise SecretKeyError("a sealed value does not open with this secret key") from exc


def load_master_key(configured: str | None, data_dir: Path) -> bytes:
    """The configured key, the one in the data dir, or a new one written there."""
    if configured:
        return _decode_key(configured, "LAMBDACLONE_SECRET_KEY")
    path = data_dir / KEY_FILE
    if path.exists():
        return _decode_key(path.read_text().strip(), str(path))
    key = os.urandom(KEY_BYTES)
    write_private(path, _b64(key) + "\n")
    return key


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:
        raise SecretKeyError(f"{where} is not base64") from exc
    if len(key) != KEY_BYTES:
        raise SecretKeyError(f"{where} must hold {KEY_BYTES} bytes, base64")
    return key


def _derive(master: bytes, purpose: bytes) -> bytes:
    return hmac.new(master, b"lambdaclone " + purpose, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:
        raise SecretKeyError("a sealed value is not base64") from exc
