"""Configuration checks (kka.E001-E008, kka.W001) and refusing to start in production."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core import checks
from pytest_django import Settings as SettingsWrapper

import kka.settings as kka_settings
from kka.checks import check_environment, check_field_keys

HOST = "kka.example.sch.id"


def _kka_messages() -> list[checks.CheckMessage]:
    return [*check_environment(None), *check_field_keys(None)]


def _ids() -> list[str]:
    return [str(message.id) for message in _kka_messages()]


def _fernet_key() -> str:
    return Fernet.generate_key().decode("ascii")


@pytest.fixture
def production(settings: SettingsWrapper) -> SettingsWrapper:
    """A correct production configuration; each test breaks one thing."""
    settings.KKA_ENV = "production"
    settings.PRODUCTION = True
    settings.SECRET_KEY = secrets.token_urlsafe(48)
    settings.DEBUG = False
    settings.FIELD_ENCRYPTION_KEYS = [_fernet_key(), _fernet_key()]
    settings.SEARCH_INDEX_KEY = secrets.token_urlsafe(32)
    settings.ALLOWED_HOSTS = [HOST]
    settings.MAIL_DELIVERED = True
    settings.KKA_BASE_URL = f"https://{HOST}"
    return settings


def test_a_correct_production_configuration_has_no_kka_messages(
    production: SettingsWrapper,
) -> None:
    assert _kka_messages() == []


def test_the_test_configuration_has_no_kka_messages() -> None:
    assert _kka_messages() == []


@pytest.mark.parametrize(
    "secret_key",
    [
        kka_settings.INSECURE_SECRET_KEY,
        secrets.token_urlsafe(36)[:49],  # random but too short
        "abcd" * 20,  # long but only four different characters
    ],
    ids=["default", "short", "repetitive"],
)
def test_e001_a_weak_secret_key(production: SettingsWrapper, secret_key: str) -> None:
    production.SECRET_KEY = secret_key

    assert _ids() == ["kka.E001"]


def test_e001_the_insecure_default_marker(production: SettingsWrapper) -> None:
    production.SECRET_KEY = production.INSECURE_SECRET_KEY

    [message] = _kka_messages()
    assert message.id == "kka.E001" and message.level == checks.ERROR
    assert "KKA_SECRET_KEY" in message.msg


def test_e002_debug_in_production(production: SettingsWrapper) -> None:
    production.DEBUG = True

    assert _ids() == ["kka.E002"]


def test_e003_no_field_keys_in_production(production: SettingsWrapper) -> None:
    production.FIELD_ENCRYPTION_KEYS = []

    assert _ids() == ["kka.E003"]


@pytest.mark.parametrize("in_production", [True, False], ids=["production", "development"])
def test_e004_an_invalid_field_key_is_named_by_position_but_not_shown(
    settings: SettingsWrapper, production: SettingsWrapper, in_production: bool
) -> None:
    settings.PRODUCTION = in_production
    settings.KKA_ENV = "production" if in_production else "development"
    bad_key = "bukan-kunci-fernet-" + secrets.token_hex(8)
    settings.FIELD_ENCRYPTION_KEYS = [_fernet_key(), bad_key]

    [message] = _kka_messages()
    assert message.id == "kka.E004" and message.level == checks.ERROR
    assert "key #2" in message.msg
    assert bad_key not in message.msg and bad_key not in (message.hint or "")


def test_e005_an_unknown_environment(settings: SettingsWrapper) -> None:
    settings.KKA_ENV = "staging"
    settings.PRODUCTION = False

    [message] = _kka_messages()
    assert message.id == "kka.E005"
    assert "staging" in message.msg


def test_e006_no_allowed_hosts_in_production(production: SettingsWrapper) -> None:
    production.ALLOWED_HOSTS = []

    assert _ids() == ["kka.E006"]


def test_e007_the_secret_key_reused_as_a_field_key(settings: SettingsWrapper) -> None:
    # A Fernet key is 44 characters, too short for production (kka.E001), so E007
    # shows on its own only in development.
    key = _fernet_key()
    settings.SECRET_KEY = key
    settings.FIELD_ENCRYPTION_KEYS = [_fernet_key(), key]

    [message] = _kka_messages()
    assert message.id == "kka.E007" and message.level == checks.ERROR
    assert key not in message.msg


def test_e007_in_production_comes_with_e001(production: SettingsWrapper) -> None:
    key = _fernet_key()
    production.SECRET_KEY = key
    production.FIELD_ENCRYPTION_KEYS = [key]

    assert sorted(_ids()) == ["kka.E001", "kka.E007"]


@pytest.mark.parametrize("index_key", ["", "k" * 31], ids=["missing", "short"])
def test_e008_no_or_a_short_search_index_key(production: SettingsWrapper, index_key: str) -> None:
    production.SEARCH_INDEX_KEY = index_key

    assert _ids() == ["kka.E008"]


@pytest.mark.parametrize("base_url", ["", "http://kka.example.sch.id"], ids=["missing", "http"])
def test_e009_base_url_must_be_https(production: SettingsWrapper, base_url: str) -> None:
    production.KKA_BASE_URL = base_url

    assert _ids() == ["kka.E009"]


def test_w001_mail_only_written_to_files(production: SettingsWrapper) -> None:
    production.MAIL_DELIVERED = False

    [message] = _kka_messages()
    assert message.id == "kka.W001" and message.level == checks.WARNING


def test_development_mode_needs_none_of_the_production_settings(
    settings: SettingsWrapper,
) -> None:
    settings.SECRET_KEY = settings.INSECURE_SECRET_KEY
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = []
    settings.MAIL_DELIVERED = False

    assert _kka_messages() == []


def test_the_checks_are_registered_under_the_kka_tag(production: SettingsWrapper) -> None:
    production.DEBUG = True
    production.ALLOWED_HOSTS = []

    found = {message.id for message in checks.run_checks(tags=["kka"])}

    assert {"kka.E002", "kka.E006"} <= found


def test_argon2_is_the_first_password_hasher() -> None:
    # tests.settings swaps in a fast hasher; the product's own settings must not.
    assert kka_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    from django.contrib.auth.hashers import Argon2PasswordHasher

    hasher = Argon2PasswordHasher()
    encoded = hasher.encode("Kata-sandi-uji-yang-panjang-42", hasher.salt())
    assert encoded.startswith("argon2$") and hasher.verify(
        "Kata-sandi-uji-yang-panjang-42", encoded
    )


# --- the real start-up, in a fresh process ---------------------------------------------------


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "KKA_ENV": "production",
        "KKA_DATA_DIR": str(tmp_path / "data"),
    }
    env.update(extra)
    return env


def _good_production(tmp_path: Path) -> dict[str, str]:
    return _env(
        tmp_path,
        KKA_SECRET_KEY=secrets.token_urlsafe(48),
        KKA_FIELD_KEYS=_fernet_key(),
        KKA_INDEX_KEY=secrets.token_urlsafe(32),
        KKA_ALLOWED_HOSTS=HOST,
        KKA_SMTP_HOST="localhost",
        KKA_BASE_URL=f"https://{HOST}",
    )


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


def test_production_with_defaults_refuses_to_migrate(tmp_path: Path) -> None:
    result = _run(_env(tmp_path), "-m", "kka.cli", "migrate", "--no-input", cwd=tmp_path)

    assert result.returncode != 0
    assert "refuses to start" in result.stderr
    for check_id in ("kka.E001", "kka.E003", "kka.E006"):
        assert check_id in result.stderr
    assert not (tmp_path / "data" / "kka.sqlite3").exists()  # nothing was migrated


def test_kka_check_still_explains_a_broken_production_configuration(tmp_path: Path) -> None:
    result = _run(_env(tmp_path), "-m", "kka.cli", "check", cwd=tmp_path)

    assert result.returncode != 0
    assert "refuses to start" not in result.stderr  # a diagnostic command runs
    for check_id in ("kka.E001", "kka.E003", "kka.E006"):
        assert check_id in result.stderr


def test_a_proper_production_configuration_passes_the_deploy_check(tmp_path: Path) -> None:
    result = _run(
        _good_production(tmp_path),
        "-m",
        "kka.cli",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_wsgi_application_refuses_to_start_with_defaults(tmp_path: Path) -> None:
    result = _run(_env(tmp_path), "-c", "import kka.wsgi", cwd=tmp_path)

    assert result.returncode == 2
    assert "refuses to start" in result.stderr
    assert "kka.E001" in result.stderr


def test_the_wsgi_application_starts_with_a_proper_configuration(tmp_path: Path) -> None:
    result = _run(_good_production(tmp_path), "-c", "import kka.wsgi; print('ok')", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_every_accepted_bandit_finding_has_a_reason_and_a_future_expiry() -> None:
    """A ``# nosec`` is allowed only under an "Accepted (bandit <ids>, until <date>):
    <reason>." line whose date has not passed; then the finding must be looked at again."""
    import datetime as dt
    import re
    from pathlib import Path

    import kka

    accepted = re.compile(r"# Accepted \(bandit ((?:B\d+ ?)+), until (\d{4}-\d{2}-\d{2})\): \S.+")
    found = 0
    for path in Path(kka.__file__).parent.rglob("*.py"):
        lines = path.read_text(encoding="utf-8").splitlines()
        for n, line in enumerate(lines):
            if "# nosec" not in line:
                continue
            found += 1
            above = accepted.search(lines[n - 1]) if n else None
            assert above, f"{path}:{n + 1}: # nosec without an Accepted line above"
            ids = set(line.split("# nosec", 1)[1].split())
            assert ids == set(above.group(1).split()), f"{path}:{n + 1}"
            until = dt.date.fromisoformat(above.group(2))
            assert until >= dt.date.today(), f"{path}:{n + 1}: accepted until {until}, look again"
    assert found >= 1
