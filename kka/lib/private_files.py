"""Uploaded files: checked by content, encrypted, stored under server-made names.

Files live in ``settings.PRIVATE_FILES_ROOT``, outside the static and media roots,
and are only ever served by access-checked views.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from kka.lib.crypto import decrypt_bytes, encrypt_bytes
from kka.lib.datadir import ensure_private_dir

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


def _root() -> Path:
    root = Path(settings.PRIVATE_FILES_ROOT)
    ensure_private_dir(root)
    return root


def store(data: bytes) -> StoredFile:
    if not data:
        raise RejectedFile("empty")
    if len(data) > settings.UPLOAD_MAX_BYTES:
        raise RejectedFile("too_large")
    content_type = sniff_content_type(data)
    if content_type is None:
        raise RejectedFile("type")
    name = secrets.token_hex(20) + ALLOWED_TYPES[content_type] + ".enc"
    (_root() / name).write_bytes(encrypt_bytes(data))
    return StoredFile(
        stored_name=name,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def read(stored_name: str) -> bytes:
    path = _root() / Path(stored_name).name
    return decrypt_bytes(path.read_bytes())


def remove(stored_name: str) -> None:
    path = _root() / Path(stored_name).name
    path.unlink(missing_ok=True)
