"""Configuration checks with stable ids (kka.E0xx errors, kka.W0xx warnings).

``kka check`` prints them; in production any error stops ``kka run``, every other
``kka`` command and the WSGI application from starting.
"""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core import checks

from kka.lib.crypto import parse_keys

KNOWN_ENVIRONMENTS = {"development", "production"}


@checks.register("kka")
def check_environment(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    messages: list[checks.CheckMessage] = []
    if settings.KKA_ENV not in KNOWN_ENVIRONMENTS:
        messages.append(
            checks.Error(
                f"KKA_ENV is '{settings.KKA_ENV}'.",
                hint="Set KKA_ENV to 'development' or 'production'.",
                id="kka.E005",
            )
        )
    if not settings.PRODUCTION:
        return messages
    key = settings.SECRET_KEY or ""
    if key == settings.INSECURE_SECRET_KEY or len(key) < 50 or len(set(key)) < 5:
        messages.append(
            checks.Error(
                "KKA_SECRET_KEY is missing, the default, or too weak.",
                hint="Set KKA_SECRET_KEY to a random value of at least 50 characters, e.g. "
                "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'.",
                id="kka.E001",
            )
        )
    if settings.DEBUG:
        messages.append(
            checks.Error(
                "KKA_DEBUG is on in production.",
                hint="Unset KKA_DEBUG: debug pages show internals and data.",
                id="kka.E002",
            )
        )
    if not settings.FIELD_ENCRYPTION_KEYS:
        messages.append(
            checks.Error(
                "KKA_FIELD_KEYS is not set: sensitive fields cannot be encrypted.",
                hint="Generate a key with 'kka keys new' and set KKA_FIELD_KEYS to it "
                "(comma-separated, newest first). Keep it apart from KKA_SECRET_KEY and "
                "from database backups.",
                id="kka.E003",
            )
        )
    if len(settings.SEARCH_INDEX_KEY or "") < 32:
        messages.append(
            checks.Error(
                "KKA_INDEX_KEY is missing or shorter than 32 characters.",
                hint="Set KKA_INDEX_KEY to a random value of at least 32 characters; it keys "
                "the search indexes of encrypted names. Changing it needs 'kka reindex'.",
                id="kka.E008",
            )
        )
    if not settings.ALLOWED_HOSTS:
        messages.append(
            checks.Error(
                "KKA_ALLOWED_HOSTS is empty in production.",
                hint="Set KKA_ALLOWED_HOSTS to the host names the application is served on.",
                id="kka.E006",
            )
        )
    if not settings.KKA_BASE_URL.startswith("https://"):
        messages.append(
            checks.Error(
                "KKA_BASE_URL is not an https:// address.",
                hint="Set KKA_BASE_URL to the public address of KKA, e.g. "
                "https://kka.example.sch.id; invitation links are built from it.",
                id="kka.E009",
            )
        )
    if not settings.MAIL_DELIVERED:
        messages.append(
            checks.Warning(
                "No SMTP server is configured: mail is only written to files.",
                hint="Set KKA_SMTP_HOST (and KKA_SMTP_PORT, KKA_SMTP_USER, KKA_SMTP_PASSWORD).",
                id="kka.W001",
            )
        )
    return messages


@checks.register("kka")
def check_field_keys(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    keys = list(settings.FIELD_ENCRYPTION_KEYS)
    try:
        parse_keys(keys)
    except ValueError as exc:
        return [
            checks.Error(
                f"KKA_FIELD_KEYS: {exc}.",
                hint="Each key is 32 url-safe base64-encoded bytes, as 'kka keys new' prints.",
                id="kka.E004",
            )
        ]
    if settings.SECRET_KEY in keys:
        return [
            checks.Error(
                "KKA_FIELD_KEYS contains KKA_SECRET_KEY.",
                hint="Field-encryption keys must be separate from the secret key.",
                id="kka.E007",
            )
        ]
    return []


SESSION_IDLE_RANGE = (5, 30)


@checks.register("kka")
def check_session_limits(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    low, high = SESSION_IDLE_RANGE
    if not low <= settings.SESSION_IDLE_MINUTES <= high:
        return [
            checks.Error(
                f"KKA_SESSION_IDLE_MINUTES must be a whole number from {low} to {high}.",
                hint="Unset it for the default of 15 minutes without activity, or choose a "
                f"value from {low} to {high}.",
                id="kka.E015",
            )
        ]
    return []


@checks.register("kka")
def check_second_factor(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    if settings.PRODUCTION and not getattr(settings, "KKA_REQUIRE_2FA", True):
        return [
            checks.Warning(
                "KKA_REQUIRE_2FA is off in production: staff may log in with a password only.",
                hint="Only for a demo. Unset KKA_REQUIRE_2FA (or set it to true) for real use.",
                id="kka.W012",
            )
        ]
    return []


FILE_SYSTEM_STORAGES = {
    "kka.lib.private_files.PrivateFileSystemStorage",
    "django.core.files.storage.FileSystemStorage",
}


@checks.register("kka")
def check_many_machines(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """KKA_SERVERS > 1: nothing may live on one application server only."""
    servers = getattr(settings, "KKA_SERVERS", 1)
    if servers < 1:
        return [
            checks.Error(
                "KKA_SERVERS must be a whole number of at least 1.",
                hint="Set it to the number of application servers sharing this database "
                "(1, the default, for a single machine).",
                id="kka.E032",
            )
        ]
    if servers == 1:
        return []
    messages: list[checks.CheckMessage] = []
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        messages.append(
            checks.Error(
                f"KKA_SERVERS is {servers} but the database is SQLite, a file on one machine.",
                hint="Set DATABASE_URL to a PostgreSQL database shared by every server, or "
                "run a single server (KKA_SERVERS=1).",
                id="kka.E030",
            )
        )
    if not getattr(settings, "REDIS_URL", ""):
        messages.append(
            checks.Error(
                f"KKA_SERVERS is {servers} but REDIS_URL is not set.",
                hint="Set REDIS_URL (e.g. redis://redis.internal:6379/0): the cache, rate "
                "limits and background jobs must be shared by every server.",
                id="kka.E031",
            )
        )
    backend = settings.STORAGES.get("private", {}).get("BACKEND", "")
    if backend in FILE_SYSTEM_STORAGES and not getattr(settings, "KKA_SHARED_FILES", False):
        messages.append(
            checks.Warning(
                f"KKA_SERVERS is {servers} but uploaded files are kept on this server's disk.",
                hint="Set KKA_S3_BUCKET (S3-compatible object storage), or put the data "
                "directory's 'private' folder on a mount every server shares and set "
                "KKA_SHARED_FILES=1.",
                id="kka.W030",
            )
        )
    return messages


# Refused in every environment: a second server on SQLite or without Redis would silently
# split the data, the sessions and the lock-outs.
ALWAYS_REFUSED = {"kka.E030", "kka.E031", "kka.E032"}


def startup_errors() -> list[checks.CheckMessage]:
    found = checks.run_checks(include_deployment_checks=False)
    return [m for m in found if m.level >= checks.ERROR and not m.is_silenced()]


def refuse_to_start_on_errors() -> None:
    """In production, stop with a clear message when the configuration has errors; in any
    mode, when it is told to run on several servers without the shared stores."""
    if settings.PRODUCTION:
        errors = startup_errors()
    else:
        errors = [m for m in check_many_machines() if m.id in ALWAYS_REFUSED]
    if errors:
        mode = "production" if settings.PRODUCTION else "development"
        lines = [f"KKA refuses to start in {mode} mode:"]
        lines += [f"  {m.id}: {m.msg}  ({m.hint})" for m in errors]
        sys.stderr.write("\n".join(lines) + "\n")
        raise SystemExit(2)
