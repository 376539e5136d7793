"""Logging in and out with an email address; the login page speaks Indonesian."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from kka.audit.models import AuditEvent
from tests.personas import PASSWORD, World, make_user

LOGIN_URL = "/akun/masuk/"
LOGOUT_URL = "/akun/keluar/"
WRONG_LOGIN = "Email atau kata sandi salah."

pytestmark = pytest.mark.django_db


def _logged_in_user_id(client: Client) -> str | None:
    return client.session.get(SESSION_KEY)


def test_login_page_is_indonesian_by_default(client: Client) -> None:
    response = client.get(LOGIN_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="id">' in html
    assert "Masuk ke KKA" in html
    assert response["Content-Language"] == "id"


def test_login_page_ignores_the_browser_language(client: Client) -> None:
    response = client.get(LOGIN_URL, headers={"accept-language": "en"})

    assert '<html lang="id">' in response.content.decode()


def test_counsellor_logs_in_with_email_and_lands_on_home(client: Client, world: World) -> None:
    response = client.post(LOGIN_URL, {"username": world.counsellor.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert _logged_in_user_id(client) == str(world.counsellor.pk)
    home = client.get("/")
    assert home.status_code == 200
    assert world.org.name in home.content.decode()
    login_rows = AuditEvent.objects.filter(action="auth.login")
    assert [(row.actor_id, row.outcome) for row in login_rows] == [(world.counsellor.pk, "success")]


def test_email_is_matched_without_regard_to_case(client: Client, world: World) -> None:
    response = client.post(
        LOGIN_URL, {"username": world.counsellor.email.upper(), "password": PASSWORD}
    )

    assert response.status_code == 302
    assert _logged_in_user_id(client) == str(world.counsellor.pk)


def test_wrong_password_shows_the_generic_message(client: Client, world: World) -> None:
    response = client.post(
        LOGIN_URL, {"username": world.counsellor.email, "password": "salah-sama-sekali-123"}
    )

    assert response.status_code == 200
    assert WRONG_LOGIN in response.content.decode()
    assert _logged_in_user_id(client) is None
    failed = AuditEvent.objects.get(action="auth.login_failed")
    assert failed.outcome == "failure"
    assert failed.actor_id is None
    assert failed.refs == {"affected_user": world.counsellor.pk}
    # Nothing typed is kept in the audit row.
    assert "salah-sama-sekali-123" not in str(failed.refs)


def test_unknown_email_and_known_email_get_the_same_answer(client: Client, world: World) -> None:
    known = client.post(
        LOGIN_URL, {"username": world.counsellor.email, "password": "salah-sama-sekali-123"}
    )
    unknown = Client().post(
        LOGIN_URL, {"username": "tidak-ada@uji.test", "password": "salah-sama-sekali-123"}
    )

    assert known.status_code == unknown.status_code == 200
    assert WRONG_LOGIN in known.content.decode()
    assert WRONG_LOGIN in unknown.content.decode()
    assert list(known.context["form"].non_field_errors()) == list(
        unknown.context["form"].non_field_errors()
    )
    failed = AuditEvent.objects.filter(action="auth.login_failed").order_by("id")
    assert [row.refs for row in failed] == [{"affected_user": world.counsellor.pk}, {}]


def test_inactive_user_cannot_log_in(client: Client, world: World) -> None:
    world.counsellor.is_active = False
    world.counsellor.save(update_fields=["is_active"])

    response = client.post(LOGIN_URL, {"username": world.counsellor.email, "password": PASSWORD})

    assert response.status_code == 200
    # The same message as a wrong password: the page does not reveal the account state.
    assert WRONG_LOGIN in response.content.decode()
    assert _logged_in_user_id(client) is None
    assert not AuditEvent.objects.filter(action="auth.login").exists()
    assert client.get("/").status_code == 302


def test_session_key_rotates_on_login(client: Client, world: World) -> None:
    session = client.session
    session["sebelum_masuk"] = "ya"
    session.save()
    key_before = session.session_key

    client.post(LOGIN_URL, {"username": world.counsellor.email, "password": PASSWORD})

    key_after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert key_after != key_before
    assert not SessionStore().exists(key_before)
    assert SessionStore(session_key=key_after).get(SESSION_KEY) == str(world.counsellor.pk)


def test_login_ignores_next_pointing_to_another_host(client: Client, world: World) -> None:
    response = client.post(
        LOGIN_URL,
        {
            "username": world.counsellor.email,
            "password": PASSWORD,
            "next": "https://penipu.example/curi",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_login_follows_next_on_this_site(client: Client, world: World) -> None:
    response = client.post(
        LOGIN_URL,
        {
            "username": world.counsellor.email,
            "password": PASSWORD,
            "next": "/akun/kata-sandi/ubah/",
        },
    )

    assert response["Location"] == "/akun/kata-sandi/ubah/"


def test_logged_in_user_visiting_login_page_goes_home(client: Client, world: World) -> None:
    client.force_login(world.counsellor)

    response = client.get(LOGIN_URL)

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_logout_by_get_is_refused(client: Client, world: World) -> None:
    client.force_login(world.counsellor)

    response = client.get(LOGOUT_URL)

    assert response.status_code == 405
    assert _logged_in_user_id(client) == str(world.counsellor.pk)
    assert client.get("/").status_code == 200


def test_logout_by_post_ends_the_session(client: Client, world: World) -> None:
    client.force_login(world.counsellor)
    key = client.session.session_key

    response = client.post(LOGOUT_URL)

    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert not SessionStore().exists(key)
    assert client.get("/")["Location"] == "/akun/masuk/?next=/"
    logout = AuditEvent.objects.get(action="auth.logout")
    assert logout.actor_id == world.counsellor.pk


def test_anonymous_home_redirects_to_login(client: Client) -> None:
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/akun/masuk/?next=/"


def test_user_without_organisation_can_log_in(client: Client) -> None:
    loner = make_user()

    response = client.post(LOGIN_URL, {"username": loner.email, "password": PASSWORD})

    assert response["Location"] == "/"
    assert "Belum terdaftar di lembaga" in client.get("/").content.decode()
