"""Planning a KKA: numbering, the pre-filled plan, the status machine, participants,
the consent gate, plan approval and the readiness list.

Everything is built through the services, as the pages do. Birth dates are relative
to today, so "minor" and "adult" never depend on the calendar.
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import zoneinfo
from dataclasses import dataclass
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from kka.accounts.models import Organisation, Role, User
from kka.audit.models import AuditEvent
from kka.cases import selectors as case_selectors
from kka.cases import services as case_services
from kka.cases.models import Case, CaseRecord, Client, Consent
from kka.conferences import services
from kka.conferences.models import (
    ApprovalState,
    Conference,
    ConferenceStatus,
    Disclosure,
    LetterNumber,
    Participant,
    PortalLink,
)
from tests import personas
from tests.personas import World, make_user

pytestmark = pytest.mark.django_db

ALL_PURPOSES = [
    "purpose_hold_kka",
    "share_school_staff",
    "share_family",
    "share_employer",
    "share_community",
    "share_professionals",
    "purpose_documents",
]
STATUSES = list(ConferenceStatus.values)


# --- helpers (also used by test_invitations) ---------------------------------------------


def birth_date(years: int) -> str:
    """A birth date ``years`` years before today (mid-January: never 29 February)."""
    return f"{timezone.now().date().year - years}-01-15"


def make_client(
    actor: User, organisation: Organisation, *, full_name: str = "Ani Lestari", minor: bool = True
) -> Client:
    return case_services.client_create(
        actor=actor,
        organisation=organisation,
        full_name=full_name,
        birth_date=birth_date(12 if minor else 30),
        guardians=[{"full_name": "Budi Santoso", "relationship": "ayah"}],
    )


def make_case(
    actor: User,
    organisation: Organisation,
    *,
    full_name: str = "Ani Lestari",
    minor: bool = True,
    title: str = "Relasi teman",
    description: str = "",
    core_problem: str | None = "Menarik diri dari teman sekelas",
) -> Case:
    client = make_client(actor, organisation, full_name=full_name, minor=minor)
    case = case_services.case_open(
        actor=actor,
        client=client,
        bidang="sosial",
        title=title,
        intake_source="guru",
        description=description,
    )
    if core_problem is not None:
        case_services.problem_map_set_core(actor=actor, case=case, core_problem=core_problem)
    return case


def give_consent(actor: User, client: Client, purposes: list[str] | None = None) -> Consent:
    """A consent by the valid giver: a parent for a minor, the client for an adult."""
    minor = case_selectors.client_is_minor(client)
    return case_services.consent_record(
        actor=actor,
        client=client,
        giver="orang_tua" if minor else "konseli",
        giver_name="Budi Santoso" if minor else client.full_name,
        giver_relationship="ayah" if minor else "",
        channel="lisan",
        purposes=ALL_PURPOSES if purposes is None else purposes,
    )


def local_moment(
    organisation: Organisation, *, days: int = 7, hour: int = 9, minute: int = 0
) -> dt.datetime:
    """A wall-clock time in the organisation's zone, ``days`` days from today there."""
    zone = zoneinfo.ZoneInfo(organisation.time_zone)
    day = timezone.now().astimezone(zone).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


def schedule(
    actor: User, conference: Conference, *, place: str = "Ruang BK", days: int = 7
) -> Conference:
    organisation = conference.case.organisation
    starts = local_moment(organisation, days=days, hour=9)
    return services.conference_update_plan(
        actor=actor,
        conference=conference,
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1, minutes=30),
        place=place,
    )


def add_participant(
    actor: User, conference: Conference, *, category: str = "keluarga", **fields: Any
) -> Participant:
    n = next(_names)
    defaults: dict[str, Any] = {
        "full_name": f"Peserta {n}",
        "role": "ayah" if category == "keluarga" else "wali kelas",
        "category": category,
        "email": f"peserta{n}@contoh.test",
        "phone": "0812-3456 789",
    }
    defaults.update(fields)
    return services.participant_add(actor=actor, conference=conference, **defaults)


_names = itertools.count(1)


@dataclass
class Planned:
    world: World
    owner: User
    case: Case
    client: Client
    conference: Conference


def planned(
    world: World,
    *,
    consent: bool = True,
    minor: bool = True,
    full_name: str = "Ani Lestari",
    status: str = ConferenceStatus.PLANNED,
) -> Planned:
    """A case with (optionally) full consent and a scheduled conference in ``status``."""
    owner = world.counsellor
    case = make_case(owner, world.org, full_name=full_name, minor=minor)
    if consent:
        give_consent(owner, case.client)
    conference = services.conference_create(actor=owner, case=case)
    schedule(owner, conference)
    if status != ConferenceStatus.DRAFT:
        conference = services.conference_set_status(
            actor=owner, conference=conference, status=status
        )
    return Planned(world, owner, case, case.client, conference)


def actions(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action))


def logged_in(user: User) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def page_text(response: Any) -> str:
    return html.unescape(response.content.decode())


def refused(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return " ".join(exc.value.messages)


# --- creating and numbering ---------------------------------------------------------------


def test_conferences_are_numbered_per_case(world: World) -> None:
    owner = world.counsellor
    first = make_case(owner, world.org)
    second = make_case(owner, world.org, full_name="Rudi Hartono")

    numbers = [services.conference_create(actor=owner, case=first).sequence for _ in range(3)]
    other = services.conference_create(actor=owner, case=second)

    assert numbers == [1, 2, 3]
    assert other.sequence == 1
    assert list(
        Conference.objects.filter(case=first)
        .order_by("sequence")
        .values_list("sequence", flat=True)
    ) == [1, 2, 3]


def test_a_new_conference_is_prefilled_from_the_case(world: World) -> None:
    owner = world.counsellor
    case = make_case(
        owner,
        world.org,
        full_name="Ani Lestari Wibowo",
        title="Relasi teman sebaya",
        core_problem="Menarik diri sejak semester lalu",
    )

    conference = services.conference_create(actor=owner, case=case)

    conference.refresh_from_db()
    assert conference.status == ConferenceStatus.DRAFT
    assert conference.topic == "Relasi teman sebaya"
    assert conference.bidang == "sosial"
    assert "A.L.W." in conference.subject
    for part in ("Ani", "Lestari", "Wibowo"):
        assert part not in conference.subject
    assert conference.summary == "Menarik diri sejak semester lalu"
    assert owner.full_name in conference.organiser
    assert world.org.name in conference.organiser
    assert conference.aim.strip()
    assert "laiseg" in conference.evaluation_plan
    assert conference.functions == ["pemahaman", "pengentasan"]
    assert conference.created_by == owner
    created = AuditEvent.objects.get(action="conference.created")
    assert created.object_ref == conference.code
    assert created.refs == {"case": case.code}
    assert created.actor_id == owner.pk
    assert created.organisation_id == world.org.pk


def test_without_a_problem_map_the_summary_starts_empty(world: World) -> None:
    case = make_case(world.counsellor, world.org, core_problem=None)

    conference = services.conference_create(actor=world.counsellor, case=case)

    assert conference.summary == ""


# --- the plan --------------------------------------------------------------------------------


def record(actor: User, case: Case, *, flagged: bool, content: str = "Catatan") -> CaseRecord:
    return case_services.record_add(
        actor=actor,
        case=case,
        occurred_on=timezone.now().date(),
        source="observasi",
        content=content,
        may_bring_to_kka=flagged,
    )


def test_only_records_flagged_for_the_kka_of_this_case_can_be_chosen(world: World) -> None:
    owner = world.counsellor
    case = make_case(owner, world.org)
    other_case = make_case(owner, world.org, full_name="Rudi Hartono")
    allowed = record(owner, case, flagged=True)
    not_flagged = record(owner, case, flagged=False)
    foreign = record(owner, other_case, flagged=True)
    conference = services.conference_create(actor=owner, case=case)

    services.conference_update_plan(
        actor=owner, conference=conference, records=[allowed, not_flagged, foreign]
    )

    assert list(conference.records.all()) == [allowed]
    updated = AuditEvent.objects.get(action="conference.plan_updated")
    assert updated.refs == {"fields": "records"}


def test_plan_update_saves_fields_and_audits_only_their_names(world: World) -> None:
    p = planned(world, status=ConferenceStatus.DRAFT)

    services.conference_update_plan(
        actor=p.owner, conference=p.conference, special_notes="Rahasia sekali", place="Ruang 2"
    )

    p.conference.refresh_from_db()
    assert (p.conference.special_notes, p.conference.place) == ("Rahasia sekali", "Ruang 2")
    last = actions("conference.plan_updated")[-1]
    assert last.refs == {"fields": "place,special_notes"}
    assert "Rahasia" not in str(last.refs) + last.object_ref


@pytest.mark.parametrize("gap", [dt.timedelta(hours=-1), dt.timedelta(0)], ids=["before", "same"])
def test_an_end_not_after_the_start_is_refused(world: World, gap: dt.timedelta) -> None:
    case = make_case(world.counsellor, world.org)
    conference = services.conference_create(actor=world.counsellor, case=case)
    starts = local_moment(world.org)

    with pytest.raises(ValidationError):
        services.conference_update_plan(
            actor=world.counsellor, conference=conference, starts_at=starts, ends_at=starts + gap
        )

    conference.refresh_from_db()
    assert (conference.starts_at, conference.ends_at) == (None, None)
    assert actions("conference.plan_updated") == []


@pytest.mark.parametrize(
    ("status", "label"),
    [("held", "Terlaksana"), ("closed", "Selesai"), ("cancelled", "Dibatalkan")],
)
def test_a_finished_conference_cannot_be_edited(world: World, status: str, label: str) -> None:
    p = planned(world, status=ConferenceStatus.DRAFT)
    participant = add_participant(p.owner, p.conference)
    Conference.objects.filter(pk=p.conference.pk).update(status=status)
    p.conference.refresh_from_db()
    audit_rows = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as plan_refusal:
        services.conference_update_plan(actor=p.owner, conference=p.conference, place="Aula")
    with pytest.raises(ValidationError):
        add_participant(p.owner, p.conference)
    with pytest.raises(ValidationError):
        services.participant_remove(actor=p.owner, participant=participant)

    assert refused(plan_refusal) == f'Rencana KKA berstatus "{label}" tidak dapat diubah.'
    p.conference.refresh_from_db()
    assert p.conference.place == "Ruang BK"
    assert p.conference.participants.count() == 1
    assert AuditEvent.objects.count() == audit_rows


# --- the status machine ----------------------------------------------------------------------


# The machine as documented: every other move, including staying put, is refused.
ALLOWED_MOVES = {
    ("draft", "planned"),
    ("draft", "cancelled"),
    ("planned", "draft"),
    ("planned", "invited"),
    ("planned", "cancelled"),
    ("invited", "held"),
    ("invited", "cancelled"),
    ("held", "closed"),
}
ALL_MOVES = [(old, new) for old in STATUSES for new in STATUSES]


def test_the_service_uses_the_documented_machine() -> None:
    assert {
        (old, new) for old, targets in services.STATUS_MOVES.items() for new in targets
    } == ALLOWED_MOVES
    assert set(services.STATUS_MOVES) == set(STATUSES)


@pytest.mark.parametrize(("old", "new"), ALL_MOVES, ids=[f"{o}>{n}" for o, n in ALL_MOVES])
def test_status_moves_follow_the_machine(world: World, old: str, new: str) -> None:
    p = planned(world, status=ConferenceStatus.DRAFT)
    Conference.objects.filter(pk=p.conference.pk).update(status=old)
    audit_rows = AuditEvent.objects.count()

    if (old, new) in ALLOWED_MOVES:
        services.conference_set_status(actor=p.owner, conference=p.conference, status=new)
        p.conference.refresh_from_db()
        assert p.conference.status == new
        changed = AuditEvent.objects.get(action="conference.status_changed")
        assert changed.refs == {"old": old, "new": new}
        assert changed.object_ref == p.conference.code
    else:
        with pytest.raises(ValidationError) as exc:
            services.conference_set_status(actor=p.owner, conference=p.conference, status=new)
        old_label = ConferenceStatus(old).label
        new_label = ConferenceStatus(new).label
        assert refused(exc) == (
            f'Status KKA tidak dapat diubah dari "{old_label}" menjadi "{new_label}".'
        )
        p.conference.refresh_from_db()
        assert p.conference.status == old
        assert AuditEvent.objects.count() == audit_rows


def test_an_unknown_status_is_refused(world: World) -> None:
    p = planned(world, status=ConferenceStatus.DRAFT)

    with pytest.raises(ValidationError) as exc:
        services.conference_set_status(actor=p.owner, conference=p.conference, status="selesai!")

    assert '"Draf" menjadi "selesai!"' in refused(exc)
    p.conference.refresh_from_db()
    assert p.conference.status == "draft"


def test_status_page_refuses_an_impossible_move_and_says_why(world: World) -> None:
    p = planned(world, status=ConferenceStatus.DRAFT)
    http = logged_in(p.owner)
    url = reverse("conferences:status", args=[p.conference.code])

    response = http.post(url, {"status": "held"}, follow=True)

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == reverse("conferences:detail", args=[p.conference.code])
    assert 'Status KKA tidak dapat diubah dari "Draf" menjadi "Terlaksana".' in page_text(response)
    p.conference.refresh_from_db()
    assert p.conference.status == "draft"
    assert actions("conference.status_changed") == []

    response = http.post(url, {"status": "planned"}, follow=True)

    assert "Status KKA diperbarui." in page_text(response)
    p.conference.refresh_from_db()
    assert p.conference.status == "planned"
    assert len(actions("conference.status_changed")) == 1


# --- participants ------------------------------------------------------------------------------


def test_participants_are_added_by_hand_in_any_number(world: World) -> None:
    p = planned(world, status=ConferenceStatus.DRAFT)

    people = [add_participant(p.owner, p.conference, full_name=f"Orang {i}") for i in range(15)]

    assert [x.position for x in people] == list(range(15))
    assert p.conference.participants.count() == 15
    first = Participant.objects.get(pk=people[0].pk)
    assert (first.full_name, first.role, first.category) == ("Orang 0", "ayah", "keluarga")
    assert first.invitation_text
    added = actions("participant.added")
    assert len(added) == 15
    assert added[0].refs == {"conference": p.conference.code, "category": "keluarga"}


def test_a_participant_comes_from_a_resource_of_the_problem_map(world: World) -> None:
    p = planned(world, status=ConferenceStatus.DRAFT)
    resource = case_services.resource_add(
        actor=p.owner, case=p.case, name="Ibu Rina", role="wali kelas", category="staf_lembaga"
    )

    participant = services.participant_add(
        actor=p.owner, conference=p.conference, resource=resource
    )

    assert participant.resource == resource
    assert (participant.full_name, participant.role, participant.category) == (
        "Ibu Rina",
        "wali kelas",
        "staf_lembaga",
    )


def test_a_resource_of_another_case_is_refused(world: World) -> None:
    p = planned(world, status=ConferenceStatus.DRAFT)
    other = make_case(p.owner, world.org, full_name="Rudi Hartono")
    foreign = case_services.resource_add(
        actor=p.owner, case=other, name="Pak Joko", role="pelatih", category="masyarakat"
    )

    with pytest.raises(ValidationError) as exc:
        services.participant_add(actor=p.owner, conference=p.conference, resource=foreign)

    assert refused(exc) == "Sumber bantuan itu bukan dari kasus ini."
    assert p.conference.participants.count() == 0
    assert actions("participant.added") == []


def test_the_client_can_take_part_in_their_own_kka(world: World) -> None:
    p = planned(world)

    participant = add_participant(p.owner, p.conference, category="konseli", full_name="Ani")

    assert participant.get_category_display() == "Konseli sendiri"
    assert services.consent_problem(p.conference, participant) is None
    result = services.invitation_send(actor=p.owner, participant=participant, channel="letter")
    assert result["number"]


def test_removing_an_invited_participant_keeps_the_record(world: World) -> None:
    p = planned(world)
    participant = add_participant(p.owner, p.conference)
    token = services.invitation_send(actor=p.owner, participant=participant, channel="letter")[
        "link"
    ].split("t=", 1)[1]
    assert services.portal_participant(token) is not None

    services.participant_remove(actor=p.owner, participant=participant)

    participant.refresh_from_db()
    assert participant.removed_at is not None
    assert not PortalLink.objects.filter(participant=participant, revoked_at__isnull=True).exists()
    assert PortalLink.objects.filter(participant=participant).exists()
    assert Disclosure.objects.filter(participant=participant).count() == 1
    assert services.portal_participant(token) is None
    removed = AuditEvent.objects.get(action="participant.removed")
    assert removed.object_ref == participant.code


def test_removing_a_never_invited_participant_deletes_it(world: World) -> None:
    p = planned(world)
    participant = add_participant(p.owner, p.conference)

    services.participant_remove(actor=p.owner, participant=participant)

    assert not Participant.objects.filter(pk=participant.pk).exists()
    assert AuditEvent.objects.get(action="participant.removed").object_ref == participant.code


def test_a_removed_participant_cannot_be_invited_again(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    p = planned(world)
    participant = add_participant(p.owner, p.conference)
    services.invitation_send(actor=p.owner, participant=participant, channel="letter")
    services.participant_remove(actor=p.owner, participant=participant)
    participant.refresh_from_db()
    sent, disclosures = len(actions("invitation.sent")), Disclosure.objects.count()

    for channel in ("email", "whatsapp", "letter"):
        with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
            services.invitation_send(actor=p.owner, participant=participant, channel=channel)

    assert mail.outbox == []
    assert len(actions("invitation.sent")) == sent
    assert Disclosure.objects.count() == disclosures
    assert not PortalLink.objects.filter(participant=participant, revoked_at__isnull=True).exists()


def test_the_invite_page_refuses_a_removed_participant(world: World) -> None:
    p = planned(world)
    participant = add_participant(p.owner, p.conference)
    services.invitation_send(actor=p.owner, participant=participant, channel="letter")
    services.participant_remove(actor=p.owner, participant=participant)
    url = reverse("conferences:invitation_send", args=[p.conference.code, participant.code])

    response = logged_in(p.owner).post(url, {"channel": "email"}, follow=True)

    assert response.status_code == 200
    assert "Peserta dihapus dari KKA." in page_text(response)
    assert len(actions("invitation.sent")) == 1
    assert mail.outbox == []


def test_a_removed_participant_is_not_counted_any_more(world: World) -> None:
    p = planned(world)
    participant = add_participant(p.owner, p.conference)
    services.invitation_send(actor=p.owner, participant=participant, channel="letter")

    services.participant_remove(actor=p.owner, participant=participant)

    assert "Belum ada peserta." in services.readiness(p.conference)


# --- the consent gate --------------------------------------------------------------------------


def nothing_was_sent(participant: Participant) -> None:
    participant.refresh_from_db()
    assert participant.invited_at is None
    assert participant.letter_number == ""
    assert not LetterNumber.objects.exists()
    assert not Disclosure.objects.exists()
    assert not PortalLink.objects.exists()
    assert actions("invitation.sent") == []


def test_without_consent_a_minors_invitation_names_the_parents_consent(world: World) -> None:
    p = planned(world, consent=False, minor=True)
    participant = add_participant(p.owner, p.conference)

    with pytest.raises(ValidationError) as exc:
        services.invitation_send(actor=p.owner, participant=participant, channel="letter")

    assert "orang tua/wali" in refused(exc)
    assert exc.value.code == "consent"
    nothing_was_sent(participant)


def test_without_consent_an_adults_invitation_names_the_clients_consent(world: World) -> None:
    p = planned(world, consent=False, minor=False)
    participant = add_participant(p.owner, p.conference)

    with pytest.raises(ValidationError) as exc:
        services.invitation_send(actor=p.owner, participant=participant, channel="email")

    assert refused(exc) == "Belum ada persetujuan konseli yang berlaku."
    nothing_was_sent(participant)


def test_a_consent_without_the_kka_purpose_does_not_open_the_gate(world: World) -> None:
    p = planned(world, consent=False)
    give_consent(p.owner, p.client, ["share_family"])
    participant = add_participant(p.owner, p.conference)

    with pytest.raises(ValidationError) as exc:
        services.invitation_send(actor=p.owner, participant=participant, channel="letter")

    assert "tidak mencakup penyelenggaraan konferensi kasus" in refused(exc)
    nothing_was_sent(participant)


def test_consent_covers_family_but_not_school_staff(world: World) -> None:
    p = planned(world, consent=False)
    give_consent(p.owner, p.client, ["purpose_hold_kka", "share_family"])
    staff = add_participant(p.owner, p.conference, category="staf_lembaga")
    family = add_participant(p.owner, p.conference, category="keluarga")

    with pytest.raises(ValidationError) as exc:
        services.invitation_send(actor=p.owner, participant=staff, channel="letter")
    result = services.invitation_send(actor=p.owner, participant=family, channel="letter")

    assert "staf sekolah / lembaga" in refused(exc)
    assert exc.value.code == "consent"
    staff.refresh_from_db()
    family.refresh_from_db()
    assert staff.invited_at is None
    assert family.invited_at is not None
    assert result["number"] == family.letter_number
    assert [a.object_ref for a in actions("invitation.sent")] == [family.code]


def test_the_conference_page_shows_the_refusal_and_a_way_to_record_consent(world: World) -> None:
    p = planned(world, consent=False)
    give_consent(p.owner, p.client, ["purpose_hold_kka", "share_family"])
    add_participant(p.owner, p.conference, category="staf_lembaga", full_name="Ibu Rina")

    response = logged_in(p.owner).get(reverse("conferences:detail", args=[p.conference.code]))

    assert response.status_code == 200
    text = page_text(response)
    assert (
        "Persetujuan yang berlaku tidak mencakup berbagi keterangan dengan staf sekolah / lembaga."
    ) in text
    assert f'href="{reverse("cases:consent_add", args=[p.client.code])}"' in text


def test_a_page_without_consent_problems_offers_no_consent_link(world: World) -> None:
    p = planned(world)
    add_participant(p.owner, p.conference, category="staf_lembaga")

    response = logged_in(p.owner).get(reverse("conferences:detail", args=[p.conference.code]))

    assert reverse("cases:consent_add", args=[p.client.code]) not in page_text(response)


def test_withdrawing_consent_closes_the_gate_for_everyone_it_covered(world: World) -> None:
    p = planned(world, consent=False)
    consent = give_consent(p.owner, p.client)
    family = add_participant(p.owner, p.conference, category="keluarga")
    client_self = add_participant(p.owner, p.conference, category="konseli", full_name="Ani")
    token = services.invitation_send(actor=p.owner, participant=family, channel="letter")[
        "link"
    ].split("t=", 1)[1]
    assert services.consent_problem(p.conference, family) is None
    assert services.consent_problem(p.conference, client_self) is None

    case_services.consent_withdraw(actor=p.owner, consent=consent)

    assert services.consent_problem(p.conference, family) is not None
    assert services.consent_problem(p.conference, client_self) is not None
    assert services.portal_participant(token) is None
    with pytest.raises(ValidationError):
        services.invitation_send(actor=p.owner, participant=family, channel="letter")


def test_a_new_consent_after_a_withdrawal_opens_the_gate_again(world: World) -> None:
    p = planned(world, consent=False)
    consent = give_consent(p.owner, p.client)
    family = add_participant(p.owner, p.conference)
    case_services.consent_withdraw(actor=p.owner, consent=consent)
    assert services.consent_problem(p.conference, family) is not None

    give_consent(p.owner, p.client, ["purpose_hold_kka", "share_family"])

    assert services.consent_problem(p.conference, family) is None


# --- approval --------------------------------------------------------------------------------


@pytest.fixture
def approval_world(world: World) -> World:
    Organisation.objects.filter(pk=world.org.pk).update(require_plan_approval=True)
    world.org.refresh_from_db()
    return world


def review_url(conference: Conference) -> str:
    return reverse("conferences:approval_review", args=[conference.code])


def test_an_outside_participant_needs_an_approved_plan(approval_world: World) -> None:
    world = approval_world
    p = planned(world, full_name="Ani Lestari Wibowo")
    family = add_participant(p.owner, p.conference, category="keluarga")
    assert services.needs_approval(p.conference)

    with pytest.raises(ValidationError) as exc:
        services.invitation_send(actor=p.owner, participant=family, channel="letter")
    assert exc.value.code == "approval"
    assert "disetujui" in refused(exc)
    nothing_was_sent(family)

    services.conference_request_approval(actor=p.owner, conference=p.conference)
    p.conference.refresh_from_db()
    assert p.conference.approval == ApprovalState.PENDING
    assert AuditEvent.objects.get(action="conference.approval_requested").actor_id == p.owner.pk
    with pytest.raises(ValidationError):  # pending is not approved
        services.invitation_send(actor=p.owner, participant=family, channel="letter")

    coordinator = logged_in(world.coordinator)
    page = coordinator.get(review_url(p.conference))
    assert page.status_code == 200
    text = page_text(page)
    for name in ("Ani Lestari Wibowo", "Lestari", "Wibowo", family.full_name):
        assert name not in text
    assert AuditEvent.objects.get(action="conference.approval_viewed").actor_id == (
        world.coordinator.pk
    )

    # Sending back needs a reason.
    response = coordinator.post(review_url(p.conference), {"decision": "send_back", "comment": ""})
    assert response.status_code == 200
    assert "Tuliskan alasan pengembalian." in page_text(response)
    p.conference.refresh_from_db()
    assert p.conference.approval == ApprovalState.PENDING
    assert actions("conference.sent_back") == []

    response = coordinator.post(
        review_url(p.conference), {"decision": "send_back", "comment": "Tambahkan tujuan."}
    )
    assert response.status_code == 302
    p.conference.refresh_from_db()
    assert p.conference.approval == ApprovalState.SENT_BACK
    assert p.conference.approval_comment == "Tambahkan tujuan."
    assert actions("conference.sent_back")[0].actor_id == world.coordinator.pk
    with pytest.raises(ValidationError):
        services.invitation_send(actor=p.owner, participant=family, channel="letter")

    services.conference_request_approval(actor=p.owner, conference=p.conference)
    response = coordinator.post(review_url(p.conference), {"decision": "approve", "comment": ""})
    assert response.status_code == 302
    p.conference.refresh_from_db()
    assert p.conference.approval == ApprovalState.APPROVED
    assert p.conference.approved_by == world.coordinator
    assert actions("conference.approved")[0].object_ref == p.conference.code

    result = services.invitation_send(actor=p.owner, participant=family, channel="letter")
    assert result["number"]


def test_an_unrelated_counsellor_cannot_open_the_review(approval_world: World) -> None:
    world = approval_world
    p = planned(world)
    add_participant(p.owner, p.conference, category="profesional")
    services.conference_request_approval(actor=p.owner, conference=p.conference)

    for user in (world.other_counsellor, world.head, world.outsider):
        http = logged_in(user)
        assert http.get(review_url(p.conference)).status_code == 404
        response = http.post(review_url(p.conference), {"decision": "approve"})
        assert response.status_code == 404
    p.conference.refresh_from_db()
    assert p.conference.approval == ApprovalState.PENDING
    assert actions("conference.approved") == []
    assert actions("conference.approval_viewed") == []


def test_the_review_page_is_closed_while_no_approval_was_asked(approval_world: World) -> None:
    p = planned(approval_world)
    add_participant(p.owner, p.conference, category="keluarga")

    response = logged_in(approval_world.coordinator).get(review_url(p.conference))

    assert response.status_code == 404


def test_a_decision_needs_a_pending_plan(approval_world: World) -> None:
    p = planned(approval_world)
    add_participant(p.owner, p.conference, category="keluarga")

    with pytest.raises(ValidationError):
        services.conference_decide_approval(
            actor=approval_world.coordinator, conference=p.conference, approve=True
        )

    p.conference.refresh_from_db()
    assert p.conference.approval == ApprovalState.NOT_REQUIRED


def test_only_school_staff_needs_no_approval(approval_world: World) -> None:
    p = planned(approval_world)
    staff = [add_participant(p.owner, p.conference, category="staf_lembaga") for _ in range(2)]

    assert not services.needs_approval(p.conference)
    with pytest.raises(ValidationError) as exc:
        services.conference_request_approval(actor=p.owner, conference=p.conference)
    assert refused(exc) == "Rencana ini tidak memerlukan persetujuan."
    for participant in staff:
        services.invitation_send(actor=p.owner, participant=participant, channel="letter")
    assert len(actions("invitation.sent")) == 2


def test_without_the_organisation_setting_nobody_needs_approval(world: World) -> None:
    p = planned(world)
    family = add_participant(p.owner, p.conference, category="keluarga")

    assert not services.needs_approval(p.conference)
    services.invitation_send(actor=p.owner, participant=family, channel="letter")


# --- readiness ------------------------------------------------------------------------------


def test_readiness_lists_what_is_missing_until_everything_is_set(approval_world: World) -> None:
    world = approval_world
    owner = world.counsellor
    case = make_case(owner, world.org)
    conference = services.conference_create(actor=owner, case=case)

    assert services.readiness(conference) == [
        "Waktu pertemuan belum ditentukan.",
        "Tempat pertemuan belum ditentukan.",
        "Belum ada peserta.",
    ]

    family = add_participant(owner, conference, category="keluarga", full_name="Pak Budi")
    missing = services.readiness(conference)
    assert any(m.startswith("Pak Budi: ") and "orang tua/wali" in m for m in missing)
    assert "Rencana belum disetujui supervisor atau koordinator BK." in missing
    assert "Belum ada peserta." not in missing

    conference = schedule(owner, conference)
    give_consent(owner, case.client)
    services.conference_request_approval(actor=owner, conference=conference)
    assert services.readiness(conference) == [
        "Rencana belum disetujui supervisor atau koordinator BK."
    ]

    services.conference_decide_approval(
        actor=world.coordinator, conference=conference, approve=True
    )

    assert services.readiness(conference) == []
    assert services.consent_problem(conference, family) is None


def test_the_case_supervisor_may_review_too(world: World) -> None:
    Organisation.objects.filter(pk=world.org.pk).update(require_plan_approval=True)
    p = planned(world)
    add_participant(p.owner, p.conference, category="keluarga")
    supervisor = make_user(organisation=world.org, role=Role.KONSELOR)
    case_services.case_member_add(actor=p.owner, case=p.case, user=supervisor, role="supervisor")
    services.conference_request_approval(actor=p.owner, conference=p.conference)

    assert logged_in(supervisor).get(review_url(p.conference)).status_code == 200
    assert logged_in(world.coordinator).get(review_url(p.conference)).status_code == 200


@pytest.mark.django_db
def test_an_approved_plan_needs_approval_again_when_an_outside_invitee_is_added() -> None:
    from kka.conferences.models import ApprovalState as _Approval

    world = personas.make_world()
    world.org.require_plan_approval = True
    world.org.save()
    case = services_case_for(world)
    conference = services.conference_create(actor=world.counsellor, case=case)
    services.participant_add(
        actor=world.counsellor,
        conference=conference,
        full_name="Budi",
        role="ayah",
        category="keluarga",
    )
    services.conference_request_approval(actor=world.counsellor, conference=conference)
    services.conference_decide_approval(
        actor=world.coordinator, conference=conference, approve=True
    )
    services.participant_add(
        actor=world.counsellor,
        conference=conference,
        full_name="Pak RT",
        role="ketua RT",
        category="masyarakat",
    )
    conference.refresh_from_db()
    assert conference.approval != _Approval.APPROVED
    assert any("disetujui" in m for m in services.readiness(conference))


def services_case_for(world: Any) -> Any:
    from kka.cases import services as case_services

    client = case_services.client_create(
        actor=world.counsellor,
        organisation=world.org,
        full_name="Rudi Hartono",
        birth_date="1990-01-01",
    )
    return case_services.case_open(
        actor=world.counsellor,
        client=client,
        bidang="sosial",
        title="Relasi",
        intake_source="sendiri",
    )
