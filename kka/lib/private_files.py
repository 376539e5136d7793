"""Uploaded files: checked by content, encrypted, stored under server-made names.

Files go through the ``private`` storage (``settings.STORAGES["private"]``): by default
the file system under ``settings.PRIVATE_FILES_ROOT``, outside the static and media
roots; S3-compatible object storage when ``KKA_S3_BUCKET`` is set. They are encrypted
before they reach any storage, and are only ever served by access-checked views.
"""

from __future__ import annotations

import hashlib
import io
import os
import secrets
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, storages

from kka.lib.crypto import decrypt_bytes, encrypt_bytes

ALLOWED_TYPES = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}


class RejectedFile(ValueError):
    """The upload is not an allowed type, is empty or too large."""


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    content_type: str
    size: int
    sha256: str


def sniff_content_type(data: bytes) -> str | None:
    """The type the bytes really are (never the name or the browser's claim)."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return None
        if "[Content_Types].xml" in names and "word/document.xml" in names:
            return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return None


class PrivateFileSystemStorage(FileSystemStorage):
    """The file system under ``settings.PRIVATE_FILES_ROOT``, read at each use (so a test
    that moves the root moves the files); directories 0700, files 0600; no URLs."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("file_permissions_mode", 0o600)
        kwargs.setdefault("directory_permissions_mode", 0o700)
        super().__init__(**kwargs)

    @property  # type: ignore[override]
    def base_location(self) -> str:
        given = getattr(self, "_location", None)
        return str(self._value_or_setting(given, settings.PRIVATE_FILES_ROOT))

    @property  # type: ignore[override]
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise ValueError("private files have no URL; access-checked views serve them")


def storage() -> Storage:
    """Where the (encrypted) files are kept: ``settings.STORAGES["private"]``."""
    return storages["private"]


def _name(stored_name: str) -> str:
    # Only server-made names, never a path: "../x" or "a/b" cannot reach another file.
    return Path(stored_name).name


# Names stored inside ``removed_if_rolled_back()`` blocks of this thread (innermost last).
_tracked = threading.local()


@contextmanager
def removed_if_rolled_back() -> Iterator[None]:
    """Files stored inside the block are deleted again when the block raises.

    Wrap a transaction whose rows name the files it stores (a task's work, say): when
    it rolls back, no encrypted file is left that no row refers to (such a file would
    escape erasure and retention).
    """
    stack: list[list[str]] = _tracked.__dict__.setdefault("stack", [])
    names: list[str] = []
    stack.append(names)
    try:
        yield
    except BaseException:
        stack.remove(names)
        for name in names:
            with suppress(OSError):  # the original error matters more
                remove(name)
        raise
    stack.remove(names)
    if stack:  # an enclosing block removes them if it fails in turn
        stack[-1].extend(names)


def store(data: bytes) -> StoredFile:
    if not data:
        raise RejectedFile("empty")
    if len(data) > settings.UPLOAD_MAX_BYTES:
        raise RejectedFile("too_large")
    content_type = sniff_content_type(data)
    if content_type is None:
        raise RejectedFile("type")
    name = secrets.token_hex(20) + ALLOWED_TYPES[content_type] + ".enc"
    name = storage().save(name, ContentFile(encrypt_bytes(data)))
    for names in _tracked.__dict__.get("stack", [])[-1:]:
        names.append(name)
    return StoredFile(
        stored_name=name,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def read(stored_name: str) -> bytes:
    """The decrypted bytes; FileNotFoundError when the file is gone (every backend)."""
    with storage().open(_name(stored_name), "rb") as fh:
        return decrypt_bytes(fh.read())


def remove(stored_name: str) -> None:
    """Delete the file; nothing happens when it is already gone."""
    storage().delete(_name(stored_name))
