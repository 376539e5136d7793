"""Organisation groups (``kka groups``), the pengawas account, and the organisation's
report threshold in its settings."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import Http404
from django.test import Client, override_settings
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from kka.accounts.middleware import SESSION_ORGANISATION_KEY
from kka.accounts.models import Membership, Organisation, OrganisationGroup, Role, User
from kka.audit.models import AuditEvent
from kka.audit.services import audit_verify
from kka.reports import services as report_services
from tests.personas import PASSWORD, World, make_organisation, make_user

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/akun/lembaga/pengaturan/"
ADD_URL = "/akun/lembaga/anggota/tambah/"
LOGIN_URL = "/akun/masuk/"
SWITCH_URL = "/akun/lembaga/pilih/"
THRESHOLD_ERROR = (
    "Batas angka kecil paling sedikit 5, agar laporan program tidak dapat dipakai untuk "
    "mengenali seorang konseli."
)


def groups(*args: str) -> str:
    out = io.StringIO()
    call_command("groups", *args, stdout=out)
    return out.getvalue()


@dataclass
class Office:
    office: Organisation
    pengawas: User
    school: Organisation
    second_school: Organisation


@pytest.fixture
def office(world: World) -> Office:
    office = make_organisation(name="Dinas Pendidikan Kota Uji", setting="lainnya")
    pengawas = make_user(organisation=office, role=Role.PENGAWAS, full_name="Pengawas Uji")
    return Office(office, pengawas, world.org, make_organisation(name="SMP Kedua"))


def group_rows(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- kka groups -----------------------------------------------------------------------------


def test_create_makes_an_empty_group_and_audits_it_as_the_operator(office: Office) -> None:
    output = groups("create", "--name", "  Sekolah  binaan ", "--supervisor", office.office.code)

    group = OrganisationGroup.objects.get()
    assert group.code in output
    assert (group.name, group.supervisor, group.report_threshold) == (
        "Sekolah binaan",
        office.office,
        5,
    )
    assert not group.organisations.exists()
    [row] = group_rows("org.group_created")
    assert row.actor_id is None and row.actor_role == "operator"
    assert row.organisation_id == office.office.pk
    assert (row.object_type, row.object_ref) == ("organisation_group", group.code)
    assert row.refs == {"threshold": 5}
    assert audit_verify()[1] is None


def test_create_with_a_higher_threshold(office: Office) -> None:
    groups("create", "--name", "Binaan", "--supervisor", office.office.code, "--threshold", "8")
    assert OrganisationGroup.objects.get().report_threshold == 8


@pytest.mark.parametrize("threshold", ["4", "0", "-1"])
def test_a_threshold_below_5_is_refused_and_nothing_is_made(office: Office, threshold: str) -> None:
    with pytest.raises(CommandError, match="at least 5"):
        groups(
            "create",
            "--name",
            "Binaan",
            "--supervisor",
            office.office.code,
            "--threshold",
            threshold,
        )
    assert not OrganisationGroup.objects.exists()
    assert not group_rows("org.group_created")


def test_create_refuses_an_unknown_supervisor_and_an_empty_name(office: Office) -> None:
    with pytest.raises(CommandError, match="no organisation"):
        groups("create", "--name", "Binaan", "--supervisor", "NOPE")
    with pytest.raises(CommandError, match="empty"):
        groups("create", "--name", "   ", "--supervisor", office.office.code)
    with pytest.raises(CommandError, match="control characters"):
        groups("create", "--name", "Bin\x00aan", "--supervisor", office.office.code)
    with pytest.raises(CommandError, match="no organisation"):
        groups("create", "--name", "Binaan", "--supervisor", "AB\x00CD")
    assert not OrganisationGroup.objects.exists()


def make_group(office: Office, name: str = "Binaan") -> OrganisationGroup:
    groups("create", "--name", name, "--supervisor", office.office.code)
    return OrganisationGroup.objects.get(name=name)


def test_add_and_remove_change_the_members_and_audit_each_organisation(office: Office) -> None:
    group = make_group(office)
    school, second = office.school, office.second_school

    output = groups("add", group.code, school.code, second.code, school.code)

    assert set(group.organisations.all()) == {school, second}
    assert f"{school.code} added to group {group.code}" in output
    added = group_rows("org.group_changed")
    assert [row.organisation_id for row in added] == [school.pk, second.pk]
    for row in added:
        assert row.actor_id is None and row.actor_role == "operator"
        assert row.object_ref == group.code
        assert row.refs == {"change": "added", "supervisor": office.office.code}

    # Adding again changes nothing and writes nothing.
    again = groups("add", group.code, school.code)
    assert "already in" in again
    assert len(group_rows("org.group_changed")) == 2

    output = groups("remove", group.code, second.code)
    assert list(group.organisations.all()) == [school]
    assert f"{second.code} removed from group {group.code}" in output
    removed = group_rows("org.group_changed")[-1]
    assert (removed.organisation_id, removed.refs["change"]) == (second.pk, "removed")
    assert "not in" in groups("remove", group.code, second.code)
    assert len(group_rows("org.group_changed")) == 3
    assert audit_verify()[1] is None


def test_an_unknown_code_changes_nothing(office: Office) -> None:
    group = make_group(office)
    with pytest.raises(CommandError, match="no organisation with the code 'NOPE'"):
        groups("add", group.code, office.school.code, "NOPE")
    assert not group.organisations.exists()
    assert not group_rows("org.group_changed")
    with pytest.raises(CommandError, match="no organisation group"):
        groups("add", "NOPE", office.school.code)
    with pytest.raises(CommandError, match="no organisation group"):
        groups("show", "NOPE")
    with pytest.raises(CommandError, match="no organisation group"):
        groups("remove", "A\x00", office.school.code)


def test_list_and_show_name_the_members_and_the_readers(office: Office) -> None:
    assert "no organisation groups" in groups("list")
    group = make_group(office, "Sekolah binaan kota")
    groups("add", group.code, office.school.code)
    other = make_organisation(name="Dinas Lain")
    groups("create", "--name", "Kelompok lain", "--supervisor", other.code)

    listing = groups("list").splitlines()
    assert len(listing) == 2
    line = next(x for x in listing if x.startswith(group.code))
    assert office.office.code in line and "members 1" in line and "Sekolah binaan kota" in line

    shown = groups("show", group.code)
    assert office.school.code in shown and office.school.name in shown
    assert office.second_school.code not in shown
    assert office.pengawas.email in shown
    assert "1 active pengawas" in shown


def test_the_group_decides_what_the_pengawas_may_read(office: Office) -> None:
    membership = Membership.objects.get(user=office.pengawas)
    group = make_group(office)
    groups("add", group.code, office.school.code)
    assert list(report_services.groups_for(membership)) == [group]
    assert report_services.group_for(membership, group.code) == group
    # Another office's group: not theirs.
    other_office = make_organisation(name="Dinas Lain")
    groups("create", "--name", "Lain", "--supervisor", other_office.code)
    other = OrganisationGroup.objects.get(name="Lain")
    with pytest.raises(Http404):
        report_services.group_for(membership, other.code)
    # A member of a school in the group is no reader of the group.
    for role in (Role.PIMPINAN, Role.KOORDINATOR, Role.ADMIN, Role.DPO, Role.KONSELOR):
        member = Membership.objects.filter(organisation=office.school, role=role).first()
        assert member is not None
        assert not report_services.groups_for(member).exists()
    # A deactivated pengawas reads nothing.
    membership.is_active = False
    assert not report_services.groups_for(membership).exists()


# --- the pengawas account --------------------------------------------------------------------


def login(email: str) -> Client:
    http = Client()
    response = http.post(LOGIN_URL, {"username": email, "password": PASSWORD})
    assert response.status_code == 302, "password login failed"
    return http


def test_an_admin_adds_a_pengawas_through_the_member_pages(office: Office) -> None:
    admin = make_user(organisation=office.office, role=Role.ADMIN)
    http = Client()
    http.force_login(admin)
    page = http.get(ADD_URL).content.decode()
    assert f'value="{Role.PENGAWAS}"' in page and "Pengawas (dinas pendidikan)" in page

    response = http.post(
        ADD_URL,
        {"full_name": "Pengawas Baru", "email": "pengawas.baru@dinas.test", "role": "pengawas"},
    )

    assert response.status_code == 302
    membership = Membership.objects.get(user__email="pengawas.baru@dinas.test")
    assert (membership.organisation, membership.role) == (office.office, Role.PENGAWAS)
    assert "Pengawas (dinas pendidikan)" in http.get("/akun/lembaga/anggota/").content.decode()


def test_a_pengawas_only_user_logs_in_and_uses_the_account_pages(office: Office) -> None:
    group = make_group(office)
    groups("add", group.code, office.school.code)
    http = login(office.pengawas.email)

    home = http.get("/")
    assert home.status_code == 200
    assert home.context["active_organisation"] == office.office
    assert not home.context["may_counsel"] and not home.context["may_manage_members"]
    # The groups they read are listed, with the way to each report (and "Laporan" in the
    # menu); nothing of the schools' working pages is offered.
    body = home.content.decode()
    assert reverse("reports:group", args=[group.code]) in body
    assert f'href="{reverse("reports:groups")}"' in body
    assert 'href="/kasus/"' not in body and 'href="/konseli/"' not in body

    assert http.get("/akun/sesi/").status_code == 200
    assert http.get(reverse("accounts:password_change")).status_code == 200
    assert http.get(reverse("api_ui:tokens")).status_code == 200

    # Switching: to their own organisation yes; to a school of the group, no.
    switched = http.post(SWITCH_URL, {"organisation": office.office.code})
    assert switched.status_code == 302
    assert http.session[SESSION_ORGANISATION_KEY] == office.office.code
    assert http.post(SWITCH_URL, {"organisation": office.school.code}).status_code == 404
    assert http.session[SESSION_ORGANISATION_KEY] == office.office.code
    row = AuditEvent.objects.filter(action="auth.organisation_switched").get()
    assert row.actor_role == Role.PENGAWAS

    # Nothing of the schools' working pages.
    for url in ("/kasus/", "/konseli/", "/akun/lembaga/anggota/", "/privasi/"):
        assert http.get(url).status_code == 404, url


def code_for(device: TOTPDevice) -> str:
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():06d}"


@override_settings(KKA_REQUIRE_2FA=True)
def test_a_pengawas_enrols_a_second_factor_and_verifies_on_the_next_login(
    office: Office,
) -> None:
    http = login(office.pengawas.email)
    first = http.get("/")
    assert first.status_code == 302 and first["Location"].startswith("/akun/2fa/daftar/")
    assert http.get("/akun/2fa/daftar/").status_code == 200
    device = TOTPDevice.objects.get(user=office.pengawas, confirmed=False)
    assert http.post("/akun/2fa/daftar/", {"code": code_for(device)}).status_code == 200
    assert http.get("/").status_code == 200
    assert http.get("/akun/2fa/").status_code in (200, 302)

    # The next login asks for the code, then the home page opens.
    again = login(office.pengawas.email)
    asked = again.get("/")
    assert asked.status_code == 302 and asked["Location"].startswith("/akun/verifikasi/")
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    assert again.post("/akun/verifikasi/", {"code": code_for(device)}).status_code == 302
    assert again.get("/").status_code == 200


# --- the organisation's report threshold -------------------------------------------------


def settings_form(http: Client) -> dict[str, str]:
    """The settings form as the page fills it in (every field with its shown value)."""
    form = http.get(SETTINGS_URL).context["form"]
    data: dict[str, str] = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = str(value)
    return data


@pytest.fixture
def admin_http(world: World) -> Client:
    http = Client()
    http.force_login(world.admin)
    return http


def test_the_admin_sees_and_raises_the_threshold(admin_http: Client, world: World) -> None:
    page = admin_http.get(SETTINGS_URL).content.decode()
    assert 'name="report_threshold"' in page and "Laporan program" in page
    data = settings_form(admin_http)
    assert data["report_threshold"] == "5"

    response = admin_http.post(SETTINGS_URL, {**data, "report_threshold": "10"})

    assert response.status_code == 302
    world.org.refresh_from_db()
    assert world.org.report_threshold == 10
    row = AuditEvent.objects.get(action="org.updated")
    assert row.refs == {"fields": "report_threshold"}


@pytest.mark.parametrize("value", ["4", "0", "-3"])
def test_a_threshold_below_5_is_refused_with_a_clear_message(
    admin_http: Client, world: World, value: str
) -> None:
    data = settings_form(admin_http)
    response = admin_http.post(SETTINGS_URL, {**data, "report_threshold": value})

    assert response.status_code == 200
    errors = response.context["form"].errors["report_threshold"]
    assert errors == [THRESHOLD_ERROR]
    world.org.refresh_from_db()
    assert world.org.report_threshold == 5
    assert not AuditEvent.objects.filter(action="org.updated").exists()


def test_the_threshold_can_come_down_again_but_not_below_5(
    admin_http: Client, world: World
) -> None:
    Organisation.objects.filter(pk=world.org.pk).update(report_threshold=9)
    data = settings_form(admin_http)
    assert admin_http.post(SETTINGS_URL, {**data, "report_threshold": "5"}).status_code == 302
    world.org.refresh_from_db()
    assert world.org.report_threshold == 5


def test_a_form_without_the_threshold_keeps_the_stored_value(
    admin_http: Client, world: World
) -> None:
    Organisation.objects.filter(pk=world.org.pk).update(report_threshold=7)
    data = settings_form(admin_http)
    del data["report_threshold"]
    response = admin_http.post(SETTINGS_URL, {**data, "name": "Nama Baru"})
    assert response.status_code == 302
    world.org.refresh_from_db()
    assert (world.org.name, world.org.report_threshold) == ("Nama Baru", 7)


def test_only_the_admin_changes_the_threshold(world: World) -> None:
    for user in (world.coordinator, world.head, world.dpo, world.counsellor):
        http = Client()
        http.force_login(user)
        response = http.post(SETTINGS_URL, {"report_threshold": "50"})
        assert response.status_code == 404
    world.org.refresh_from_db()
    assert world.org.report_threshold == 5
