"""Opening cases, the status machine, and who works on a case."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils.html import escape

from kka.accounts.models import Membership, Role, User
from kka.audit.models import AuditEvent
from kka.cases import services
from kka.cases.models import (
    Case,
    CaseEvent,
    CaseMember,
    CaseRecord,
    CaseRole,
    CaseStatus,
    Client,
)
from tests.personas import World

pytestmark = pytest.mark.django_db

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_RE = re.compile(rf"^[{CROCKFORD}]{{10}}$")

# The whole status machine, written out independently of services.STATUS_MOVES.
ALLOWED_MOVES = {
    ("open", "in_handling"),
    ("open", "referred"),
    ("open", "closed"),
    ("in_handling", "open"),
    ("in_handling", "referred"),
    ("in_handling", "closed"),
    ("referred", "in_handling"),
    ("referred", "closed"),
    ("closed", "open"),  # reopening
}
IMPOSSIBLE_MOVES = sorted(set(itertools.product(CaseStatus.values, repeat=2)) - ALLOWED_MOVES)


# --- helpers -------------------------------------------------------------------------


def new_client(world: World, name: str = "Rudi Hartono") -> Client:
    return services.client_create(
        actor=world.counsellor, organisation=world.org, full_name=name, birth_date="2011-04-04"
    )


def open_case(world: World, client: Client | None = None, **values: Any) -> Case:
    fields = {"bidang": "sosial", "title": "Relasi teman sebaya", "intake_source": "guru"}
    fields.update(values)
    return services.case_open(actor=world.counsellor, client=client or new_client(world), **fields)


def case_in(world: World, status: str) -> Case:
    """A case brought into the given status by allowed moves from "open"."""
    case = open_case(world)
    if status != CaseStatus.OPEN:
        outcome = "resolved" if status == CaseStatus.CLOSED else ""
        case = services.case_change_status(
            actor=world.counsellor, case=case, status=status, outcome=outcome
        )
    return case


def audit_rows(action: str, **filters: Any) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("id"))


def assert_audit_holds_no_content(*secrets: str) -> None:
    dump = json.dumps(list(AuditEvent.objects.values()), default=str).casefold()
    for secret in secrets:
        assert secret.casefold() not in dump, secret


def logged_in(user: User) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def crockford_value(code: str) -> int:
    return int("".join(f"{CROCKFORD.index(ch):05b}" for ch in code), 2)


# --- opening a case ------------------------------------------------------------------


@pytest.mark.parametrize("bidang", ["pribadi", "sosial", "belajar", "karir"])
def test_case_open_accepts_the_builtin_bidang(world: World, bidang: str) -> None:
    case = open_case(world, bidang=bidang)

    assert Case.objects.get(pk=case.pk).bidang == bidang


def test_case_open_refuses_an_unknown_bidang_and_writes_nothing(world: World) -> None:
    client = new_client(world)
    audit_count = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as excinfo:
        open_case(world, client, bidang="olahraga")

    assert excinfo.value.message_dict == {"bidang": ["Bidang tidak dikenal."]}
    assert not Case.objects.exists()
    assert not CaseEvent.objects.exists()
    assert AuditEvent.objects.count() == audit_count


def test_case_open_accepts_the_organisations_extra_bidang(world: World) -> None:
    world.org.extra_bidang = ["keagamaan"]
    world.org.save()
    world.other_org.extra_bidang = ["kedinasan"]
    world.other_org.save()
    client = new_client(world)
    client.organisation.refresh_from_db()

    case = open_case(world, client, bidang="keagamaan")

    assert case.bidang == "keagamaan"
    # Another organisation's extra bidang is not a bidang here.
    with pytest.raises(ValidationError):
        open_case(world, client, bidang="kedinasan")


def test_case_open_writes_an_audit_row_and_a_timeline_event(world: World) -> None:
    client = new_client(world, name="Rudi Hartono")

    case = open_case(world, client, description="Sering bertengkar di kelas")

    (row,) = audit_rows("case.opened")
    assert (row.object_type, row.object_ref) == ("case", case.code)
    assert row.refs == {"client": client.code}
    assert (row.actor_id, row.organisation_id) == (world.counsellor.pk, world.org.pk)
    assert row.actor_role == Role.KONSELOR
    (event,) = CaseEvent.objects.filter(case=case)
    assert (event.kind, event.actor_id) == ("case_opened", world.counsellor.pk)
    assert case.status == CaseStatus.OPEN
    assert case.owner == world.counsellor
    assert_audit_holds_no_content("Sering bertengkar", "Rudi", "Hartono")


def test_case_codes_are_ten_crockford_characters_and_not_sequential(world: World) -> None:
    client = new_client(world)
    cases = [open_case(world, client) for _ in range(20)]
    codes = [case.code for case in cases]

    assert all(CODE_RE.match(code) for code in codes), codes
    assert len(set(codes)) == len(codes)
    # Not a counter: creation order is not sorted order, consecutive codes are not
    # neighbours, and the steps between them are not a constant stride.
    assert codes != sorted(codes)
    steps = [crockford_value(b) - crockford_value(a) for a, b in itertools.pairwise(codes)]
    assert all(abs(step) > 1 for step in steps)
    assert len(set(steps)) > 1


# --- status machine ------------------------------------------------------------------


def test_status_machine_is_exactly_the_documented_one() -> None:
    moves = {(old, new) for old, targets in services.STATUS_MOVES.items() for new in targets}

    assert moves == ALLOWED_MOVES


@pytest.mark.parametrize(("old", "new"), sorted(ALLOWED_MOVES))
def test_every_allowed_status_move_works_and_is_audited(world: World, old: str, new: str) -> None:
    case = case_in(world, old)
    outcome = "improved" if new == CaseStatus.CLOSED else ""

    services.case_change_status(actor=world.counsellor, case=case, status=new, outcome=outcome)

    case.refresh_from_db()
    assert case.status == new
    row = audit_rows("case.status_changed", object_ref=case.code)[-1]
    assert row.refs == {"old": old, "new": new, "outcome": outcome}
    event = CaseEvent.objects.filter(case=case).order_by("-id").first()
    assert event is not None
    assert event.kind == ("case_reopened" if old == CaseStatus.CLOSED else "status_changed")
    assert event.detail == f"{old}>{new}"


@pytest.mark.parametrize(("old", "new"), IMPOSSIBLE_MOVES)
def test_every_impossible_status_move_is_refused_and_changes_nothing(
    world: World, old: str, new: str
) -> None:
    case = case_in(world, old)
    before = Case.objects.filter(pk=case.pk).values().get()
    audit_count, event_count = AuditEvent.objects.count(), CaseEvent.objects.count()

    with pytest.raises(ValidationError) as excinfo:
        services.case_change_status(
            actor=world.counsellor, case=case, status=new, outcome="resolved"
        )

    expected = (
        f'Status kasus tidak dapat diubah dari "{CaseStatus(old).label}" '
        f'menjadi "{CaseStatus(new).label}".'
    )
    assert excinfo.value.messages == [expected]
    assert Case.objects.filter(pk=case.pk).values().get() == before
    assert AuditEvent.objects.count() == audit_count
    assert CaseEvent.objects.count() == event_count


def test_an_unknown_status_is_refused(world: World) -> None:
    case = open_case(world)
    audit_count = AuditEvent.objects.count()

    with pytest.raises(ValidationError, match="tidak dapat diubah"):
        services.case_change_status(actor=world.counsellor, case=case, status="archived")

    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    assert AuditEvent.objects.count() == audit_count


@pytest.mark.parametrize("outcome", ["", "entah"])
def test_closing_requires_an_outcome(world: World, outcome: str) -> None:
    case = case_in(world, CaseStatus.IN_HANDLING)
    audit_count = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as excinfo:
        services.case_change_status(
            actor=world.counsellor, case=case, status="closed", outcome=outcome
        )

    assert excinfo.value.message_dict == {"outcome": ["Pilih hasil penanganan saat menutup kasus."]}
    case.refresh_from_db()
    assert (case.status, case.outcome, case.closed_at) == ("in_handling", "", None)
    assert AuditEvent.objects.count() == audit_count


def test_closing_records_the_outcome_and_reopening_clears_it(world: World) -> None:
    case = open_case(world)

    services.case_change_status(
        actor=world.counsellor,
        case=case,
        status="closed",
        outcome="improved",
        outcome_note="Mulai akrab dengan teman sebangku",
    )
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("closed", "improved")
    assert case.outcome_note == "Mulai akrab dengan teman sebangku"
    assert case.closed_at is not None

    services.case_change_status(actor=world.counsellor, case=case, status="open")
    case.refresh_from_db()
    assert (case.status, case.outcome, case.outcome_note, case.closed_at) == ("open", "", "", None)
    refs = [r.refs for r in audit_rows("case.status_changed", object_ref=case.code)]
    assert refs == [
        {"old": "open", "new": "closed", "outcome": "improved"},
        {"old": "closed", "new": "open", "outcome": ""},
    ]
    assert_audit_holds_no_content("Mulai akrab")


def test_a_closed_case_refuses_case_update(world: World) -> None:
    case = case_in(world, CaseStatus.CLOSED)
    audit_count = AuditEvent.objects.count()

    with pytest.raises(ValidationError, match="dibuka kembali"):
        services.case_update(actor=world.counsellor, case=case, title="Judul baru")

    assert Case.objects.get(pk=case.pk).title == "Relasi teman sebaya"
    assert AuditEvent.objects.count() == audit_count


def test_case_update_on_an_open_case_is_audited_with_field_names_only(world: World) -> None:
    case = open_case(world)

    services.case_update(
        actor=world.counsellor, case=case, title="Judul baru", description="Uraian baru rahasia"
    )

    (row,) = audit_rows("case.updated")
    assert row.refs == {"fields": "description,title"}
    assert_audit_holds_no_content("Uraian baru rahasia")


# --- co-counsellors and supervisors --------------------------------------------------


@pytest.mark.parametrize("persona", ["other_counsellor", "coordinator"])
@pytest.mark.parametrize("role", CaseRole.values)
def test_case_member_add_accepts_active_counsellors_of_the_organisation(
    world: World, persona: str, role: str
) -> None:
    case = open_case(world)
    user = world.personas()[persona]

    member = services.case_member_add(actor=world.counsellor, case=case, user=user, role=role)

    assert CaseMember.objects.get(case=case, user=user) == member
    assert member.role == role
    (row,) = audit_rows("case.member_added")
    assert row.object_ref == case.code
    assert row.refs == {"affected_user": user.pk, "role": role}
    assert CaseEvent.objects.filter(case=case, kind="member_added", ref=member.code).exists()


@pytest.mark.parametrize("persona", ["head", "admin", "dpo", "outsider", "owner"])
def test_case_member_add_refuses_anyone_but_an_active_counsellor(
    world: World, persona: str
) -> None:
    case = open_case(world)
    user = world.counsellor if persona == "owner" else world.personas()[persona]
    audit_count = AuditEvent.objects.count()

    with pytest.raises(ValidationError):
        services.case_member_add(
            actor=world.counsellor, case=case, user=user, role=CaseRole.CO_COUNSELLOR
        )

    assert not CaseMember.objects.filter(case=case).exists()
    assert AuditEvent.objects.count() == audit_count


def test_case_member_add_refuses_a_deactivated_counsellor(world: World) -> None:
    case = open_case(world)
    Membership.objects.filter(user=world.other_counsellor).update(is_active=False)

    with pytest.raises(ValidationError, match="Hanya konselor atau koordinator aktif"):
        services.case_member_add(
            actor=world.counsellor, case=case, user=world.other_counsellor, role="supervisor"
        )

    assert not CaseMember.objects.exists()


def test_case_member_add_refuses_duplicates_and_unknown_roles(world: World) -> None:
    case = open_case(world)
    services.case_member_add(
        actor=world.counsellor, case=case, user=world.other_counsellor, role="co_counsellor"
    )
    audit_count = AuditEvent.objects.count()

    with pytest.raises(ValidationError, match="sudah tercatat"):
        services.case_member_add(
            actor=world.counsellor, case=case, user=world.other_counsellor, role="supervisor"
        )
    with pytest.raises(ValidationError, match="Peran pada kasus tidak dikenal"):
        services.case_member_add(
            actor=world.counsellor, case=case, user=world.coordinator, role="pemilik"
        )

    assert list(CaseMember.objects.filter(case=case).values_list("user_id", "role")) == [
        (world.other_counsellor.pk, "co_counsellor")
    ]
    assert AuditEvent.objects.count() == audit_count


@pytest.mark.parametrize("role", CaseRole.values)
def test_removed_member_loses_the_case_on_the_very_next_request(world: World, role: str) -> None:
    case = open_case(world)
    member = services.case_member_add(
        actor=world.counsellor, case=case, user=world.other_counsellor, role=role
    )
    http = logged_in(world.other_counsellor)
    url = reverse("cases:case_detail", kwargs={"code": case.code})
    assert http.get(url).status_code == 200
    # Membership is personal: a counsellor not on the case still cannot see it.
    assert logged_in(world.coordinator).get(url).status_code == 404

    response = logged_in(world.counsellor).post(
        reverse("cases:case_member_remove", kwargs={"code": case.code, "member": member.code})
    )
    assert response.status_code == 302

    assert http.get(url).status_code == 404
    assert not CaseMember.objects.filter(case=case).exists()
    (row,) = audit_rows("case.member_removed")
    assert row.refs == {"affected_user": world.other_counsellor.pk, "role": role}


def test_a_supervisor_cannot_add_a_record(world: World) -> None:
    case = open_case(world)
    services.case_member_add(
        actor=world.counsellor, case=case, user=world.other_counsellor, role="supervisor"
    )
    http = logged_in(world.other_counsellor)  # logging in writes its own audit row
    audit_count = AuditEvent.objects.count()

    response = http.post(
        reverse("cases:record_add", kwargs={"code": case.code}),
        {"occurred_on": "2025-03-03", "source": "observasi", "content": "Catatan supervisor"},
    )

    assert response.status_code == 403
    assert not CaseRecord.objects.exists()
    assert AuditEvent.objects.count() == audit_count


def test_a_co_counsellor_can_add_a_record(world: World) -> None:
    case = open_case(world)
    services.case_member_add(
        actor=world.counsellor, case=case, user=world.other_counsellor, role="co_counsellor"
    )

    response = logged_in(world.other_counsellor).post(
        reverse("cases:record_add", kwargs={"code": case.code}),
        {"occurred_on": "2025-03-03", "source": "observasi", "content": "Catatan pendamping"},
    )

    assert response.status_code == 302
    record = CaseRecord.objects.get(case=case)
    assert record.created_by == world.other_counsellor
    (row,) = audit_rows("record.added")
    assert row.refs == {"case": case.code}
    assert_audit_holds_no_content("Catatan pendamping")


# --- through the views ---------------------------------------------------------------


def test_case_open_view_opens_a_case_and_redirects_to_it(world: World) -> None:
    client = new_client(world)
    http = logged_in(world.counsellor)

    response = http.post(
        reverse("cases:case_open", kwargs={"code": client.code}),
        {
            "bidang": "belajar",
            "title": "Penurunan prestasi belajar",
            "intake_source": "guru",
            "description": "Nilai matematika turun tajam",
        },
    )

    case = Case.objects.get(client=client)
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:case_detail", kwargs={"code": case.code})
    assert (case.owner, case.bidang, case.status) == (world.counsellor, "belajar", "open")
    assert case.description == "Nilai matematika turun tajam"
    (row,) = audit_rows("case.opened")
    assert row.object_ref == case.code
    assert_audit_holds_no_content("Nilai matematika")


def test_case_open_view_refuses_an_unknown_bidang(world: World) -> None:
    client = new_client(world)

    response = logged_in(world.counsellor).post(
        reverse("cases:case_open", kwargs={"code": client.code}),
        {"bidang": "olahraga", "title": "Judul", "intake_source": "guru"},
    )

    assert response.status_code == 200
    assert not Case.objects.exists()
    assert not audit_rows("case.opened")


def test_case_status_view_shows_the_indonesian_error_for_an_impossible_move(
    world: World,
) -> None:
    case = case_in(world, CaseStatus.REFERRED)
    audit_count = len(audit_rows("case.status_changed"))

    response = logged_in(world.counsellor).post(
        reverse("cases:case_status", kwargs={"code": case.code}),
        {"status": "open"},
        follow=True,
    )

    assert response.status_code == 200
    assert response.redirect_chain == [
        (reverse("cases:case_detail", kwargs={"code": case.code}), 302)
    ]
    message = 'Status kasus tidak dapat diubah dari "Dialihtangankan" menjadi "Terbuka".'
    assert escape(message) in response.content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.REFERRED
    assert len(audit_rows("case.status_changed")) == audit_count


def test_case_status_view_changes_an_allowed_move(world: World) -> None:
    case = open_case(world)

    response = logged_in(world.counsellor).post(
        reverse("cases:case_status", kwargs={"code": case.code}),
        {"status": "closed", "outcome": "resolved", "outcome_note": "Sudah teratasi"},
        follow=True,
    )

    assert "Status kasus: Ditutup." in response.content.decode()
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("closed", "resolved")
    (row,) = audit_rows("case.status_changed")
    assert row.refs == {"old": "open", "new": "closed", "outcome": "resolved"}
