"""A database that cannot be reached gives 503 "temporarily unavailable", never a 500.

The outage is simulated at the boundary every query passes: ``connection.cursor()``
raises what Django raises when PostgreSQL is stopped (psycopg's OperationalError, wrapped)
or when SQLite's file cannot be opened. The real outage, a stopped PostgreSQL server under
load, is tests/faults/test_db_outage.py.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import InterfaceError, OperationalError, ProgrammingError, connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import include, path
from django.utils import translation

from kka.urls import handler400, handler403, handler404  # noqa: F401
from kka.web import errors
from kka.web.errors import RETRY_AFTER_SECONDS, database_unavailable, server_error
from tests.personas import World, make_user
from tests.web.test_errors import assert_no_internals

# This module is also the URLconf of the tests that need a view meeting the outage.
handler500 = "kka.web.errors.server_error"

HEADING_ID = "Layanan sementara tidak tersedia"
SECRET_HOST = "rahasia-host-db"
SECRET_SQL = "SELECT nama_konseli FROM rahasia"


def _driver_error() -> Exception:
    """What the database driver raises when the server is gone."""
    if connection.vendor == "sqlite":
        return sqlite3.OperationalError("unable to open database file")
    return psycopg.OperationalError(
        f'connection failed: connection to server at "{SECRET_HOST}", port 5432 failed: '
        "Connection refused"
    )


def _outage() -> OperationalError:
    cause = _driver_error()
    try:
        raise OperationalError(f"{cause} while running {SECRET_SQL}") from cause
    except OperationalError as exc:
        return exc


def database_down(*args: object, **kwargs: object) -> None:
    raise _outage()


def view_meeting_the_outage(request: HttpRequest) -> HttpResponse:
    raise _outage()


urlpatterns = [
    path("uji/basis-data-mati/", view_meeting_the_outage),
    path("", include("kka.urls")),
]


def _assert_unavailable_page(response: Any, *, language: str) -> str:
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert_no_internals(html)
    for leak in (SECRET_HOST, "nama_konseli", "Connection refused", "unable to open"):
        assert leak not in html, leak
    return html


# --- the page -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_database_down_while_loading_the_session_gives_the_indonesian_503_page(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.force_login(world.counsellor)
    client.raise_request_exception = False
    monkeypatch.setattr(connection, "cursor", database_down)

    response = client.get("/")

    html = _assert_unavailable_page(response, language="id")
    assert HEADING_ID in html
    assert f"Coba lagi dalam {RETRY_AFTER_SECONDS} detik" in html
    assert "Terjadi kesalahan" not in html  # not the 500 page
    # Nothing of the person: the user menu needs the database.
    assert world.counsellor.full_name not in html
    # Answered once, inside the request context (the outer middleware did not ask again).
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_anonymous_post_to_the_login_form_gets_the_503_page(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.raise_request_exception = False
    monkeypatch.setattr(connection, "cursor", database_down)

    response = client.post("/akun/masuk/", {"username": world.counsellor.email, "password": "x"})

    assert HEADING_ID in _assert_unavailable_page(response, language="id")


@pytest.mark.django_db
def test_the_language_cookie_gives_the_english_503_page(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.force_login(world.counsellor)
    client.cookies["kka_lang"] = "en"
    client.raise_request_exception = False
    monkeypatch.setattr(connection, "cursor", database_down)

    response = client.get("/")

    html = _assert_unavailable_page(response, language="en")
    with translation.override("en"):
        assert translation.gettext(HEADING_ID) in html
        assert translation.gettext("Ke beranda") in html
    assert "Ke beranda" not in html
    assert response["Content-Language"] == "en"


@pytest.mark.django_db
def test_a_users_language_setting_needs_the_database_so_indonesian_is_the_fallback(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    english_speaker = make_user(organisation=world.org, language="en")
    client.force_login(english_speaker)
    client.raise_request_exception = False
    monkeypatch.setattr(connection, "cursor", database_down)

    response = client.get("/")

    assert HEADING_ID in _assert_unavailable_page(response, language="id")


@pytest.mark.django_db
@pytest.mark.urls("tests.web.test_unavailable")
def test_a_view_meeting_the_outage_answers_in_the_users_language(
    client: Client, world: World
) -> None:
    # The middleware already read the user (and their language) before the view failed.
    english_speaker = make_user(organisation=world.org, language="en")
    client.force_login(english_speaker)
    client.raise_request_exception = False

    response = client.get("/uji/basis-data-mati/")

    html = _assert_unavailable_page(response, language="en")
    with translation.override("en"):
        assert translation.gettext("Ke beranda") in html


@pytest.mark.django_db
@pytest.mark.urls("tests.web.urls_boom")
def test_any_other_error_is_still_the_500_page(client: Client) -> None:
    client.raise_request_exception = False

    response = client.get("/uji/meledak/")

    assert response.status_code == 500
    assert "Retry-After" not in response
    assert HEADING_ID not in response.content.decode()


@pytest.mark.django_db
def test_rendering_the_503_page_runs_no_query(
    django_assert_num_queries: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = RequestFactory().get("/kasus/")

    def no_database(*args: object, **kwargs: object) -> None:
        raise AssertionError("the 503 page touched the database")

    monkeypatch.setattr(connection, "cursor", no_database)
    try:
        raise _outage()
    except OperationalError:
        assert sys.exc_info()[1] is not None
        with django_assert_num_queries(0):
            response = server_error(request)

    # The real template, not the bare fallback a failed render would give.
    assert HEADING_ID in _assert_unavailable_page(response, language="id")


def test_the_outage_is_logged_by_class_without_sql_or_host(
    caplog: pytest.LogCaptureFixture,
) -> None:
    request = RequestFactory().get("/")
    with caplog.at_level("WARNING", logger="kka.web.errors"):
        errors.service_unavailable(request, _outage())

    assert "OperationalError" in caplog.text
    for leak in (SECRET_HOST, "nama_konseli", "SELECT"):
        assert leak not in caplog.text, leak


@pytest.mark.django_db
def test_an_outage_request_logs_one_line_without_the_drivers_message(
    client: Client, world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client.force_login(world.counsellor)
    client.raise_request_exception = False
    monkeypatch.setattr(connection, "cursor", database_down)

    with caplog.at_level("INFO"):
        assert client.get("/kasus/").status_code == 503

    assert [r.name for r in caplog.records if r.levelname in {"WARNING", "ERROR"}] == [
        "kka.web.errors"
    ]
    for leak in (SECRET_HOST, "nama_konseli", "SELECT", "Traceback"):
        assert leak not in caplog.text, leak


# --- the API --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_api_request_gets_the_api_json_error_with_503(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.raise_request_exception = False
    monkeypatch.setattr(connection, "cursor", database_down)

    # A token must be looked up in the database: that is where the outage is met.
    response = client.get("/api/v1/cases", headers={"authorization": "Bearer kka_tidak-ada"})

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "detail"}
    assert body["code"] == "unavailable"
    assert body["message"] == "Layanan sementara tidak tersedia. Coba lagi sebentar lagi."
    assert body["detail"] is None
    assert_no_internals(response.content.decode())


# --- which errors mean "unavailable" -------------------------------------------------------


def _wrapped(cause: Exception, wrapper: type[Exception] = OperationalError) -> Exception:
    try:
        raise wrapper(str(cause)) from cause
    except wrapper as exc:
        return exc


@pytest.mark.parametrize(
    "cause",
    [
        sqlite3.OperationalError("unable to open database file"),
        sqlite3.OperationalError("database is locked"),
        psycopg.OperationalError("connection failed: Connection refused"),
        psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
        psycopg.InterfaceError("the connection is closed"),
    ],
    ids=["sqlite-no-file", "sqlite-locked", "pg-refused", "pg-shutdown", "pg-closed"],
)
def test_connectivity_errors_mean_unavailable(cause: Exception) -> None:
    wrapper = InterfaceError if isinstance(cause, psycopg.InterfaceError) else OperationalError
    assert database_unavailable(_wrapped(cause, wrapper))


@pytest.mark.parametrize(
    "exception",
    [
        _wrapped(sqlite3.OperationalError("no such table: cases_case")),
        _wrapped(sqlite3.OperationalError('near "SELEC": syntax error')),
        _wrapped(psycopg.errors.UndefinedTable('relation "x" does not exist'), ProgrammingError),
        RuntimeError("rahasia"),
        ValueError("database is locked"),  # the words alone are not an outage
    ],
    ids=["sqlite-no-table", "sqlite-syntax", "pg-programming", "runtime", "value"],
)
def test_bugs_are_not_mistaken_for_an_outage(exception: Exception) -> None:
    assert not database_unavailable(exception)


# --- /readyz --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_readyz_is_200_when_everything_answers(client: Client) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up", "cache": "up"}


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_is_down(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "cursor", database_down)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "down", "cache": "up"}
    assert SECRET_HOST not in response.content.decode()


@pytest.mark.django_db
def test_readyz_is_503_when_the_cache_is_down(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.cache import cache

    def cache_down(*args: object, **kwargs: object) -> None:
        raise ConnectionError(f"Error 111 connecting to {SECRET_HOST}:6379")

    monkeypatch.setattr(cache, "set", cache_down)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "up", "cache": "down"}
    assert SECRET_HOST not in response.content.decode()


@pytest.mark.django_db
def test_readyz_checks_a_configured_broker(client: Client, settings: object) -> None:
    from tests.jobs.util import free_port

    settings.CELERY_TASK_ALWAYS_EAGER = False  # type: ignore[attr-defined]
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/9"  # type: ignore[attr-defined]
    up = client.get("/readyz")
    # Nothing listens on a free port: the broker is down.
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/9"  # type: ignore[attr-defined]
    down = client.get("/readyz")

    assert up.status_code == 200
    assert up.json() == {"status": "ok", "database": "up", "cache": "up", "broker": "up"}
    assert down.status_code == 503
    assert down.json() == {
        "status": "unavailable",
        "database": "up",
        "cache": "up",
        "broker": "down",
    }


# --- the connection timeout -----------------------------------------------------------------

# The settings module alone (no django.setup()): it reads the environment at import.
SHOW_DATABASE_OPTIONS = """
import json
from kka import settings
print(json.dumps(settings.DATABASES["default"].get("OPTIONS", {})))
"""


def _database_options(tmp_path: Path, **extra: str) -> dict[str, Any]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "KKA_ENV": "development",
        "KKA_DATA_DIR": str(tmp_path / "data"),
        "DJANGO_SETTINGS_MODULE": "kka.settings",
        **extra,
    }
    result = subprocess.run(
        [sys.executable, "-c", SHOW_DATABASE_OPTIONS],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    options: dict[str, Any] = json.loads(result.stdout)
    return options


def test_postgresql_connections_give_up_after_a_few_seconds(tmp_path: Path) -> None:
    url = "postgres://kka@db.internal:5432/kka"

    default = _database_options(tmp_path, DATABASE_URL=url)
    configured = _database_options(tmp_path, DATABASE_URL=url, KKA_DB_CONNECT_TIMEOUT="7")
    sqlite = _database_options(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/x.sqlite3")

    assert default["connect_timeout"] == 3
    assert configured["connect_timeout"] == 7
    assert "connect_timeout" not in sqlite  # sqlite3.connect() would refuse it
