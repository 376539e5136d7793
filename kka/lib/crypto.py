"""Field encryption at rest with MultiFernet.

Keys come from ``settings.FIELD_ENCRYPTION_KEYS`` (newest first): the newest key
encrypts, every key decrypts, so keys can be rotated. A value that does not
authenticate raises :class:`DecryptionError`; it never comes back as garbage or as
the stored text.
"""

from __future__ import annotations

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class DecryptionError(Exception):
    """A stored ciphertext failed authentication (tampered, or no matching key)."""


def new_field_key() -> str:
    return Fernet.generate_key().decode("ascii")


def parse_keys(keys: list[str]) -> list[Fernet]:
    """Fernet objects for the given keys; raises ValueError naming the bad position."""
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode("ascii")))
        except (ValueError, UnicodeEncodeError) as exc:
            raise ValueError(f"key #{position} is not a valid Fernet key") from exc
    return fernets


@functools.cache
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise DecryptionError("no field-encryption keys are configured")
    return MultiFernet(parse_keys(list(keys)))


def _current() -> MultiFernet:
    return _multifernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_text(plaintext: str) -> str:
    return _current().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str:
    try:
        return _current().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError) as exc:
        raise DecryptionError("encrypted value failed authentication") from exc


def rotate_token(token: str) -> str:
    """Re-encrypt a stored token with the newest key."""
    try:
        return _current().rotate(token.encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError) as exc:
        raise DecryptionError("encrypted value failed authentication") from exc


def encrypt_bytes(data: bytes) -> bytes:
    return _current().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    try:
        return _current().decrypt(token)
    except InvalidToken as exc:
        raise DecryptionError("encrypted file failed authentication") from exc
