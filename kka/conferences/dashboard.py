"""The counsellor's home page: what needs their attention, over the cases they may see.

One read-only selector, ``dashboard_for``. Everything is scoped through
``kka.cases.access.visible_cases`` and one organisation; closed cases and cancelled
KKAs are left out (nothing is left to do on them). Every section is a bounded number
of queries, whatever the number of KKAs and participants: participants and the
clients' consents are fetched once for all the KKAs shown, and readiness is worked
out in memory from them.

Which KKAs count as *upcoming*: draft, planned or invited ones that start no more
than ``UPCOMING_GRACE`` ago (a meeting running late in the evening is still "today"),
plus those without a date yet. One whose start is further in the past but that was
never marked held stays in the list, flagged, so a forgotten KKA cannot quietly
disappear from the counsellor's view.

Invitations not answered and pledges missing are chased only for KKAs still ahead.
Someone who declined needs no pledge; after a held meeting only participants whose
attendance is still unrecorded are listed (an absent one never pledged, rightly).

Days ("this week", "overdue", evaluations due) are days in the organisation's time
zone: a counsellor in Jayapura (WIT) sees Monday's commitments as due on Monday there.
The page names participants by their role ("ayah", "wali kelas"), never by name.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Model, Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kka.accounts.models import Organisation
from kka.cases import access as case_access
from kka.cases import selectors as case_selectors
from kka.cases.models import Case, CaseStatus, Client, Consent, ConsentKind
from kka.conferences import followup
from kka.conferences.models import (
    CLIENT_CATEGORY,
    LATER_EVALUATION_KINDS,
    ApprovalState,
    Attendance,
    Commitment,
    Conference,
    ConferenceStatus,
    Evaluation,
    Participant,
    Rsvp,
)
from kka.lib.fields import EncryptedTextField

UPCOMING_STATUSES = (ConferenceStatus.DRAFT, ConferenceStatus.PLANNED, ConferenceStatus.INVITED)
OPEN_STATUSES = (*UPCOMING_STATUSES, ConferenceStatus.HELD)
UPCOMING_GRACE = dt.timedelta(hours=12)
WEEK_DAYS = 7  # today and the six days after it
EVALUATION_HORIZON_DAYS = 7
INACTIVE_AFTER = dt.timedelta(days=30)
# Caps keep the page and its queries bounded; a badge shows "N+" when a list is cut.
MAX_CONFERENCES = 60
LIST_LIMIT = 25


@dataclass
class UpcomingKka:
    conference: Conference
    problems: list[str]
    overdue: bool  # its start is past, but it was never marked held
    is_today: bool  # starts today (organisation's zone): meeting mode is one tap away
    participants: int
    invited: int
    answered: int
    unanswered: int  # invited, no answer yet
    pledged: int
    pledges_missing: int


@dataclass
class ParticipantItem:
    """A participant of a KKA; the page shows their role, never their name."""

    participant: Participant
    conference: Conference


@dataclass
class KkaGroup:
    """Participants of one KKA in one list, so a phone shows one line per KKA."""

    conference: Conference
    participants: list[Participant]

    @property
    def roles(self) -> str:
        return ", ".join(p.role for p in self.participants)

    @property
    def invited_since(self) -> dt.datetime | None:
        return min((p.invited_at for p in self.participants if p.invited_at), default=None)


def by_kka(items: Any) -> list[KkaGroup]:
    groups: dict[int, KkaGroup] = {}
    for item in items:
        group = groups.setdefault(item.conference.pk, KkaGroup(item.conference, []))
        group.participants.append(item.participant)
    return list(groups.values())


@dataclass
class CommitmentItem:
    commitment: Commitment
    days_late: int  # 0 when not overdue
    mine: bool  # the viewer is the counsellor who committed

    @property
    def overdue(self) -> bool:
        return self.days_late > 0


@dataclass
class EvaluationItem:
    evaluation: Evaluation
    days_late: int  # 0 when due today or later

    @property
    def overdue(self) -> bool:
        return self.days_late > 0


@dataclass
class Section:
    """A list cut at ``LIST_LIMIT`` items; ``more`` says that more exist."""

    items: list[Any] = field(default_factory=list)
    more: bool = False

    @property
    def count(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __iter__(self) -> Any:
        return iter(self.items)

    @property
    def by_kka(self) -> list[KkaGroup]:
        """Participant items grouped by their KKA, in first-seen order."""
        return by_kka(self.items)


@dataclass
class Dashboard:
    today: dt.date
    week_end: dt.date
    active_cases: int
    upcoming: Section
    unanswered: Section
    pledges_missing: Section
    commitments_overdue: Section
    commitments_due: Section
    evaluations_due: Section
    inactive_cases: Section

    @property
    def nothing_to_do(self) -> bool:
        return not any(
            (
                self.upcoming,
                self.unanswered,
                self.pledges_missing,
                self.commitments_overdue,
                self.commitments_due,
                self.evaluations_due,
                self.inactive_cases,
            )
        )


def _encrypted(model: type[Model], *, prefix: str = "", keep: tuple[str, ...] = ()) -> list[str]:
    """The model's encrypted fields, to defer: the dashboard neither shows nor decrypts
    names or case text it does not need (and a template that starts to use one shows
    up as one query per row in the query-count test)."""
    return [
        prefix + f.name
        for f in model._meta.concrete_fields
        if isinstance(f, EncryptedTextField) and f.name not in keep
    ]


def _section(items: list[Any]) -> Section:
    return Section(items=items[:LIST_LIMIT], more=len(items) > LIST_LIMIT)


def _current_consents(clients: list[Client], today: dt.date) -> dict[int, Consent | None]:
    """``case_selectors.current_consent`` for many clients in one query."""
    by_client: dict[int, list[Consent]] = defaultdict(list)
    consents = (
        Consent.objects.filter(client__in=[c.pk for c in clients])
        .defer("giver_name", "note")
        .order_by("-recorded_at", "-id")
    )
    for consent in consents:
        by_client[consent.client_id].append(consent)
    current: dict[int, Consent | None] = {}
    for client in clients:
        givers = case_selectors.valid_consent_givers(client, on=today)
        latest = next((c for c in by_client[client.pk] if c.giver in givers), None)
        current[client.pk] = (
            latest if latest is not None and latest.kind == ConsentKind.GRANT else None
        )
    return current


def _consent_problem(consent: Consent | None, minor: bool, participant: Participant) -> str | None:
    """Mirrors ``services.consent_problem`` with the consent already at hand
    (a test holds the two to the same answers)."""
    if consent is None:
        if minor:
            return _(
                "Belum ada persetujuan orang tua/wali yang berlaku untuk konseli ini "
                "(konseli masih anak)."
            )
        return _("Belum ada persetujuan konseli yang berlaku.")
    if not consent.purpose_hold_kka:
        return _("Persetujuan yang berlaku tidak mencakup penyelenggaraan konferensi kasus.")
    if participant.category == CLIENT_CATEGORY:
        return None
    if not consent.allows_sharing_with(participant.category):
        return _("Persetujuan yang berlaku tidak mencakup berbagi keterangan dengan %(cat)s.") % {
            "cat": str(participant.get_category_display()).lower()
        }
    return None


def readiness_problems(
    conference: Conference,
    participants: list[Participant],
    consent: Consent | None,
    minor: bool,
) -> list[str]:
    """``services.readiness`` from data already loaded, naming participants by role."""
    missing: list[str] = []
    if conference.starts_at is None:
        missing.append(_("Waktu pertemuan belum ditentukan."))
    if not conference.place:
        missing.append(_("Tempat pertemuan belum ditentukan."))
    if not participants:
        missing.append(_("Belum ada peserta."))
    # One line per distinct problem, naming the roles it concerns.
    roles_by_problem: dict[str, list[str]] = {}
    for participant in participants:
        problem = _consent_problem(consent, minor, participant)
        if problem:
            roles_by_problem.setdefault(problem, []).append(participant.role)
    for problem, roles in roles_by_problem.items():
        missing.append(f"{', '.join(roles)}: {problem}")
    needs_approval = conference.case.organisation.require_plan_approval and any(
        p.category != "staf_lembaga" for p in participants
    )
    if needs_approval and conference.approval != ApprovalState.APPROVED:
        missing.append(_("Rencana belum disetujui supervisor atau koordinator BK."))
    return missing


def _needs_pledge(participant: Participant) -> bool:
    return participant.pledged_at is None and participant.rsvp != Rsvp.NO


def dashboard_for(
    user: Any, organisation: Organisation, *, now: dt.datetime | None = None
) -> Dashboard:
    """What needs ``user``'s attention in ``organisation``, as of ``now``: over the cases
    they own, co-counsel or supervise there, nothing else."""
    now = now or timezone.now()
    zone = zoneinfo.ZoneInfo(organisation.time_zone)
    today = now.astimezone(zone).date()
    week_end = today + dt.timedelta(days=WEEK_DAYS - 1)
    cases = case_access.visible_cases(user).filter(organisation=organisation)
    open_cases = cases.exclude(status=CaseStatus.CLOSED)

    # --- KKAs not yet closed, with their participants -----------------------------------
    active = (
        Participant.objects.filter(removed_at__isnull=True)
        .defer(*_encrypted(Participant))
        .order_by("position", "id")
    )
    conferences = list(
        Conference.objects.filter(case__in=open_cases, status__in=OPEN_STATUSES)
        .select_related("case__organisation")
        .defer(*_encrypted(Conference, keep=("place",)), *_encrypted(Case, prefix="case__"))
        .prefetch_related(Prefetch("participants", queryset=active, to_attr="active"))
        .order_by(F("starts_at").asc(nulls_last=True), "id")[:MAX_CONFERENCES]
    )
    threshold = now - UPCOMING_GRACE
    client_ids = {c.case.client_id for c in conferences if c.status in UPCOMING_STATUSES}
    # Only what the consent gate needs: the birth date (minor or adult), never the name.
    clients = {c.pk: c for c in Client.objects.filter(pk__in=client_ids).only("id", "birth_date")}
    consents = _current_consents(list(clients.values()), today)

    upcoming: list[UpcomingKka] = []
    unanswered: list[ParticipantItem] = []
    pledges_missing: list[ParticipantItem] = []
    for conference in conferences:
        people: list[Participant] = conference.active  # type: ignore[attr-defined]
        if conference.status == ConferenceStatus.HELD:
            # The meeting took place: only those whose attendance is still unrecorded.
            pledges_missing += [
                ParticipantItem(p, conference)
                for p in people
                if _needs_pledge(p) and p.attendance == Attendance.UNKNOWN
            ]
            continue
        client = clients[conference.case.client_id]
        starts = conference.starts_at
        overdue = starts is not None and starts < threshold
        problems = readiness_problems(
            conference,
            people,
            consents.get(client.pk),
            case_selectors.client_is_minor(client, on=today),
        )
        if overdue:
            problems.insert(0, _("Waktunya sudah lewat, tetapi KKA belum dicatat terlaksana."))
        invited = [p for p in people if p.invited_at is not None]
        waiting = [p for p in invited if p.rsvp == Rsvp.PENDING]
        pledge_needed = [p for p in people if _needs_pledge(p)]
        upcoming.append(
            UpcomingKka(
                conference=conference,
                problems=problems,
                overdue=overdue,
                is_today=starts is not None and starts.astimezone(zone).date() == today,
                participants=len(people),
                invited=len(invited),
                answered=sum(1 for p in people if p.rsvp != Rsvp.PENDING),
                unanswered=len(waiting),
                pledged=sum(1 for p in people if p.pledged_at is not None),
                pledges_missing=len(pledge_needed),
            )
        )
        if not overdue:
            unanswered += [ParticipantItem(p, conference) for p in waiting]
            pledges_missing += [ParticipantItem(p, conference) for p in pledge_needed]
    # Forgotten ones first, then by date; KKAs without a date last.
    upcoming.sort(key=lambda u: (not u.overdue, u.conference.starts_at is None))

    # --- commitments ------------------------------------------------------------------
    def commitments(qs: QuerySet[Commitment]) -> list[Commitment]:
        return list(
            qs.filter(conference__case__in=open_cases)
            .exclude(conference__status=ConferenceStatus.CANCELLED)
            .defer(
                *_encrypted(Commitment, keep=("what",)),
                *_encrypted(Conference, prefix="conference__"),
                *_encrypted(Case, prefix="conference__case__"),
                *_encrypted(Participant, prefix="participant__"),
            )
            .order_by("due_on", "id")[: LIST_LIMIT + 1]
        )

    overdue_commitments = commitments(
        followup.commitments_overdue(viewer=user, organisation=organisation, today=today)
    )
    due_commitments = commitments(
        followup.commitments_due(viewer=user, organisation=organisation, start=today, end=week_end)
    )

    # --- later evaluations (laijapen, laijapang) --------------------------------------
    evaluations = list(
        Evaluation.objects.filter(
            conference__case__in=open_cases,
            kind__in=LATER_EVALUATION_KINDS,
            done_at__isnull=True,
            due_on__lte=today + dt.timedelta(days=EVALUATION_HORIZON_DAYS),
        )
        .exclude(conference__status=ConferenceStatus.CANCELLED)
        .select_related("conference__case")
        .defer(
            *_encrypted(Evaluation),
            *_encrypted(Conference, prefix="conference__"),
            *_encrypted(Case, prefix="conference__case__"),
        )
    )

    # --- cases gone quiet -------------------------------------------------------------
    inactive = list(
        open_cases.filter(last_activity_at__lte=now - INACTIVE_AFTER)
        .defer(*_encrypted(Case))
        .order_by("last_activity_at", "id")[: LIST_LIMIT + 1]
    )
    for case in inactive:
        case.quiet_days = (now - case.last_activity_at).days  # type: ignore[attr-defined]

    def late(day: dt.date | None) -> int:
        return max((today - day).days, 0) if day is not None else 0

    return Dashboard(
        today=today,
        week_end=week_end,
        active_cases=open_cases.count(),
        upcoming=_section(upcoming),
        unanswered=_section(unanswered),
        pledges_missing=_section(pledges_missing),
        commitments_overdue=_section(
            [
                CommitmentItem(c, late(c.due_on), c.counsellor_id == user.pk)
                for c in overdue_commitments
            ]
        ),
        commitments_due=_section(
            [CommitmentItem(c, 0, c.counsellor_id == user.pk) for c in due_commitments]
        ),
        evaluations_due=_section([EvaluationItem(e, late(e.due_on)) for e in evaluations]),
        inactive_cases=_section(inactive),
    )
