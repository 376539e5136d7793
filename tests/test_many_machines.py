"""Many machines: shared cache, sessions, lock-outs and files; refusing SQLite on several
servers (kka.E030-E032, kka.W030). The two-server run is tests/integration/test_two_servers.py."""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core import checks
from django.core.files.storage import InMemoryStorage
from pytest_django import Settings as SettingsWrapper

from kka.audit.models import AuditEvent
from kka.checks import check_many_machines
from kka.lib import private_files, rotation
from kka.lib.crypto import _multifernet

PNG = b"\x89PNG\r\n\x1a\n" + b"RAHASIA-BANYAK-MESIN" * 8
OVERWRITING = "tests.test_many_machines.OverwritingMemoryStorage"


class OverwritingMemoryStorage(InMemoryStorage):
    """Object storage as KKA configures S3 (file_overwrite): a save under an existing name
    replaces the object. A real Django storage, kept in memory."""

    file_overwrite = True

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return name


def _ids() -> list[str]:
    return [str(message.id) for message in check_many_machines(None)]


@pytest.fixture(autouse=True)
def _fresh_key_cache() -> Iterator[None]:
    _multifernet.cache_clear()
    yield
    _multifernet.cache_clear()


# --- the checks ---------------------------------------------------------------------


def test_one_server_needs_nothing_shared(settings: SettingsWrapper) -> None:
    settings.KKA_SERVERS = 1
    settings.REDIS_URL = ""
    assert check_many_machines(None) == []


def test_several_servers_without_redis_is_an_error(settings: SettingsWrapper) -> None:
    settings.KKA_SERVERS = 2
    settings.REDIS_URL = ""
    assert "kka.E031" in _ids()


def test_several_servers_with_redis_need_no_redis_error(settings: SettingsWrapper) -> None:
    settings.KKA_SERVERS = 3
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    assert "kka.E031" not in _ids()


@pytest.mark.parametrize("servers", [0, -1])
def test_a_server_count_below_one_is_an_error(settings: SettingsWrapper, servers: int) -> None:
    settings.KKA_SERVERS = servers
    assert _ids() == ["kka.E032"]


def test_files_on_local_disk_with_several_servers_warn(settings: SettingsWrapper) -> None:
    settings.KKA_SERVERS = 2
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    settings.KKA_SHARED_FILES = False
    messages = check_many_machines(None)
    warning = next(m for m in messages if m.id == "kka.W030")
    assert warning.level == checks.WARNING
    assert "KKA_SHARED_FILES" in (warning.hint or "")


def test_a_shared_mount_or_object_storage_silences_the_file_warning(
    settings: SettingsWrapper,
) -> None:
    settings.KKA_SERVERS = 2
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    settings.KKA_SHARED_FILES = True
    assert "kka.W030" not in _ids()

    settings.KKA_SHARED_FILES = False
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {"BACKEND": "storages.backends.s3.S3Storage"},
    }
    assert "kka.W030" not in _ids()


def test_sessions_and_lockouts_live_in_the_shared_database(settings: SettingsWrapper) -> None:
    """Decided: no cached_db sessions. Ending a session deletes its row, which then takes
    effect on every server at once; a cached copy could outlive it."""
    from django.conf import settings as live

    assert live.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    assert live.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"


# --- settings and start-up, in a fresh process -------------------------------------------


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "KKA_ENV": "development",
        "KKA_DATA_DIR": str(tmp_path / "data"),
        "DJANGO_SETTINGS_MODULE": "kka.settings",
    }
    env.update(extra)
    return env


def _run(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


SHOW_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
from django.core.files.storage import storages
private = storages["private"]
print(json.dumps({
    "cache": settings.CACHES["default"],
    "private": type(private).__module__ + "." + type(private).__name__,
    "bucket": getattr(private, "bucket_name", None),
    "endpoint": getattr(private, "endpoint_url", None),
    "region": getattr(private, "region_name", None),
    "prefix": getattr(private, "location", None),
    "overwrite": getattr(private, "file_overwrite", None),
    "acl": getattr(private, "default_acl", "-"),
}))
"""


def _settings_seen(env: dict[str, str], cwd: Path) -> dict[str, Any]:
    result = _run(env, "-c", SHOW_SETTINGS, cwd=cwd)
    assert result.returncode == 0, result.stderr
    seen: dict[str, Any] = json.loads(result.stdout)
    return seen


def test_without_redis_the_cache_is_in_process_and_files_on_disk(tmp_path: Path) -> None:
    seen = _settings_seen(_env(tmp_path), tmp_path)
    assert seen["cache"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert seen["private"] == "kka.lib.private_files.PrivateFileSystemStorage"
    assert seen["prefix"] == str(tmp_path / "data" / "private")


def test_with_redis_url_the_cache_is_redis_with_the_kka_prefix(tmp_path: Path) -> None:
    url = "redis://redis.internal:6379/3"
    seen = _settings_seen(_env(tmp_path, REDIS_URL=url), tmp_path)
    assert seen["cache"] == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": "kka",
        # A Redis that does not answer fails fast instead of hanging page requests.
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }


def test_with_a_bucket_files_go_to_s3_compatible_storage(tmp_path: Path) -> None:
    env = _env(
        tmp_path,
        KKA_S3_BUCKET="kka-berkas",
        KKA_S3_ENDPOINT="https://s3.provinsi.example",
        KKA_S3_REGION="id-jkt-1",
        KKA_S3_ACCESS_KEY="akses",
        KKA_S3_SECRET_KEY=secrets.token_urlsafe(20),
    )
    seen = _settings_seen(env, tmp_path)
    assert seen == {
        **seen,
        "private": "storages.backends.s3.S3Storage",
        "bucket": "kka-berkas",
        "endpoint": "https://s3.provinsi.example",
        "region": "id-jkt-1",
        "prefix": "private",
        "overwrite": True,
        "acl": None,
    }


def test_several_servers_on_sqlite_refuse_to_start_even_in_development(tmp_path: Path) -> None:
    env = _env(tmp_path, KKA_SERVERS="2")
    result = _run(env, "-m", "kka.cli", "migrate", "--no-input", cwd=tmp_path)

    assert result.returncode == 2
    assert "refuses to start" in result.stderr
    assert "kka.E030" in result.stderr
    assert "kka.E031" in result.stderr
    assert not (tmp_path / "data" / "kka.sqlite3").exists()  # nothing was migrated

    result = _run(env, "-c", "import kka.wsgi", cwd=tmp_path)
    assert result.returncode == 2
    assert "kka.E030" in result.stderr


def test_kka_check_explains_a_many_machine_mistake(tmp_path: Path) -> None:
    result = _run(_env(tmp_path, KKA_SERVERS="2"), "-m", "kka.cli", "check", cwd=tmp_path)
    assert result.returncode != 0
    assert "refuses to start" not in result.stderr
    assert "kka.E030" in result.stderr


def test_several_servers_with_postgresql_redis_and_shared_files_start(tmp_path: Path) -> None:
    env = _env(
        tmp_path,
        KKA_SERVERS="2",
        DATABASE_URL="postgres://kka@db.internal:5432/kka",  # not connected to on import
        REDIS_URL="redis://redis.internal:6379/0",
        KKA_SHARED_FILES="1",
    )
    result = _run(env, "-c", "import kka.wsgi; print('ok')", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# --- files through the configured storage -------------------------------------------------


def test_files_on_disk_are_encrypted_and_private(settings: SettingsWrapper, tmp_path: Path) -> None:
    settings.PRIVATE_FILES_ROOT = tmp_path / "a" / "private"
    stored = private_files.store(PNG)

    path = settings.PRIVATE_FILES_ROOT / stored.stored_name
    assert b"RAHASIA" not in path.read_bytes()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert private_files.read(stored.stored_name) == PNG
    with pytest.raises(ValueError, match="no URL"):
        private_files.storage().url(stored.stored_name)

    private_files.remove(stored.stored_name)
    private_files.remove(stored.stored_name)  # already gone: nothing happens
    assert not path.exists()
    with pytest.raises(FileNotFoundError):
        private_files.read(stored.stored_name)


def test_files_go_through_the_configured_storage_encrypted(
    settings: SettingsWrapper, tmp_path: Path
) -> None:
    settings.PRIVATE_FILES_ROOT = tmp_path / "private"
    settings.STORAGES = {**settings.STORAGES, "private": {"BACKEND": OVERWRITING}}
    store = private_files.storage()
    assert isinstance(store, OverwritingMemoryStorage)

    stored = private_files.store(PNG)

    with store.open(stored.stored_name, "rb") as fh:
        assert b"RAHASIA" not in fh.read()
    assert private_files.read(stored.stored_name) == PNG
    assert not (tmp_path / "private").exists()  # nothing on this server's disk
    assert private_files.read(f"../../{stored.stored_name}") == PNG  # a name, never a path

    private_files.remove(stored.stored_name)
    assert not store.exists(stored.stored_name)
    with pytest.raises(FileNotFoundError):
        private_files.read(stored.stored_name)


@pytest.mark.django_db
def test_key_rotation_rewrites_files_in_object_storage(settings: SettingsWrapper) -> None:
    old, new = settings.FIELD_ENCRYPTION_KEYS[0], Fernet.generate_key().decode("ascii")
    settings.STORAGES = {**settings.STORAGES, "private": {"BACKEND": OVERWRITING}}
    settings.FIELD_ENCRYPTION_KEYS = [old]
    first = private_files.store(PNG).stored_name
    second = private_files.store(PNG + b"2").stored_name
    store = private_files.storage()

    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    dry = rotation.rotate(dry_run=True)
    assert (dry.files.old, dry.files.current) == (2, 0)
    report = rotation.rotate()

    assert (report.files.old, report.files.failures) == (2, [])
    assert rotation.stored_file_names(store) == sorted([first, second])
    for name in (first, second):
        with store.open(name, "rb") as fh:
            token = fh.read()
        Fernet(new.encode()).decrypt(token)  # the newest key alone opens it
        with pytest.raises(InvalidToken):
            Fernet(old.encode()).decrypt(token)
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert private_files.read(first) == PNG
    assert rotation.rotate().files.current == 2  # a second run changes nothing


@pytest.mark.django_db
def test_key_rotation_refuses_an_object_storage_that_cannot_overwrite(
    settings: SettingsWrapper,
) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    private_files.store(PNG)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode("ascii"), old]
    tokens_before = rotation.rotate(dry_run=True).old

    with pytest.raises(rotation.NoKeys, match="overwrite"):
        rotation.rotate()

    # Refused before anything was rewritten: every value still waits for the new key.
    assert tokens_before >= 1  # at least the file
    assert rotation.rotate(dry_run=True).old == tokens_before
    assert not AuditEvent.objects.filter(action="keys.rotated").exists()


# --- the deployment guide ------------------------------------------------------------------

ENV_READ = re.compile(
    r"""(?:os\.environ\.get|os\.environ\[|env_bool|env_list)\(?\s*["'](\w+)["']"""
)


def test_the_deployment_guide_names_every_environment_variable_kka_reads() -> None:
    root = Path(__file__).resolve().parent.parent
    read = set()
    for path in (root / "kka").rglob("*.py"):
        read |= set(ENV_READ.findall(path.read_text(encoding="utf-8")))
    guide = (root / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert {"REDIS_URL", "KKA_SERVERS", "KKA_S3_BUCKET", "DATABASE_URL"} <= read
    inherited = {"DJANGO_SETTINGS_MODULE"}
    assert sorted(name for name in read - inherited if f"`{name}`" not in guide) == []
