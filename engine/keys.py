"""Function keys and operation ids: opaque, unguessable, URL- and DNS-safe — and the one rule
for what a key may look like wherever it is used.

128 random bits as lowercase base32 without padding gives 26 characters of `[a-z2-7]`: short
enough to embed in a Kubernetes object name (a DNS-1123 label), safe in a URL path or query
without escaping, and impossible to enumerate (unlike the sequential or time-ordered ids of the
original, where the MongoDB ObjectId leaked the creation time and a counter).

A key names Kubernetes objects (`lc-<key>`, at most 63 characters), a Pulumi stack and a
directory, so `check_key` accepts exactly the DNS labels that fit there; generated keys are a
subset of those.
"""

from __future__ import annotations

import base64
import re
import secrets

from engine.errors import InvalidInput

KEY_LENGTH = 26
KEY_MAX = 60
"""63 (a DNS label) minus the `lc-` prefix of the Kubernetes object names."""
_KEY_RE = re.compile(r"[a-z2-7]{26}")
_NAMEABLE_RE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")


def new_key() -> str:
    """A fresh key; collisions are as likely as guessing a 128-bit secret."""
    raw = secrets.token_bytes(16)
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def is_key(value: str) -> bool:
    """True when `value` has the shape of a generated key (it may still name nothing): the API
    answers anything else 404 without asking the store."""
    return _KEY_RE.fullmatch(value) is not None


def nameable(value: str) -> bool:
    """Whether `value` can name objects, a stack and a directory (targets accept any such
    key, so tests and tools may choose readable ones)."""
    return len(value) <= KEY_MAX and _NAMEABLE_RE.fullmatch(value) is not None


def check_key(key: str) -> str:
    """`key` itself, if it is `nameable`."""
    if not nameable(key):
        raise InvalidInput(
            f"function key {key!r} is not a key (lowercase letters, digits and '-', at most "
            f"{KEY_MAX} characters)",
            field="key",
        )
    return key
