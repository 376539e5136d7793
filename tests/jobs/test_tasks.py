"""Background jobs in the default single-machine mode (tasks run in-process): each is
done once, retried on transient SMTP trouble, and carries ids and codes only."""

from __future__ import annotations

import datetime as dt
import io
import json
import smtplib
import zoneinfo
from typing import Any

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from kka.accounts.models import UserSession
from kka.audit.models import AuditEvent
from kka.conferences import services
from kka.conferences.models import Participant, PortalLink
from kka.documents.models import Document
from kka.jobs import tasks
from kka.jobs.enqueue import check_payload, enqueue, new_key
from kka.jobs.models import JobOutcome, JobRun
from tests.conferences.test_planning import add_participant, planned, schedule
from tests.jobs.util import published, smtp_sink, use_broker
from tests.personas import World, make_organisation

pytestmark = pytest.mark.django_db

CANARY = "Zzqxkanari"


def invite(world: World, capture: Any, **fields: Any) -> tuple[Participant, JobRun]:
    p = planned(world, full_name=f"Ani {CANARY}")
    participant = add_participant(
        p.owner,
        p.conference,
        full_name=fields.pop("full_name", f"Bapak {CANARY}"),
        email=fields.pop("email", f"{CANARY.lower()}@contoh.test"),
        **fields,
    )
    with capture(execute=True):
        services.invitation_send(actor=p.owner, participant=participant, channel="email")
    return participant, JobRun.objects.get(task="send_invitation")


def smtp_settings(port: int) -> Any:
    return override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_TIMEOUT=10,
    )


# --- invitations ------------------------------------------------------------------------------


def test_an_invitation_is_mailed_once_in_process_and_its_job_recorded(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    participant, run = invite(world, django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [participant.email]
    assert run.key.startswith(f"invitation:{participant.code}:")
    assert run.outcome == JobOutcome.DONE and run.attempts == 0 and run.finished_at
    assert run.result == {"participant": participant.code}
    # The private link was made by the task, for the mail: one link, no token elsewhere.
    assert PortalLink.objects.filter(participant=participant).count() == 1


def test_a_redelivered_invitation_sends_nothing_twice(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    participant, run = invite(world, django_capture_on_commit_callbacks)
    kwargs = {"participant_id": participant.pk, "actor_id": world.counsellor.pk, "key": run.key}

    assert tasks.send_invitation.apply(kwargs=kwargs).get() == "already"
    assert tasks.send_invitation(**kwargs) == "already"

    assert len(mail.outbox) == 1
    assert PortalLink.objects.filter(participant=participant).count() == 1
    # A new key is new work: the same task function sends again.
    assert tasks.send_invitation(**{**kwargs, "key": new_key("invitation")}) == "sent"
    assert len(mail.outbox) == 2


def test_the_job_row_commits_with_the_request_and_the_task_runs_after_it(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    p = planned(world)
    participant = add_participant(p.owner, p.conference)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.invitation_send(actor=p.owner, participant=participant, channel="email")
        run = JobRun.objects.get(task="send_invitation")
        assert run.outcome == JobOutcome.PENDING  # recorded in the request's transaction
    assert mail.outbox == [] and len(callbacks) == 1
    callbacks[0]()
    assert len(mail.outbox) == 1
    run.refresh_from_db()
    assert run.outcome == JobOutcome.DONE


def test_a_participant_removed_before_the_task_runs_gets_no_mail(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    p = planned(world)
    participant = add_participant(p.owner, p.conference)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.invitation_send(actor=p.owner, participant=participant, channel="email")
    services.participant_remove(actor=p.owner, participant=participant)
    callbacks[0]()

    assert mail.outbox == []
    run = JobRun.objects.get(task="send_invitation")
    assert run.outcome == JobOutcome.DONE and run.result == {"skipped": "removed"}
    assert not PortalLink.objects.filter(participant=participant).exists()


def test_a_transient_smtp_refusal_is_retried_and_delivered_once(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with smtp_sink() as sink, smtp_settings(sink.port):
        sink.refuse(1)
        participant, run = invite(world, django_capture_on_commit_callbacks)

    assert sink.refused == 1
    assert len(sink.messages) == 1 and sink.messages[0]["To"] == participant.email
    assert run.outcome == JobOutcome.DONE
    assert run.attempts == 1 and run.error == "SMTPDataError"
    # The failed attempt's link was rolled back with it: only the delivered one exists.
    assert PortalLink.objects.filter(participant=participant).count() == 1


def test_after_the_last_retry_the_job_gives_up_and_is_audited(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    with smtp_sink() as sink, smtp_settings(sink.port):
        sink.refuse(100)
        with pytest.raises(smtplib.SMTPDataError):
            invite(world, django_capture_on_commit_callbacks)

    assert sink.messages == []
    assert sink.refused == tasks.MAIL_RETRY["max_retries"] + 1
    run = JobRun.objects.get(task="send_invitation")
    assert run.outcome == JobOutcome.GAVE_UP
    assert run.attempts == tasks.MAIL_RETRY["max_retries"] + 1
    row = AuditEvent.objects.get(action="job.gave_up")
    assert row.outcome == "failure" and row.object_ref == run.key
    assert row.refs == {"task": "send_invitation", "error": "SMTPDataError"}
    assert not PortalLink.objects.exists()


# --- payloads -----------------------------------------------------------------------------------


def plain(value: Any) -> bool:
    if isinstance(value, list):
        return all(plain(item) for item in value)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return True
    return isinstance(value, str) and len(value) <= 120 and " " not in value and "@" not in value


def test_every_enqueued_payload_carries_ids_and_codes_only(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    p = planned(world, full_name=f"Ani {CANARY}")
    participant = add_participant(
        p.owner,
        p.conference,
        full_name=f"Bapak {CANARY}",
        email=f"{CANARY.lower()}@contoh.test",
        institution=f"Biro {CANARY}",
    )
    with use_broker("memory://"), published() as messages:
        with django_capture_on_commit_callbacks(execute=True):
            services.invitation_send(actor=p.owner, participant=participant, channel="email")
            assert messages == []  # nothing leaves before the commit
        with django_capture_on_commit_callbacks(execute=True):
            schedule(p.owner, p.conference, place=f"Ruang {CANARY}", days=9)
        with django_capture_on_commit_callbacks(execute=True):
            enqueue(
                tasks.produce_documents,
                conference_id=p.conference.pk,
                kinds=["daftar_hadir"],
                actor_id=p.owner.pk,
            )
        call_command("remind", stdout=io.StringIO())
        tasks.daily_reminders.delay()
        tasks.retention_listing.delay()

    assert mail.outbox == []  # only enqueued: no worker in this test
    names = {message["task"] for message in messages}
    assert names == {
        "kka.jobs.tasks.send_invitation",
        "kka.jobs.tasks.send_calendar_update",
        "kka.jobs.tasks.produce_documents",
        "kka.jobs.tasks.send_reminders",
        "kka.jobs.tasks.daily_reminders",
        "kka.jobs.tasks.retention_listing",
    }
    for message in messages:
        text = json.dumps(message, default=str)
        assert CANARY.lower() not in text.lower()
        assert participant.email not in text
        args, kwargs, _embed = message["body"]
        assert list(args) == []
        assert all(plain(value) for value in kwargs.values()), kwargs


@pytest.mark.parametrize(
    "value", ["Budi Santoso", "budi@contoh.test", "x" * 121, 1.5, True, {"a": 1}, ["a b"]]
)
def test_enqueue_refuses_anything_but_ids_and_codes(value: Any) -> None:
    with pytest.raises(TypeError):
        check_payload({"participant_id": value})


# --- reminders, documents, retention --------------------------------------------------------------


def test_the_remind_command_runs_each_organisation_as_a_task(world: World) -> None:
    out = io.StringIO()
    call_command("remind", "--date", "2026-11-30", stdout=out)

    assert out.getvalue().startswith("kka remind 2026-11-30: 2 organisations")
    runs = JobRun.objects.filter(task="send_reminders")
    assert runs.count() == 2 and {r.outcome for r in runs} == {JobOutcome.DONE}
    assert {r.key.split(":")[1] for r in runs} == {world.org.code, world.other_org.code}


def test_daily_reminders_go_out_in_each_organisations_own_six_oclock(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    jayapura = make_organisation(name="SMA Timur", time_zone="Asia/Jayapura")
    # 06:40 in Makassar (WITA) is 05:40 in Jakarta (WIB) and 07:40 in Jayapura (WIT).
    moment = dt.datetime(2026, 11, 30, 6, 40, tzinfo=zoneinfo.ZoneInfo("Asia/Makassar"))

    def tick(at: dt.datetime) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return int(tasks.daily_reminders(now=at.isoformat()))

    assert tick(moment) == 1
    assert list(JobRun.objects.values_list("key", flat=True)) == [
        f"remind:{world.other_org.code}:2026-11-30"
    ]
    assert AuditEvent.objects.filter(action="reminder.run").count() == 1
    # A second tick in the same hour (or a redelivered message) does it once.
    assert tick(moment) == 1
    assert AuditEvent.objects.filter(action="reminder.run").count() == 1
    # An hour later it is Jakarta's turn; Jayapura's was an hour earlier.
    assert tick(moment + dt.timedelta(hours=1)) == 1
    assert JobRun.objects.filter(key=f"remind:{world.org.code}:2026-11-30").exists()
    assert tick(moment - dt.timedelta(hours=1)) == 1
    assert JobRun.objects.filter(key=f"remind:{jayapura.code}:2026-11-30").exists()
    assert AuditEvent.objects.filter(action="reminder.run").count() == 3


def test_documents_are_produced_in_bulk_as_the_counsellor_and_refused_to_an_outsider(
    world: World,
) -> None:
    p = planned(world)
    add_participant(p.owner, p.conference)

    result = tasks.produce_documents(
        conference_id=p.conference.pk,
        kinds=["daftar_hadir"],
        actor_id=p.owner.pk,
        key=new_key("produce_documents"),
    )

    assert len(result["produced"]) == 1 and result["skipped"] == []
    document = Document.objects.get(code=result["produced"][0])
    assert document.kind == "daftar_hadir" and document.conference_id == p.conference.pk

    refused = tasks.produce_documents(
        conference_id=p.conference.pk,
        kinds=["daftar_hadir", "notulen"],
        actor_id=world.outsider.pk,
        key=new_key("produce_documents"),
    )
    assert refused == {"refused": 1}
    assert Document.objects.count() == 1


def test_the_retention_listing_counts_audits_and_tells_the_dpo_but_destroys_nothing(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    old = UserSession.objects.create(
        user=world.counsellor,
        key_hash="1" * 64,
        key_encrypted="k1",
        device=f"Browser {CANARY}",
        ended_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )
    moment = "2026-11-30T23:30:00Z"

    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.retention_listing(now=moment) == 2  # one notice per organisation

    [row] = AuditEvent.objects.filter(action="privacy.retention_listed")
    assert row.organisation_id == world.org.pk and row.refs["session"] == 1
    assert UserSession.objects.filter(pk=old.pk).exists()  # listed, not destroyed
    assert not AuditEvent.objects.filter(action="privacy.destroyed").exists()
    [message] = mail.outbox
    assert message.to == [world.dpo.email]
    body = message.body + str(getattr(message, "alternatives", ""))
    assert "Riwayat sesi masuk: 1" in body and "/privasi/" in body
    assert old.code not in body and CANARY not in body and world.counsellor.email not in body
    runs = {r.key: r.result for r in JobRun.objects.filter(task="retention_notice")}
    assert runs == {
        f"retention:{world.org.code}:2026-11-30": {"due": 1, "mailed": 1},
        f"retention:{world.other_org.code}:2026-11-30": {"due": 0, "mailed": 0},
    }
    # A second tick the same day (or a redelivery) does nothing twice.
    with django_capture_on_commit_callbacks(execute=True):
        tasks.retention_listing(now=moment)
    assert len(mail.outbox) == 1
    assert AuditEvent.objects.filter(action="privacy.retention_listed").count() == 1


def test_old_finished_job_records_are_pruned_and_pending_ones_kept(world: World) -> None:
    old = timezone.now() - dt.timedelta(days=tasks.KEEP_DAYS + 1)
    JobRun.objects.create(key="a:1", task="t", outcome=JobOutcome.DONE, created_at=old)
    JobRun.objects.create(key="a:2", task="t", outcome=JobOutcome.GAVE_UP, created_at=old)
    JobRun.objects.create(key="a:3", task="t", outcome=JobOutcome.PENDING, created_at=old)
    JobRun.objects.create(key="a:4", task="t", outcome=JobOutcome.DONE)

    assert tasks.prune_job_runs() == 2
    assert sorted(JobRun.objects.values_list("key", flat=True)) == ["a:3", "a:4"]


@override_settings(REDIS_URL="")
def test_kka_worker_without_redis_explains_that_nothing_needs_a_worker() -> None:
    with pytest.raises(CommandError, match="REDIS_URL"):
        call_command("worker")
    with pytest.raises(CommandError, match="REDIS_URL"):
        call_command("beat")


def test_a_reschedule_mails_each_invited_participant_one_update(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    participant, _run = invite(world, django_capture_on_commit_callbacks)
    conference = participant.conference
    with django_capture_on_commit_callbacks(execute=True):
        schedule(world.counsellor, conference, place="Ruang Rapat", days=10)
    conference.refresh_from_db()

    assert len(mail.outbox) == 2 and mail.outbox[1].to == [participant.email]
    run = JobRun.objects.get(task="send_calendar_update")
    assert run.key == f"calendar:{participant.code}:{conference.ics_sequence}"
    assert run.outcome == JobOutcome.DONE
    # The same update delivered again is not sent again.
    again = tasks.send_calendar_update(participant_id=participant.pk, key=run.key)
    assert again == "already" and len(mail.outbox) == 2
