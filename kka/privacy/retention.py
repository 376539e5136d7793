"""Retention (UU PDP Pasal 42-44): how long each type of record is kept, what is due,
and its destruction.

Each organisation sets a period in months per record type (``RetentionRule``); a type
without a rule uses ``DEFAULT_MONTHS``. What each type means, and when its period starts:

- ``closed_case``: the content of a closed case, from ``closed_at``. Records with their
  files, the problem map and unsaved minutes drafts are deleted; the case, its KKAs
  (plan, participants, minutes, commitments, evaluations, follow-ups, reports) are
  overwritten in place like an erasure (``kka.privacy.erasure.MARKER``), because
  letter numbers, documents and disclosures point at them. The case row keeps its
  code, status, outcome, bidang and dates for statistics; the letter-number register
  is untouched. A reopened case is open, so it is never due.
- ``inactive_client``: a client none of whose cases is still open, from the latest
  closing (or from the client's creation if they never had a case). Destroyed by the
  erasure routine (``kka.privacy.erasure``): identity, guardians, consents' names and
  everything of their cases are anonymised in place.
- ``document``: the stored files of produced documents of a closed case (letters,
  plans, minutes…), from the case's closing; a period of its own, so letters may be
  kept longer or shorter than the case content. The register row stays (number, kind,
  hash); the file is removed and the row renamed like an erased one (a download then
  answers 404). Documents about a client only (consent proof) go with the client.
- ``portal_link``: participants' private links of a closed or cancelled KKA, from its
  closing, never before the portal's own grace period has passed. Deleted.
- ``session``: the sign-in history (ended sessions) of the organisation's members, from
  the end of the session (or its last request, if it was never ended). Deleted. A
  person in two organisations falls under both rules, so in effect the shorter period
  applies; a person with no membership at all falls under none.

Anything of a client whose processing is restricted (an active ``Restriction``) is
never due: a restriction freezes their data, destruction included.

Destruction is done by ``kka privacy retention --destroy --confirm <token>``: the token
is a short hash of exactly the set a listing printed, so destroying needs a listing
first and a set that changed in between needs a new listing. It is all or nothing, in
one transaction; each destroyed type writes one ``privacy.destroyed`` row (type, count)
per organisation in it. Files are removed after the commit, as in the erasure routine.
There is no interactive "ketik YA" prompt: the token makes the command safe to run
from a script and proves the operator looked at the very list being destroyed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kka.accounts.models import Organisation, User, UserSession
from kka.accounts.policy import role_in
from kka.audit.services import audit_log
from kka.cases.models import (
    Attachment,
    Case,
    CaseRecord,
    CaseStatus,
    Client,
    ClientNameToken,
    ProblemAspect,
    ProblemMap,
    ProblemResource,
)
from kka.conferences.models import (
    OPEN_COMMITMENT_STATUSES,
    Commitment,
    CommitmentProgress,
    Conference,
    ConferenceStatus,
    Evaluation,
    FollowUp,
    Minutes,
    MinutesAddendum,
    MinutesDraft,
    MinutesResponse,
    Participant,
    PortalLink,
    Report,
)
from kka.conferences.services import PORTAL_GRACE
from kka.documents.models import Document
from kka.privacy import erasure
from kka.privacy.models import Erasure, RecordType, Restriction, RetentionRule

# School counselling records are commonly kept five years after the student leaves;
# documents go with their case; a private link has no use a month after the KKA (the
# portal's own grace period is 30 days); sign-in history serves security reviews for a year.
DEFAULT_MONTHS: dict[str, int] = {
    RecordType.CLOSED_CASE: 60,
    RecordType.INACTIVE_CLIENT: 60,
    RecordType.DOCUMENT: 60,
    RecordType.PORTAL_LINK: 1,
    RecordType.SESSION: 12,
}
MIN_MONTHS = 1
MAX_MONTHS = 1200
TOKEN_LENGTH = 10
# The actor role written on audit rows of the command line (no signed-in person).
OPERATOR_ROLE = "operator"


# --- periods ------------------------------------------------------------------------------


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """``moment`` moved back by whole calendar months (the day clamped to the month's end)."""
    index = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    next_month = dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def periods(organisation: Organisation) -> dict[str, int]:
    """Months per record type for the organisation: its rules, else the defaults."""
    months = dict(DEFAULT_MONTHS)
    for rule in RetentionRule.objects.filter(organisation=organisation):
        months[rule.record_type] = rule.months
    return months


def rules_overview(organisation: Organisation) -> list[dict[str, Any]]:
    """One row per record type: label, months in force, the default, whether it is set."""
    own = {
        rule.record_type: rule for rule in RetentionRule.objects.filter(organisation=organisation)
    }
    rows = []
    for value, label in RecordType.choices:
        rule = own.get(value)
        rows.append(
            {
                "record_type": value,
                "label": label,
                "months": rule.months if rule else DEFAULT_MONTHS[value],
                "default": DEFAULT_MONTHS[value],
                "is_default": rule is None,
                "updated_at": rule.updated_at if rule else None,
            }
        )
    return rows


@transaction.atomic
def retention_rule_set(
    *, actor: User, organisation: Organisation, record_type: str, months: int
) -> RetentionRule | None:
    """Set the period of one record type; returns the rule (``None`` if nothing changed)."""
    if record_type not in RecordType.values:
        raise ValidationError(_("Jenis data tidak dikenal."))
    if not MIN_MONTHS <= months <= MAX_MONTHS:
        raise ValidationError(
            _("Masa simpan harus antara %(low)s dan %(high)s bulan.")
            % {"low": MIN_MONTHS, "high": MAX_MONTHS}
        )
    rule = (
        RetentionRule.objects.select_for_update()
        .filter(organisation=organisation, record_type=record_type)
        .first()
    )
    old = rule.months if rule else DEFAULT_MONTHS[record_type]
    if rule is None and months == old:
        return None
    if rule is not None and rule.months == months:
        return None
    if rule is None:
        rule = RetentionRule(organisation=organisation, record_type=record_type)
    rule.months = months
    rule.updated_at = timezone.now()
    rule.full_clean()
    rule.save()
    audit_log(
        action="privacy.retention_rule_changed",
        actor=actor,
        actor_role=role_in(actor, organisation.pk),
        organisation=organisation,
        object_type="retentionrule",
        object_ref=record_type,
        refs={"record_type": record_type, "old": old, "months": months},
    )
    return rule


# --- what is due --------------------------------------------------------------------------


@dataclass(frozen=True)
class DueSet:
    """The records of one type due in one organisation: ids to act on, codes to show."""

    organisation: Organisation
    record_type: str
    months: int
    ids: tuple[int, ...]
    codes: tuple[str, ...]

    @property
    def count(self) -> int:
        return len(self.ids)


def _restricted_clients() -> QuerySet[Restriction]:
    return Restriction.objects.filter(lifted_at__isnull=True)


def _due_cases(organisation: Organisation, cutoff: dt.datetime) -> QuerySet[Case]:
    restricted = _restricted_clients().filter(client_id=OuterRef("client_id"))
    return (
        Case.objects.filter(
            organisation=organisation,
            status=CaseStatus.CLOSED,
            closed_at__lte=cutoff,
        )
        .exclude(title=erasure.MARKER)  # already destroyed (or the client erased)
        .exclude(Exists(restricted))
        .order_by("closed_at", "pk")
    )


def _closed_case_ids(organisation: Organisation, cutoff: dt.datetime) -> QuerySet[Case]:
    """Closed long enough (destroyed or not) and not restricted: their documents are due."""
    restricted = _restricted_clients().filter(client_id=OuterRef("client_id"))
    return Case.objects.filter(
        organisation=organisation, status=CaseStatus.CLOSED, closed_at__lte=cutoff
    ).exclude(Exists(restricted))


def _due_clients(organisation: Organisation, cutoff: dt.datetime) -> QuerySet[Client]:
    not_closed = Case.objects.filter(client_id=OuterRef("pk")).exclude(status=CaseStatus.CLOSED)
    restricted = _restricted_clients().filter(client_id=OuterRef("pk"))
    named = ClientNameToken.objects.filter(client_id=OuterRef("pk"))
    erased = Erasure.objects.filter(client_id=OuterRef("pk"))
    return (
        Client.objects.filter(organisation=organisation)
        .annotate(last_closed=Max("cases__closed_at"))
        .filter(Q(last_closed__lte=cutoff) | Q(last_closed__isnull=True, created_at__lte=cutoff))
        .filter(Exists(named))  # an anonymised client has no name tokens left
        .exclude(Exists(not_closed))
        .exclude(Exists(restricted))
        .exclude(Exists(erased))
        .order_by("pk")
    )


def _due_documents(organisation: Organisation, cutoff: dt.datetime) -> QuerySet[Document]:
    cases = _closed_case_ids(organisation, cutoff).values("pk")
    return (
        Document.objects.filter(organisation=organisation)
        .filter(
            Q(case_id__in=cases)
            | Q(conference__case_id__in=cases)
            | Q(participant__conference__case_id__in=cases)
            | Q(followup__case_id__in=cases)
            | Q(evaluation__conference__case_id__in=cases)
        )
        .exclude(stored_name__startswith=erasure.ERASED_FILE_PREFIX)
        .distinct()
        .order_by("pk")
    )


def _due_links(
    organisation: Organisation, cutoff: dt.datetime, now: dt.datetime
) -> QuerySet[PortalLink]:
    ended = min(cutoff, now - PORTAL_GRACE)
    open_commitment = Commitment.objects.filter(
        participant_id=OuterRef("participant_id"), status__in=OPEN_COMMITMENT_STATUSES
    )
    return (
        PortalLink.objects.filter(
            participant__conference__case__organisation=organisation,
            participant__conference__status__in=[
                ConferenceStatus.CLOSED,
                ConferenceStatus.CANCELLED,
            ],
            participant__conference__updated_at__lte=ended,
        )
        .exclude(Exists(open_commitment))
        .select_related("participant")
        .order_by("pk")
    )


def _due_sessions(organisation: Organisation, cutoff: dt.datetime) -> QuerySet[UserSession]:
    # A session never marked as ended died at its last request (sessions last 12 hours).
    return (
        UserSession.objects.filter(
            user__memberships__organisation=organisation,
        )
        .filter(Q(ended_at__lte=cutoff) | Q(ended_at__isnull=True, last_seen_at__lte=cutoff))
        .distinct()
        .order_by("pk")
    )


def due(organisation: Organisation, *, now: dt.datetime | None = None) -> list[DueSet]:
    """Per record type, what of the organisation is due at ``now`` (every type listed)."""
    now = now or timezone.now()
    months = periods(organisation)
    sets = []
    for record_type in RecordType.values:
        cutoff = months_before(now, months[record_type])
        pairs: Iterable[tuple[int, str]]
        if record_type == RecordType.CLOSED_CASE:
            pairs = _due_cases(organisation, cutoff).values_list("pk", "code")
        elif record_type == RecordType.INACTIVE_CLIENT:
            pairs = _due_clients(organisation, cutoff).values_list("pk", "code")
        elif record_type == RecordType.DOCUMENT:
            pairs = _due_documents(organisation, cutoff).values_list("pk", "code")
        elif record_type == RecordType.PORTAL_LINK:
            # A link has no code of its own: it is shown by its participant's code.
            pairs = _due_links(organisation, cutoff, now).values_list("pk", "participant__code")
        else:
            pairs = _due_sessions(organisation, cutoff).values_list("pk", "code")
        rows = list(pairs)
        sets.append(
            DueSet(
                organisation=organisation,
                record_type=record_type,
                months=months[record_type],
                ids=tuple(pk for pk, _code in rows),
                codes=tuple(sorted({code for _pk, code in rows})),
            )
        )
    return sets


def confirmation_token(sets: Sequence[DueSet]) -> str:
    """A short hash of exactly the listed set; empty when nothing is due."""
    lines = sorted(
        f"{item.organisation.code}:{item.record_type}:{pk}" for item in sets for pk in item.ids
    )
    if not lines:
        return ""
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:TOKEN_LENGTH]


def audit_listed(sets: Sequence[DueSet], *, now: dt.datetime, actor: User | None = None) -> None:
    """One ``privacy.retention_listed`` row per organisation: counts per type only."""
    by_org: dict[int, list[DueSet]] = {}
    for item in sets:
        by_org.setdefault(item.organisation.pk, []).append(item)
    with transaction.atomic():
        for org_id, items in by_org.items():
            audit_log(
                action="privacy.retention_listed",
                actor=actor,
                actor_role=role_in(actor, org_id) if actor else OPERATOR_ROLE,
                organisation=org_id,
                object_type="organisation",
                object_ref=items[0].organisation.code,
                refs={
                    "date": now.date().isoformat(),
                    **{item.record_type: item.count for item in items},
                },
            )


# --- destruction --------------------------------------------------------------------------


def _case_scope(case_ids: list[int]) -> dict[str, QuerySet[Any]]:
    """Every row of these cases that can hold personal data (documents have their own rule)."""
    return {
        "cases": Case.objects.filter(pk__in=case_ids),
        "records": CaseRecord.objects.filter(case_id__in=case_ids),
        "attachments": Attachment.objects.filter(record__case_id__in=case_ids),
        "problem_maps": ProblemMap.objects.filter(case_id__in=case_ids),
        "aspects": ProblemAspect.objects.filter(problem_map__case_id__in=case_ids),
        "resources": ProblemResource.objects.filter(problem_map__case_id__in=case_ids),
        "conferences": Conference.objects.filter(case_id__in=case_ids),
        "participants": Participant.objects.filter(conference__case_id__in=case_ids),
        "minutes": Minutes.objects.filter(conference__case_id__in=case_ids),
        "minutes_drafts": MinutesDraft.objects.filter(minutes__conference__case_id__in=case_ids),
        "addenda": MinutesAddendum.objects.filter(minutes__conference__case_id__in=case_ids),
        "responses": MinutesResponse.objects.filter(minutes__conference__case_id__in=case_ids),
        "commitments": Commitment.objects.filter(conference__case_id__in=case_ids),
        "progress": CommitmentProgress.objects.filter(commitment__conference__case_id__in=case_ids),
        "evaluations": Evaluation.objects.filter(conference__case_id__in=case_ids),
        "followups": FollowUp.objects.filter(case_id__in=case_ids),
        "reports": Report.objects.filter(conference__case_id__in=case_ids),
    }


def _rename_files(queryset: QuerySet[Any]) -> list[str]:
    """Point the rows away from their files (as the erasure does); return the files."""
    files: list[str] = []
    for pk, code, stored_name in queryset.values_list("pk", "code", "stored_name"):
        if stored_name.startswith(erasure.ERASED_FILE_PREFIX):
            continue
        files.append(stored_name)
        queryset.model.objects.filter(pk=pk).update(
            stored_name=f"{erasure.ERASED_FILE_PREFIX}{code}"
        )
    return files


def _lock(queryset: QuerySet[Any], ids: list[int]) -> None:
    """Lock the rows; if one no longer qualifies (reopened meanwhile), undo everything."""
    locked = list(queryset.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))
    if len(locked) != len(ids):
        raise TokenMismatch


def _destroy_cases(ids: list[int]) -> tuple[int, list[str]]:
    _lock(Case.objects.filter(status=CaseStatus.CLOSED), ids)
    scope = _case_scope(ids)
    files = [
        name
        for name in scope["attachments"].values_list("stored_name", flat=True)
        if not name.startswith(erasure.ERASED_FILE_PREFIX)
    ]
    # Nothing protects these rows: they go (records take their attachments, the problem
    # map its aspects and resources, the KKAs' links to the records).
    for key in ("attachments", "records", "problem_maps", "minutes_drafts"):
        scope.pop(key).delete()
    for key in ("aspects", "resources"):
        scope.pop(key)
    # The rest is referenced by rows that must stay (letter numbers, documents,
    # disclosures): overwritten in place, as the erasure does.
    PortalLink.objects.filter(participant__conference__case_id__in=ids).delete()
    Participant.objects.filter(conference__case_id__in=ids).update(pledge_ip=None)
    for key, queryset in scope.items():
        erasure._overwrite(queryset, erasure.PLAIN_TEXT.get(key, {}))
    return len(ids), files


def _destroy_clients(ids: list[int]) -> tuple[int, list[str]]:
    _lock(Client.objects.all(), ids)
    if Case.objects.filter(client_id__in=ids).exclude(status=CaseStatus.CLOSED).exists():
        raise TokenMismatch
    files: list[str] = []
    for client in Client.objects.filter(pk__in=ids):
        _summary, client_files = erasure._erase(client)
        files.extend(client_files)
    return len(ids), files


def _destroy_documents(ids: list[int]) -> tuple[int, list[str]]:
    documents = Document.objects.filter(pk__in=ids)
    files = _rename_files(documents)
    Document.objects.filter(pk__in=ids).update(produced_for="")
    return len(ids), files


def _destroy_links(ids: list[int]) -> tuple[int, list[str]]:
    count, _detail = PortalLink.objects.filter(pk__in=ids).delete()
    return count, []


def _destroy_sessions(ids: list[int]) -> tuple[int, list[str]]:
    count, _detail = UserSession.objects.filter(pk__in=ids).delete()
    return count, []


DESTROYERS = {
    RecordType.CLOSED_CASE: _destroy_cases,
    RecordType.INACTIVE_CLIENT: _destroy_clients,
    RecordType.DOCUMENT: _destroy_documents,
    RecordType.PORTAL_LINK: _destroy_links,
    RecordType.SESSION: _destroy_sessions,
}


class TokenMismatch(Exception):
    """The confirmation token is not the one of the set due now: nothing was destroyed."""


@transaction.atomic
def destroy(
    *,
    organisations: Sequence[Organisation],
    token: str,
    now: dt.datetime | None = None,
    actor: User | None = None,
) -> list[DueSet]:
    """Destroy what is due, if ``token`` is the token of exactly that set.

    All or nothing, in one transaction: each organisation and record type destroyed
    writes its ``privacy.destroyed`` row in it; files are removed after the commit.
    """
    now = now or timezone.now()
    sets = [item for organisation in organisations for item in due(organisation, now=now)]
    if not token or token != confirmation_token(sets):
        raise TokenMismatch
    done = []
    for item in sets:
        if not item.ids:
            continue
        count, files = DESTROYERS[RecordType(item.record_type)](list(item.ids))
        audit_log(
            action="privacy.destroyed",
            actor=actor,
            actor_role=role_in(actor, item.organisation.pk) if actor else OPERATOR_ROLE,
            organisation=item.organisation,
            object_type="retention",
            object_ref=item.record_type,
            refs={
                "record_type": item.record_type,
                "count": count,
                "months": item.months,
                "files": len(files),
                "date": now.date().isoformat(),
            },
        )
        transaction.on_commit(functools.partial(erasure._remove_files, files))
        done.append(item)
    return done


# --- the DPO page -------------------------------------------------------------------------


def dpo_section(organisation: Organisation) -> dict[str, Any]:
    """Periods in force and how many records are due now, per type (counts only)."""
    counts = {item.record_type: item.count for item in due(organisation)}
    rows = rules_overview(organisation)
    for row in rows:
        row["due"] = counts.get(row["record_type"], 0)
    return {"rows": rows, "total_due": sum(counts.values())}


# --- ``kka privacy retention`` ------------------------------------------------------------


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "List, per organisation and record type, how many records are due for destruction "
        "and their codes (never names), with a confirmation token. Destroying needs "
        "--destroy --confirm <token> with the token of the listing of the same set."
    )
    parser.add_argument("--organisation", default=None, help="only this organisation (code)")
    parser.add_argument(
        "--date", default=None, help="as of the end of this day, YYYY-MM-DD (default: now)"
    )
    parser.add_argument("--destroy", action="store_true", help="destroy what is due")
    parser.add_argument(
        "--confirm", default="", help="the confirmation token printed by the listing"
    )
    parser.add_argument("--json", action="store_true", help="print the listing as JSON")


def _moment(value: str | None) -> dt.datetime:
    if not value:
        return timezone.now()
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--date wants YYYY-MM-DD, not {value!r}") from exc
    return dt.datetime.combine(day, dt.time.max, tzinfo=dt.UTC)


def _organisations(code: str | None) -> list[Organisation]:
    organisations = Organisation.objects.order_by("code")
    if code:
        organisations = organisations.filter(code=code)
        if not organisations.exists():
            raise CommandError(f"no organisation with code {code!r}")
    return list(organisations)


def _print(sets: Sequence[DueSet], token: str, now: dt.datetime, stdout: TextIO) -> None:
    stdout.write(f"Retention as of {now.date().isoformat()}\n")
    for item in sets:
        line = (
            f"{item.organisation.code}  {item.record_type:<16} {item.months:>4} months  "
            f"due: {item.count}"
        )
        if item.codes:
            line += "  " + " ".join(item.codes)
        stdout.write(line + "\n")
    if token:
        stdout.write(f"Confirmation token: {token}\n")
        stdout.write(
            f"To destroy exactly this set, run the same command with --destroy --confirm {token}\n"
        )
    else:
        stdout.write("Nothing is due.\n")


def _as_json(sets: Sequence[DueSet], token: str, now: dt.datetime) -> str:
    return json.dumps(
        {
            "date": now.date().isoformat(),
            "token": token,
            "due": [
                {
                    "organisation": item.organisation.code,
                    "record_type": item.record_type,
                    "months": item.months,
                    "count": item.count,
                    "codes": list(item.codes),
                }
                for item in sets
            ],
        },
        indent=2,
    )


def run(options: dict[str, Any], stdout: TextIO) -> None:
    now = _moment(options.get("date"))
    organisations = _organisations(options.get("organisation"))
    if options.get("destroy"):
        if not options.get("confirm"):
            raise CommandError(
                "--destroy needs --confirm <token>: run the listing first and pass its token"
            )
        try:
            done = destroy(organisations=organisations, token=options["confirm"], now=now)
        except TokenMismatch:
            raise CommandError(
                "The confirmation token does not match what is due now (the set changed or "
                "the token is wrong). Nothing was destroyed; list again and use the new token."
            ) from None
        for item in done:
            stdout.write(
                f"{item.organisation.code}  {item.record_type:<16} destroyed: {item.count}\n"
            )
        stdout.write(f"Destroyed {sum(item.count for item in done)} record(s).\n")
        return
    sets = [item for organisation in organisations for item in due(organisation, now=now)]
    token = confirmation_token(sets)
    audit_listed(sets, now=now)
    if options.get("json"):
        stdout.write(_as_json(sets, token, now) + "\n")
    else:
        _print(sets, token, now, stdout)
