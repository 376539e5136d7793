"""Changing a password, and resetting a forgotten one through an emailed link."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client

from kka.accounts.models import User
from kka.audit.models import AuditEvent
from tests.personas import PASSWORD, World

CHANGE_URL = "/akun/kata-sandi/ubah/"
FORGOT_URL = "/akun/kata-sandi/lupa/"
NEW_PASSWORD = "Kopi-tubruk-pagi-hari-2026"
LINK = re.compile(
    r"https?://testserver(/akun/kata-sandi/atur/(?P<uid>[^/\s]+)/(?P<token>[^/\s]+)/)"
)

pytestmark = pytest.mark.django_db


def _error_codes(response, field: str) -> set[str]:
    return {error.code for error in response.context["form"].errors.as_data().get(field, [])}


def _password_still(user: User, password: str) -> bool:
    user.refresh_from_db()
    return user.check_password(password)


# --- Change -------------------------------------------------------------------------------


def test_password_change_needs_login(client: Client) -> None:
    response = client.get(CHANGE_URL)

    assert response.status_code == 302
    assert response["Location"] == f"/akun/masuk/?next={CHANGE_URL}"


def test_password_shorter_than_twelve_characters_is_refused(client: Client, world: World) -> None:
    client.force_login(world.counsellor)

    response = client.post(
        CHANGE_URL,
        {"old_password": PASSWORD, "new_password1": "Kp-9x!zQ", "new_password2": "Kp-9x!zQ"},
    )

    assert response.status_code == 200
    assert "password_too_short" in _error_codes(response, "new_password2")
    assert "Harus mengandung setidaknya 12 karakter." in response.content.decode()
    assert _password_still(world.counsellor, PASSWORD)
    assert not AuditEvent.objects.filter(action="auth.password_changed").exists()


def test_common_password_is_refused(client: Client, world: World) -> None:
    client.force_login(world.counsellor)

    response = client.post(
        CHANGE_URL,
        {
            "old_password": PASSWORD,
            "new_password1": "password1234",
            "new_password2": "password1234",
        },
    )

    assert response.status_code == 200
    assert "password_too_common" in _error_codes(response, "new_password2")
    assert "Kata sandi ini terlalu umum." in response.content.decode()
    assert _password_still(world.counsellor, PASSWORD)
    assert not AuditEvent.objects.filter(action="auth.password_changed").exists()


def test_wrong_current_password_changes_nothing(client: Client, world: World) -> None:
    client.force_login(world.counsellor)

    response = client.post(
        CHANGE_URL,
        {
            "old_password": "bukan-sandi-lama",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 200
    assert "password_incorrect" in _error_codes(response, "old_password")
    assert _password_still(world.counsellor, PASSWORD)


def test_password_change_succeeds_and_is_audited(client: Client, world: World) -> None:
    client.force_login(world.counsellor)

    response = client.post(
        CHANGE_URL,
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == "/akun/kata-sandi/ubah/selesai/"
    assert _password_still(world.counsellor, NEW_PASSWORD)
    # The person stays logged in on this device.
    assert client.get("/").status_code == 200
    changed = AuditEvent.objects.get(action="auth.password_changed")
    assert changed.actor_id == world.counsellor.pk
    assert changed.outcome == "success"
    assert NEW_PASSWORD not in str(changed.refs)


# --- Reset --------------------------------------------------------------------------------


def _request_reset(client: Client, email: str):
    return client.post(FORGOT_URL, {"email": email})


def test_reset_for_known_email_sends_one_indonesian_mail_with_a_link(
    client: Client, world: World
) -> None:
    response = _request_reset(client, world.counsellor.email)

    assert response.status_code == 302
    assert response["Location"] == "/akun/kata-sandi/lupa/terkirim/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [world.counsellor.email]
    assert message.subject == "Atur ulang kata sandi KKA"
    assert "Yth. pengguna KKA" in message.body
    assert "berlaku 2 jam" in message.body
    assert LINK.search(message.body) is not None


def test_reset_for_unknown_email_answers_the_same_and_sends_nothing(
    client: Client, world: World
) -> None:
    known = _request_reset(client, world.counsellor.email)
    mail.outbox.clear()

    unknown = _request_reset(Client(), "tidak-terdaftar@uji.test")

    assert unknown.status_code == known.status_code == 302
    assert unknown["Location"] == known["Location"]
    assert mail.outbox == []
    done_known = client.get(known["Location"]).content.decode()
    done_unknown = Client().get(unknown["Location"]).content.decode()
    assert "Periksa email Anda" in done_known
    assert "Periksa email Anda" in done_unknown


def test_reset_request_is_audited_only_for_a_known_user(client: Client, world: World) -> None:
    _request_reset(client, "tidak-terdaftar@uji.test")
    assert not AuditEvent.objects.filter(action="auth.password_reset_requested").exists()

    _request_reset(client, world.counsellor.email)

    requested = AuditEvent.objects.get(action="auth.password_reset_requested")
    assert requested.actor_id is None
    assert requested.refs == {"affected_user": world.counsellor.pk}


def test_reset_for_inactive_user_sends_nothing(client: Client, world: World) -> None:
    world.counsellor.is_active = False
    world.counsellor.save(update_fields=["is_active"])

    response = _request_reset(client, world.counsellor.email)

    assert response.status_code == 302
    assert mail.outbox == []
    assert not AuditEvent.objects.filter(action="auth.password_reset_requested").exists()


def test_following_the_reset_link_sets_a_new_password(client: Client, world: World) -> None:
    _request_reset(client, world.counsellor.email)
    link = LINK.search(mail.outbox[0].body)
    assert link is not None

    # Django moves the token out of the URL into the session, then redirects.
    first = client.get(link.group(1))
    assert first.status_code == 302
    set_password_url = first["Location"]
    assert set_password_url == f"/akun/kata-sandi/atur/{link['uid']}/set-password/"
    form_page = client.get(set_password_url)
    assert form_page.status_code == 200
    assert form_page.context["validlink"] is True

    response = client.post(
        set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/akun/kata-sandi/atur/selesai/"
    assert _password_still(world.counsellor, NEW_PASSWORD)
    done = AuditEvent.objects.get(action="auth.password_reset_done")
    assert done.actor_id == world.counsellor.pk
    # Setting the password does not log the person in; they log in with the new one.
    assert client.session.get(SESSION_KEY) is None
    login = Client().post(
        "/akun/masuk/", {"username": world.counsellor.email, "password": NEW_PASSWORD}
    )
    assert login["Location"] == "/"


def test_reset_link_works_only_once(client: Client, world: World) -> None:
    _request_reset(client, world.counsellor.email)
    link = LINK.search(mail.outbox[0].body)
    assert link is not None
    set_password_url = client.get(link.group(1))["Location"]
    client.post(set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    again = Client().get(link.group(1))

    assert again.status_code == 200
    assert again.context["validlink"] is False
    assert "Tautan tidak berlaku" in again.content.decode()


def test_reset_with_weak_password_is_refused(client: Client, world: World) -> None:
    _request_reset(client, world.counsellor.email)
    link = LINK.search(mail.outbox[0].body)
    assert link is not None
    set_password_url = client.get(link.group(1))["Location"]

    response = client.post(
        set_password_url, {"new_password1": "password1234", "new_password2": "password1234"}
    )

    assert response.status_code == 200
    assert "password_too_common" in _error_codes(response, "new_password2")
    assert _password_still(world.counsellor, PASSWORD)
    assert not AuditEvent.objects.filter(action="auth.password_reset_done").exists()
