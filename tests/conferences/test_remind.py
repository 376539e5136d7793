"""``kka remind``: participants are reminded of their commitments once per stage (due
soon, overdue) with a neutral mail and a working private link; counsellors get one
digest a day when there is something to do; nothing is sent twice, a failed send is
retried, and no case content ever reaches a mail, the audit log or the log output.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage, EmailMultiAlternatives
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client as HttpClient
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from kka.accounts.models import Membership, Role
from kka.audit.models import AuditEvent
from kka.cases import selectors as case_selectors
from kka.cases import services as case_services
from kka.cases.models import Case, CaseRole
from kka.conferences import followup, meeting, reminders, services
from kka.conferences.models import (
    Commitment,
    Conference,
    ConferenceStatus,
    Participant,
    PortalLink,
    ReminderSent,
)
from tests.conferences.test_planning import add_participant, give_consent, make_case, schedule
from tests.personas import World, make_user, make_world

pytestmark = pytest.mark.django_db

# Canary strings: each may appear only where it was typed, never in a reminder.
CLIENT_NAME = "Dewi KANARI-NAMA-7Q Lestari"
CASE_TITLE = "Relasi KANARI-JUDUL-3W"
CASE_DESCRIPTION = "Gambaran KANARI-GAMBARAN-5E masalah"
CORE_PROBLEM = "Inti KANARI-INTI-8R masalah"
WHAT = "Menjemput KANARI-KOMITMEN-2T setiap Jumat"
WHAT_2 = "Menelepon wali KANARI-KOMITMEN-9Y tiap Senin"
CHECK = "Diperiksa KANARI-PERIKSA-4U lewat buku penghubung"
SHARED = "Notulen KANARI-BERSAMA-6I disepakati"
PRIVATE = "Catatan KANARI-PRIBADI-1O konselor"
FATHER_NAME = "Bapak KANARI-AYAH-5P Santoso"
FATHER_ROLE = "ayah KANARI-PERAN-0A"
TEACHER_NAME = "Ibu KANARI-GURU-2S Rahayu"
SECRETS = (
    "KANARI-NAMA-7Q",
    "KANARI-JUDUL-3W",
    "KANARI-GAMBARAN-5E",
    "KANARI-INTI-8R",
    "KANARI-KOMITMEN-2T",
    "KANARI-KOMITMEN-9Y",
    "KANARI-PERIKSA-4U",
    "KANARI-BERSAMA-6I",
    "KANARI-PRIBADI-1O",
    "KANARI-AYAH-5P",
    "KANARI-PERAN-0A",
    "KANARI-GURU-2S",
    "Dewi",
    "Lestari",
)
LINK_RE = re.compile(r"https?://[^\s\"<>]+/undangan/\?t=[A-Za-z0-9_\-]+")


class FailingBackend(BaseEmailBackend):
    """An SMTP server that is down."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        raise ConnectionRefusedError("smtp down")


@dataclass
class Scene:
    world: World
    case: Case
    conference: Conference
    father: Participant
    teacher: Participant
    uncle: Participant  # no email address
    today: dt.date  # today in the organisation's zone


def local_today(world: World) -> dt.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(world.org.time_zone)).date()


def build(*, status: str = ConferenceStatus.HELD, time_zone: str = "Asia/Jakarta") -> Scene:
    """A case whose every text holds a canary, with a KKA of three participants."""
    world = make_world()
    world.org.time_zone = time_zone
    world.org.save(update_fields=["time_zone"])
    owner = world.counsellor
    case = make_case(
        owner,
        world.org,
        full_name=CLIENT_NAME,
        title=CASE_TITLE,
        description=CASE_DESCRIPTION,
        core_problem=CORE_PROBLEM,
    )
    give_consent(owner, case.client)
    conference = services.conference_create(actor=owner, case=case)
    schedule(owner, conference)
    father = add_participant(
        owner, conference, category="keluarga", full_name=FATHER_NAME, role=FATHER_ROLE
    )
    teacher = add_participant(owner, conference, category="staf_lembaga", full_name=TEACHER_NAME)
    uncle = add_participant(owner, conference, category="keluarga", role="paman", email="")
    path: list[str] = [ConferenceStatus.PLANNED, ConferenceStatus.INVITED, ConferenceStatus.HELD]
    for step in path[: path.index(status) + 1] if status in path else path:
        conference = services.conference_set_status(actor=owner, conference=conference, status=step)
    return Scene(world, case, conference, father, teacher, uncle, local_today(world))


def commit(
    scene: Scene,
    participant: Participant | None,
    *,
    days: int,
    what: str = WHAT,
    check: str = CHECK,
) -> Commitment:
    """A commitment due ``days`` after the scene's today (negative: already late)."""
    owner = scene.world.counsellor
    return followup.commitment_add(
        actor=owner,
        conference=scene.conference,
        participant=participant,
        counsellor=None if participant is not None else owner,
        what=what,
        due_on=scene.today + dt.timedelta(days=days),
        check_method=check,
    )


def run(day: dt.date, **kwargs: Any) -> reminders.Summary:
    return reminders.run_reminders(today=day, **kwargs)


def to(address: str) -> list[EmailMultiAlternatives]:
    return [m for m in mail.outbox if m.to == [address]]  # type: ignore[misc]


def html_of(message: EmailMessage) -> str:
    return "".join(str(content) for content, _type in getattr(message, "alternatives", []))


def everything_sent() -> str:
    return "\n".join(f"{m.subject}\n{m.body}\n{html_of(m)}" for m in mail.outbox)


def assert_no_secrets(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


@pytest.fixture
def scene() -> Scene:
    return build()


# --- once per stage ----------------------------------------------------------------------


def test_run_twice_the_same_day_sends_each_reminder_once(scene: Scene) -> None:
    first = commit(scene, scene.father, days=1)
    second = commit(scene, scene.father, days=3, what=WHAT_2)
    late = commit(scene, scene.teacher, days=-2)
    commit(scene, scene.father, days=4)  # not yet: outside the three days

    summary = run(scene.today)
    assert (summary.participant_mails, summary.commitments, summary.digests) == (2, 3, 1)
    assert len(mail.outbox) == 3
    father_mail = to(scene.father.email)
    teacher_mail = to(scene.teacher.email)
    assert len(father_mail) == 1 and len(teacher_mail) == 1
    assert len(to(scene.world.counsellor.email)) == 1
    # One mail for the father's two commitments: their count and dates, nothing else.
    body = father_mail[0].body
    assert "2 komitmen tindak lanjut yang jatuh tempo" in body
    assert body.count("- ") == 2
    assert "sudah lewat" not in body
    assert "sudah lewat" in teacher_mail[0].body
    assert set(ReminderSent.objects.values_list("key", flat=True)) == {
        f"commitment:{first.code}:soon",
        f"commitment:{second.code}:soon",
        f"commitment:{late.code}:overdue",
        f"digest:{scene.world.org.code}:{scene.world.counsellor.pk}:{scene.today.isoformat()}",
    }
    assert set(ReminderSent.objects.values_list("sent_on", flat=True)) == {scene.today}

    again = run(scene.today)
    assert (again.participant_mails, again.digests, again.failed) == (0, 0, 0)
    assert len(mail.outbox) == 3
    assert ReminderSent.objects.count() == 4
    # One audit row per run and organisation, counts only.
    rows = AuditEvent.objects.filter(action="reminder.run", organisation_id=scene.world.org.pk)
    assert rows.count() == 2
    assert rows.order_by("id").first().refs["participant_mails"] == 2  # type: ignore[union-attr]
    assert rows.order_by("id").last().refs["participant_mails"] == 0  # type: ignore[union-attr]


def test_soon_then_overdue_each_sent_once(scene: Scene) -> None:
    commitment = commit(scene, scene.father, days=5)
    due = commitment.due_on
    assert due is not None
    sent_on: list[int] = []
    for offset in range(-6, 4):  # from six days before the due day to three days after
        before = len(to(scene.father.email))
        run(due + dt.timedelta(days=offset))
        sent_on += [offset] * (len(to(scene.father.email)) - before)
    assert sent_on == [-3, 1]  # "soon" three days before, "overdue" the day after
    soon, overdue = to(scene.father.email)
    assert "jatuh tempo pada" in soon.body and "sudah lewat" not in soon.body
    assert "sudah lewat" in overdue.body
    assert set(
        ReminderSent.objects.filter(key__startswith="commitment:").values_list("key", flat=True)
    ) == {
        f"commitment:{commitment.code}:soon",
        f"commitment:{commitment.code}:overdue",
    }


def test_a_commitment_first_seen_late_gets_only_the_overdue_mail(scene: Scene) -> None:
    commitment = commit(scene, scene.father, days=-10)
    run(scene.today)
    assert len(to(scene.father.email)) == 1
    assert ReminderSent.objects.filter(key=f"commitment:{commitment.code}:overdue").exists()
    assert not ReminderSent.objects.filter(key=f"commitment:{commitment.code}:soon").exists()


def test_the_due_day_itself_is_soon(scene: Scene) -> None:
    commitment = commit(scene, scene.father, days=0)
    run(scene.today)
    assert ReminderSent.objects.filter(key=f"commitment:{commitment.code}:soon").exists()


# --- who is not mailed -------------------------------------------------------------------


def test_participant_without_email_is_skipped_but_named_in_the_digest(scene: Scene) -> None:
    commit(scene, scene.uncle, days=1)
    summary = run(scene.today)
    assert (summary.participant_mails, summary.without_email) == (0, 1)
    assert not ReminderSent.objects.filter(key__startswith="commitment:").exists()
    (digest,) = to(scene.world.counsellor.email)
    assert "tanpa alamat email, mohon diingatkan sendiri: 1" in digest.body
    assert scene.case.code in digest.body
    assert len(mail.outbox) == 1


def test_withdrawn_consent_means_no_mail(scene: Scene) -> None:
    commit(scene, scene.father, days=1)
    consent = case_selectors.current_consent(scene.case.client)
    assert consent is not None
    case_services.consent_withdraw(actor=scene.world.counsellor, consent=consent)
    summary = run(scene.today)
    assert (summary.participant_mails, summary.unreachable) == (0, 1)
    assert to(scene.father.email) == []
    assert not PortalLink.objects.filter(participant=scene.father).exists()
    (digest,) = to(scene.world.counsellor.email)
    assert "tidak diingatkan karena persetujuan atau tautannya tidak berlaku lagi: 1" in digest.body


def test_consent_not_covering_the_category_means_no_mail() -> None:
    scene = build()
    commit(scene, scene.father, days=1)
    commit(scene, scene.teacher, days=1)
    # A new consent (the one in force) that no longer covers the family.
    give_consent(
        scene.world.counsellor,
        scene.case.client,
        purposes=["purpose_hold_kka", "share_school_staff"],
    )
    run(scene.today)
    assert to(scene.father.email) == []
    assert len(to(scene.teacher.email)) == 1


def test_removed_participant_gets_no_mail() -> None:
    scene = build(status=ConferenceStatus.INVITED)
    commit(scene, scene.father, days=1)
    services.participant_remove(actor=scene.world.counsellor, participant=scene.father)
    summary = run(scene.today)
    assert summary.participant_mails == 0
    assert to(scene.father.email) == []
    assert not ReminderSent.objects.filter(key__startswith="commitment:").exists()


def test_cancelled_kka_sends_nothing_at_all() -> None:
    scene = build(status=ConferenceStatus.INVITED)
    commit(scene, scene.father, days=1)
    commit(scene, None, days=-1)  # the counsellor's own, overdue
    services.conference_set_status(
        actor=scene.world.counsellor,
        conference=scene.conference,
        status=ConferenceStatus.CANCELLED,
    )
    summary = run(scene.today)
    assert (summary.participant_mails, summary.digests) == (0, 0)
    assert mail.outbox == []


def test_done_and_dropped_commitments_are_not_reminded(scene: Scene) -> None:
    owner = scene.world.counsellor
    done = commit(scene, scene.father, days=1)
    dropped = commit(scene, scene.teacher, days=-1)
    followup.commitment_set_status(actor=owner, commitment=done, status="done")
    followup.commitment_set_status(actor=owner, commitment=dropped, status="dropped")
    summary = run(scene.today)
    assert (summary.participant_mails, summary.digests) == (0, 0)
    assert mail.outbox == []
    # In progress still counts as open.
    followup.commitment_set_status(actor=owner, commitment=done, status="in_progress")
    run(scene.today)
    assert len(to(scene.father.email)) == 1


def test_closed_case_sends_nothing(scene: Scene) -> None:
    commit(scene, scene.father, days=1)
    Case.objects.filter(pk=scene.case.pk).update(status="closed", outcome="resolved")
    assert run(scene.today).participant_mails == 0
    assert mail.outbox == []


# --- the organisation's day -------------------------------------------------------------


def test_today_is_the_organisations_day_not_utc() -> None:
    """At 16:00 UTC it is already 01:00 the next day in Jayapura (WIT, UTC+9)."""
    scene = build(time_zone="Asia/Jayapura")
    utc_day = timezone.now().date() + dt.timedelta(days=10)
    moment = dt.datetime.combine(utc_day, dt.time(16, 0), tzinfo=dt.UTC)
    wit_day = utc_day + dt.timedelta(days=1)
    commitment = followup.commitment_add(
        actor=scene.world.counsellor,
        conference=scene.conference,
        participant=scene.father,
        what=WHAT,
        due_on=wit_day + dt.timedelta(days=3),  # four UTC days away, three WIT days
    )
    # An hour earlier it is still the UTC day there too: not yet "soon".
    reminders.run_reminders(now=moment - dt.timedelta(hours=8))
    assert to(scene.father.email) == []
    reminders.run_reminders(now=moment)
    assert len(to(scene.father.email)) == 1
    row = ReminderSent.objects.get(key=f"commitment:{commitment.code}:soon")
    assert row.sent_on == wit_day
    # The digest is keyed by the WIT day as well.
    assert ReminderSent.objects.filter(key__endswith=f":{wit_day.isoformat()}").count() == 1


def test_the_same_instant_is_not_yet_the_next_day_in_wib() -> None:
    scene = build(time_zone="Asia/Jakarta")
    utc_day = timezone.now().date() + dt.timedelta(days=10)
    moment = dt.datetime.combine(utc_day, dt.time(16, 0), tzinfo=dt.UTC)  # 23:00 WIB
    followup.commitment_add(
        actor=scene.world.counsellor,
        conference=scene.conference,
        participant=scene.father,
        what=WHAT,
        due_on=utc_day + dt.timedelta(days=4),
    )
    reminders.run_reminders(now=moment)
    assert to(scene.father.email) == []


# --- the counsellors' digest --------------------------------------------------------------


def test_digest_goes_to_owner_and_co_counsellors_only(scene: Scene) -> None:
    owner = scene.world.counsellor
    co = scene.world.other_counsellor
    supervisor = scene.world.coordinator
    left = make_user(organisation=scene.world.org, role=Role.KONSELOR)
    case_services.case_member_add(
        actor=owner, case=scene.case, user=co, role=CaseRole.CO_COUNSELLOR
    )
    case_services.case_member_add(
        actor=owner, case=scene.case, user=supervisor, role=CaseRole.SUPERVISOR
    )
    case_services.case_member_add(
        actor=owner, case=scene.case, user=left, role=CaseRole.CO_COUNSELLOR
    )
    Membership.objects.filter(user=left).update(is_active=False)
    commit(scene, None, days=-1)
    summary = run(scene.today)
    assert summary.digests == 2
    assert len(to(owner.email)) == 1 and len(to(co.email)) == 1
    assert to(supervisor.email) == [] and to(left.email) == []
    # The counsellor's own commitment is flagged in their digest only.
    assert "(komitmen Anda)" in to(owner.email)[0].body
    assert "(komitmen Anda)" not in to(co.email)[0].body


def test_no_digest_when_nothing_is_due(scene: Scene) -> None:
    commit(scene, scene.father, days=20)
    summary = run(scene.today)
    assert summary.digests == 0
    assert mail.outbox == []
    assert AuditEvent.objects.filter(action="reminder.run").count() == 2  # both organisations


def test_digest_lists_codes_counts_and_links(scene: Scene) -> None:
    owner = scene.world.counsellor
    # The KKA was held on ``day`` (a week from today); closing schedules laijapen the day after.
    day = followup.conference_local_date(scene.conference)
    meeting.minutes_save(
        actor=owner, conference=scene.conference, base_version=0, values={"shared_text": SHARED}
    )
    meeting.minutes_finalise(actor=owner, conference=scene.conference)
    followup.conference_close(actor=owner, conference=scene.conference, short_days=1, long_days=30)
    offset = (day - scene.today).days
    commit(scene, scene.father, days=offset + 2)
    commit(scene, scene.teacher, days=offset - 3)
    # A second KKA of the case, the day after, with one invitee who has not pledged.
    upcoming = services.conference_create(actor=owner, case=scene.case)
    schedule(owner, upcoming, days=offset + 1)
    add_participant(owner, upcoming, category="staf_lembaga")

    run(day)
    (digest,) = to(owner.email)
    body, html = digest.body, html_of(digest)
    code = scene.case.code
    assert "Komitmen lewat batas waktu: 1" in body
    assert "Komitmen jatuh tempo sampai" in body
    assert f"Kasus {code} · KKA 1 · batas waktu" in body
    assert "Penilaian lanjutan (laijapen/laijapang) yang jatuh tempo: 1" in body
    assert f"Kasus {code} · KKA 2" in body
    assert "pernyataan kerahasiaan belum ada: 1" in body
    assert "peserta diingatkan lewat email: 2" in body
    assert "tanpa alamat email" not in body
    base = "http://127.0.0.1:8000"
    meeting_url = base + reverse("conferences:meeting", args=[scene.conference.code])
    assert meeting_url in body and meeting_url in html
    assert base + reverse("conferences:detail", args=[upcoming.code]) in body
    evaluation = scene.conference.evaluations.get(kind="laijapen")
    evaluation_url = reverse(
        "conferences:later_evaluation", args=[scene.conference.code, evaluation.code]
    )
    assert base + evaluation_url in html
    assert_no_secrets(everything_sent())


def test_digest_counts_participants_reminded_by_an_earlier_run_today(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit(scene, scene.father, days=1)

    def smtp_down(*args: Any) -> None:
        raise ConnectionRefusedError("smtp down")

    # First run: the participant's mail goes out, the digest fails.
    with monkeypatch.context() as patch:
        patch.setattr(reminders, "_send_digest", smtp_down)
        first = run(scene.today)
    assert (first.participant_mails, first.digests, first.failed) == (1, 0, 1)
    second = run(scene.today)
    assert (second.participant_mails, second.digests) == (0, 1)
    (digest,) = to(scene.world.counsellor.email)
    assert "peserta diingatkan lewat email: 1" in digest.body


# --- the participant's mail ------------------------------------------------------------


def test_the_link_in_the_mail_opens_the_participants_own_commitments(scene: Scene) -> None:
    services.pledge_take(
        participant=scene.father, typed_name="Nama Ayah", agreed=True, ip=None, channel="online"
    )
    commit(scene, scene.father, days=2)
    commit(scene, scene.teacher, days=2, what=WHAT_2)
    run(scene.today)
    (message,) = to(scene.father.email)
    links = set(LINK_RE.findall(str(message.body))) | set(LINK_RE.findall(html_of(message)))
    assert len(links) == 1
    link = urlsplit(links.pop())
    assert f"{link.scheme}://{link.netloc}" == "http://127.0.0.1:8000"
    http = HttpClient()
    response = http.get(f"{link.path}?{link.query}")
    assert response.status_code == 302
    page = http.get(response["Location"])
    assert page.status_code == 200
    content = page.content.decode()
    assert WHAT in content  # their own commitment
    assert "KANARI-KOMITMEN-9Y" not in content  # never the teacher's
    assert AuditEvent.objects.filter(action="portal.opened", object_ref=scene.father.code).exists()


def test_participant_mail_is_neutral(scene: Scene) -> None:
    commitment = commit(scene, scene.father, days=1)
    run(scene.today)
    (message,) = to(scene.father.email)
    assert message.subject == f"Pengingat komitmen tindak lanjut — {scene.world.org.name}"
    assert "Silakan buka tautan pribadi Anda untuk melihat dan mencatat kemajuannya" in message.body
    assert "Anda memiliki komitmen tindak lanjut yang jatuh tempo pada" in message.body
    assert commitment.code not in message.body  # not even codes for the participant
    assert scene.case.code not in message.body and scene.conference.code not in message.body
    assert_no_secrets(everything_sent())


def test_participant_and_counsellor_languages_are_used(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    Participant.objects.filter(pk=scene.father.pk).update(language="en")
    commit(scene, scene.father, days=1)
    seen: list[str] = []
    real = reminders.send_templated

    def spy(**kwargs: Any) -> None:
        seen.append(f"{kwargs['template']}:{kwargs['language']}")
        real(**kwargs)

    monkeypatch.setattr(reminders, "send_templated", spy)
    run(scene.today)
    assert "conferences/emails/reminder_commitment:en" in seen
    assert "conferences/emails/reminder_digest:id" in seen


# --- canary -------------------------------------------------------------------------------


def test_canary_no_case_content_in_any_mail_audit_row_or_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    scene = build()
    owner = scene.world.counsellor
    commit(scene, scene.father, days=1)
    commit(scene, scene.teacher, days=-1, what=WHAT_2)
    commit(scene, scene.uncle, days=2)
    commit(scene, None, days=0)
    meeting.minutes_save(
        actor=owner,
        conference=scene.conference,
        base_version=0,
        values={"shared_text": SHARED, "private_text": PRIVATE},
    )
    meeting.minutes_finalise(actor=owner, conference=scene.conference)
    followup.conference_close(actor=owner, conference=scene.conference, short_days=1, long_days=2)
    upcoming = services.conference_create(actor=owner, case=scene.case)
    schedule(owner, upcoming, days=1)
    add_participant(owner, upcoming, category="keluarga", full_name=FATHER_NAME, role=FATHER_ROLE)
    first_audit = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()

    caplog.set_level(logging.DEBUG)
    out = io.StringIO()
    call_command("remind", stdout=out)
    evaluation_day = followup.conference_local_date(scene.conference) + dt.timedelta(days=1)
    call_command("remind", "--date", evaluation_day.isoformat(), stdout=out)

    assert len(mail.outbox) >= 4  # father, teacher, the digests
    assert "Penilaian lanjutan" in everything_sent()
    assert "KKA 2" in everything_sent()
    assert_no_secrets(everything_sent())
    for message in mail.outbox:
        assert_no_secrets(" ".join(message.to))
    rows = list(AuditEvent.objects.filter(id__gt=first_audit or 0).values())
    assert any(row["action"] == "reminder.run" for row in rows)
    assert_no_secrets(repr(rows))
    assert_no_secrets(repr(list(ReminderSent.objects.values())))
    assert_no_secrets(caplog.text + out.getvalue())
    # Nor the participants' addresses in logs or output.
    assert scene.father.email not in caplog.text + out.getvalue()


# --- the command ----------------------------------------------------------------------------


def test_dry_run_sends_nothing_and_records_nothing(scene: Scene) -> None:
    commit(scene, scene.father, days=1)
    commit(scene, scene.uncle, days=1)
    links = PortalLink.objects.count()
    out = io.StringIO()
    call_command("remind", "--dry-run", "--date", scene.today.isoformat(), stdout=out)
    line = out.getvalue()
    assert line.startswith(f"kka remind (dry run) {scene.today.isoformat()}: ")
    assert "1 participant reminders (1 commitments), 1 without email" in line
    assert "1 digests" in line
    assert mail.outbox == []
    assert not ReminderSent.objects.exists()
    assert PortalLink.objects.count() == links
    assert not AuditEvent.objects.filter(action="reminder.run").exists()
    # The real run afterwards sends what the dry run counted.
    call_command("remind", date=scene.today.isoformat(), stdout=io.StringIO())
    assert len(to(scene.father.email)) == 1 and len(to(scene.world.counsellor.email)) == 1


def test_command_prints_one_line_of_counts(scene: Scene) -> None:
    commit(scene, scene.father, days=1)
    out = io.StringIO()
    call_command("remind", "--date", scene.today.isoformat(), stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert lines == [
        f"kka remind {scene.today.isoformat()}: 2 organisations, 1 participant reminders "
        "(1 commitments), 0 without email, 0 not reachable, 1 digests, 0 failed"
    ]
    out = io.StringIO()
    call_command("remind", stdout=out)  # today, per organisation
    assert "0 participant reminders" in out.getvalue()


def test_command_refuses_a_bad_date() -> None:
    with pytest.raises(CommandError):
        call_command("remind", "--date", "30-11-2026", stdout=io.StringIO())


def test_failed_send_records_nothing_and_the_next_run_sends_it(scene: Scene) -> None:
    commit(scene, scene.father, days=1)
    links = PortalLink.objects.count()
    with override_settings(EMAIL_BACKEND="tests.conferences.test_remind.FailingBackend"):
        summary = run(scene.today)
        assert (summary.participant_mails, summary.digests, summary.failed) == (0, 0, 2)
        with pytest.raises(CommandError):
            call_command("remind", "--date", scene.today.isoformat(), stdout=io.StringIO())
    assert not ReminderSent.objects.exists()
    assert PortalLink.objects.count() == links  # the link made for the mail is gone too
    row = AuditEvent.objects.filter(
        action="reminder.run", organisation_id=scene.world.org.pk
    ).first()
    assert row is not None and row.outcome == "failure" and row.refs["failed"] == 2
    summary = run(scene.today)
    assert (summary.participant_mails, summary.digests, summary.failed) == (1, 1, 0)
    assert len(to(scene.father.email)) == 1
    assert ReminderSent.objects.count() == 2


def test_a_reminder_recorded_by_a_concurrent_run_is_not_sent_again(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    commitment = commit(scene, scene.father, days=1)
    ReminderSent.objects.create(
        key=f"commitment:{commitment.code}:soon", organisation=scene.world.org, sent_on=scene.today
    )
    # Another run recorded it between our read and our insert: the unique key refuses ours.
    real = ReminderSent.objects.filter

    def stale_filter(*args: Any, **kwargs: Any) -> Any:
        return real(pk__in=[]) if "key__in" in kwargs else real(*args, **kwargs)

    monkeypatch.setattr(ReminderSent.objects, "filter", stale_filter)
    summary = run(scene.today)
    assert (summary.participant_mails, summary.failed) == (0, 0)
    assert to(scene.father.email) == []
