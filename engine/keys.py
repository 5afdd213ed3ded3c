"""Function keys and operation ids: opaque, unguessable, URL- and DNS-safe.

128 random bits as lowercase base32 without padding gives 26 characters of `[a-z2-7]`: short
enough to embed in a Kubernetes object name (a DNS-1123 label), safe in a URL path or query
without escaping, and impossible to enumerate (unlike the sequential or time-ordered ids of the
original, where the MongoDB ObjectId leaked the creation time and a counter).
"""

from __future__ import annotations

import base64
import re
import secrets

KEY_LENGTH = 26
_KEY_RE = re.compile(r"^[a-z2-7]{26}$")


def new_key() -> str:
    """A fresh key; collisions are as likely as guessing a 128-bit secret."""
    raw = secrets.token_bytes(16)
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def is_key(value: str) -> bool:
    """True when `value` has the shape of a key (it may still name nothing)."""
    return bool(_KEY_RE.match(value))
