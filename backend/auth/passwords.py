"""Secrets hashed with Argon2id; tokens are random and stored only as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["hash_secret", "hash_token", "new_token", "verify_secret"]

_hasher = PasswordHasher()

# Checked against when the user is unknown, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("lotline-no-such-user")


def hash_secret(secret: str) -> str:
    """Hash a password or PIN with Argon2id."""
    return _hasher.hash(secret)


def verify_secret(stored: str | None, secret: str) -> bool:
    """Whether `secret` matches `stored`; a missing hash never matches but costs the same."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, secret) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A fresh bearer token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    """The digest stored for a token; the token itself is never stored."""
    return hashlib.sha256(token.encode()).digest()
