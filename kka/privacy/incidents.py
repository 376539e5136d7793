"""The incident register (UU PDP Pasal 46): record a personal-data protection failure,
find the clients it reached, and keep the 3 x 24 hour notification deadline in sight.

Also the ``kka privacy affected`` subcommand (``configure``/``run``) and the DPO page's
incident section (``dpo_section``).

Times given on the command line without a zone are read in the organisation's zone
when ``--organisation`` is given, otherwise in UTC; output times carry their offset.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import math
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from kka.accounts.models import Membership, Organisation, Role, User
from kka.audit.services import audit_log
from kka.privacy.affected import Affected, affected, audit_listed
from kka.privacy.models import Incident, IncidentStatus, IncidentSubject

EDITABLE = (
    "title",
    "description",
    "measures",
    "discovered_at",
    "occurred_from",
    "occurred_to",
    "suspect_user",
    "suspect_ip",
)


# --- access ----------------------------------------------------------------------------


def access_incident(organisation: Organisation, code: str) -> Incident:
    """The organisation's incident (the caller has checked the DPO role), else 404."""
    incident = (
        Incident.objects.filter(organisation=organisation, code=code)
        .select_related("suspect_user")
        .first()
    )
    if incident is None:
        raise Http404
    return incident


def access_incident_subject(incident: Incident, client_code: str) -> IncidentSubject:
    subject = (
        IncidentSubject.objects.filter(incident=incident, client__code=client_code)
        .select_related("client")
        .first()
    )
    if subject is None:
        raise Http404
    return subject


def incident_list(*, organisation: Organisation) -> list[Incident]:
    return list(Incident.objects.filter(organisation=organisation).order_by("-discovered_at"))


def suspect_choices(organisation: Organisation) -> QuerySet[User]:
    """Members of the organisation (active or not: a deactivated account may be the one)."""
    ids = Membership.objects.filter(organisation=organisation).values("user_id")
    return User.objects.filter(pk__in=ids).order_by("full_name")


# --- countdown -------------------------------------------------------------------------


@dataclass(frozen=True)
class Countdown:
    text: str
    late: bool


def _amount(seconds: float) -> str:
    if seconds >= 3600:
        return _("%(n)s jam") % {"n": math.floor(seconds / 3600)}
    return _("%(n)s menit") % {"n": max(1, math.floor(seconds / 60))}


def countdown(incident: Incident, now: dt.datetime | None = None) -> Countdown:
    """ "sisa 12 jam" until 72 hours after discovery; "lewat batas 3 jam" after it.

    Once notified, the time of notification against the deadline; once closed without
    a notice, no countdown.
    """
    if incident.notified_at is not None:
        late = incident.notified_at > incident.notify_by
        return Countdown(
            _("diberitahukan lewat batas") if late else _("diberitahukan tepat waktu"), late
        )
    if incident.status == IncidentStatus.CLOSED:
        # Closed without a notice (e.g. it turned out no personal data was reached).
        return Countdown(_("ditutup tanpa pemberitahuan"), False)
    left = (incident.notify_by - (now or timezone.now())).total_seconds()
    if left >= 0:
        return Countdown(_("sisa %(amount)s") % {"amount": _amount(left)}, False)
    return Countdown(_("lewat batas %(amount)s") % {"amount": _amount(-left)}, True)


# --- services --------------------------------------------------------------------------


def _clean(incident: Incident) -> None:
    if (
        incident.occurred_from
        and incident.occurred_to
        and incident.occurred_from > incident.occurred_to
    ):
        raise ValidationError({"occurred_to": _("Waktu akhir harus sesudah waktu mulai.")})
    if (
        incident.suspect_user_id is not None
        and not Membership.objects.filter(
            organisation_id=incident.organisation_id, user_id=incident.suspect_user_id
        ).exists()
    ):
        raise ValidationError({"suspect_user": _("Akun ini bukan anggota lembaga.")})
    incident.full_clean()


def _audit(action: str, *, actor: User, incident: Incident, **refs: Any) -> None:
    audit_log(
        action=action,
        actor=actor,
        actor_role=Role.DPO,
        organisation=incident.organisation_id,
        object_type="incident",
        object_ref=incident.code,
        refs=refs,
    )


@transaction.atomic
def incident_record(
    *,
    actor: User,
    organisation: Organisation,
    title: str,
    discovered_at: dt.datetime,
    description: str = "",
    measures: str = "",
    occurred_from: dt.datetime | None = None,
    occurred_to: dt.datetime | None = None,
    suspect_user: User | None = None,
    suspect_ip: str | None = None,
) -> Incident:
    incident = Incident(
        organisation=organisation,
        title=title,
        description=description,
        measures=measures,
        discovered_at=discovered_at,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        suspect_user=suspect_user,
        suspect_ip=suspect_ip or None,
        created_by=actor,
    )
    _clean(incident)
    incident.save()
    _audit("privacy.incident_recorded", actor=actor, incident=incident)
    return incident


@transaction.atomic
def incident_update(*, actor: User, incident: Incident, **values: Any) -> Incident:
    """Change the register entry; the audit row names the changed fields only."""
    allowed = {*EDITABLE, "status"}
    unknown = set(values) - allowed
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    if "suspect_ip" in values:
        values["suspect_ip"] = values["suspect_ip"] or None
    changed = sorted(name for name, value in values.items() if getattr(incident, name) != value)
    if not changed:
        return incident
    for name in changed:
        setattr(incident, name, values[name])
    _clean(incident)
    incident.save(update_fields=changed)
    _audit("privacy.incident_updated", actor=actor, incident=incident, fields=",".join(changed))
    return incident


def incident_window(incident: Incident) -> tuple[dt.datetime, dt.datetime]:
    """The time to search: the occurrence window, ending at discovery when open-ended."""
    if incident.occurred_from is None:
        raise ValidationError(
            _("Isi dulu waktu mulai kejadian (terjadi sejak) untuk mencari yang terdampak.")
        )
    return incident.occurred_from, incident.occurred_to or incident.discovered_at


@transaction.atomic
def incident_find_affected(*, actor: User, incident: Incident) -> Affected:
    """Run the audit-log query for the incident and store who was reached.

    Clients found again keep their notification time; clients no longer found (the
    window or the suspect changed) are dropped unless they were already notified.
    """
    if incident.suspect_user_id is None and not incident.suspect_ip:
        raise ValidationError(
            _("Isi akun atau alamat IP yang diduga terlibat untuk mencari yang terdampak.")
        )
    start, end = incident_window(incident)
    result = affected(
        start=start,
        end=end,
        user=incident.suspect_user_id,
        ip=incident.suspect_ip,
        organisation=incident.organisation,
    )
    found = {item.client_id: item for item in result.clients}
    existing = {s.client_id: s for s in IncidentSubject.objects.filter(incident=incident)}
    for client_id, old in existing.items():
        if client_id not in found and old.notified_at is None:
            old.delete()
    for client_id, item in found.items():
        subject = existing.get(client_id)
        if subject is None:
            IncidentSubject.objects.create(
                incident=incident, client_id=client_id, categories=item.sorted_categories()
            )
        else:
            subject.categories = item.sorted_categories()
            subject.save(update_fields=["categories"])
    audit_listed(
        actor=actor,
        organisation=incident.organisation,
        result=result,
        via="web",
        by_user=incident.suspect_user_id is not None,
        by_ip=bool(incident.suspect_ip),
        incident_code=incident.code,
    )
    return result


@transaction.atomic
def incident_subject_notified(
    *, actor: User, incident: Incident, subject: IncidentSubject
) -> IncidentSubject:
    if subject.notified_at is None:
        subject.notified_at = timezone.now()
        subject.save(update_fields=["notified_at"])
        _audit(
            "privacy.incident_updated",
            actor=actor,
            incident=incident,
            change="subject_notified",
            client=subject.client.code,
        )
    return subject


@transaction.atomic
def incident_notified(*, actor: User, incident: Incident) -> Incident:
    """The notice went out (to the subjects and the authority): the countdown stops."""
    if incident.notified_at is None:
        incident.notified_at = timezone.now()
        incident.status = IncidentStatus.NOTIFIED
        incident.save(update_fields=["notified_at", "status"])
        _audit(
            "privacy.incident_updated",
            actor=actor,
            incident=incident,
            change="notified",
            late=int(incident.notified_at > incident.notify_by),
        )
    return incident


# --- DPO page section ------------------------------------------------------------------


def dpo_section(organisation: Organisation) -> dict[str, Any]:
    """Incidents not yet notified or closed, oldest deadline first, with the countdown."""
    open_incidents = Incident.objects.filter(
        organisation=organisation, status=IncidentStatus.OPEN
    ).order_by("discovered_at")
    now = timezone.now()
    rows = [{"incident": i, "countdown": countdown(i, now)} for i in open_incidents]
    return {"rows": rows, "count": len(rows)}


# --- kka privacy affected --------------------------------------------------------------


def configure(parser: CommandParser) -> None:
    parser.add_argument("--user", help="the account: email address or numeric id")
    parser.add_argument("--ip", help="the address (also finds portal use through links)")
    parser.add_argument(
        "--from",
        dest="start",
        required=True,
        help="start, ISO date/time (naive: organisation's zone, else UTC)",
    )
    parser.add_argument(
        "--to", dest="end", required=True, help="end, ISO date/time (a bare date: end of day)"
    )
    parser.add_argument("--organisation", help="organisation code (limits the search)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def _moment(value: str, zone: dt.tzinfo, *, end: bool, option: str) -> dt.datetime:
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
        else:
            moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{option} wants an ISO date or date-time, not {value!r}") from exc
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=zone)
    return moment


def _user(value: str) -> User:
    found = (
        User.objects.filter(email__iexact=value).first()
        if "@" in value
        else User.objects.filter(pk=int(value)).first()
        if value.isdigit()
        else None
    )
    if found is None:
        raise CommandError(f"no account {value!r}")
    return found


def run(options: dict[str, Any], stdout: Any) -> None:
    organisation = None
    zone: dt.tzinfo = dt.UTC
    if options.get("organisation"):
        organisation = Organisation.objects.filter(code=options["organisation"]).first()
        if organisation is None:
            raise CommandError(f"no organisation {options['organisation']!r}")
        zone = zoneinfo.ZoneInfo(organisation.time_zone)
    user = _user(options["user"]) if options.get("user") else None
    ip = options.get("ip") or None
    if ip:
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError as exc:
            raise CommandError(f"--ip wants an IP address, not {ip!r}") from exc
    if user is None and ip is None:
        raise CommandError("give --user or --ip (or both)")
    start = _moment(options["start"], zone, end=False, option="--from")
    end = _moment(options["end"], zone, end=True, option="--to")
    if start > end:
        raise CommandError("--from is after --to")
    result = affected(start=start, end=end, user=user, ip=ip, organisation=organisation)
    audit_listed(
        actor=None,
        organisation=organisation,
        result=result,
        via="cli",
        by_user=user is not None,
        by_ip=ip is not None,
    )

    def when(moment: dt.datetime | None) -> str:
        return moment.astimezone(zone).isoformat(timespec="seconds") if moment else ""

    rows: list[dict[str, Any]] = [
        {
            "client": item.code,
            "organisation": item.organisation_code,
            "categories": item.sorted_categories(),
            "first": when(item.first_at),
            "last": when(item.last_at),
            "events": item.events,
        }
        for item in result.clients
    ]
    if options.get("json"):
        payload = {
            "from": when(start),
            "to": when(end),
            "user": user.pk if user else None,
            "ip": ip,
            "organisation": organisation.code if organisation else None,
            "audit_rows": result.events,
            "audit_rows_reaching_clients": result.reaching,
            "clients": rows,
        }
        stdout.write(json.dumps(payload, indent=2))
        return
    stdout.write(
        f"{len(rows)} client(s) reached by {result.reaching} of {result.events} audit row(s) "
        f"from {when(start)} to {when(end)}. Codes only: look names up on the client page."
    )
    for row in rows:
        stdout.write(
            f"{row['client']}  [{row['organisation']}]  {row['first']} .. {row['last']}  "
            f"{row['events']} row(s)  {', '.join(row['categories'])}"
        )
