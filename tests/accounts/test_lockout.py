"""Brute force and enumeration (issue #7, item 2).

Six failed logins for one email from one address lock that pair for 30 minutes (django-axes,
database handler, so every application server sees the lock). Never forever, never another
address, never another email. Login, password reset and token redemption answer the same
for unknown and known people.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client, RequestFactory, override_settings
from django.utils import timezone

from kka.accounts.views import lockout_response
from kka.audit.models import AuditEvent
from tests.personas import PASSWORD, World, make_user
from tests.portal.test_portal import REFUSALS, Setup, kka  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

LOGIN_URL = "/akun/masuk/"
FORGOT_URL = "/akun/kata-sandi/lupa/"
WRONG = "salah-sama-sekali-123"
WRONG_LOGIN = "Email atau kata sandi salah."
LOCKED = "Terlalu banyak percobaan. Coba lagi dalam 30 menit."
UNKNOWN = "tidak-ada-akunnya@uji.test"
HOME_IP = "203.0.113.7"
OTHER_IP = "198.51.100.20"


def browser(ip: str = HOME_IP) -> Client:
    """One browser at one address (each Client is also a separate application server:
    nothing is shared between two Clients but the database)."""
    return Client(REMOTE_ADDR=ip)


def attempt(client: Client, email: str, password: str = WRONG) -> Any:
    return client.post(LOGIN_URL, {"username": email, "password": password})


def logged_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def fail(client: Client, email: str, times: int) -> list[Any]:
    return [attempt(client, email) for _ in range(times)]


@contextmanager
def clock(after: dt.timedelta) -> Iterator[None]:
    """Axes reads the time of a request once (``axes.handlers.proxy.now``); move it on."""
    moved = timezone.now() + after
    with mock.patch("axes.handlers.proxy.now", return_value=moved):
        yield


def neutral(response: Any, *typed: str) -> tuple[int, str]:
    """Status and body, with what differs per request (CSRF token, CSP nonce) and what the
    person typed (shown back in the email box) replaced by placeholders."""
    body = response.content.decode()
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "CSRF", body)
    body = re.sub(r'nonce="[^"]*"', "NONCE", body)
    for text in typed:
        body = body.replace(text, "TYPED")
    return response.status_code, body


def audit_text() -> str:
    return " ".join(
        f"{row.action} {row.refs} {row.object_type} {row.object_ref}"
        for row in AuditEvent.objects.all()
    )


# --- settings ---------------------------------------------------------------------------


def test_lock_is_six_failures_thirty_minutes_per_email_and_address_in_the_database() -> None:
    assert settings.AXES_FAILURE_LIMIT == 6
    assert dt.timedelta(minutes=30) == settings.AXES_COOLOFF_TIME  # never None: forever
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"
    assert settings.AXES_RESET_ON_SUCCESS is True
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"


# --- the lock ---------------------------------------------------------------------------


def test_six_failures_lock_that_email_from_that_address(world: World) -> None:
    email = world.counsellor.email
    here = browser()

    first_five = fail(here, email, 5)
    assert [r.status_code for r in first_five] == [200] * 5
    assert all(WRONG_LOGIN in r.content.decode() for r in first_five)

    sixth = attempt(here, email)
    assert sixth.status_code == 429
    assert LOCKED in sixth.content.decode()
    assert WRONG_LOGIN not in sixth.content.decode()
    assert "Masuk ke KKA" in sixth.content.decode()  # the login page itself, not a bare text

    # While locked even the right password is refused, with the same message.
    right = attempt(here, email, PASSWORD)
    assert right.status_code == 429
    assert LOCKED in right.content.decode()
    assert not logged_in(here)
    assert not AuditEvent.objects.filter(action="auth.login").exists()

    # Audit: codes and the account id only; nothing typed.
    locked = AuditEvent.objects.filter(action="auth.locked_out").order_by("id")
    assert locked.count() == 2  # the sixth failure and the refused right password
    assert {(row.outcome, row.actor_id) for row in locked} == {("denied", None)}
    assert [row.refs for row in locked] == [{"affected_user": world.counsellor.pk}] * 2
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 7
    assert email not in audit_text()
    assert WRONG not in audit_text()


def test_email_case_does_not_give_six_more_tries(world: World) -> None:
    here = browser()
    fail(here, world.counsellor.email, 3)
    fail(here, world.counsellor.email.upper(), 3)

    assert attempt(here, world.counsellor.email, PASSWORD).status_code == 429


def test_another_address_can_still_log_in(world: World) -> None:
    fail(browser(HOME_IP), world.counsellor.email, 6)

    elsewhere = browser(OTHER_IP)
    response = attempt(elsewhere, world.counsellor.email, PASSWORD)

    assert response.status_code == 302
    assert logged_in(elsewhere)


def test_another_email_from_the_same_address_is_not_locked(world: World) -> None:
    fail(browser(), world.counsellor.email, 6)

    here = browser()
    wrong = attempt(here, world.coordinator.email)
    assert wrong.status_code == 200
    assert WRONG_LOGIN in wrong.content.decode()
    right = attempt(here, world.coordinator.email, PASSWORD)
    assert right.status_code == 302
    assert logged_in(here)


def test_the_lock_ends_after_thirty_minutes_and_tries_meanwhile_do_not_extend_it(
    world: World,
) -> None:
    email = world.counsellor.email
    here = browser()
    fail(here, email, 6)

    with clock(dt.timedelta(minutes=20)):
        assert attempt(here, email).status_code == 429  # refused, not counted
    with clock(dt.timedelta(minutes=29)):
        assert attempt(here, email, PASSWORD).status_code == 429
        assert not logged_in(here)
    with clock(dt.timedelta(minutes=30, seconds=5)):
        response = attempt(here, email, PASSWORD)
    assert response.status_code == 302
    assert logged_in(here)


def test_a_successful_login_resets_the_count(world: World) -> None:
    email = world.counsellor.email
    here = browser()
    fail(here, email, 5)
    assert AccessAttempt.objects.get(username=email).failures_since_start == 5

    assert attempt(here, email, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username=email).exists()
    here.post("/akun/keluar/")

    assert [r.status_code for r in fail(here, email, 5)] == [200] * 5
    assert attempt(here, email).status_code == 429


def test_the_lock_is_shared_between_application_servers(world: World) -> None:
    # Two servers behind one load balancer: each request of the attacker lands on either.
    server_a, server_b = browser(), browser()
    fail(server_a, world.counsellor.email, 3)
    fail(server_b, world.counsellor.email, 2)

    assert attempt(server_a, world.counsellor.email).status_code == 429
    # The other server refuses too, and a third, fresh one as well.
    assert attempt(server_b, world.counsellor.email, PASSWORD).status_code == 429
    assert attempt(browser(), world.counsellor.email, PASSWORD).status_code == 429
    # The state is in the database, not in one process.
    row = AccessAttempt.objects.get(username=world.counsellor.email)
    assert row.ip_address == HOME_IP
    assert row.failures_since_start == 6


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_behind_the_proxy_the_lock_uses_the_address_the_proxy_saw(world: World) -> None:
    # KKA_BEHIND_PROXY: every request comes from the proxy; locking the proxy's address
    # would lock the account for everybody.
    proxy = "10.0.0.2"
    attacker = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"1.2.3.4, {HOME_IP}")
    fail(attacker, world.counsellor.email, 6)
    assert attempt(attacker, world.counsellor.email, PASSWORD).status_code == 429

    owner = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=OTHER_IP)
    assert attempt(owner, world.counsellor.email, PASSWORD).status_code == 302


def test_lock_rows_keep_no_password_and_successful_logins_add_no_rows(world: World) -> None:
    here = browser()
    attempt(here, world.counsellor.email, "Rahasia-Sekali-999")
    row = AccessAttempt.objects.get()
    assert "Rahasia-Sekali-999" not in f"{row.get_data} {row.post_data}"
    assert world.counsellor.email not in row.post_data

    attempt(here, world.counsellor.email, PASSWORD)
    assert not AccessLog.objects.exists()


# --- unknown and known people get the same answers -------------------------------------


def test_locked_unknown_email_looks_exactly_like_a_locked_account(world: World) -> None:
    known_client, unknown_client = browser(), browser()
    fail(known_client, world.counsellor.email, 6)
    fail(unknown_client, UNKNOWN, 6)

    known = attempt(known_client, world.counsellor.email, PASSWORD)
    unknown = attempt(unknown_client, UNKNOWN, PASSWORD)

    assert known.status_code == unknown.status_code == 429
    assert LOCKED in unknown.content.decode()
    assert neutral(known, world.counsellor.email) == neutral(unknown, UNKNOWN)
    # The unknown email is not in the audit log.
    unknown_rows = AuditEvent.objects.filter(action="auth.locked_out", refs={})
    assert unknown_rows.count() == 2
    assert UNKNOWN not in audit_text()


def test_unknown_email_and_wrong_password_answer_byte_for_byte_the_same(world: World) -> None:
    known = attempt(browser(), world.counsellor.email)
    unknown = attempt(browser(), UNKNOWN)

    assert known.status_code == unknown.status_code == 200
    assert neutral(known, world.counsellor.email) == neutral(unknown, UNKNOWN)


def test_password_reset_answers_the_same_for_unknown_and_known_email(world: World) -> None:
    known_client, unknown_client = browser(), browser()
    known = known_client.post(FORGOT_URL, {"email": world.counsellor.email})
    unknown = unknown_client.post(FORGOT_URL, {"email": UNKNOWN})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert neutral(known) == neutral(unknown)
    assert sorted(known.cookies) == sorted(unknown.cookies)
    assert len(mail.outbox) == 1  # only the real account gets a message
    done_known = known_client.get(known["Location"])
    done_unknown = unknown_client.get(unknown["Location"])
    assert neutral(done_known) == neutral(done_unknown)


def test_password_reset_links_answer_the_same_for_unknown_and_known_accounts(
    world: World,
) -> None:
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    known_uid = urlsafe_base64_encode(force_bytes(world.counsellor.pk))
    unknown_uid = urlsafe_base64_encode(force_bytes(987654))
    known = browser().get(f"/akun/kata-sandi/atur/{known_uid}/abc-123def/")
    unknown = browser().get(f"/akun/kata-sandi/atur/{unknown_uid}/abc-123def/")

    assert known.status_code == unknown.status_code == 200
    assert "abc-123def" in known.content.decode()  # the page echoes its own address
    assert neutral(known, known_uid) == neutral(unknown, unknown_uid)


def test_portal_answers_the_same_for_unknown_revoked_and_expired_tokens(kka: Setup) -> None:  # noqa: F811
    answers = {}
    for reason in ("unknown", "revoked", "closed_past_grace", "consent_withdrawn"):
        token = REFUSALS[reason](kka)
        visitor = browser()
        response = visitor.get("/undangan/", {"t": token})
        answers[reason] = (neutral(response), sorted(visitor.cookies))

    assert answers["unknown"][0][0] == 404
    assert len(set(map(repr, answers.values()))) == 1, answers.keys()


# --- the lockout answer outside the login view -------------------------------------------


def test_lockout_answer_without_a_rendered_page_is_the_login_page() -> None:
    request = RequestFactory().post(LOGIN_URL, {"username": UNKNOWN})
    response = lockout_response(request, None, {"username": UNKNOWN})

    assert response.status_code == 429
    body = response.content.decode()
    assert LOCKED in body
    assert "Masuk ke KKA" in body
    assert UNKNOWN not in body


def test_inactive_account_is_locked_like_any_other(world: World) -> None:
    sleeper = make_user(email="tidur@uji.test")
    sleeper.is_active = False
    sleeper.save(update_fields=["is_active"])
    a, b = browser(), browser()
    fail(a, sleeper.email, 6)
    fail(b, UNKNOWN, 6)

    assert neutral(attempt(a, sleeper.email, PASSWORD), sleeper.email) == neutral(
        attempt(b, UNKNOWN, PASSWORD), UNKNOWN
    )
