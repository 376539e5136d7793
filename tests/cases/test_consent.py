"""Minor status and consent: who may consent, what is in force, and the proof of it.

A client under 18 is a child: only a parent's or guardian's consent counts. From the
18th birthday only the client's own consent counts. Consent rows are append-only: a
withdrawal is a new row, never an edit of the grant.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse

from kka.accounts.models import Role, User
from kka.audit.models import AuditEvent
from kka.cases import selectors, services
from kka.cases.models import (
    Attachment,
    Client,
    Consent,
    ConsentKind,
    ConsentText,
    ParticipantCategory,
)
from kka.lib import private_files
from tests.personas import World, make_organisation, make_user
from tests.test_permission_matrix import PNG

pytestmark = pytest.mark.django_db

# A fixed day on which the "minor" client (born 2012) is a child and the "adult"
# client (born 1990) is grown up, so no test depends on the real date.
DAY = dt.date(2026, 6, 1)
MINOR_BIRTH = "2012-05-01"
ADULT_BIRTH = "1990-01-01"
ALL_PURPOSES = [
    "purpose_hold_kka",
    "share_school_staff",
    "share_family",
    "share_employer",
    "share_community",
    "share_professionals",
    "purpose_documents",
]


# --- helpers -------------------------------------------------------------------------


def new_client(actor: User, *, name: str = "Sari Wulandari", birth_date: str = "") -> Client:
    organisation = actor.memberships.get().organisation  # type: ignore[attr-defined]
    return services.client_create(
        actor=actor, organisation=organisation, full_name=name, birth_date=birth_date
    )


def grant(
    actor: User,
    client: Client,
    *,
    giver: str = "orang_tua",
    giver_name: str = "Budi Santoso",
    purposes: list[str] | None = None,
    **extra: Any,
) -> Consent:
    return services.consent_record(
        actor=actor,
        client=client,
        giver=giver,
        giver_name=giver_name,
        channel=extra.pop("channel", "lisan"),
        purposes=purposes if purposes is not None else ["purpose_hold_kka"],
        **extra,
    )


def audit_rows(action: str, **filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("id"))


def assert_audit_holds_no_content(*secrets: str) -> None:
    """No audit row, in any column, carries one of the given pieces of content."""
    dump = json.dumps(list(AuditEvent.objects.values()), default=str).casefold()
    for secret in secrets:
        assert secret.casefold() not in dump, secret


def logged_in(user: User) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def files_in(root: Path) -> set[str]:
    return {p.name for p in root.iterdir()} if root.exists() else set()


@pytest.fixture
def private_root(settings: Any, tmp_path: Path) -> Path:
    """An empty private-files directory of this test's own, so leftovers can be counted."""
    root = tmp_path / "private"
    settings.PRIVATE_FILES_ROOT = root
    return root


# --- minor status --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "day", "minor"),
    [
        ("2008-06-15", "2026-06-14", True),  # the day before the 18th birthday
        ("2008-06-15", "2026-06-15", False),  # the 18th birthday itself
        ("2008-06-15", "2026-06-16", False),
        ("2008-06-15", "2025-06-15", True),  # 17th birthday
        ("2007-12-31", "2025-12-30", True),
        ("2007-12-31", "2025-12-31", False),
        ("2008-01-01", "2025-12-31", True),  # across the turn of the year
        ("2008-01-01", "2026-01-01", False),
        # Born on 29 February: 18 years later is never a leap year, so the client
        # becomes an adult on 1 March (28 February is still a minor's day).
        ("2008-02-29", "2026-02-28", True),
        ("2008-02-29", "2026-03-01", False),
        ("2008-02-29", "2025-03-01", True),
    ],
)
def test_client_is_a_minor_until_the_eighteenth_birthday(
    world: World, birth: str, day: str, minor: bool
) -> None:
    client = new_client(world.counsellor, birth_date=birth)

    assert selectors.client_is_minor(client, on=dt.date.fromisoformat(day)) is minor


@pytest.mark.parametrize("birth", ["", "31-12-2000", "bukan tanggal"])
def test_unknown_or_unreadable_birth_date_counts_as_a_minor(world: World, birth: str) -> None:
    client = new_client(world.counsellor, birth_date=birth)

    assert selectors.client_is_minor(client, on=dt.date(2100, 1, 1)) is True
    assert selectors.valid_consent_givers(client, on=dt.date(2100, 1, 1)) == {"orang_tua", "wali"}


def test_today_for_the_minor_check_is_the_organisations_local_day(monkeypatch: Any) -> None:
    # Both clients turn 18 on 30 November 2026. At 16:30 UTC on 29 November it is
    # already 01:30 on the 30th in Jayapura (WIT, UTC+9) but only 23:30 on the 29th in
    # Jakarta (WIB, UTC+7): the Papuan client is an adult, the Javanese one still a
    # child. A server that used UTC (or its own zone) would get one of them wrong.
    papua = make_organisation(name="SMA Jayapura", time_zone="Asia/Jayapura")
    java = make_organisation(name="SMA Jakarta", time_zone="Asia/Jakarta")
    in_papua = new_client(make_user(organisation=papua), birth_date="2008-11-30")
    in_java = new_client(make_user(organisation=java), birth_date="2008-11-30")
    instant = dt.datetime(2026, 11, 29, 16, 30, tzinfo=dt.UTC)
    monkeypatch.setattr("django.utils.timezone.now", lambda: instant)

    assert selectors.local_today(papua) == dt.date(2026, 11, 30)
    assert selectors.local_today(java) == dt.date(2026, 11, 29)
    assert selectors.client_is_minor(in_papua) is False
    assert selectors.client_is_minor(in_java) is True


# --- consent in force ----------------------------------------------------------------


def test_for_a_minor_only_a_parents_or_guardians_grant_counts(world: World) -> None:
    client = new_client(world.counsellor, birth_date=MINOR_BIRTH)
    grant(world.counsellor, client, giver="konseli", giver_name="Sari Wulandari")
    assert selectors.current_consent(client, on=DAY) is None

    by_guardian = grant(world.counsellor, client, giver="wali", giver_name="Paman Joko")
    assert selectors.current_consent(client, on=DAY) == by_guardian

    # A newer grant by the child herself still does not displace the guardian's.
    grant(world.counsellor, client, giver="konseli", giver_name="Sari Wulandari")
    assert selectors.current_consent(client, on=DAY) == by_guardian

    by_parent = grant(world.counsellor, client, giver="orang_tua", giver_name="Ibu Rina")
    assert selectors.current_consent(client, on=DAY) == by_parent


def test_for_an_adult_only_the_clients_own_grant_counts(world: World) -> None:
    client = new_client(world.counsellor, birth_date=ADULT_BIRTH)
    grant(world.counsellor, client, giver="orang_tua", giver_name="Budi Santoso")
    assert selectors.current_consent(client, on=DAY) is None

    own = grant(world.counsellor, client, giver="konseli", giver_name="Sari Wulandari")
    assert selectors.current_consent(client, on=DAY) == own

    grant(world.counsellor, client, giver="wali", giver_name="Paman Joko")
    assert selectors.current_consent(client, on=DAY) == own


def test_withdrawal_removes_the_consent_in_force_and_a_newer_grant_restores_it(
    world: World,
) -> None:
    client = new_client(world.counsellor, birth_date=MINOR_BIRTH)
    first = grant(world.counsellor, client, purposes=["purpose_hold_kka", "share_family"])
    assert selectors.current_consent(client, on=DAY) == first

    withdrawal = services.consent_withdraw(
        actor=world.counsellor, consent=first, note="Ayah ingin membicarakan dulu"
    )
    assert selectors.current_consent(client, on=DAY) is None
    assert withdrawal.kind == ConsentKind.WITHDRAWAL

    again = grant(world.counsellor, client, purposes=["purpose_hold_kka"])
    assert selectors.current_consent(client, on=DAY) == again

    (row,) = audit_rows("consent.withdrawn")
    assert row.object_ref == withdrawal.code
    assert row.refs == {"client": client.code, "withdraws": first.code}
    assert row.actor_id == world.counsellor.pk
    assert [r.object_ref for r in audit_rows("consent.recorded")] == [first.code, again.code]
    assert_audit_holds_no_content("Ayah ingin membicarakan dulu", "Budi Santoso", "Sari")


def test_consent_rows_are_append_only_a_withdrawal_is_a_new_row(world: World) -> None:
    client = new_client(world.counsellor, birth_date=MINOR_BIRTH)
    first = grant(world.counsellor, client, purposes=["purpose_hold_kka", "share_family"])
    before = Consent.objects.filter(pk=first.pk).values().get()

    withdrawal = services.consent_withdraw(actor=world.counsellor, consent=first)

    assert Consent.objects.filter(client=client).count() == 2
    assert Consent.objects.filter(pk=first.pk).values().get() == before
    assert withdrawal.pk != first.pk
    assert (withdrawal.giver, withdrawal.giver_name) == (first.giver, first.giver_name)
    assert withdrawal.consent_text_id == first.consent_text_id
    assert not any(getattr(withdrawal, name) for name in ALL_PURPOSES)


def test_a_withdrawal_cannot_itself_be_withdrawn(world: World) -> None:
    client = new_client(world.counsellor, birth_date=MINOR_BIRTH)
    withdrawal = services.consent_withdraw(
        actor=world.counsellor, consent=grant(world.counsellor, client)
    )
    audit_count = AuditEvent.objects.count()

    with pytest.raises(ValidationError, match="Hanya persetujuan yang dapat ditarik"):
        services.consent_withdraw(actor=world.counsellor, consent=withdrawal)

    assert Consent.objects.filter(client=client).count() == 2
    assert AuditEvent.objects.count() == audit_count


@pytest.mark.parametrize("category", ParticipantCategory.values)
def test_consent_allows_sharing_only_with_the_chosen_category(world: World, category: str) -> None:
    client = new_client(world.counsellor, birth_date=MINOR_BIRTH)
    field = Consent.SHARE_FIELDS[ParticipantCategory(category)]
    consent = grant(world.counsellor, client, purposes=["purpose_hold_kka", field])

    allowed = {c for c in ParticipantCategory.values if consent.allows_sharing_with(c)}
    assert allowed == {category}

    withdrawal = services.consent_withdraw(actor=world.counsellor, consent=consent)
    assert not any(withdrawal.allows_sharing_with(c) for c in ParticipantCategory.values)


def test_allows_sharing_with_several_categories(world: World) -> None:
    client = new_client(world.counsellor, birth_date=MINOR_BIRTH)
    consent = grant(world.counsellor, client, purposes=ALL_PURPOSES)

    assert all(consent.allows_sharing_with(c) for c in ParticipantCategory.values)
    with pytest.raises(ValueError):
        consent.allows_sharing_with("tetangga")


def test_guardians_consent_stops_counting_when_the_client_turns_eighteen(world: World) -> None:
    client = new_client(world.counsellor, birth_date="2008-06-15")
    by_parent = grant(world.counsellor, client, giver="orang_tua")
    eve, birthday = dt.date(2026, 6, 14), dt.date(2026, 6, 15)

    assert selectors.current_consent(client, on=eve) == by_parent
    assert selectors.current_consent(client, on=birthday) is None

    own = grant(world.counsellor, client, giver="konseli", giver_name="Sari Wulandari")
    assert selectors.current_consent(client, on=birthday) == own
    # Before the birthday the (now recorded) own consent still does not count.
    assert selectors.current_consent(client, on=eve) == by_parent


# --- recording consent ---------------------------------------------------------------


def test_consent_record_refuses_an_empty_purpose_list_and_writes_nothing(
    world: World, private_root: Path
) -> None:
    client = new_client(world.counsellor, birth_date=MINOR_BIRTH)
    audit_count = AuditEvent.objects.count()

    with pytest.raises(ValidationError, match="Pilih setidaknya satu tujuan"):
        grant(world.counsellor, client, purposes=[], channel="kertas", scan=("ttd.png", PNG))

    assert not Consent.objects.filter(client=client).exists()
    assert not Attachment.objects.exists()
    assert files_in(private_root) == set()
    assert AuditEvent.objects.count() == audit_count


def test_consent_record_writes_codes_only_to_the_audit_log(world: World) -> None:
    client = new_client(world.counsellor, name="Sari Wulandari", birth_date=MINOR_BIRTH)

    consent = grant(
        world.counsellor,
        client,
        giver_name="Budi Santoso",
        giver_relationship="ayah kandung",
        note="Disetujui saat kunjungan rumah",
    )

    (row,) = audit_rows("consent.recorded")
    assert row.object_type == "consent"
    assert row.object_ref == consent.code
    assert row.refs == {"client": client.code, "giver": "orang_tua"}
    assert row.actor_id == world.counsellor.pk
    assert row.organisation_id == world.org.pk
    assert_audit_holds_no_content(
        "Budi Santoso", "ayah kandung", "Disetujui saat kunjungan rumah", "Wulandari"
    )


def test_consent_text_version_is_recorded_and_old_consents_keep_theirs(world: World) -> None:
    client = new_client(world.counsellor, birth_date=MINOR_BIRTH)
    first = grant(world.counsellor, client)
    v1 = first.consent_text
    assert (v1.version, v1.body) == (1, services.DEFAULT_CONSENT_TEXT)

    body = "Teks persetujuan baru yang lebih sederhana untuk orang tua."
    v2 = services.consent_text_update(actor=world.admin, organisation=world.org, body=body)
    second = grant(world.counsellor, client)

    assert v2.version == 2
    assert second.consent_text == v2
    first.refresh_from_db()
    assert first.consent_text_id == v1.pk
    assert ConsentText.objects.get(pk=v1.pk).body == services.DEFAULT_CONSENT_TEXT
    (row,) = audit_rows("consent_text.updated")
    assert (row.object_ref, row.actor_id) == ("2", world.admin.pk)
    assert_audit_holds_no_content(body)

    # Saving the same text again makes no new version and no audit row.
    same = services.consent_text_update(actor=world.admin, organisation=world.org, body=body)
    assert same == v2
    assert ConsentText.objects.filter(organisation=world.org).count() == 2
    assert len(audit_rows("consent_text.updated")) == 1


def test_consent_text_versions_are_per_organisation(world: World) -> None:
    services.consent_text_update(actor=world.admin, organisation=world.org, body="Teks A")
    services.consent_text_update(actor=world.admin, organisation=world.org, body="Teks B")
    other_client = new_client(world.outsider, birth_date=MINOR_BIRTH)

    consent = grant(world.outsider, other_client)

    assert consent.consent_text.organisation == world.other_org
    assert consent.consent_text.version == 1


def test_paper_consent_scan_is_stored_encrypted_without_a_record(world: World) -> None:
    client = new_client(world.counsellor, birth_date=MINOR_BIRTH)
    data = PNG + b"tanda-tangan-ayah"

    consent = grant(world.counsellor, client, channel="kertas", scan=("formulir-ttd.png", data))

    scan = consent.scan
    assert scan is not None
    assert scan.record is None
    assert scan.content_type == "image/png"
    assert scan.original_name == "formulir-ttd.png"
    assert "formulir" not in scan.stored_name
    on_disk = (Path(settings.PRIVATE_FILES_ROOT) / scan.stored_name).read_bytes()
    assert b"tanda-tangan-ayah" not in on_disk
    assert not on_disk.startswith(PNG[:8])
    assert private_files.read(scan.stored_name) == data
    assert_audit_holds_no_content("formulir-ttd")


def test_a_refused_consent_leaves_no_scan_file_behind(world: World, private_root: Path) -> None:
    client = new_client(world.counsellor, birth_date=MINOR_BIRTH)

    with pytest.raises(ValidationError):
        grant(world.counsellor, client, giver="tetangga", channel="kertas", scan=("f.png", PNG))

    assert not Consent.objects.exists()
    assert not Attachment.objects.exists()
    assert files_in(private_root) == set()


# --- through the views ---------------------------------------------------------------


def consent_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "giver": "orang_tua",
        "giver_name": "Budi Santoso",
        "giver_relationship": "ayah",
        "purposes": ["purpose_hold_kka", "share_family"],
        "channel": "kertas",
        "given_on": "2025-01-10",
        "note": "Ditandatangani di ruang BK",
    }
    data.update(overrides)
    return data


def test_paper_consent_without_a_scan_is_refused_in_indonesian(
    world: World, private_root: Path
) -> None:
    client = new_client(world.counsellor, birth_date=MINOR_BIRTH)
    http = logged_in(world.counsellor)

    response = http.post(reverse("cases:consent_add", kwargs={"code": client.code}), consent_form())

    assert response.status_code == 200
    assert "Lampirkan pindaian formulir yang ditandatangani." in response.content.decode()
    assert not Consent.objects.exists()
    assert not Attachment.objects.exists()
    assert files_in(private_root) == set()
    assert not audit_rows("consent.recorded")


def test_consent_add_with_a_scan_records_the_consent_and_redirects(world: World) -> None:
    client = new_client(world.counsellor, birth_date=MINOR_BIRTH)
    http = logged_in(world.counsellor)
    scan = SimpleUploadedFile("formulir-budi.png", PNG, content_type="image/png")

    response = http.post(
        reverse("cases:consent_add", kwargs={"code": client.code}),
        consent_form(scan=scan),
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("cases:client_detail", kwargs={"code": client.code})
    consent = Consent.objects.get(client=client)
    assert consent.kind == ConsentKind.GRANT
    assert (consent.giver, consent.giver_name, consent.channel) == (
        "orang_tua",
        "Budi Santoso",
        "kertas",
    )
    assert consent.purpose_hold_kka and consent.share_family
    assert not consent.share_employer
    assert consent.given_at == dt.datetime(
        2025, 1, 10, 12, 0, tzinfo=zoneinfo.ZoneInfo(world.org.time_zone)
    )
    assert consent.scan is not None and consent.scan.record is None
    assert private_files.read(consent.scan.stored_name) == PNG
    assert selectors.current_consent(client, on=DAY) == consent
    (row,) = audit_rows("consent.recorded")
    assert row.object_ref == consent.code
    assert_audit_holds_no_content("Budi Santoso", "Ditandatangani di ruang BK", "formulir-budi")


def test_consent_proof_is_a_pdf_naming_giver_and_organisation(world: World, tmp_path: Path) -> None:
    # The world's organisation is called "...Kerahasiaan", which contains RAHASIA:
    # rename it so the confidentiality marking is really checked.
    world.org.name = "SMP Negeri 7 Nabire"
    world.org.save()
    client = new_client(world.counsellor, birth_date=MINOR_BIRTH)
    consent = grant(world.counsellor, client, giver_name="Budi Santoso")
    http = logged_in(world.counsellor)

    response = http.get(
        reverse("cases:consent_proof", kwargs={"code": client.code, "consent": consent.code})
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert response.content.startswith(b"%PDF")
    pdf = tmp_path / "bukti.pdf"
    pdf.write_bytes(response.content)
    text = subprocess.run(
        ["/usr/bin/pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "BUKTI PERSETUJUAN" in text
    assert "Budi Santoso" in text
    assert "SMP NEGERI 7 NABIRE" in text.upper()
    assert "RAHASIA" in text
    (row,) = audit_rows("consent.proof_exported")
    assert row.object_ref == consent.code
    assert row.refs == {"client": client.code}
    assert row.actor_id == world.counsellor.pk
    assert_audit_holds_no_content("Budi Santoso", "Sari Wulandari")


def test_consent_proof_is_not_shown_to_another_counsellor(world: World) -> None:
    client = new_client(world.counsellor, birth_date=MINOR_BIRTH)
    consent = grant(world.counsellor, client)

    response = logged_in(world.other_counsellor).get(
        reverse("cases:consent_proof", kwargs={"code": client.code, "consent": consent.code})
    )

    assert response.status_code == 404
    assert not audit_rows("consent.proof_exported")


def test_consent_withdraw_view_appends_a_withdrawal(world: World) -> None:
    client = new_client(world.counsellor, birth_date=MINOR_BIRTH)
    consent = grant(world.counsellor, client)
    http = logged_in(world.counsellor)

    response = http.post(
        reverse("cases:consent_withdraw", kwargs={"code": client.code, "consent": consent.code}),
        {"note": "Ibu menarik persetujuan lewat telepon"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("cases:client_detail", kwargs={"code": client.code})
    rows = list(Consent.objects.filter(client=client).order_by("id"))
    assert [r.kind for r in rows] == [ConsentKind.GRANT, ConsentKind.WITHDRAWAL]
    assert rows[0].pk == consent.pk and rows[1].note == "Ibu menarik persetujuan lewat telepon"
    assert selectors.current_consent(client, on=DAY) is None
    (row,) = audit_rows("consent.withdrawn")
    assert row.refs["withdraws"] == consent.code
    assert_audit_holds_no_content("Ibu menarik persetujuan")


def test_a_supervisor_cannot_withdraw_consent(world: World) -> None:
    client = new_client(world.counsellor, birth_date=MINOR_BIRTH)
    case = services.case_open(
        actor=world.counsellor, client=client, bidang="pribadi", title="T", intake_source="guru"
    )
    supervisor = make_user(organisation=world.org, role=Role.KONSELOR)
    services.case_member_add(actor=world.counsellor, case=case, user=supervisor, role="supervisor")
    consent = grant(world.counsellor, client)

    response = logged_in(supervisor).post(
        reverse("cases:consent_withdraw", kwargs={"code": client.code, "consent": consent.code})
    )

    assert response.status_code == 403
    assert Consent.objects.filter(client=client).count() == 1
    assert not audit_rows("consent.withdrawn")
