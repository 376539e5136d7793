"""Running ``pg_dump`` / ``pg_restore`` against the configured PostgreSQL database."""

from __future__ import annotations

import glob
import os
import re
import shutil

# Accepted (bandit B404, until 2027-06-30): runs PostgreSQL's client tools, no shell.
import subprocess  # nosec B404
from pathlib import Path

from django.db import connection


class ToolMissing(Exception):
    """No pg_dump / pg_restore at least as new as the server."""


def _major(binary: str) -> int:
    # Accepted (bandit B603, until 2027-06-30): a PostgreSQL tool found on disk, no shell.
    out = subprocess.run(  # noqa: S603  # nosec B603
        [binary, "--version"], capture_output=True, text=True, check=False, timeout=30
    ).stdout
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else 0


def find_tool(name: str) -> str:
    """The tool matching the server's major version, or the newest one that is not older."""
    connection.ensure_connection()
    server = int(connection.pg_version) // 10000  # type: ignore[attr-defined]
    candidates = [f"/usr/lib/postgresql/{server}/bin/{name}"]
    candidates += sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = shutil.which(name)
    if found:
        candidates.append(found)
    for candidate in candidates:
        if (
            Path(candidate).is_file()
            and os.access(candidate, os.X_OK)
            and _major(candidate) >= server
        ):
            return candidate
    raise ToolMissing(
        f"{name} for PostgreSQL {server} or newer is not installed "
        f"(Debian: apt-get install postgresql-client-{server})"
    )


def libpq_env() -> dict[str, str]:
    """The environment that points libpq tools at Django's default database."""
    db = connection.settings_dict
    env = dict(os.environ)
    mapping = {
        "PGHOST": db.get("HOST"),
        "PGPORT": db.get("PORT"),
        "PGUSER": db.get("USER"),
        "PGPASSWORD": db.get("PASSWORD"),
        "PGDATABASE": db.get("NAME"),
    }
    options = db.get("OPTIONS") or {}
    for option, variable in (
        ("sslmode", "PGSSLMODE"),
        ("sslrootcert", "PGSSLROOTCERT"),
        ("sslcert", "PGSSLCERT"),
        ("sslkey", "PGSSLKEY"),
        ("connect_timeout", "PGCONNECT_TIMEOUT"),
    ):
        mapping[variable] = options.get(option)
    for variable, value in mapping.items():
        if value:
            env[variable] = str(value)
        else:
            env.pop(variable, None)
    return env
