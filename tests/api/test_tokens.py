"""Personal API tokens: hash-only storage, revocation, expiry, deactivation, scopes, the
audit of every use, rate limits, the command line, the web page, and the docs page."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import time
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client as HttpClient
from django.test import override_settings
from django.utils import timezone

from kka.accounts import two_factor
from kka.accounts.models import Membership
from kka.api import ratelimit
from kka.api.models import ApiToken
from kka.api.services import api_token_issue
from kka.api.tokens import hash_token
from kka.audit.models import AuditEvent
from kka.cases import services as case_services
from kka.cases.models import Case
from tests.api.util import READ, WRITE, api_client, token_for
from tests.personas import World, make_organisation

pytestmark = pytest.mark.django_db

LIST = "/api/v1/cases"
TOKENS = "/akun/token-api/"
CREATE = "/akun/token-api/baru/"


def new_case(world: World) -> Case:
    client = case_services.client_create(
        actor=world.counsellor,
        organisation=world.org,
        full_name="Dimas Pratama",
        birth_date="2011-04-04",
    )
    return case_services.case_open(
        actor=world.counsellor, client=client, bidang="sosial", title="Relasi", intake_source="guru"
    )


def all_database_text() -> str:
    """Every value of every table, as text (a dump of the whole database)."""
    chunks: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # names from introspection
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


def stepped_up(client: HttpClient) -> None:
    """A second factor (or password) given just now: step-up pages open."""
    session = client.session
    session[two_factor.SESSION_VERIFIED_AT] = time.time()
    session.save()


# --- storage ----------------------------------------------------------------------------


def test_token_is_stored_only_as_its_hash(world: World) -> None:
    token, raw = api_token_issue(
        actor=world.counsellor,
        user=world.counsellor,
        organisation=world.org,
        name="SIM sekolah",
        scope=WRITE,
        days=30,
    )
    assert raw.startswith("kka_") and len(raw) >= 40
    token.refresh_from_db()
    assert token.token_hash == hash_token(raw)
    assert token.prefix == raw[:10]
    dump = all_database_text()
    assert raw not in dump
    assert raw[10:] not in dump  # not even the secret part
    assert token.token_hash in dump  # the dump did read the token table


# --- every request checks the token again ----------------------------------------------


def test_revoked_token_is_refused_on_the_next_request(world: World) -> None:
    raw = token_for(world.counsellor)
    http = api_client(raw=raw)
    assert http.get(LIST).status_code == 200
    web = HttpClient()
    web.force_login(world.counsellor)
    code = ApiToken.objects.get(user=world.counsellor).code
    assert web.post(f"{TOKENS}{code}/cabut/").status_code == 302
    response = http.get(LIST)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


def test_expired_token_is_refused(world: World) -> None:
    raw = token_for(world.counsellor)
    http = api_client(raw=raw)
    assert http.get(LIST).status_code == 200
    ApiToken.objects.filter(user=world.counsellor).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert http.get(LIST).status_code == 401


def test_deactivated_user_or_membership_is_refused(world: World) -> None:
    http = api_client(world.counsellor)
    assert http.get(LIST).status_code == 200
    Membership.objects.filter(user=world.counsellor).update(is_active=False)
    assert http.get(LIST).status_code == 401
    Membership.objects.filter(user=world.counsellor).update(is_active=True)
    assert http.get(LIST).status_code == 200
    type(world.counsellor).objects.filter(pk=world.counsellor.pk).update(is_active=False)
    assert http.get(LIST).status_code == 401


def test_read_token_cannot_write(world: World) -> None:
    case = new_case(world)
    payload = {
        "client_code": case.client.code,
        "bidang": "belajar",
        "title": "Baru",
        "intake_source": "guru",
    }
    read = api_client(world.counsellor, READ).post(LIST, payload, content_type="application/json")
    assert read.status_code == 403
    assert read.json()["code"] == "read_only_token"
    assert Case.objects.filter(client=case.client).count() == 1
    write = api_client(world.counsellor, WRITE)
    assert write.post(LIST, payload, content_type="application/json").status_code == 201
    assert Case.objects.filter(client=case.client).count() == 2


# --- every use is audited; the value never appears ----------------------------------------


def test_every_request_is_audited_with_codes_only(world: World) -> None:
    raw = token_for(world.counsellor)
    token = ApiToken.objects.get(user=world.counsellor)
    http = api_client(raw=raw)
    http.get(LIST, {"status": "open"})
    http.get(LIST)
    rows = list(AuditEvent.objects.filter(action="api.request").order_by("id"))
    assert len(rows) == 2
    for row in rows:
        assert row.actor_id == world.counsellor.pk
        assert row.organisation_id == world.org.pk
        assert row.object_ref == token.code
        assert row.refs == {"token": token.code, "method": "GET", "route": "api:case_list"}


def test_last_use_is_written_at_most_once_a_minute(world: World) -> None:
    http = api_client(world.counsellor)
    token = ApiToken.objects.get(user=world.counsellor)
    assert token.last_used_at is None
    http.get(LIST)
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    http.get(LIST)
    token.refresh_from_db()
    assert token.last_used_at == first
    earlier = first - dt.timedelta(seconds=61)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=earlier)
    http.get(LIST)
    token.refresh_from_db()
    assert token.last_used_at is not None and token.last_used_at > earlier + dt.timedelta(
        seconds=60
    )


@override_settings(DEBUG=True)
def test_token_value_never_in_logs_or_audit(world: World, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("django", "django.db.backends", "django.request", "ninja", "kka"):
        caplog.set_level(logging.DEBUG, logger=name)
    web = HttpClient()
    web.force_login(world.counsellor)
    stepped_up(web)
    page = web.post(CREATE, {"name": "Dapodik", "scope": WRITE, "days": 30})
    assert page.status_code == 200
    raw = page.context["raw"]
    assert raw in page.content.decode()
    http = api_client(raw=raw)
    assert http.get(LIST).status_code == 200
    http.post(LIST, {"title": "x"}, content_type="application/json")  # 422
    http.get(f"{LIST}/TIDAKADA")  # 404
    # Another scheme and a near miss: refused, and not logged either.
    HttpClient(HTTP_AUTHORIZATION=f"Token {raw}").get(LIST)
    HttpClient(HTTP_AUTHORIZATION=f"Bearer {raw}x").get(LIST)
    code = ApiToken.objects.get(user=world.counsellor).code
    web.post(f"{TOKENS}{code}/cabut/")
    assert http.get(LIST).status_code == 401
    call_command("token", "list", "--user", world.counsellor.email, stdout=io.StringIO())

    assert "api_apitoken" in caplog.text  # the token lookups were logged (SQL at DEBUG)
    assert raw not in caplog.text
    assert raw[10:] not in caplog.text
    for row in AuditEvent.objects.all():
        assert raw[10:] not in json.dumps(row.refs) + row.object_ref
    assert raw not in all_database_text()


# --- rate limits ----------------------------------------------------------------------------


@override_settings(KKA_API_RATE_PER_MINUTE=3)
def test_rate_limit_per_token_answers_429_with_retry_after(world: World, monkeypatch: Any) -> None:
    moment = [1_800_000_030.0]  # 30 s into a window
    monkeypatch.setattr(ratelimit, "clock", lambda: moment[0])
    http = api_client(world.counsellor)
    other = api_client(world.counsellor)  # a second token of the same person
    for _ in range(3):
        assert http.get(LIST).status_code == 200
    refused = http.get(LIST)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert refused["Retry-After"] == "30"
    assert http.get(LIST).status_code == 429
    assert other.get(LIST).status_code == 200  # counted per token
    limited = AuditEvent.objects.filter(action="api.rate_limited")
    assert limited.count() == 1  # once per window, not per refused request
    assert limited.get().refs == {"limit": "token"}
    assert AuditEvent.objects.filter(action="api.request").count() == 4  # refused: not used
    moment[0] += 30  # the next window
    assert http.get(LIST).status_code == 200


@override_settings(KKA_API_FAILED_PER_MINUTE=3)
def test_failed_attempts_are_limited_per_address(world: World, monkeypatch: Any) -> None:
    monkeypatch.setattr(ratelimit, "clock", lambda: 1_800_000_050.0)
    raw = token_for(world.counsellor)
    for n in range(3):
        guess = HttpClient(HTTP_AUTHORIZATION=f"Bearer kka_tebakan{n}", REMOTE_ADDR="203.0.113.9")
        assert guess.get(LIST).status_code == 401
    again = HttpClient(HTTP_AUTHORIZATION="Bearer kka_tebakan9", REMOTE_ADDR="203.0.113.9")
    refused = again.get(LIST)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "10"
    # Even a valid token from that address waits out the minute; elsewhere it works.
    same_place = HttpClient(HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR="203.0.113.9")
    assert same_place.get(LIST).status_code == 429
    elsewhere = HttpClient(HTTP_AUTHORIZATION=f"Bearer {raw}", REMOTE_ADDR="198.51.100.7")
    assert elsewhere.get(LIST).status_code == 200
    row = AuditEvent.objects.get(action="api.rate_limited")
    assert row.refs == {"limit": "address"} and row.actor_id is None


# --- command line -----------------------------------------------------------------------------


def run(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command("token", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_cli_create_list_revoke(world: World) -> None:
    case = new_case(world)
    email = world.counsellor.email
    raw = run("create", "--user", email, "--scope", "write", "--days", "7", "--name", "SIM")
    raw = raw.strip()
    token = ApiToken.objects.get(user=world.counsellor)
    assert token.token_hash == hash_token(raw) and token.created_via == "cli"
    assert token.scope == WRITE and (token.expires_at - token.created_at).days == 7
    http = api_client(raw=raw)
    assert http.get(f"{LIST}/{case.code}").status_code == 200

    listing = run("list", "--user", email)
    assert token.code in listing and token.prefix in listing and "active" in listing
    assert raw not in listing

    assert run("revoke", token.code).strip() == f"token {token.code} revoked"
    assert http.get(LIST).status_code == 401
    assert "revoked" in run("list", "--user", email)
    assert "already revoked" in run("revoke", token.code)

    rows = AuditEvent.objects.filter(action__startswith="api.token_").order_by("id")
    assert [r.action for r in rows] == ["api.token_created", "api.token_revoked"]
    for row in rows:
        assert row.actor_id is None and row.actor_role == "operator"
        assert row.object_ref == token.code
        assert row.refs["affected_user"] == world.counsellor.pk
        assert row.refs["via"] == "cli"
    assert rows[0].refs["scope"] == WRITE and rows[0].refs["days"] == 7


def test_cli_refusals(world: World) -> None:
    with pytest.raises(CommandError, match="no user"):
        run("create", "--user", "tidak.ada@uji.test")
    with pytest.raises(CommandError, match="--days"):
        run("create", "--user", world.counsellor.email, "--days", "400")
    second = make_organisation(name="SMA Kedua")
    Membership.objects.create(user=world.counsellor, organisation=second, role="konselor")
    with pytest.raises(CommandError, match="--organisation"):
        run("create", "--user", world.counsellor.email)
    with pytest.raises(CommandError, match="no active membership"):
        run("create", "--user", world.counsellor.email, "--organisation", world.other_org.code)
    raw = run("create", "--user", world.counsellor.email, "--organisation", second.code).strip()
    assert ApiToken.objects.get(token_hash=hash_token(raw)).organisation == second
    with pytest.raises(CommandError, match="no token"):
        run("revoke", "TIDAKADA")
    assert not AuditEvent.objects.filter(action="api.token_revoked").exists()


# --- web page --------------------------------------------------------------------------------


def test_ui_create_needs_step_up_and_shows_the_token_once(world: World) -> None:
    web = HttpClient()
    web.force_login(world.counsellor)
    asked = web.get(CREATE)
    assert asked.status_code == 302 and asked["Location"].startswith("/akun/verifikasi/")
    assert "step_up=1" in asked["Location"]
    posted = web.post(CREATE, {"name": "SIM", "scope": READ, "days": 30})
    assert posted.status_code == 302 and "step_up=1" in posted["Location"]
    assert not ApiToken.objects.exists()

    stepped_up(web)
    assert web.get(CREATE).status_code == 200
    assert web.post(CREATE, {"name": "SIM", "scope": READ, "days": 0}).status_code == 200
    assert not ApiToken.objects.exists()  # 0 days: the form says why
    page = web.post(CREATE, {"name": "SIM sekolah", "scope": WRITE, "days": 30})
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    raw = page.context["raw"]
    assert raw in page.content.decode()
    token = ApiToken.objects.get(user=world.counsellor)
    assert token.token_hash == hash_token(raw) and token.organisation == world.org
    assert token.scope == WRITE and token.created_via == "ui" and token.name == "SIM sekolah"
    row = AuditEvent.objects.get(action="api.token_created")
    assert row.actor_id == world.counsellor.pk and row.object_ref == token.code
    assert row.refs == {
        "affected_user": world.counsellor.pk,
        "scope": WRITE,
        "days": 30,
        "via": "ui",
    }

    listing = web.get(TOKENS)
    text = listing.content.decode()
    assert "SIM sekolah" in text and token.prefix in text and token.code in text
    assert raw not in text and raw[10:] not in text
    assert "no-store" in listing["Cache-Control"]


def test_ui_lists_own_tokens_and_revokes_only_own(world: World) -> None:
    mine_raw = token_for(world.counsellor)
    theirs_raw = token_for(world.other_counsellor)
    mine = ApiToken.objects.get(user=world.counsellor)
    theirs = ApiToken.objects.get(user=world.other_counsellor)
    web = HttpClient()
    web.force_login(world.counsellor)
    text = web.get(TOKENS).content.decode()
    assert mine.prefix in text and theirs.code not in text

    assert web.post(f"{TOKENS}{theirs.code}/cabut/").status_code == 404
    assert web.get(f"{TOKENS}{mine.code}/cabut/").status_code == 405
    assert api_client(raw=theirs_raw).get(LIST).status_code == 200
    assert web.post(f"{TOKENS}{mine.code}/cabut/")["Location"] == TOKENS
    assert api_client(raw=mine_raw).get(LIST).status_code == 401
    assert "dicabut" in web.get(TOKENS).content.decode()
    row = AuditEvent.objects.get(action="api.token_revoked")
    assert row.actor_id == world.counsellor.pk and row.object_ref == mine.code


def test_account_menu_links_the_token_page(world: World) -> None:
    web = HttpClient()
    web.force_login(world.counsellor)
    assert f'href="{TOKENS}"' in web.get("/").content.decode()


# --- docs and the OpenAPI document ------------------------------------------------------------


def test_openapi_is_public_and_docs_are_for_staff(world: World) -> None:
    schema = HttpClient().get("/api/v1/openapi.json")
    assert schema.status_code == 200
    assert schema.json()["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _value in pairs]
        assert len(keys) == len(set(keys)), keys  # Swagger UI refuses duplicated keys
        return dict(pairs)

    document = json.loads(schema.content, object_pairs_hook=no_duplicates)
    for path_item in document["paths"].values():
        for operation in path_item.values():
            assert {"401", "422", "429"} <= set(operation["responses"])
    anonymous = HttpClient().get("/api/v1/docs")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/akun/masuk/")
    web = HttpClient()
    web.force_login(world.counsellor)
    page = web.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "http://" not in html and "https://" not in html  # nothing from another site
    assert "no-store" in page["Cache-Control"]
    nonce = page.wsgi_request.csp_nonce  # type: ignore[attr-defined]
    assert html.count(f'nonce="{nonce}"') == 2


@override_settings(KKA_REQUIRE_2FA=True)
def test_api_is_never_sent_to_login_or_second_factor(world: World) -> None:
    web = HttpClient()
    web.force_login(world.counsellor)  # no second factor given in this session
    assert web.get("/api/v1/openapi.json").status_code == 200
    assert web.get(LIST).status_code == 401  # the session is not a token
    assert web.get("/api/v1/docs")["Location"].startswith("/akun/2fa/")
    raw = token_for(world.counsellor)
    assert HttpClient(HTTP_AUTHORIZATION=f"Bearer {raw}").get(LIST).status_code == 200
