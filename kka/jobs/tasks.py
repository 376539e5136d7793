"""The background tasks. Payloads: ids, short codes and the idempotency key only.

Each task claims its key (``kka.jobs.runs``) so a redelivered message does nothing
twice. Mail tasks retry SMTP and connection errors with exponential back-off; the
worker acknowledges a message only when the task has finished (settings:
``CELERY_TASK_ACKS_LATE``).
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import time
import zoneinfo
from typing import Any

from celery import Task
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from kka.celery import app
from kka.jobs import runs
from kka.jobs.enqueue import enqueue

logger = logging.getLogger("kka.jobs")

# Transient mail trouble: the server refused for now, went away or could not be reached.
MAIL_ERRORS = (smtplib.SMTPException, ConnectionError, TimeoutError)
MAIL_RETRY: dict[str, Any] = {
    "autoretry_for": MAIL_ERRORS,
    "retry_backoff": 30,  # 30 s, 60 s, 120 s … (with jitter), about 20 minutes in all
    # Below the broker's visibility timeout (900 s): a waiting retry is not redelivered.
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 6,
}


class JobTask(Task):  # type: ignore[misc]
    """Records failed attempts (exception class only) on the task's JobRun row."""

    def short_name(self) -> str:
        return str(self.name).rsplit(".", 1)[-1]

    def on_retry(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        if kwargs.get("key"):
            runs.record_failure(key=kwargs["key"], task=self.short_name(), exc=exc, gave_up=False)

    def on_failure(
        self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any
    ) -> None:
        if kwargs.get("key"):
            runs.record_failure(key=kwargs["key"], task=self.short_name(), exc=exc, gave_up=True)


# --- invitations ----------------------------------------------------------------------------


@app.task(base=JobTask, name="kka.jobs.tasks.send_invitation", **MAIL_RETRY)
def send_invitation(*, participant_id: int, actor_id: int | None, key: str) -> str:
    """Mail one invitation (text, private link, .ics, letter). The private link is made
    here, in the same transaction as the mail: its token never travels in a payload."""
    from kka.conferences import services
    from kka.conferences.models import ConferenceStatus, Participant

    with runs.claim(key, "send_invitation") as run:
        if run is None:
            return "already"
        participant = (
            Participant.objects.select_related("conference__case__client")
            .filter(pk=participant_id)
            .first()
        )
        # Re-checked here: the participant may have been removed, the KKA cancelled or
        # the consent withdrawn since the invitation was asked for.
        skipped = ""
        if participant is None or participant.removed_at is not None:
            skipped = "removed"
        elif not participant.email:
            skipped = "no_email"
        elif participant.conference.status not in (
            ConferenceStatus.PLANNED,
            ConferenceStatus.INVITED,
        ):
            skipped = "status"
        elif services.consent_problem(participant.conference, participant) is not None:
            skipped = "consent"
        if skipped:
            run.result = {"skipped": skipped}
            logger.info("invitation job %s skipped (%s)", key, skipped)
            return "skipped"
        assert participant is not None
        if settings.KKA_TEST_TASK_DELAY:
            time.sleep(settings.KKA_TEST_TASK_DELAY)
        token = services.portal_link_create(participant=participant)
        run.result = {"participant": participant.code}
        # Marked done before the mail leaves: no write follows the send (a crash in a
        # write rolls back everything and sends nothing).
        services.send_invitation_email(
            participant_id=participant.pk,
            token=token,
            actor_id=actor_id,
            before_send=lambda: runs.mark_done(run),
        )
        return "sent"


# --- reminders ------------------------------------------------------------------------------


@app.task(base=JobTask, name="kka.jobs.tasks.send_reminders")
def send_reminders(*, organisation_id: int, date: str | None, key: str) -> dict[str, int]:
    """One organisation's reminders for ``date`` (YYYY-MM-DD; None: its today). Each mail
    is its own transaction with its ``ReminderSent`` row, so a redelivery after a crash
    sends only what was not sent; a failed mail waits for the next run."""
    from kka.accounts.models import Organisation
    from kka.conferences.reminders import Summary, remind_organisation

    if runs.is_done(key):
        return Summary().counts()
    organisation = Organisation.objects.get(pk=organisation_id)
    today = dt.date.fromisoformat(date) if date else None
    counts = remind_organisation(organisation, today=today).counts()
    runs.finish(key, "send_reminders", counts)
    return counts


@app.task(base=JobTask, name="kka.jobs.tasks.daily_reminders")
def daily_reminders(*, key: str = "", now: str | None = None) -> int:
    """Beat, every hour: enqueue the reminders of each organisation whose local time is
    in the hour of ``KKA_REMIND_HOUR`` (one key per organisation and day). Returns how
    many were enqueued."""
    from kka.accounts.models import Organisation

    moment = dt.datetime.fromisoformat(now) if now else timezone.now()
    count = 0
    for organisation in Organisation.objects.order_by("id").only("id", "code", "time_zone"):
        local = moment.astimezone(zoneinfo.ZoneInfo(organisation.time_zone))
        if local.hour != settings.KKA_REMIND_HOUR:
            continue
        day = local.date().isoformat()
        enqueue(
            send_reminders,
            key=f"remind:{organisation.code}:{day}",
            organisation_id=organisation.pk,
            date=day,
        )
        count += 1
    return count


# --- documents ------------------------------------------------------------------------------


@app.task(base=JobTask, name="kka.jobs.tasks.produce_documents")
def produce_documents(
    *, conference_id: int, kinds: list[str], actor_id: int, key: str
) -> dict[str, Any]:
    """Produce the PDFs of ``kinds`` (empty: every kind of the KKA's bundle) for a KKA,
    as ``actor`` (whose access is checked again here). Kinds that cannot be produced now
    are skipped and named by code in the result."""
    from kka.accounts.models import User
    from kka.conferences.models import Conference
    from kka.documents import services as documents
    from kka.documents.models import DocumentFormat

    with runs.claim(key, "produce_documents") as run:
        if run is None:
            return {}
        conference = Conference.objects.select_related("case__organisation").get(pk=conference_id)
        actor = User.objects.get(pk=actor_id)
        wanted = kinds or [k.code for k in documents.bundle_kinds(conference.case.organisation)]
        produced: list[str] = []
        skipped: list[str] = []
        for kind in wanted:
            try:
                document = documents.produce(
                    actor=actor, kind=kind, fmt=DocumentFormat.PDF, conference=conference
                )
            except (Http404, PermissionDenied):
                run.result = {"refused": 1}  # no access (any more): nothing is produced
                return run.result
            except (ValidationError, ValueError):
                skipped.append(kind)
                continue
            produced.append(document.code)
        run.result = {"produced": produced, "skipped": skipped}
        return run.result


# --- retention ------------------------------------------------------------------------------


@app.task(base=JobTask, name="kka.jobs.tasks.retention_listing")
def retention_listing(*, key: str = "", now: str | None = None) -> int:
    """Beat, daily: one ``retention_notice`` task per organisation (one key per
    organisation and day). Returns how many were enqueued."""
    from kka.accounts.models import Organisation

    moment = dt.datetime.fromisoformat(now) if now else timezone.now()
    day = moment.date().isoformat()
    count = 0
    for organisation_id, code in Organisation.objects.order_by("id").values_list("id", "code"):
        enqueue(
            retention_notice,
            key=f"retention:{code}:{day}",
            organisation_id=organisation_id,
            now=moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        )
        count += 1
    return count


@app.task(base=JobTask, name="kka.jobs.tasks.retention_notice", **MAIL_RETRY)
def retention_notice(*, organisation_id: int, now: str, key: str) -> dict[str, int]:
    """What retention has made due in one organisation: counted into the audit log
    (``privacy.retention_listed``) and mailed to its data protection officers (counts
    per record type and a link, nothing else). Never destroys: destruction needs
    ``kka privacy retention --destroy --confirm <token>``. Nothing due, nothing done."""
    from kka.accounts.models import Organisation
    from kka.privacy import retention

    moment = dt.datetime.fromisoformat(now)
    with runs.claim(key, "retention_notice") as run:
        if run is None:
            return {}
        organisation = Organisation.objects.get(pk=organisation_id)
        sets = [item for item in retention.due(organisation, now=moment) if item.count]
        if sets:
            retention.audit_listed(sets, now=moment)
            run.result = {"due": sum(item.count for item in sets)}
            run.result["mailed"] = retention_mail_dpos(organisation, sets, moment)
        else:
            run.result = {"due": 0, "mailed": 0}
        return run.result


def retention_mail_dpos(organisation: Any, sets: list[Any], moment: dt.datetime) -> int:
    """Mail each active DPO of the organisation the counts; returns how many were mailed."""
    from django.urls import reverse

    from kka.accounts.models import Membership, Role
    from kka.conferences.reminders import absolute_url
    from kka.lib.mail import send_templated
    from kka.privacy.models import RecordType

    members = Membership.objects.filter(
        organisation=organisation, role=Role.DPO, is_active=True, user__is_active=True
    ).select_related("user")
    zone = zoneinfo.ZoneInfo(organisation.time_zone)
    sent = 0
    for member in members.order_by("id"):
        user = member.user
        if not user.email:
            continue
        language = getattr(user, "language", "") or "id"
        send_templated(
            to=user.email,
            template="privacy/emails/retention_due",
            language=language,
            context={
                "organisation_name": organisation.name,
                "day": moment.astimezone(zone).date(),
                "rows": [(RecordType(item.record_type).label, item.count) for item in sets],
                "url": absolute_url(reverse("privacy:dpo_home")),
            },
        )
        sent += 1
    return sent


# --- housekeeping ---------------------------------------------------------------------------

# Finished job records are kept this long (no message is redelivered after so many days).
KEEP_DAYS = 90


@app.task(base=JobTask, name="kka.jobs.tasks.prune_job_runs")
def prune_job_runs(*, key: str = "", days: int = KEEP_DAYS) -> int:
    """Beat, daily: delete finished job records older than ``days``; pending ones stay."""
    from kka.jobs.models import JobOutcome, JobRun

    cutoff = timezone.now() - dt.timedelta(days=days)
    deleted, _per_model = (
        JobRun.objects.exclude(outcome=JobOutcome.PENDING).filter(created_at__lt=cutoff).delete()
    )
    return deleted


@app.task(base=JobTask, name="kka.jobs.tasks.send_calendar_update", **MAIL_RETRY)
def send_calendar_update(*, participant_id: int, key: str) -> str:
    """One participant's calendar update after a reschedule or cancellation (the KKA's
    state when the task runs: same UID, the current SEQUENCE)."""
    from kka.conferences import services

    with runs.claim(key, "send_calendar_update") as run:
        if run is None:
            return "already"
        sent = services.send_calendar_update(participant_id=participant_id)
        run.result = {} if sent else {"skipped": "not_invited"}
        return "sent" if sent else "skipped"
