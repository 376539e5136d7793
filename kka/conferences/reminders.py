"""``kka remind``: the daily reminders about commitments, and the counsellors' digest.

Run once a day (cron or a scheduler). Per organisation, with "today" taken in the
organisation's time zone:

* a **participant** with open commitments due within ``SOON_DAYS`` days (the due day
  included) gets one neutral mail, and one more once a commitment is overdue; several
  commitments in one run make one mail. The mail says only how many commitments fall
  due on which dates, and carries a fresh private link: never the client, the case,
  the commitment's text or anything said in the meeting. Only participants the
  client's consent still covers, whose link would open (not removed, KKA not
  cancelled, not past the portal's grace after closing) and who have an email
  address are mailed; the others are counted in the digest;
* every **counsellor** on a case (the owner and the co-counsellors, with an active
  counselling membership) gets at most one digest a day, and only when there is
  something to do: commitments due soon or overdue, later evaluations due or overdue,
  KKAs in the next ``UPCOMING_KKA_DAYS`` days with pledges missing or invitations
  unanswered, and the participants reminded (or not reachable) today. Items are named
  by case code and KKA number with links; mail leaves our control, so no case titles,
  names or texts.

Idempotence: each reminder is a ``ReminderSent`` row whose unique key names it with
codes only (``commitment:<code>:soon``, ``commitment:<code>:overdue``,
``digest:<organisation code>:<user id>:<date>``). The row is inserted and the mail
sent in one transaction: a failed send rolls the row back, so the next run retries,
and a second run the same day finds the row and sends nothing. Each run writes one
``reminder.run`` audit row per organisation with counts only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from kka.accounts.models import Membership, Organisation, User
from kka.accounts.policy import COUNSELLING_ROLES
from kka.audit.models import Outcome
from kka.audit.services import audit_log
from kka.cases.models import Case, CaseMember, CaseRole, CaseStatus
from kka.conferences import services
from kka.conferences.models import (
    LATER_EVALUATION_KINDS,
    OPEN_COMMITMENT_STATUSES,
    Commitment,
    Conference,
    ConferenceStatus,
    Evaluation,
    Participant,
    PortalLink,
    ReminderSent,
    Rsvp,
)
from kka.lib.mail import send_templated

logger = logging.getLogger("kka.reminders")

SOON_DAYS = 3  # "due soon": today and the three days after it
UPCOMING_KKA_DAYS = 2  # KKAs today and in the next two days are checked for readiness
SOON = "soon"
OVERDUE = "overdue"
UPCOMING_STATUSES = (ConferenceStatus.DRAFT, ConferenceStatus.PLANNED, ConferenceStatus.INVITED)


@dataclass
class Summary:
    """Counts only (they go to the audit log and the command's output)."""

    organisations: int = 0
    participant_mails: int = 0  # participants reminded (one mail each)
    commitments: int = 0  # commitment reminders in those mails
    without_email: int = 0  # participants due a reminder but without an email address
    unreachable: int = 0  # consent no longer covers them, or their link would not open
    digests: int = 0
    failed: int = 0  # sends that raised; retried on the next run

    def add(self, other: Summary) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def counts(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def line(self) -> str:
        return (
            f"{self.organisations} organisations, "
            f"{self.participant_mails} participant reminders "
            f"({self.commitments} commitments), "
            f"{self.without_email} without email, "
            f"{self.unreachable} not reachable, "
            f"{self.digests} digests, "
            f"{self.failed} failed"
        )


# --- the digest's items: codes, numbers and dates only -----------------------------------


@dataclass
class CommitmentLine:
    case_code: str
    sequence: int
    due_on: dt.date
    counsellor_id: int | None  # set when a counsellor made the commitment
    url: str
    mine: bool = False  # the recipient's own commitment


@dataclass
class EvaluationLine:
    case_code: str
    sequence: int
    kind: str
    kind_label: str
    due_on: dt.date
    overdue: bool
    url: str


@dataclass
class KkaLine:
    case_code: str
    sequence: int
    starts_at: dt.datetime
    pledges_missing: int
    unanswered: int
    url: str


@dataclass
class ParticipantsLine:
    case_code: str
    sequence: int
    reminded: int
    without_email: int
    unreachable: int
    url: str


@dataclass
class Digest:
    overdue: list[CommitmentLine] = field(default_factory=list)
    soon: list[CommitmentLine] = field(default_factory=list)
    evaluations: list[EvaluationLine] = field(default_factory=list)
    kkas: list[KkaLine] = field(default_factory=list)
    participants: list[ParticipantsLine] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.overdue or self.soon or self.evaluations or self.kkas or self.participants)


@dataclass
class _ParticipantTally:
    reminded: int = 0
    without_email: int = 0
    unreachable: int = 0


# --- helpers ------------------------------------------------------------------------------


def absolute_url(path: str) -> str:
    """A link for mail, on ``KKA_BASE_URL`` (as ``services.portal_url`` builds them)."""
    return getattr(settings, "KKA_BASE_URL", "").rstrip("/") + path


def commitment_key(commitment: Commitment, stage: str) -> str:
    return f"commitment:{commitment.code}:{stage}"


def digest_key(organisation: Organisation, user_id: int, day: dt.date) -> str:
    return f"digest:{organisation.code}:{user_id}:{day.isoformat()}"


def _stage(commitment: Commitment, today: dt.date) -> str:
    assert commitment.due_on is not None
    return OVERDUE if commitment.due_on < today else SOON


def _deliver(
    *, keys: Iterable[str], organisation: Organisation, day: dt.date, send: Callable[[], None]
) -> str:
    """Record the keys and send, in one transaction: "sent", "already" or "failed"."""
    keys = list(keys)
    try:
        with transaction.atomic():
            ReminderSent.objects.bulk_create(
                [ReminderSent(key=key, organisation=organisation, sent_on=day) for key in keys]
            )
            send()
    except IntegrityError:
        return "already"  # a concurrent run recorded it first
    except Exception as exc:  # one failed mail must not stop the others
        # Codes and the exception's class only: its message may hold an address.
        logger.warning("reminder not sent (%s): %s", type(exc).__name__, ",".join(keys))
        return "failed"
    return "sent"


def _reachable(participant: Participant) -> bool:
    """The client's consent still covers the participant and a new link would open."""
    if services.consent_problem(participant.conference, participant) is not None:
        return False
    return services.link_is_valid(PortalLink(participant=participant))


def _send_participant_mail(
    participant: Participant, organisation: Organisation, items: list[tuple[Commitment, str]]
) -> None:
    token = services.portal_link_create(participant=participant)
    soon = sorted(c.due_on for c, stage in items if stage == SOON and c.due_on)
    overdue = sorted(c.due_on for c, stage in items if stage == OVERDUE and c.due_on)
    send_templated(
        to=participant.email,
        template="conferences/emails/reminder_commitment",
        language=participant.language or "id",
        context={
            "organisation_name": organisation.name,
            "soon_dates": soon,
            "overdue_dates": overdue,
            "link": services.portal_url(token),
        },
    )


def _send_digest(user: User, organisation: Organisation, day: dt.date, digest: Digest) -> None:
    with timezone.override(zoneinfo.ZoneInfo(organisation.time_zone)):
        send_templated(
            to=user.email,
            template="conferences/emails/reminder_digest",
            language=getattr(user, "language", "") or "id",
            context={
                "organisation_name": organisation.name,
                "day": day,
                "digest": digest,
                "soon_until": day + dt.timedelta(days=SOON_DAYS),
                "kka_until": day + dt.timedelta(days=UPCOMING_KKA_DAYS),
                "home_url": absolute_url(reverse("web:home")),
            },
        )


# --- one organisation ---------------------------------------------------------------------


def remind_organisation(
    organisation: Organisation,
    *,
    now: dt.datetime | None = None,
    today: dt.date | None = None,
    dry_run: bool = False,
) -> Summary:
    now = now or timezone.now()
    zone = zoneinfo.ZoneInfo(organisation.time_zone)
    day = today or now.astimezone(zone).date()
    horizon = day + dt.timedelta(days=SOON_DAYS)
    summary = Summary(organisations=1)
    cases = list(
        Case.objects.filter(organisation=organisation)
        .exclude(status=CaseStatus.CLOSED)
        .only("id", "code", "owner_id", "organisation_id")
    )
    case_ids = [c.pk for c in cases]

    commitments = list(
        Commitment.objects.filter(
            conference__case_id__in=case_ids,
            status__in=OPEN_COMMITMENT_STATUSES,
            due_on__isnull=False,
            due_on__lte=horizon,
        )
        .exclude(conference__status=ConferenceStatus.CANCELLED)
        .select_related("conference__case")
        .order_by("due_on", "id")
    )
    wanted = {commitment_key(c, _stage(c, day)): c for c in commitments if c.participant_id}
    already = set(ReminderSent.objects.filter(key__in=list(wanted)).values_list("key", flat=True))

    # --- participants: one mail per participant for everything new in this run ----------
    by_participant: dict[int, list[tuple[Commitment, str]]] = defaultdict(list)
    for key, commitment in wanted.items():
        if key not in already:
            assert commitment.participant_id is not None
            by_participant[commitment.participant_id].append((commitment, _stage(commitment, day)))
    participants = {
        p.pk: p
        for p in Participant.objects.filter(
            pk__in=list(by_participant), removed_at__isnull=True
        ).select_related("conference__case__organisation", "conference__case__client")
    }
    tallies: dict[int, _ParticipantTally] = defaultdict(_ParticipantTally)
    reminded_now: set[str] = set()  # commitment codes reminded in this run
    for participant_id, items in by_participant.items():
        participant = participants.get(participant_id)
        if participant is None:
            continue  # removed from the KKA: nothing to remind
        tally = tallies[participant.conference_id]
        if not participant.email.strip():
            summary.without_email += 1
            tally.without_email += 1
            continue
        if not _reachable(participant):
            summary.unreachable += 1
            tally.unreachable += 1
            continue
        if dry_run:
            outcome = "sent"
        else:
            outcome = _deliver(
                keys=[commitment_key(c, stage) for c, stage in items],
                organisation=organisation,
                day=day,
                send=functools.partial(_send_participant_mail, participant, organisation, items),
            )
        if outcome == "sent":
            summary.participant_mails += 1
            summary.commitments += len(items)
            reminded_now.update(c.code for c, _stage_ in items)
        elif outcome == "failed":
            summary.failed += 1

    # Participants reminded today, also by an earlier run of the same day.
    sent_today = ReminderSent.objects.filter(
        organisation=organisation, sent_on=day, key__startswith="commitment:"
    ).values_list("key", flat=True)
    reminded_codes = {key.split(":")[1] for key in sent_today} | reminded_now
    reminded_people: dict[int, set[int]] = defaultdict(set)
    for conference_id, participant_id in Commitment.objects.filter(
        code__in=list(reminded_codes), participant__isnull=False
    ).values_list("conference_id", "participant_id"):
        reminded_people[conference_id].add(participant_id)
    for conference_id, people in reminded_people.items():
        tallies[conference_id].reminded = len(people)

    # --- the counsellors' digests -------------------------------------------------------
    per_case = _digest_items(organisation, cases, commitments, tallies, day, zone)
    counsellors = _counsellors(organisation, cases)
    for user in counsellors:
        digest = Digest()
        for case_id in counsellors[user]:
            part = per_case.get(case_id)
            if part is None:
                continue
            digest.overdue += [_for(line, user) for line in part.overdue]
            digest.soon += [_for(line, user) for line in part.soon]
            digest.evaluations += part.evaluations
            digest.kkas += part.kkas
            digest.participants += part.participants
        for lines in (digest.overdue, digest.soon, digest.evaluations):
            lines.sort(key=lambda line: (line.due_on, line.case_code, line.sequence))
        digest.kkas.sort(key=lambda line: (line.starts_at, line.case_code))
        digest.participants.sort(key=lambda line: (line.case_code, line.sequence))
        if not digest:
            continue
        key = digest_key(organisation, user.pk, day)
        if ReminderSent.objects.filter(key=key).exists():
            continue
        if dry_run:
            summary.digests += 1
            continue
        outcome = _deliver(
            keys=[key],
            organisation=organisation,
            day=day,
            send=functools.partial(_send_digest, user, organisation, day, digest),
        )
        if outcome == "sent":
            summary.digests += 1
        elif outcome == "failed":
            summary.failed += 1

    if not dry_run:
        with transaction.atomic():
            audit_log(
                action="reminder.run",
                organisation=organisation.pk,
                object_type="organisation",
                object_ref=organisation.code,
                refs={"date": day.isoformat(), **summary.counts()},
                outcome=Outcome.FAILURE if summary.failed else Outcome.SUCCESS,
            )
    logger.info("reminders for organisation %s on %s: %s", organisation.code, day, summary.counts())
    return summary


def _for(line: CommitmentLine, user: User) -> CommitmentLine:
    """The line as one recipient reads it: flagged when it is their own commitment."""
    return dataclasses.replace(line, mine=line.counsellor_id == user.pk)


def _counsellors(organisation: Organisation, cases: list[Case]) -> dict[User, list[int]]:
    """Owner and co-counsellors of each case who still counsel in the organisation."""
    active = set(
        Membership.objects.filter(
            organisation=organisation,
            is_active=True,
            role__in=COUNSELLING_ROLES,
            user__is_active=True,
        ).values_list("user_id", flat=True)
    )
    case_ids_by_user: dict[int, list[int]] = defaultdict(list)
    for case in cases:
        case_ids_by_user[case.owner_id].append(case.pk)
    for case_id, user_id in CaseMember.objects.filter(
        case_id__in=[c.pk for c in cases], role=CaseRole.CO_COUNSELLOR
    ).values_list("case_id", "user_id"):
        case_ids_by_user[user_id].append(case_id)
    users = User.objects.filter(pk__in=[u for u in case_ids_by_user if u in active]).order_by("id")
    return {user: case_ids_by_user[user.pk] for user in users}


def _digest_items(
    organisation: Organisation,
    cases: list[Case],
    commitments: list[Commitment],
    tallies: dict[int, _ParticipantTally],
    day: dt.date,
    zone: zoneinfo.ZoneInfo,
) -> dict[int, Digest]:
    """What each case contributes to its counsellors' digests (codes and counts only)."""
    per_case: dict[int, Digest] = defaultdict(Digest)
    case_ids = [c.pk for c in cases]

    for commitment in commitments:
        conference = commitment.conference
        assert commitment.due_on is not None
        line = CommitmentLine(
            case_code=conference.case.code,
            sequence=conference.sequence,
            due_on=commitment.due_on,
            counsellor_id=commitment.counsellor_id,
            url=absolute_url(reverse("conferences:meeting", args=[conference.code])) + "#komitmen",
        )
        part = per_case[conference.case_id]
        (part.overdue if commitment.due_on < day else part.soon).append(line)

    evaluations = (
        Evaluation.objects.filter(
            conference__case_id__in=case_ids,
            kind__in=LATER_EVALUATION_KINDS,
            done_at__isnull=True,
            due_on__isnull=False,
            due_on__lte=day + dt.timedelta(days=SOON_DAYS),
        )
        .exclude(conference__status=ConferenceStatus.CANCELLED)
        .select_related("conference__case")
    )
    for evaluation in evaluations:
        conference = evaluation.conference
        assert evaluation.due_on is not None
        per_case[conference.case_id].evaluations.append(
            EvaluationLine(
                case_code=conference.case.code,
                sequence=conference.sequence,
                kind=evaluation.kind,
                kind_label=str(evaluation.get_kind_display()),
                due_on=evaluation.due_on,
                overdue=evaluation.due_on < day,
                url=absolute_url(
                    reverse("conferences:later_evaluation", args=[conference.code, evaluation.code])
                ),
            )
        )

    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=UPCOMING_KKA_DAYS + 1), dt.time.min, zone)
    upcoming = Conference.objects.filter(
        case_id__in=case_ids,
        status__in=UPCOMING_STATUSES,
        starts_at__gte=start,
        starts_at__lt=end,
    ).select_related("case")
    people: dict[int, list[Participant]] = defaultdict(list)
    for participant in Participant.objects.filter(
        conference__in=upcoming, removed_at__isnull=True
    ).only("conference_id", "invited_at", "rsvp", "pledged_at"):
        people[participant.conference_id].append(participant)
    for conference in upcoming:
        assert conference.starts_at is not None
        present = people[conference.pk]
        missing = sum(1 for p in present if p.pledged_at is None and p.rsvp != Rsvp.NO)
        unanswered = sum(1 for p in present if p.invited_at and p.rsvp == Rsvp.PENDING)
        if missing or unanswered:
            per_case[conference.case_id].kkas.append(
                KkaLine(
                    case_code=conference.case.code,
                    sequence=conference.sequence,
                    starts_at=conference.starts_at,
                    pledges_missing=missing,
                    unanswered=unanswered,
                    url=absolute_url(reverse("conferences:detail", args=[conference.code])),
                )
            )

    touched = [cid for cid, t in tallies.items() if t.reminded or t.without_email or t.unreachable]
    for conference in Conference.objects.filter(pk__in=touched).select_related("case"):
        tally = tallies[conference.pk]
        per_case[conference.case_id].participants.append(
            ParticipantsLine(
                case_code=conference.case.code,
                sequence=conference.sequence,
                reminded=tally.reminded,
                without_email=tally.without_email,
                unreachable=tally.unreachable,
                url=absolute_url(reverse("conferences:detail", args=[conference.code])),
            )
        )
    return per_case


# --- every organisation -------------------------------------------------------------------


def run_reminders(
    *, now: dt.datetime | None = None, today: dt.date | None = None, dry_run: bool = False
) -> Summary:
    """Send today's reminders for every organisation (``today`` overrides the date)."""
    now = now or timezone.now()
    total = Summary()
    for organisation in Organisation.objects.order_by("id"):
        total.add(remind_organisation(organisation, now=now, today=today, dry_run=dry_run))
    return total
