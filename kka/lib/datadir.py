"""The data directory: SQLite file, generated keys, mail files, uploads."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def data_dir() -> Path:
    return Path(os.environ.get("KKA_DATA_DIR", "var")).resolve()


def secret_file(name: str, make: Callable[[], str]) -> str:
    """Read a generated secret from the data directory, creating it (mode 0600) if absent.

    Only used in development mode; production must be given its secrets explicitly.
    """
    path = data_dir() / name
    if not path.exists():
        ensure_private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(make())
    return path.read_text().strip()


def new_secret_key() -> str:
    return secrets.token_urlsafe(50)


def ensure_private_dir(path: Path) -> None:
    """Create a directory readable only by the service user (mode 0700)."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True)
