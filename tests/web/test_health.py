"""Health endpoints, and the request id that ties responses to audit rows."""

from __future__ import annotations

import re

import pytest
from django.db import OperationalError, connection
from django.test import Client

from kka.audit.models import AuditEvent
from kka.audit.services import audit_log
from tests.personas import PASSWORD, World

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


def _no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_healthz_answers_ok_without_login(client: Client) -> None:
    # No database fixture: the liveness probe must not touch the database at all.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    assert _no_store(response)


@pytest.mark.django_db
def test_readyz_answers_ok_when_the_database_answers(client: Client) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up", "cache": "up"}
    assert _no_store(response)


@pytest.mark.django_db
def test_readyz_answers_503_when_the_database_does_not(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # connection.cursor() is the boundary: every query Django runs, the probe's
    # "SELECT 1" included, first asks the connection for a cursor, and a database
    # that is down or unreachable surfaces right there as OperationalError (raised
    # by ensure_connection()). Raising it at that point is what the view sees when
    # PostgreSQL is stopped, without stopping the server the other tests share.
    def database_down(*args: object, **kwargs: object) -> None:
        raise OperationalError("connection refused: rahasia-host:5432")

    monkeypatch.setattr(connection, "cursor", database_down)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "down", "cache": "up"}
    assert "rahasia-host" not in response.content.decode()
    assert _no_store(response)


@pytest.mark.django_db
def test_readyz_needs_no_login(client: Client, world: World) -> None:
    anonymous = client.get("/readyz")
    client.force_login(world.counsellor)
    logged_in = client.get("/readyz")

    assert anonymous.status_code == logged_in.status_code == 200


@pytest.mark.parametrize("url", ["/healthz", "/readyz"])
@pytest.mark.django_db
def test_health_endpoints_refuse_post(client: Client, url: str) -> None:
    assert client.post(url).status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["/healthz", "/readyz", "/", "/akun/masuk/", "/akun/tidak-ada/", "/akun/keluar/"],
)
def test_every_response_carries_a_request_id(client: Client, url: str) -> None:
    first = client.get(url)
    second = client.get(url)

    assert REQUEST_ID.match(first["X-Request-ID"])
    assert REQUEST_ID.match(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.django_db
def test_audit_rows_written_during_a_request_carry_its_request_id(
    client: Client, world: World
) -> None:
    response = client.post("/akun/masuk/", {"username": world.admin.email, "password": PASSWORD})

    login = AuditEvent.objects.get(action="auth.login")
    assert login.request_id == response["X-Request-ID"]
    assert login.ip == "127.0.0.1"

    invalid = client.post("/akun/lembaga/pengaturan/", {})  # invalid form: no audit row
    assert AuditEvent.objects.count() == 1
    logout = client.post("/akun/keluar/")
    assert AuditEvent.objects.get(action="auth.logout").request_id == logout["X-Request-ID"]
    assert invalid["X-Request-ID"] != logout["X-Request-ID"]


@pytest.mark.django_db
def test_audit_rows_written_outside_a_request_have_no_request_id(world: World) -> None:
    event = audit_log(action="org.updated", actor=world.admin, organisation=world.org)

    assert event.request_id == ""
