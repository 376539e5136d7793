"""Switching the active organisation, and switching the interface language."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from kka.accounts.middleware import SESSION_ORGANISATION_KEY
from kka.accounts.models import Membership, Organisation, Role, User
from kka.audit.models import AuditEvent
from tests.personas import World, make_organisation, make_user

SWITCH_URL = "/akun/lembaga/pilih/"
LANGUAGE_URL = "/akun/bahasa/"

pytestmark = pytest.mark.django_db


class TwoOrgs:
    def __init__(self) -> None:
        # Memberships are listed by organisation name, so "A…" is the default.
        self.first = make_organisation(name="A Sekolah Pertama")
        self.second = make_organisation(name="B Kantor Kedua", time_zone="Asia/Jayapura")
        self.user = make_user(organisation=self.first, role=Role.KONSELOR)
        Membership.objects.create(user=self.user, organisation=self.second, role=Role.ADMIN)


@pytest.fixture
def two(db: None) -> TwoOrgs:
    return TwoOrgs()


def shown_organisation(client: Client) -> Organisation | None:
    response = client.get("/")
    assert response.status_code == 200
    active = response.context["active_organisation"]
    if active is not None:
        # The card names the active organisation (the switcher lists both).
        assert f"<h2>{active.name}</h2>" in response.content.decode()
    return active


# --- Organisation -------------------------------------------------------------------------


def test_user_in_two_organisations_sees_the_first_by_default(client: Client, two: TwoOrgs) -> None:
    client.force_login(two.user)

    assert shown_organisation(client) == two.first


def test_switching_organisation_changes_the_home_page_and_is_audited(
    client: Client, two: TwoOrgs
) -> None:
    client.force_login(two.user)

    response = client.post(SWITCH_URL, {"organisation": two.second.code})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[SESSION_ORGANISATION_KEY] == two.second.code
    assert shown_organisation(client) == two.second
    # It stays switched for the rest of the session.
    assert shown_organisation(client) == two.second
    switched = AuditEvent.objects.get(action="auth.organisation_switched")
    assert switched.actor_id == two.user.pk
    assert switched.actor_role == Role.ADMIN
    assert switched.organisation_id == two.second.pk


def test_rights_follow_the_active_organisation(client: Client, two: TwoOrgs) -> None:
    client.force_login(two.user)
    assert client.get("/akun/lembaga/anggota/").status_code == 404  # a counsellor in the first

    client.post(SWITCH_URL, {"organisation": two.second.code})

    assert client.get("/akun/lembaga/anggota/").status_code == 200  # the admin of the second


def test_switching_to_an_organisation_without_membership_is_404(
    client: Client, two: TwoOrgs, world: World
) -> None:
    client.force_login(two.user)
    client.post(SWITCH_URL, {"organisation": two.second.code})
    before = AuditEvent.objects.filter(action="auth.organisation_switched").count()

    response = client.post(SWITCH_URL, {"organisation": world.org.code})

    assert response.status_code == 404
    assert client.session[SESSION_ORGANISATION_KEY] == two.second.code
    assert shown_organisation(client) == two.second
    assert AuditEvent.objects.filter(action="auth.organisation_switched").count() == before


def test_switching_to_an_organisation_whose_membership_is_inactive_is_404(
    client: Client, two: TwoOrgs
) -> None:
    Membership.objects.filter(user=two.user, organisation=two.second).update(is_active=False)
    client.force_login(two.user)

    response = client.post(SWITCH_URL, {"organisation": two.second.code})

    assert response.status_code == 404
    assert SESSION_ORGANISATION_KEY not in client.session
    assert shown_organisation(client) == two.first
    assert not AuditEvent.objects.filter(action="auth.organisation_switched").exists()


@pytest.mark.parametrize("value", ["", "x" * 40, "tidak-ada"])
def test_switching_with_a_malformed_code_is_404(client: Client, two: TwoOrgs, value: str) -> None:
    client.force_login(two.user)

    assert client.post(SWITCH_URL, {"organisation": value}).status_code == 404
    assert shown_organisation(client) == two.first


def test_switching_is_post_only(client: Client, two: TwoOrgs) -> None:
    client.force_login(two.user)

    assert client.get(SWITCH_URL, {"organisation": two.second.code}).status_code == 405
    assert shown_organisation(client) == two.first


def test_anonymous_switch_goes_to_login(client: Client, two: TwoOrgs) -> None:
    response = client.post(SWITCH_URL, {"organisation": two.second.code})

    assert response.status_code == 302
    assert response["Location"].startswith("/akun/masuk/?next=")


def test_deactivated_chosen_organisation_falls_back_to_the_other(
    client: Client, two: TwoOrgs
) -> None:
    client.force_login(two.user)
    client.post(SWITCH_URL, {"organisation": two.second.code})

    Membership.objects.filter(user=two.user, organisation=two.second).update(is_active=False)

    assert shown_organisation(client) == two.first


def test_home_uses_the_active_organisations_time_zone(client: Client, two: TwoOrgs) -> None:
    client.force_login(two.user)
    assert client.get("/").context["TIME_ZONE"] == "Asia/Jakarta"

    client.post(SWITCH_URL, {"organisation": two.second.code})

    assert client.get("/").context["TIME_ZONE"] == "Asia/Jayapura"


# --- Language -----------------------------------------------------------------------------


def test_language_switch_sets_the_cookie_for_an_anonymous_visitor(client: Client) -> None:
    response = client.post(LANGUAGE_URL, {"language": "en"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert settings.LANGUAGE_COOKIE_NAME == "kka_lang"
    assert cookie.value == "en"
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert '<html lang="en">' in client.get("/akun/masuk/").content.decode()


def test_language_switch_saves_the_users_language(client: Client, world: World) -> None:
    client.force_login(world.counsellor)

    response = client.post(LANGUAGE_URL, {"language": "en"})

    assert response.cookies["kka_lang"].value == "en"
    world.counsellor.refresh_from_db()
    assert world.counsellor.language == "en"
    assert '<html lang="en">' in client.get("/").content.decode()
    # The saved choice follows the person to another device without the cookie.
    other_device = Client()
    other_device.force_login(world.counsellor)
    assert '<html lang="en">' in other_device.get("/").content.decode()


def test_users_saved_language_wins_over_the_cookie(client: Client, world: World) -> None:
    client.force_login(world.counsellor)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    assert '<html lang="id">' in client.get("/").content.decode()


def test_unknown_language_changes_nothing(client: Client, world: World) -> None:
    client.force_login(world.counsellor)

    response = client.post(LANGUAGE_URL, {"language": "fr"})

    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    world.counsellor.refresh_from_db()
    assert world.counsellor.language == "id"


def test_language_switch_is_post_only(client: Client) -> None:
    assert client.get(LANGUAGE_URL, {"language": "en"}).status_code == 405


@pytest.mark.parametrize(
    "target",
    [
        "https://penipu.example/curi",
        "//penipu.example/curi",
        "http://testserver.penipu.example/",
        "javascript:alert(1)",
    ],
)
def test_language_switch_ignores_next_to_another_host(client: Client, target: str) -> None:
    response = client.post(LANGUAGE_URL, {"language": "en", "next": target})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_language_switch_returns_to_a_page_on_this_site(client: Client) -> None:
    response = client.post(LANGUAGE_URL, {"language": "en", "next": "/akun/kata-sandi/lupa/?x=1"})

    assert response["Location"] == "/akun/kata-sandi/lupa/?x=1"


def test_language_is_a_personal_setting(client: Client, world: World) -> None:
    client.force_login(world.counsellor)

    client.post(LANGUAGE_URL, {"language": "en"})

    assert list(User.objects.filter(language="en").values_list("pk", flat=True)) == [
        world.counsellor.pk
    ]
