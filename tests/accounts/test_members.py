"""The organisation admin's pages: members, roles, deactivation and organisation settings."""

from __future__ import annotations

import json
import re

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.test import Client

from kka.accounts.models import Membership, Organisation, Role, User
from kka.audit.models import AuditEvent
from tests.personas import World, make_user

LIST_URL = "/akun/lembaga/anggota/"
ADD_URL = "/akun/lembaga/anggota/tambah/"
SETTINGS_URL = "/akun/lembaga/pengaturan/"
LAST_ADMIN = "Lembaga harus tetap memiliki setidaknya satu admin."
SET_PASSWORD_LINK = re.compile(r"https?://testserver(/akun/kata-sandi/atur/[^/\s]+/[^/\s]+/)")

pytestmark = pytest.mark.django_db


def membership_of(user: User, organisation: Organisation) -> Membership:
    return Membership.objects.get(user=user, organisation=organisation)


def edit_url(membership: Membership) -> str:
    return f"/akun/lembaga/anggota/{membership.code}/"


def status_url(membership: Membership) -> str:
    return f"/akun/lembaga/anggota/{membership.code}/status/"


def org_actions() -> list[str]:
    return list(
        AuditEvent.objects.filter(action__startswith="org.").values_list("action", flat=True)
    )


def settings_data(organisation: Organisation, **changes: str) -> dict[str, str]:
    data = {
        "name": organisation.name,
        "setting": organisation.setting,
        "address": organisation.address,
        "city": organisation.city,
        "phone": organisation.phone,
        "email": organisation.email,
        "time_zone": organisation.time_zone,
        "head_title": organisation.head_title,
        "head_name": organisation.head_name,
        "head_staff_number": organisation.head_staff_number,
        "letter_number_pattern": organisation.letter_number_pattern,
        "structuring_text": organisation.structuring_text,
        "asas_variant": organisation.asas_variant,
        "evaluation_scheme": organisation.evaluation_scheme,
        "letterhead_upper": organisation.letterhead_upper,
        "website": organisation.website,
        "paper_size": organisation.paper_size,
        "plan_format": organisation.plan_format,
    }
    if organisation.require_plan_approval:
        data["require_plan_approval"] = "on"
    data.update(changes)
    return data


@pytest.fixture
def admin_client(client: Client, world: World) -> Client:
    client.force_login(world.admin)
    return client


# --- Listing ------------------------------------------------------------------------------


def test_admin_sees_only_their_own_organisations_members(
    admin_client: Client, world: World
) -> None:
    response = admin_client.get(LIST_URL)

    assert response.status_code == 200
    html = response.content.decode()
    for user in (
        world.counsellor,
        world.other_counsellor,
        world.coordinator,
        world.head,
        world.admin,
        world.dpo,
    ):
        assert user.email in html
    assert world.outsider.email not in html
    listed = {m.pk for m in response.context["members"]}
    assert listed == set(world.org.memberships.values_list("pk", flat=True))


# --- Adding -------------------------------------------------------------------------------


def test_adding_a_new_person_creates_account_membership_and_sends_welcome_mail(
    admin_client: Client, world: World, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            ADD_URL,
            {"full_name": "Guru BK Baru", "email": "Guru.Baru@Sekolah.test", "role": Role.KONSELOR},
        )

    assert response.status_code == 302
    assert response["Location"] == LIST_URL
    newcomer = User.objects.get(email="guru.baru@sekolah.test")
    assert newcomer.full_name == "Guru BK Baru"
    membership = membership_of(newcomer, world.org)
    assert (membership.role, membership.is_active) == (Role.KONSELOR, True)

    assert len(mail.outbox) == 1
    welcome = mail.outbox[0]
    assert welcome.to == ["guru.baru@sekolah.test"]
    assert welcome.subject == "Akun KKA Anda"
    assert "Yth. Bapak/Ibu" in welcome.body
    assert SET_PASSWORD_LINK.search(welcome.body) is not None

    added = AuditEvent.objects.get(action="org.member_added")
    assert added.actor_id == world.admin.pk
    assert added.actor_role == Role.ADMIN
    assert added.organisation_id == world.org.pk
    assert added.object_ref == membership.code
    assert added.refs["affected_user"] == newcomer.pk
    assert added.refs["new_account"] == 1
    assert "guru" not in json.dumps(added.refs).lower()


def test_welcome_link_lets_the_new_person_set_a_password_and_log_in(
    admin_client: Client, world: World, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            ADD_URL, {"full_name": "Guru BK Baru", "email": "baru@sekolah.test", "role": "konselor"}
        )
    link = SET_PASSWORD_LINK.search(mail.outbox[0].body)
    assert link is not None
    newcomer = Client()

    set_password_url = newcomer.get(link.group(1))["Location"]
    done = newcomer.post(
        set_password_url,
        {"new_password1": "Teh-manis-hangat-sore-77", "new_password2": "Teh-manis-hangat-sore-77"},
    )

    assert done["Location"] == "/akun/kata-sandi/atur/selesai/"
    login = newcomer.post(
        "/akun/masuk/", {"username": "baru@sekolah.test", "password": "Teh-manis-hangat-sore-77"}
    )
    assert login["Location"] == "/"
    assert f"<h2>{world.org.name}</h2>" in newcomer.get("/").content.decode()


def test_adding_an_existing_member_again_shows_an_error_and_creates_nothing(
    admin_client: Client, world: World, django_capture_on_commit_callbacks
) -> None:
    users_before = User.objects.count()
    memberships_before = Membership.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            ADD_URL,
            {"full_name": "Siapa Saja", "email": world.counsellor.email.upper(), "role": "dpo"},
        )

    assert response.status_code == 200
    assert "Orang ini sudah menjadi anggota lembaga." in response.content.decode()
    assert User.objects.count() == users_before
    assert Membership.objects.count() == memberships_before
    assert membership_of(world.counsellor, world.org).role == Role.KONSELOR
    assert mail.outbox == []
    assert org_actions() == []


def test_adding_a_person_from_another_organisation_adds_only_a_membership(
    admin_client: Client, world: World, django_capture_on_commit_callbacks
) -> None:
    users_before = User.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            ADD_URL, {"full_name": "Nama Lain", "email": world.outsider.email, "role": "konselor"}
        )

    assert response.status_code == 302
    assert User.objects.count() == users_before
    world.outsider.refresh_from_db()
    assert world.outsider.full_name != "Nama Lain"
    assert membership_of(world.outsider, world.org).role == Role.KONSELOR
    assert membership_of(world.outsider, world.other_org).is_active
    assert mail.outbox == []
    added = AuditEvent.objects.get(action="org.member_added")
    assert added.refs["affected_user"] == world.outsider.pk
    assert added.refs["new_account"] == 0


# --- Roles --------------------------------------------------------------------------------


def test_changing_a_role_is_saved_and_audited(admin_client: Client, world: World) -> None:
    membership = membership_of(world.counsellor, world.org)

    response = admin_client.post(edit_url(membership), {"role": Role.KOORDINATOR})

    assert response.status_code == 302
    assert response["Location"] == LIST_URL
    membership.refresh_from_db()
    assert membership.role == Role.KOORDINATOR
    changed = AuditEvent.objects.get(action="org.member_role_changed")
    assert changed.actor_id == world.admin.pk
    assert changed.organisation_id == world.org.pk
    assert changed.object_ref == membership.code
    assert changed.refs == {
        "affected_user": world.counsellor.pk,
        "from": Role.KONSELOR,
        "to": Role.KOORDINATOR,
    }


def test_unknown_role_is_refused(admin_client: Client, world: World) -> None:
    membership = membership_of(world.counsellor, world.org)

    response = admin_client.post(edit_url(membership), {"role": "superadmin"})

    assert response.status_code == 200
    membership.refresh_from_db()
    assert membership.role == Role.KONSELOR
    assert org_actions() == []


# --- Deactivation -------------------------------------------------------------------------


def test_deactivated_member_loses_the_organisation_on_their_next_request(
    admin_client: Client, world: World
) -> None:
    counsellor_client = Client()
    counsellor_client.force_login(world.counsellor)
    assert f"<h2>{world.org.name}</h2>" in counsellor_client.get("/").content.decode()
    membership = membership_of(world.counsellor, world.org)

    response = admin_client.post(status_url(membership), {"active": "0"})

    assert response.status_code == 302
    assert response["Location"] == LIST_URL
    membership.refresh_from_db()
    assert membership.is_active is False
    deactivated = AuditEvent.objects.get(action="org.member_deactivated")
    assert deactivated.refs == {"affected_user": world.counsellor.pk}
    # Every session of the person ended (kka.accounts.sessions): the next request goes to
    # the login page; logged in again, they have no organisation any more.
    assert counsellor_client.get("/")["Location"].startswith("/akun/masuk/")
    counsellor_client.force_login(world.counsellor)
    home = counsellor_client.get("/")
    assert home.status_code == 200
    html = home.content.decode()
    assert "Belum terdaftar di lembaga" in html
    assert world.org.name not in html


def test_reactivated_member_gets_the_organisation_back(admin_client: Client, world: World) -> None:
    membership = membership_of(world.counsellor, world.org)
    admin_client.post(status_url(membership), {"active": "0"})
    counsellor_client = Client()
    counsellor_client.force_login(world.counsellor)

    admin_client.post(status_url(membership), {"active": "1"})

    membership.refresh_from_db()
    assert membership.is_active is True
    assert org_actions() == ["org.member_deactivated", "org.member_reactivated"]
    assert f"<h2>{world.org.name}</h2>" in counsellor_client.get("/").content.decode()


def test_deactivated_admin_loses_the_admin_pages_on_the_next_request(world: World) -> None:
    second_admin = make_user(organisation=world.org, role=Role.ADMIN)
    second_client = Client()
    second_client.force_login(second_admin)
    assert second_client.get(LIST_URL).status_code == 200
    first_client = Client()
    first_client.force_login(world.admin)

    first_client.post(status_url(membership_of(second_admin, world.org)), {"active": "0"})

    assert second_client.get(LIST_URL)["Location"].startswith("/akun/masuk/")
    second_client.force_login(second_admin)
    assert second_client.get(LIST_URL).status_code == 404


def test_status_page_answers_only_post(admin_client: Client, world: World) -> None:
    membership = membership_of(world.counsellor, world.org)

    response = admin_client.get(status_url(membership))

    assert response.status_code == 405
    membership.refresh_from_db()
    assert membership.is_active is True


# --- The last admin -----------------------------------------------------------------------


def test_last_admin_cannot_be_demoted(admin_client: Client, world: World) -> None:
    membership = membership_of(world.admin, world.org)

    response = admin_client.post(edit_url(membership), {"role": Role.KONSELOR})

    assert response.status_code == 200
    assert LAST_ADMIN in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    assert org_actions() == []


def test_last_admin_cannot_be_deactivated(admin_client: Client, world: World) -> None:
    membership = membership_of(world.admin, world.org)

    response = admin_client.post(status_url(membership), {"active": "0"}, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [(LIST_URL, 302)]
    assert LAST_ADMIN in response.content.decode()
    membership.refresh_from_db()
    assert membership.is_active is True
    assert org_actions() == []


def test_an_inactive_second_admin_does_not_count(admin_client: Client, world: World) -> None:
    second_admin = make_user(organisation=world.org, role=Role.ADMIN)
    Membership.objects.filter(user=second_admin).update(is_active=False)
    membership = membership_of(world.admin, world.org)

    response = admin_client.post(edit_url(membership), {"role": Role.DPO})

    assert LAST_ADMIN in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN


def test_an_admin_can_step_down_when_another_admin_remains(
    admin_client: Client, world: World
) -> None:
    make_user(organisation=world.org, role=Role.ADMIN)
    membership = membership_of(world.admin, world.org)

    response = admin_client.post(edit_url(membership), {"role": Role.KONSELOR})

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.KONSELOR
    # The very next request no longer has admin rights.
    assert admin_client.get(LIST_URL).status_code == 404


# --- Another organisation's memberships ---------------------------------------------------


def test_admin_cannot_touch_a_membership_of_another_organisation(
    admin_client: Client, world: World
) -> None:
    foreign = membership_of(world.outsider, world.other_org)

    assert admin_client.get(edit_url(foreign)).status_code == 404
    assert admin_client.post(edit_url(foreign), {"role": Role.ADMIN}).status_code == 404
    assert admin_client.post(status_url(foreign), {"active": "0"}).status_code == 404

    foreign.refresh_from_db()
    assert (foreign.role, foreign.is_active) == (Role.KONSELOR, True)
    assert org_actions() == []


def test_not_found_page_does_not_reveal_the_other_membership(
    admin_client: Client, world: World
) -> None:
    foreign = membership_of(world.outsider, world.other_org)

    html = admin_client.get(edit_url(foreign)).content.decode()

    assert "Halaman tidak ditemukan" in html
    assert world.outsider.email not in html
    assert world.other_org.name not in html


# --- Everybody else -----------------------------------------------------------------------


def _requests(world: World) -> list[tuple[str, str, dict[str, str]]]:
    target = membership_of(world.other_counsellor, world.org)
    return [
        ("get", LIST_URL, {}),
        ("post", LIST_URL, {}),
        ("get", ADD_URL, {}),
        (
            "post",
            ADD_URL,
            {"full_name": "Penyusup", "email": "penyusup@uji.test", "role": Role.ADMIN},
        ),
        ("get", edit_url(target), {}),
        ("post", edit_url(target), {"role": Role.ADMIN}),
        ("get", status_url(target), {}),
        ("post", status_url(target), {"active": "0"}),
        ("get", SETTINGS_URL, {}),
        ("post", SETTINGS_URL, settings_data(world.org, name="Diambil Alih")),
    ]


@pytest.mark.parametrize("persona", ["counsellor", "coordinator", "head", "dpo", "outsider"])
def test_every_other_persona_gets_404_and_changes_nothing(
    client: Client, world: World, persona: str, django_capture_on_commit_callbacks
) -> None:
    client.force_login(world.personas()[persona])
    memberships_before = set(Membership.objects.values_list("pk", "role", "is_active"))

    for method, url, data in _requests(world):
        with django_capture_on_commit_callbacks(execute=True):
            response = getattr(client, method)(url, data)
        assert response.status_code == 404, (method, url)

    assert set(Membership.objects.values_list("pk", "role", "is_active")) == memberships_before
    assert not User.objects.filter(email="penyusup@uji.test").exists()
    world.org.refresh_from_db()
    assert world.org.name == "SMP Uji Kerahasiaan"
    assert org_actions() == []
    assert mail.outbox == []


def test_user_without_any_organisation_gets_404(client: Client, world: World) -> None:
    client.force_login(make_user())

    for method, url, data in _requests(world):
        assert getattr(client, method)(url, data).status_code == 404, (method, url)


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_is_sent_to_login(client: Client, world: World, method: str) -> None:
    for _method, url, data in _requests(world):
        response = client.post(url, data) if method == "post" else client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == f"/akun/masuk/?next={url}"
    assert org_actions() == []


# --- Organisation settings ----------------------------------------------------------------


def test_admin_sees_the_settings_form(admin_client: Client, world: World) -> None:
    response = admin_client.get(SETTINGS_URL)

    assert response.status_code == 200
    assert response.context["form"].initial["name"] == world.org.name


def test_settings_edit_saves_and_audits_only_field_names(
    admin_client: Client, world: World
) -> None:
    response = admin_client.post(
        SETTINGS_URL,
        settings_data(world.org, name="SMP Negeri 9 Contoh", city="Kota Rahasia"),
    )

    assert response.status_code == 302
    assert response["Location"] == SETTINGS_URL
    world.org.refresh_from_db()
    assert (world.org.name, world.org.city) == ("SMP Negeri 9 Contoh", "Kota Rahasia")
    updated = AuditEvent.objects.get(action="org.updated")
    assert updated.actor_id == world.admin.pk
    assert updated.actor_role == Role.ADMIN
    assert updated.organisation_id == world.org.pk
    assert updated.refs == {"fields": "city,name"}
    stored = json.dumps(updated.refs) + updated.object_ref
    for value in ("SMP Negeri 9 Contoh", "Kota Rahasia", "SMP Uji Kerahasiaan"):
        assert value not in stored


def test_saving_unchanged_settings_writes_no_audit_row(admin_client: Client, world: World) -> None:
    response = admin_client.post(SETTINGS_URL, settings_data(world.org))

    assert response.status_code == 302
    assert org_actions() == []


def test_invalid_settings_change_nothing(admin_client: Client, world: World) -> None:
    response = admin_client.post(
        SETTINGS_URL, settings_data(world.org, name="Nama Baru", time_zone="Europe/London")
    )

    assert response.status_code == 200
    assert "time_zone" in response.context["form"].errors
    world.org.refresh_from_db()
    assert world.org.name == "SMP Uji Kerahasiaan"
    assert org_actions() == []


def test_settings_edit_changes_only_the_admins_organisation(
    admin_client: Client, world: World
) -> None:
    admin_client.post(SETTINGS_URL, settings_data(world.org, time_zone="Asia/Jayapura"))

    world.org.refresh_from_db()
    world.other_org.refresh_from_db()
    assert world.org.time_zone == "Asia/Jayapura"
    assert world.other_org.time_zone == "Asia/Makassar"


# --- Database constraint ------------------------------------------------------------------


def test_second_membership_for_the_same_pair_is_refused_by_the_database(world: World) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=world.counsellor, organisation=world.org, role=Role.DPO)

    assert Membership.objects.filter(user=world.counsellor, organisation=world.org).count() == 1


def test_the_same_person_may_belong_to_two_organisations(world: World) -> None:
    Membership.objects.create(user=world.counsellor, organisation=world.other_org, role=Role.DPO)

    assert world.counsellor.memberships.count() == 2
