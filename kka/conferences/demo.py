"""Demo cases for ``kka demo``: per organisation, the counsellor's cases at every stage.

Each demo organisation gets five case files, so a new user sees the whole flow at once:

1. ``planned``: a KKA being planned (participants chosen, nobody invited yet);
2. ``invited``: invitations out, some answered, one confidentiality pledge taken online;
3. ``held``: the KKA took place, attendance recorded with pledges, minutes still a draft;
4. ``closed``: a KKA held last week and closed: finalised minutes in both layers,
   commitments with progress notes (one written by a participant), immediate
   evaluations (one answered through the participant's link), the process evaluation,
   laijapen and laijapang scheduled, and follow-up planned (a referral only where the
   client's consent allows it);
5. ``quiet``: a case with no activity for more than 30 days.

Everything is written through the services, so encryption, the case timeline, the
consent gate and the audit chain are exactly as in real use. Invitations go by
WhatsApp link or letter number only: no mail is sent. All names are invented.
"""

from __future__ import annotations

import bisect
import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils import timezone

from kka.accounts.models import Organisation, User
from kka.cases import services as case_services
from kka.cases.models import (
    Case,
    CaseEvent,
    CaseRecord,
    Client,
    Consent,
    ProblemMap,
    ProblemResource,
)
from kka.conferences import followup, meeting, services
from kka.conferences.models import (
    CLIENT_CATEGORY,
    Commitment,
    CommitmentProgress,
    Conference,
    Disclosure,
    Evaluation,
    FollowUp,
    Minutes,
    Participant,
    PortalLink,
)

# --- the story's clock ------------------------------------------------------------------------

# Timestamps the services stamp with "now", per model: (path to the client, fields).
_STAMPS: tuple[tuple[type[models.Model], str, tuple[str, ...]], ...] = (
    (Client, "pk", ("created_at",)),
    (Case, "client", ("opened_at", "last_activity_at")),
    (CaseEvent, "case__client", ("at",)),
    (CaseRecord, "case__client", ("created_at",)),
    (ProblemMap, "case__client", ("updated_at",)),
    (Consent, "client", ("given_at", "recorded_at")),
    (Conference, "case__client", ("created_at", "updated_at")),
    (
        Participant,
        "conference__case__client",
        ("added_at", "invited_at", "rsvp_at", "pledged_at", "arrived_at", "left_at"),
    ),
    (PortalLink, "participant__conference__case__client", ("created_at",)),
    (Disclosure, "participant__conference__case__client", ("at",)),
    (Minutes, "conference__case__client", ("updated_at", "finalised_at")),
    (Commitment, "conference__case__client", ("created_at", "updated_at")),
    (CommitmentProgress, "commitment__conference__case__client", ("at",)),
    (Evaluation, "conference__case__client", ("created_at", "done_at")),
    (FollowUp, "case__client", ("created_at", "updated_at")),
)


class Clock:
    """Demo only: dates each step of a story to when it "happened".

    The services stamp everything with the real time, so a KKA "held last week" would
    otherwise show pledges, attendance, finalised minutes and a case opened today, and
    no case could look inactive. The demo notes when each step began (real time) and
    when it is meant to have happened; ``settle`` then moves every timestamp the story
    wrote, on this one client's rows, to its step's time: one plain queryset update per
    model (this includes ``Case.last_activity_at``, which the dashboard reads for "no
    activity for 30 days"). The audit log is left alone: it keeps the real time at which
    the demo was created, as an audit log must.
    """

    def __init__(self, organisation: Organisation) -> None:
        self.zone = zoneinfo.ZoneInfo(organisation.time_zone)
        self.today = timezone.now().astimezone(self.zone).date()
        self.client_id: int | None = None
        self.since = timezone.now()
        self.steps: list[tuple[dt.datetime, dt.datetime]] = []  # (real start, story time)

    def day(self, offset: int) -> dt.date:
        return self.today + dt.timedelta(days=offset)

    def weekday_after(self, offset: int) -> dt.date:
        """``offset`` days from today, moved forward to a Monday-Friday."""
        day = self.day(offset)
        while day.weekday() >= 5:
            day += dt.timedelta(days=1)
        return day

    def weekday_before(self, offset: int) -> dt.date:
        """``offset`` days from today (negative), moved back to a Monday-Friday."""
        day = self.day(offset)
        while day.weekday() >= 5:
            day -= dt.timedelta(days=1)
        return day

    def at(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=self.zone)

    def start(self) -> None:
        """A new story begins: what is written from now on belongs to its client."""
        self.client_id = None
        self.steps = []
        self.since = timezone.now()

    def happened(self, when: dt.datetime) -> None:
        """What the story wrote since the previous step happened at ``when`` (never
        later than now)."""
        self.steps.append((self.since, min(when, timezone.now())))
        self.since = timezone.now()

    def settle(self) -> None:
        """Re-date the story's rows: a stamp written during a step gets the step's time."""
        if self.client_id is None or not self.steps:
            return
        began = [real for real, _when in self.steps]
        for model, path, names in _STAMPS:
            manager = model._default_manager
            changes: dict[tuple[tuple[str, dt.datetime], ...], list[int]] = {}
            for pk, *stamps in manager.filter(**{path: self.client_id}).values_list("pk", *names):
                change = tuple(
                    (name, self.steps[bisect.bisect_right(began, stamp) - 1][1])
                    for name, stamp in zip(names, stamps, strict=True)
                    if stamp is not None and stamp >= began[0]
                )
                if change:
                    changes.setdefault(change, []).append(pk)
            for change, pks in changes.items():
                manager.filter(pk__in=pks).update(**dict(change))


# --- what a story is made of -----------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """Someone close to the case: a problem-map resource and, if ``invite``, a participant."""

    name: str
    role: str
    category: str
    disclosure: str = "briefing"
    phone: str = ""
    email: str = ""
    institution: str = ""
    contribution: str = ""
    invite: bool = True


@dataclass(frozen=True)
class Record:
    day: int  # relative to the story's anchor day
    source: str
    content: str


@dataclass(frozen=True)
class Progress:
    day: int  # after the meeting
    note: str
    by_participant: bool = False


@dataclass(frozen=True)
class Promise:
    """A commitment: ``who`` indexes ``Story.people``; None is the counsellor."""

    who: int | None
    what: str
    due: int  # relative to today: the dashboard reads "due this week" and "overdue"
    check: str
    progress: tuple[Progress, ...] = ()
    done_day: int | None = None  # after the meeting


@dataclass(frozen=True)
class Laiseg:
    who: int
    answers: dict[str, str]
    via_portal: bool = False


@dataclass(frozen=True)
class Next:
    """A follow-up, planned ``day`` days from today."""

    kind: str
    day: int
    note: str = ""
    referral_to: str = ""
    referral_to_name: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Story:
    stage: str  # planned | invited | held | closed | quiet
    client: dict[str, str]
    bidang: str
    title: str
    intake_source: str
    description: str
    opened: int  # relative to the anchor day
    records: tuple[Record, ...]
    guardians: tuple[dict[str, str], ...] = ()
    core_problem: str = ""
    aspects: tuple[tuple[str, str], ...] = ()
    people: tuple[Person, ...] = ()
    consent: dict[str, Any] = field(default_factory=dict)
    consent_day: int = 0
    place: str = ""
    briefing: str = ""
    start_hour: int = 9
    duration_minutes: int = 60
    client_participation: str = "absent"
    # invitations and answers
    rsvps: tuple[tuple[int, str, str], ...] = ()  # (who, answer, note)
    online_pledges: tuple[int, ...] = ()
    # the meeting
    meeting_pledges: tuple[tuple[int, str], ...] = ()  # (who, "device" | "paper")
    attendance: tuple[tuple[int, str], ...] = ()
    minutes: dict[str, str] = field(default_factory=dict)
    promises: tuple[Promise, ...] = ()
    laiseg: tuple[Laiseg, ...] = ()
    process: dict[str, str] = field(default_factory=dict)
    followups: tuple[Next, ...] = ()
    # the participant whose private link the demo prints, and what it shows
    link_for: int | None = None
    link_label: str = ""


@dataclass
class Built:
    case: Case
    conference: Conference | None = None
    participants: list[Participant] = field(default_factory=list)
    links: dict[int, str] = field(default_factory=dict)  # participant index -> link


# --- building a story --------------------------------------------------------------------------


def _case_file(
    organisation: Organisation, counsellor: User, clock: Clock, story: Story, anchor: dt.date
) -> tuple[Case, list[CaseRecord], list[ProblemResource | None]]:
    def on(offset: int) -> dt.date:
        return anchor + dt.timedelta(days=offset)

    clock.start()
    client = case_services.client_create(
        actor=counsellor, organisation=organisation, guardians=story.guardians, **story.client
    )
    clock.client_id = client.pk
    case = case_services.case_open(
        actor=counsellor,
        client=client,
        bidang=story.bidang,
        title=story.title,
        intake_source=story.intake_source,
        description=story.description,
    )
    clock.happened(clock.at(on(story.opened), 8, 30))
    records = []
    for record in story.records:
        records.append(
            case_services.record_add(
                actor=counsellor,
                case=case,
                occurred_on=on(record.day),
                source=record.source,
                content=record.content,
                may_bring_to_kka=True,
            )
        )
        clock.happened(clock.at(on(record.day), 13, 15))
    resources: list[ProblemResource | None] = []
    if story.core_problem:
        case_services.problem_map_set_core(
            actor=counsellor, case=case, core_problem=story.core_problem
        )
        aspects = [
            case_services.aspect_add(
                actor=counsellor, case=case, kind=kind, text=text, records=records
            )
            for kind, text in story.aspects
        ]
        causes = [a for a in aspects if a.kind != "gejala"] or aspects
        for person in story.people:
            if person.category == CLIENT_CATEGORY:
                resources.append(None)
                continue
            resources.append(
                case_services.resource_add(
                    actor=counsellor,
                    case=case,
                    name=person.name,
                    role=person.role,
                    category=person.category,
                    contribution=person.contribution,
                    aspects=causes,
                )
            )
        last = max([r.day for r in story.records] or [story.opened])
        clock.happened(clock.at(on(last), 15, 0))
    if story.consent:
        case_services.consent_record(actor=counsellor, client=client, **story.consent)
        clock.happened(clock.at(on(story.consent_day), 10, 0))
    return case, records, resources


def _plan(
    counsellor: User,
    clock: Clock,
    story: Story,
    case: Case,
    records: list[CaseRecord],
    resources: list[ProblemResource | None],
    *,
    starts_at: dt.datetime,
    planned_at: dt.datetime,
) -> tuple[Conference, list[Participant]]:
    conference = services.conference_create(actor=counsellor, case=case)
    conference = services.conference_update_plan(
        actor=counsellor,
        conference=conference,
        place=story.place,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=story.duration_minutes),
        briefing=story.briefing,
        client_participation=story.client_participation,
        records=records,
    )
    participants = []
    for person, resource in zip(story.people, resources, strict=True):
        if not person.invite:
            continue
        fields: dict[str, Any] = {
            "disclosure": person.disclosure,
            "phone": person.phone,
            "email": person.email,
            "institution": person.institution,
        }
        if resource is None:
            fields.update(full_name=person.name, role=person.role, category=person.category)
        participants.append(
            services.participant_add(
                actor=counsellor, conference=conference, resource=resource, **fields
            )
        )
    conference = services.conference_set_status(
        actor=counsellor, conference=conference, status="planned"
    )
    clock.happened(planned_at)
    return conference, participants


def _invite(
    counsellor: User,
    clock: Clock,
    story: Story,
    built: Built,
    *,
    invited_at: dt.datetime,
    answered_at: dt.datetime,
    pledged_at: dt.datetime,
) -> None:
    for index, participant in enumerate(built.participants):
        channel = "whatsapp" if participant.phone else "letter"
        result = services.invitation_send(
            actor=counsellor, participant=participant, channel=channel
        )
        built.links[index] = result["link"]
    clock.happened(invited_at)
    for who, answer, note in story.rsvps:
        services.portal_rsvp(participant=built.participants[who], answer=answer, note=note)
    clock.happened(answered_at)
    for who in story.online_pledges:
        participant = built.participants[who]
        services.pledge_take(
            participant=participant,
            typed_name=participant.full_name,
            agreed=True,
            ip=None,
            channel="online",
        )
    clock.happened(pledged_at)


def _hold(counsellor: User, clock: Clock, story: Story, built: Built, meeting_day: dt.date) -> None:
    assert built.conference is not None
    start = clock.at(meeting_day, story.start_hour)
    minutes_in = dt.timedelta(minutes=1)
    built.conference = services.conference_set_status(
        actor=counsellor, conference=built.conference, status="held"
    )
    for who, channel in story.meeting_pledges:
        participant = built.participants[who]
        services.pledge_take(
            participant=participant,
            typed_name=participant.full_name,
            agreed=True,
            ip=None,
            channel=channel,
            actor=counsellor,
        )
    clock.happened(start + 5 * minutes_in)
    for who, attendance in story.attendance:
        if attendance == "left_early":
            continue
        meeting.attendance_set(
            actor=counsellor, participant=built.participants[who], attendance=attendance
        )
    clock.happened(start + 8 * minutes_in)
    for who, attendance in story.attendance:
        if attendance != "left_early":
            continue
        meeting.attendance_set(
            actor=counsellor, participant=built.participants[who], attendance="present"
        )
        clock.happened(start + 8 * minutes_in)
        meeting.attendance_set(
            actor=counsellor, participant=built.participants[who], attendance="left_early"
        )
        clock.happened(start + 45 * minutes_in)
    commitments = []
    for promise in story.promises:
        party = built.participants[promise.who] if promise.who is not None else None
        commitments.append(
            followup.commitment_add(
                actor=counsellor,
                conference=built.conference,
                participant=party,
                counsellor=None if party is not None else counsellor,
                what=promise.what,
                due_on=clock.day(promise.due),
                check_method=promise.check,
            )
        )
    clock.happened(start + (story.duration_minutes - 10) * minutes_in)
    # The minutes are typed during the meeting and tidied afterwards: two saves.
    first = {
        name: story.minutes[name]
        for name in ("shared_text", "data_wanted")
        if name in story.minutes
    }
    saved = meeting.minutes_save(
        actor=counsellor, conference=built.conference, base_version=0, values=first
    )
    clock.happened(start + story.duration_minutes * minutes_in)
    meeting.minutes_save(
        actor=counsellor,
        conference=built.conference,
        base_version=saved.version,
        values=dict(story.minutes),
    )
    clock.happened(start + (story.duration_minutes + 90) * minutes_in)
    _after(counsellor, clock, story, built, meeting_day, commitments)


def _after(
    counsellor: User,
    clock: Clock,
    story: Story,
    built: Built,
    meeting_day: dt.date,
    commitments: list[Commitment],
) -> None:
    """Only for a closed KKA: evaluations, finalising, closing, progress, follow-up."""
    if story.stage != "closed":
        return
    assert built.conference is not None
    conference = built.conference
    start = clock.at(meeting_day, story.start_hour)
    end = start + dt.timedelta(minutes=story.duration_minutes)
    for item in story.laiseg:
        if item.via_portal:
            continue
        followup.laiseg_record(
            conference=conference,
            participant=built.participants[item.who],
            answers=item.answers,
            actor=counsellor,
        )
    clock.happened(end - dt.timedelta(minutes=5))
    followup.process_evaluation_record(
        actor=counsellor, conference=conference, answers=story.process
    )
    clock.happened(end + dt.timedelta(hours=2))
    for item in story.laiseg:
        if not item.via_portal:
            continue
        followup.laiseg_record(
            conference=conference,
            participant=built.participants[item.who],
            answers=item.answers,
            via_portal=True,
        )
    clock.happened(clock.at(meeting_day, 19, 40))
    next_day = meeting_day + dt.timedelta(days=1)
    meeting.minutes_finalise(actor=counsellor, conference=conference)
    clock.happened(clock.at(next_day, 9, 30))
    built.conference = followup.conference_close(actor=counsellor, conference=conference)
    clock.happened(clock.at(next_day, 9, 35))
    for plan in story.followups:
        followup.followup_add(
            actor=counsellor,
            case=built.case,
            conference=conference,
            kind=plan.kind,
            referral_to=plan.referral_to,
            referral_to_name=plan.referral_to_name,
            reason=plan.reason,
            planned_on=clock.day(plan.day),
            note=plan.note,
        )
    clock.happened(clock.at(next_day, 10, 0))
    steps: list[tuple[int, int, Any]] = []
    for promise, commitment in zip(story.promises, commitments, strict=True):
        for note in promise.progress:
            steps.append((note.day, 0, (commitment, note)))
        if promise.done_day is not None:
            steps.append((promise.done_day, 1, commitment))
    for day, kind, item in sorted(steps, key=lambda s: (s[0], s[1])):
        if kind == 0:
            commitment, note = item
            participant = commitment.participant if note.by_participant else None
            followup.commitment_progress_add(
                commitment=commitment,
                note=note.note,
                actor=None if participant is not None else counsellor,
                participant=participant,
            )
            hour = 20 if note.by_participant else 14
        else:
            followup.commitment_set_status(actor=counsellor, commitment=item, status="done")
            hour = 15
        clock.happened(clock.at(meeting_day + dt.timedelta(days=day), hour))


def build_story(organisation: Organisation, counsellor: User, story: Story) -> Built:
    """One client's case file, its KKA moved to ``story.stage`` with believable dates."""
    clock = Clock(organisation)
    built = _build_story(organisation, counsellor, story, clock)
    clock.settle()
    return built


def _build_story(organisation: Organisation, counsellor: User, story: Story, clock: Clock) -> Built:
    if story.stage == "held":
        anchor = clock.weekday_before(-1)
    elif story.stage == "closed":
        anchor = clock.weekday_before(-7)
    else:
        anchor = clock.today
    case, records, resources = _case_file(organisation, counsellor, clock, story, anchor)
    built = Built(case=case)
    if story.stage == "quiet":
        return built

    def on(offset: int, hour: int, minute: int = 0) -> dt.datetime:
        return clock.at(anchor + dt.timedelta(days=offset), hour, minute)

    if story.stage == "planned":
        starts_at = clock.at(clock.weekday_after(7), story.start_hour)
        planned_at = on(-2, 11)
    elif story.stage == "invited":
        starts_at = clock.at(clock.weekday_after(3), story.start_hour)
        planned_at = on(-5, 11)
    elif story.stage == "held":
        starts_at = on(0, story.start_hour)
        planned_at = on(-8, 11)
    else:
        starts_at = on(0, story.start_hour)
        planned_at = on(-10, 11)
    built.conference, built.participants = _plan(
        counsellor,
        clock,
        story,
        case,
        records,
        resources,
        starts_at=starts_at,
        planned_at=planned_at,
    )
    if story.stage == "planned":
        return built
    if story.stage == "invited":
        _invite(
            counsellor,
            clock,
            story,
            built,
            invited_at=on(-3, 10, 20),
            answered_at=on(-2, 19, 5),
            pledged_at=on(-1, 20, 10),
        )
        return built
    if story.stage == "held":
        _invite(
            counsellor,
            clock,
            story,
            built,
            invited_at=on(-6, 10, 20),
            answered_at=on(-5, 19, 5),
            pledged_at=on(-2, 20, 10),
        )
    else:
        _invite(
            counsellor,
            clock,
            story,
            built,
            invited_at=on(-8, 10, 20),
            answered_at=on(-7, 19, 5),
            pledged_at=on(-3, 20, 10),
        )
    _hold(counsellor, clock, story, built, anchor)
    return built


def build_organisation(
    organisation: Organisation, counsellor: User, stories: tuple[Story, ...]
) -> list[tuple[str, str]]:
    """All stories of one organisation; returns (label, private link) pairs to print."""
    links: list[tuple[str, str]] = []
    for story in stories:
        built = build_story(organisation, counsellor, story)
        if story.link_for is not None:
            links.append((story.link_label, built.links[story.link_for]))
    return links


def _born(today: dt.date, years: int, month: int, day: int) -> str:
    return dt.date(today.year - years, month, day).isoformat()


# --- SMP Negeri 7 Sukamaju (school, WIB) --------------------------------------------------------

SCHOOL_PURPOSES = ["purpose_hold_kka", "share_school_staff", "share_family", "purpose_documents"]


def school_stories(today: dt.date) -> tuple[Story, ...]:
    planned = Story(
        stage="planned",
        client={
            "full_name": "Dimas Anggara Putra",
            "sex": "L",
            "birth_date": _born(today, 14, 2, 1),
            "nisn": "0112233445",
            "group": "VIII B",
        },
        guardians=(
            {"full_name": "Siti Rahmawati", "relationship": "ibu", "phone": "081234567890"},
        ),
        bidang="belajar",
        title="Penurunan prestasi belajar",
        intake_source="guru",
        description="Nilai turun sejak awal semester; sering terlambat dan tampak mengantuk.",
        opened=-12,
        records=(
            Record(
                -10,
                "laporan_guru",
                "Wali kelas: tugas sering tidak dikumpulkan, tiga kali terlambat minggu ini. "
                "Pada jam pertama konseli beberapa kali tertidur di kelas.",
            ),
            Record(
                -7,
                "wawancara",
                "Konseli membantu orang tua berjualan nasi goreng hingga sekitar pukul 23.00 "
                "hampir setiap malam, lalu baru mengerjakan tugas. Konseli ingin nilainya "
                "kembali seperti kelas VII tetapi merasa tidak enak menolak membantu.",
            ),
        ),
        core_problem="Prestasi belajar menurun karena kurang waktu belajar dan istirahat",
        aspects=(
            ("gejala", "Tugas tidak dikumpulkan dan sering terlambat"),
            ("penyebab", "Kurang tidur karena membantu berjualan hingga larut malam"),
        ),
        people=(
            Person(
                "Ratna Dewi, S.Pd.",
                "Wali kelas VIII B",
                "staf_lembaga",
                contribution="Memantau tugas dan kehadiran",
            ),
            Person(
                "Siti Rahmawati",
                "Ibu",
                "keluarga",
                phone="081234567890",
                contribution="Mengatur jam bantu berjualan dan jam tidur anak",
            ),
            Person(
                "Puskesmas Sukamaju",
                "Psikolog puskesmas",
                "profesional",
                contribution="Asesmen lanjutan bila diperlukan",
                invite=False,
            ),
        ),
        consent={
            "giver": "orang_tua",
            "giver_name": "Siti Rahmawati",
            "giver_relationship": "ibu kandung",
            "channel": "lisan",
            "purposes": SCHOOL_PURPOSES,
        },
        consent_day=-5,
        place="Ruang BK",
        briefing="Kita akan membicarakan cara membantu seorang siswa mengatur waktu belajar "
        "dan istirahatnya. Mohon bawa catatan kehadiran dan tugas bila ada.",
        start_hour=9,
    )
    invited = Story(
        stage="invited",
        client={
            "full_name": "Aditya Nugroho",
            "sex": "L",
            "birth_date": _born(today, 13, 5, 17),
            "nisn": "0109876543",
            "group": "VII C",
        },
        guardians=(
            {"full_name": "Bambang Nugroho", "relationship": "ayah", "phone": "081220013344"},
        ),
        bidang="belajar",
        title="Kesulitan memahami pelajaran",
        intake_source="guru",
        description="Guru matematika melaporkan konseli tertinggal dalam membaca pemahaman dan "
        "soal cerita; nilai ulangan harian di bawah KKM sejak awal semester.",
        opened=-20,
        records=(
            Record(
                -18,
                "laporan_guru",
                "Guru matematika: tiga nilai ulangan harian terakhir 45, 50, dan 40 (KKM 70). "
                "Soal cerita hampir selalu dikosongkan. Rajin masuk dan sopan, tetapi diam bila "
                "ditanya.",
            ),
            Record(
                -14,
                "wawancara",
                "Konseli sering tidak mengerti maksud soal yang panjang dan malu bertanya sejak "
                "pernah ditertawakan teman saat membaca di depan kelas. Di rumah belajar sendiri; "
                "ayah bekerja sebagai pengemudi ojek daring sampai malam, ibu bekerja di luar "
                "negeri.",
            ),
            Record(
                -11,
                "instrumen",
                "AUM PTSDL: masalah terbanyak pada keterampilan belajar (membaca dan memahami "
                "isi bacaan) dan prasyarat penguasaan materi.",
            ),
        ),
        core_problem="Kesulitan memahami bacaan dan soal cerita sehingga tertinggal pelajaran",
        aspects=(
            ("gejala", "Nilai ulangan harian matematika di bawah KKM"),
            ("penyebab", "Kemampuan membaca pemahaman belum memadai"),
            ("faktor", "Malu bertanya setelah pernah ditertawakan teman"),
            ("faktor", "Tidak ada pendamping belajar di rumah pada malam hari"),
        ),
        people=(
            Person(
                "Yuliani Rahayu, S.Pd.",
                "Wali kelas VII C",
                "staf_lembaga",
                email="yuliani.rahayu@smpn7.demo",
                contribution="Mengatur teman belajar sebaya di kelas",
            ),
            Person(
                "Neneng Mulyani, S.Pd.",
                "Guru matematika",
                "staf_lembaga",
                email="neneng.mulyani@smpn7.demo",
                contribution="Latihan soal cerita bertahap",
            ),
            Person(
                "Bambang Nugroho",
                "Ayah",
                "keluarga",
                phone="081220013344",
                contribution="Mendampingi belajar 30 menit setiap malam",
            ),
        ),
        consent={
            "giver": "orang_tua",
            "giver_name": "Bambang Nugroho",
            "giver_relationship": "ayah kandung",
            "channel": "lisan",
            "purposes": SCHOOL_PURPOSES,
        },
        consent_day=-8,
        place="Ruang BK, lantai 2",
        briefing="Pertemuan ini membahas cara bersama-sama membantu seorang siswa yang sedang "
        "kesulitan memahami bacaan dan soal cerita. Bapak/Ibu dimohon membawa catatan nilai "
        "atau pengamatan di kelas dan di rumah. Mohon tidak membicarakan isi pertemuan di luar "
        "forum.",
        start_hour=10,
        rsvps=(
            (2, "hadir", "Insyaallah hadir, saya izin dari pangkalan ojek."),
            (0, "hadir", ""),
        ),
        online_pledges=(2,),
        link_for=1,
        link_label="guru matematika, undangan belum dijawab: jawab kehadiran, nyatakan "
        "kerahasiaan, baca ringkasan",
    )
    held = Story(
        stage="held",
        client={
            "full_name": "Nabila Putri Lestari",
            "sex": "P",
            "birth_date": _born(today, 13, 8, 1),
            "group": "VII A",
        },
        guardians=(
            {"full_name": "Endang Kurniasih", "relationship": "ibu", "phone": "081321004455"},
        ),
        bidang="sosial",
        title="Relasi dengan teman sebaya",
        intake_source="sendiri",
        description="Konseli datang sendiri ke ruang BK; merasa dikucilkan dan diejek teman "
        "sekelas, termasuk melalui grup percakapan kelas.",
        opened=-18,
        records=(
            Record(
                -16,
                "wawancara",
                "Konseli bercerita diejek soal penampilannya di grup WhatsApp kelas dan tidak "
                "diajak kerja kelompok sejak pertengahan semester. Pagi hari sering sakit perut "
                "sebelum berangkat. Konseli meminta agar nama teman yang mengejek tidak disebut "
                "di depan kelas.",
            ),
            Record(
                -13,
                "observasi",
                "Tiga hari berturut-turut konseli menghabiskan jam istirahat sendirian di "
                "perpustakaan. Petugas perpustakaan dua kali melihat konseli menangis.",
            ),
            Record(
                -9,
                "laporan_orang_tua",
                "Ibu konseli menelepon: dalam dua minggu anak tiga kali minta izin tidak masuk "
                "karena sakit perut dan tidak mau membuka ponselnya.",
            ),
        ),
        core_problem="Konseli mengalami ejekan dan pengucilan oleh sebagian teman sekelas",
        aspects=(
            ("gejala", "Menghindari teman dan sering izin sakit"),
            ("penyebab", "Ejekan tentang penampilan di grup percakapan kelas"),
            ("faktor", "Belum ada kesepakatan kelas tentang etika grup percakapan"),
        ),
        people=(
            Person(
                "Endang Kurniasih",
                "Ibu",
                "keluarga",
                disclosure="shared_minutes",
                phone="081321004455",
                contribution="Mendampingi anak dan memantau ponsel bersama",
            ),
            Person(
                "Wahyu Hidayat, S.Pd.",
                "Wali kelas VII A",
                "staf_lembaga",
                disclosure="shared_minutes",
                email="wahyu.hidayat@smpn7.demo",
                contribution="Menata kerja kelompok dan kesepakatan kelas",
            ),
            Person(
                "Dra. Ika Setiawati",
                "Anggota TPPK sekolah",
                "staf_lembaga",
                email="ika.setiawati@smpn7.demo",
                contribution="Prosedur pencegahan dan penanganan kekerasan di sekolah",
            ),
        ),
        consent={
            "giver": "orang_tua",
            "giver_name": "Endang Kurniasih",
            "giver_relationship": "ibu kandung",
            "channel": "lisan",
            "purposes": SCHOOL_PURPOSES,
        },
        consent_day=-9,
        place="Ruang BK",
        briefing="Pertemuan ini membahas cara membantu seorang siswi agar kembali merasa aman "
        "dan diterima di kelasnya. Mohon membawa pengamatan Bapak/Ibu tanpa menyebut nama "
        "siswa lain.",
        start_hour=13,
        duration_minutes=90,
        rsvps=((0, "hadir", ""), (1, "hadir", ""), (2, "hadir", "Mungkin pulang lebih awal.")),
        online_pledges=(0,),
        meeting_pledges=((1, "device"), (2, "paper")),
        attendance=((0, "present"), (1, "present"), (2, "left_early")),
        minutes={
            "shared_text": (
                "Pembukaan dan penstrukturan\n"
                "Konselor membuka pertemuan, menyampaikan tujuan, dan membacakan aturan "
                "kerahasiaan. Semua peserta telah menyatakan komitmen kerahasiaan.\n\n"
                "Gambaran kasus\n"
                "Konseli (siswi kelas VII) merasa dikucilkan dan menerima ejekan tentang "
                "penampilannya, terutama melalui grup percakapan kelas, sejak pertengahan "
                "semester. Dalam dua minggu terakhir konseli tiga kali izin tidak masuk karena "
                "sakit perut.\n\n"
                "Keterangan peserta\n"
                "- Ibu: anak menjadi pendiam di rumah, menolak membuka ponsel, dan beberapa kali "
                "menangis sebelum tidur.\n"
                "- Wali kelas: belum mengetahui isi grup percakapan; di kelas konseli jarang "
                "dipilih dalam kerja kelompok.\n"
                "- Anggota TPPK: penanganan awal dapat dilakukan melalui pembinaan kelas tanpa "
                "mempermalukan siapa pun; bila ada ancaman atau kekerasan, TPPK menindaklanjuti "
                "sesuai prosedur.\n\n"
                "Kesepakatan sementara\n"
                "(belum lengkap: dilengkapi konselor sebelum difinalkan)"
            ),
            "private_text": (
                "- Konseli meminta nama teman yang mengejek tidak disebut; dijaga di forum.\n"
                "- Ibu menyebut ada pesan 'tidak usah sekolah saja' di grup. Periksa apakah ada "
                "unsur ancaman; bila ya, laporkan ke TPPK sesuai prosedur dan catat.\n"
                "- Anggota TPPK pulang lebih awal (rapat dinas) dan belum ikut menyepakati "
                "komitmen.\n"
                "- Belum: arah penanganan, tindak lanjut, penilaian segera."
            ),
            "data_wanted": (
                "Bentuk dan frekuensi ejekan; dampaknya pada kehadiran dan belajar; dukungan "
                "yang bisa diberikan kelas dan keluarga."
            ),
        },
        promises=(
            Promise(
                1,
                "Menyusun kesepakatan kelas tentang etika grup percakapan bersama siswa pada "
                "jam perwalian",
                due=4,
                check="Salinan kesepakatan kelas diserahkan ke guru BK",
            ),
            Promise(
                None,
                "Konseling individual dengan konseli tentang cara menghadapi ejekan dan "
                "membangun pertemanan",
                due=6,
                check="Catatan sesi konseling",
            ),
        ),
        link_for=0,
        link_label="ibu, KKA sudah terlaksana: isi penilaian segera (laiseg)",
    )
    closed = Story(
        stage="closed",
        client={
            "full_name": "Salsabila Rahmadani",
            "sex": "P",
            "birth_date": _born(today, 14, 4, 9),
            "nisn": "0098765432",
            "group": "VIII A",
        },
        guardians=({"full_name": "Wulan Sari", "relationship": "ibu", "phone": "085722006677"},),
        bidang="pribadi",
        title="Sering tidak masuk sekolah",
        intake_source="guru",
        description="Wali kelas melaporkan konseli tidak masuk sembilan hari dalam empat minggu, "
        "sebagian besar tanpa keterangan, dan sering terlambat.",
        opened=-24,
        records=(
            Record(
                -22,
                "laporan_guru",
                "Rekap absensi wali kelas: 9 hari tidak masuk dalam 4 minggu (7 tanpa "
                "keterangan), 5 kali terlambat lebih dari 30 menit. Tugas yang dikumpulkan "
                "nilainya baik.",
            ),
            Record(
                -19,
                "wawancara",
                "Konseli harus mengantar adiknya (4 tahun) ke rumah tetangga karena ibu "
                "berangkat kerja pukul 05.30. Bila tetangga berhalangan, konseli menjaga adik di "
                "rumah. Konseli ingin tetap sekolah dan bercita-cita menjadi bidan.",
            ),
            Record(
                -15,
                "laporan_orang_tua",
                "Ibu konseli (melalui telepon): bekerja sif pagi di pabrik garmen sejak Agustus; "
                "ayah bekerja di luar kota dan pulang dua minggu sekali. Ibu tidak tahu anaknya "
                "sering tidak masuk.",
            ),
        ),
        core_problem="Konseli sering tidak masuk sekolah karena mengasuh adik pada pagi hari",
        aspects=(
            ("gejala", "Tidak masuk 9 hari dalam 4 minggu dan sering terlambat"),
            ("penyebab", "Tidak ada pengasuh adik pada pagi hari"),
            ("faktor", "Komunikasi keluarga dan sekolah tentang ketidakhadiran belum berjalan"),
        ),
        people=(
            Person(
                "Wulan Sari",
                "Ibu",
                "keluarga",
                disclosure="shared_minutes",
                phone="085722006677",
                contribution="Mengatur pengasuhan adik pada pagi hari",
            ),
            Person(
                "Hendro Susilo, S.Pd.",
                "Wali kelas VIII A",
                "staf_lembaga",
                disclosure="shared_minutes",
                email="hendro.susilo@smpn7.demo",
                contribution="Memantau kehadiran harian",
            ),
            Person(
                "Asep Saepudin, M.Pd.",
                "Wakil kepala sekolah bidang kesiswaan",
                "staf_lembaga",
                email="asep.saepudin@smpn7.demo",
                contribution="Dispensasi keterlambatan sementara",
            ),
        ),
        consent={
            "giver": "orang_tua",
            "giver_name": "Wulan Sari",
            "giver_relationship": "ibu kandung",
            "channel": "lisan",
            "purposes": SCHOOL_PURPOSES,
        },
        consent_day=-12,
        place="Ruang BK",
        briefing="Pertemuan ini membahas cara membantu seorang siswi agar dapat hadir di "
        "sekolah setiap hari. Mohon membawa catatan kehadiran dan pengamatan Bapak/Ibu.",
        start_hour=9,
        duration_minutes=90,
        rsvps=((0, "hadir", "Saya sudah izin dari pabrik."), (1, "hadir", ""), (2, "hadir", "")),
        online_pledges=(0,),
        meeting_pledges=((1, "device"), (2, "paper")),
        attendance=((0, "present"), (1, "present"), (2, "present")),
        minutes={
            "shared_text": (
                "Pembukaan dan penstrukturan\n"
                "Konselor membuka pertemuan, menyampaikan tujuan (memahami penyebab konseli "
                "sering tidak masuk dan menyepakati cara membantunya) serta aturan kerahasiaan. "
                "Semua peserta telah menyatakan komitmen kerahasiaan. Konseli tidak hadir; "
                "pendapatnya disampaikan konselor dari sesi konseling sebelumnya, dengan "
                "persetujuan konseli.\n\n"
                "Gambaran kasus\n"
                "Dalam empat minggu terakhir konseli tidak masuk sembilan hari, tujuh di "
                "antaranya tanpa keterangan, dan lima kali terlambat lebih dari 30 menit. Tugas "
                "yang dikumpulkan nilainya baik.\n\n"
                "Keterangan peserta\n"
                "- Ibu: sejak Agustus bekerja sif pagi (berangkat pukul 05.30); ayah bekerja di "
                "luar kota. Konseli mengantar adik (4 tahun) ke rumah tetangga atau menjaganya "
                "bila tetangga berhalangan. Ibu baru mengetahui ketidakhadiran anaknya dari "
                "sekolah.\n"
                "- Wali kelas: sebelum semester ini konseli hampir tidak pernah absen; konseli "
                "tampak mengantuk pada jam pertama dan disukai teman-temannya.\n"
                "- Wakasek kesiswaan: sekolah dapat memberi dispensasi keterlambatan sementara "
                "bila ada alasan keluarga yang jelas.\n"
                "- Konseli (disampaikan konselor): ingin tetap sekolah, malu karena sering "
                "tertinggal pelajaran, bercita-cita menjadi bidan.\n\n"
                "Kesepakatan\n"
                "Ketidakhadiran konseli terutama disebabkan pengasuhan adik pada pagi hari, "
                "bukan karena konseli malas. Setiap pihak menyampaikan komitmennya (lihat daftar "
                "komitmen).\n\n"
                "Tindak lanjut\n"
                "Kunjungan rumah oleh guru BK bersama wali kelas; konseling individual; "
                "penilaian jangka pendek sekitar dua minggu lagi."
            ),
            "private_text": (
                "- Ibu tampak sangat lelah dan sempat menangis saat menceritakan beban kerjanya; "
                "tawarkan waktu konsultasi tersendiri.\n"
                "- Ada kesan ayah jarang mengirim nafkah. Tidak dibahas di forum karena tidak "
                "perlu diketahui semua pihak; tanyakan saat kunjungan rumah.\n"
                "- Wakasek sempat menyinggung poin pelanggaran keterlambatan; sudah diarahkan "
                "kembali bahwa KKA bukan forum sanksi. Ingatkan lagi secara pribadi.\n"
                "- Nenek konseli tinggal di Cimahi dan disebut ibu sepintas: mungkin bisa "
                "membantu pengasuhan.\n"
                "- Cita-cita menjadi bidan bisa menjadi pintu masuk motivasi di sesi konseling."
            ),
            "data_wanted": (
                "Penyebab ketidakhadiran; keadaan pagi hari di rumah; kemungkinan dispensasi "
                "dari sekolah."
            ),
            "data_obtained": (
                "Penyebab utama: konseli mengasuh adik karena ibu bekerja sif pagi. Sekolah "
                "dapat memberi dispensasi keterlambatan sementara. Keadaan ekonomi keluarga "
                "belum tergali."
            ),
            "data_needs": "partly",
            "conclusions": (
                "Konseli membutuhkan pengaturan pengasuhan adik pada pagi hari dan komunikasi "
                "yang rutin antara keluarga dan sekolah. Motivasi belajar konseli baik."
            ),
            "directions": (
                "1. Keluarga mencari pengasuh adik pada pagi hari.\n"
                "2. Sekolah memberi dispensasi keterlambatan sementara dan memantau kehadiran.\n"
                "3. Konseling individual tentang pengaturan waktu dan cita-cita konseli.\n"
                "4. Kunjungan rumah untuk melengkapi data keluarga."
            ),
        },
        promises=(
            Promise(
                0,
                "Mencari pengasuh untuk adik pada pagi hari (nenek atau tetangga) agar konseli "
                "dapat berangkat sekolah pukul 06.15",
                due=-2,
                check="Ditanyakan wali kelas; dilihat dari kehadiran konseli",
                progress=(
                    Progress(
                        3,
                        "Nenek bersedia menjaga adik mulai Senin, tetapi hari Rabu nenek sakit "
                        "sehingga anak saya tidak masuk satu hari.",
                        by_participant=True,
                    ),
                ),
            ),
            Promise(
                1,
                "Mengirim rekap kehadiran konseli kepada guru BK setiap Jumat selama satu bulan",
                due=2,
                check="Rekap absensi diterima guru BK",
                progress=(
                    Progress(
                        4,
                        "Rekap minggu pertama diterima: hadir 4 dari 5 hari, terlambat satu kali.",
                    ),
                ),
            ),
            Promise(
                2,
                "Memberikan dispensasi keterlambatan sampai pukul 07.15 selama dua minggu dan "
                "memberi tahu guru piket",
                due=-5,
                check="Surat dispensasi ada pada guru piket",
                progress=(Progress(2, "Surat dispensasi sudah dibagikan kepada guru piket."),),
                done_day=2,
            ),
            Promise(
                None,
                "Konseling individual dengan konseli (dua sesi) tentang pengaturan waktu pagi "
                "dan cita-citanya",
                due=7,
                check="Catatan sesi konseling",
            ),
        ),
        laiseg=(
            Laiseg(
                0,
                {
                    "understanding": "Saya baru tahu anak saya malu kepada teman-temannya "
                    "karena sering tertinggal pelajaran.",
                    "comfort": "Lega, karena anak saya tidak dimarahi dan ada jalan keluarnya.",
                    "action": "Mencari orang yang bisa menjaga adiknya pagi hari, dan mengabari "
                    "wali kelas bila anak tidak masuk.",
                },
                via_portal=True,
            ),
            Laiseg(
                1,
                {
                    "understanding": "Ketidakhadiran konseli ada penyebabnya di rumah, bukan "
                    "karena malas.",
                    "comfort": "Senang bisa bertemu langsung dengan ibunya.",
                    "action": "Mengirim rekap kehadiran setiap Jumat dan menyapa konseli setiap "
                    "pagi.",
                },
            ),
            Laiseg(
                2,
                {
                    "understanding": "Dispensasi sementara lebih membantu daripada menambah "
                    "catatan keterlambatan.",
                    "comfort": "Cukup nyaman; pertemuannya terarah.",
                    "action": "Menerbitkan dispensasi dan memberi tahu guru piket.",
                },
            ),
        ),
        process={
            "participation": "Semua peserta aktif. Ibu awalnya ragu berbicara, lalu terbuka "
            "setelah wali kelas menyampaikan hal-hal baik tentang konseli.",
            "atmosphere": "Hangat dan tidak menghakimi; satu kali pembicaraan diarahkan kembali "
            "ketika menyinggung sanksi.",
            "adherence": "Sesuai rencana; selesai 15 menit lebih lama dari jadwal.",
        },
        followups=(
            Next(
                "home_visit",
                5,
                note="Kunjungan rumah bersama wali kelas: berbincang dengan ibu dan nenek "
                "tentang pengaturan pagi hari.",
            ),
            Next("individual_counselling", 2, note="Sesi pertama: pengaturan waktu pagi."),
        ),
        link_for=0,
        link_label="ibu, KKA selesai: baca notulen bersama, tambah kemajuan komitmennya",
    )
    quiet = Story(
        stage="quiet",
        client={
            "full_name": "Rizky Firmansyah",
            "sex": "L",
            "birth_date": _born(today, 15, 1, 23),
            "group": "IX C",
        },
        bidang="karir",
        title="Bimbingan memilih sekolah lanjutan",
        intake_source="sendiri",
        description="Konseli bingung memilih antara SMA dan SMK; orang tua menyarankan SMK teknik.",
        opened=-61,
        records=(
            Record(
                -60,
                "wawancara",
                "Konseli tertarik menggambar dan desain; nilai matematika dan IPA stabil. Orang "
                "tua menyarankan SMK teknik mesin agar cepat bekerja.",
            ),
            Record(-47, "instrumen", "Tes minat (RIASEC): dominan Artistic dan Investigative."),
        ),
    )
    return planned, invited, held, closed, quiet


# --- PT Nusantara Sejahtera Logistik (company, WITA) ---------------------------------------------


def company_stories(today: dt.date) -> tuple[Story, ...]:
    hrd = Person(
        "Irawati Syam, S.Psi.",
        "Staf HRD",
        "staf_lembaga",
        email="irawati.syam@nsl.demo",
        contribution="Informasi fasilitas dan hak karyawan",
    )
    planned = Story(
        stage="planned",
        client={
            "full_name": "Rahmat Hidayat",
            "sex": "L",
            "birth_date": "1994-03-12",
            "employee_number": "NSL-2231",
            "group": "Gudang",
        },
        bidang="karir",
        title="Konflik dengan rekan kerja",
        intake_source="atasan",
        description="Atasan melaporkan pertengkaran berulang di gudang.",
        opened=-11,
        records=(
            Record(
                -9,
                "laporan_atasan",
                "Kepala gudang: dua kali adu mulut dengan rekan satu regu saat bongkar muat "
                "bulan ini; satu kali hampir saling dorong. Di luar itu kinerja baik dan selalu "
                "tepat waktu.",
            ),
            Record(
                -6,
                "wawancara",
                "Konseli merasa pembagian tugas bongkar muat tidak adil dan sering mendapat sif "
                "malam berturut-turut. Mengaku mudah tersinggung karena kurang tidur.",
            ),
        ),
        core_problem="Konflik berulang dengan rekan satu regu terkait pembagian tugas",
        aspects=(
            ("gejala", "Adu mulut berulang saat bongkar muat"),
            ("penyebab", "Pembagian tugas dan sif dirasakan tidak adil"),
            ("faktor", "Kurang tidur karena sif malam berturut-turut"),
        ),
        people=(
            Person(
                "Muhammad Arief",
                "Kepala gudang",
                "pemberi_kerja",
                email="muhammad.arief@nsl.demo",
                contribution="Menata ulang pembagian tugas dan sif regu",
            ),
            hrd,
        ),
        consent={
            "giver": "konseli",
            "giver_name": "Rahmat Hidayat",
            "channel": "lisan",
            "purposes": ["purpose_hold_kka", "share_employer", "share_school_staff"],
        },
        consent_day=-4,
        place="Ruang konseling, Kantor Pusat lantai 2",
        briefing="Pertemuan ini membahas cara menata kerja sama dalam satu regu agar suasana "
        "kerja kembali nyaman. Mohon membawa jadwal sif dua bulan terakhir.",
        start_hour=10,
    )
    invited = Story(
        stage="invited",
        client={
            "full_name": "Muhammad Ilham Saputra",
            "sex": "L",
            "birth_date": "1997-07-21",
            "employee_number": "NSL-3107",
            "group": "Armada",
        },
        bidang="karir",
        title="Penurunan kinerja dan keterlambatan",
        intake_source="atasan",
        description="Koordinator armada melaporkan keterlambatan apel pagi dan pengiriman "
        "berulang dalam enam minggu terakhir.",
        opened=-18,
        records=(
            Record(
                -16,
                "laporan_atasan",
                "Koordinator armada: 6 kali terlambat apel pagi dan 4 pengiriman melewati jadwal "
                "dalam enam minggu. Sebelumnya termasuk pengemudi dengan catatan terbaik.",
            ),
            Record(
                -12,
                "wawancara",
                "Anak kedua konseli lahir prematur dan masih sering kontrol ke rumah sakit pagi "
                "hari. Konseli kurang tidur dan mengantar istri kontrol sebelum berangkat kerja. "
                "Enggan meminta izin karena takut dinilai tidak bertanggung jawab.",
            ),
        ),
        core_problem="Kinerja menurun karena beban mengurus anak yang sering kontrol ke rumah "
        "sakit",
        aspects=(
            ("gejala", "Terlambat apel pagi dan pengiriman melewati jadwal"),
            ("penyebab", "Kurang tidur dan jadwal kontrol anak pada pagi hari"),
            ("faktor", "Enggan meminta izin kepada atasan"),
        ),
        people=(
            Person(
                "Baharuddin Lamo",
                "Koordinator armada",
                "pemberi_kerja",
                email="baharuddin.lamo@nsl.demo",
                contribution="Penyesuaian rute dan jam berangkat",
            ),
            hrd,
            Person(
                "Nurhayati",
                "Istri",
                "keluarga",
                phone="085255117788",
                contribution="Mengatur jadwal kontrol anak bersama",
            ),
        ),
        consent={
            "giver": "konseli",
            "giver_name": "Muhammad Ilham Saputra",
            "channel": "lisan",
            "purposes": [
                "purpose_hold_kka",
                "share_employer",
                "share_school_staff",
                "share_family",
            ],
        },
        consent_day=-7,
        place="Ruang rapat kecil, Kantor Armada",
        briefing="Pertemuan ini membahas penyesuaian kerja bagi seorang karyawan yang sedang "
        "menghadapi keadaan keluarga yang berat. Tujuannya mencari pengaturan yang membantu, "
        "bukan menilai kesalahan.",
        start_hour=14,
        rsvps=(
            (2, "hadir", "Saya datang bersama suami."),
            (0, "hadir", "Mohon dimulai tepat waktu, pukul 15.30 ada bongkar muat."),
        ),
        online_pledges=(2,),
        link_for=1,
        link_label="staf HRD, undangan belum dijawab: jawab kehadiran, nyatakan kerahasiaan, "
        "baca ringkasan",
    )
    held = Story(
        stage="held",
        client={
            "full_name": "Rosmawati",
            "sex": "P",
            "birth_date": "1989-11-02",
            "employee_number": "NSL-1418",
            "group": "Keuangan",
        },
        bidang="pribadi",
        title="Beban merawat orang tua yang sakit",
        intake_source="sendiri",
        description="Konseli datang sendiri; kelelahan merawat ayah yang sakit stroke, sering "
        "izin dan sulit berkonsentrasi.",
        opened=-17,
        records=(
            Record(
                -15,
                "wawancara",
                "Konseli merawat ayahnya yang terkena stroke tiga bulan lalu, bergantian dengan "
                "adiknya. Tidur 4-5 jam semalam; dua kali salah input data pembayaran minggu "
                "lalu. Konseli khawatir kehilangan pekerjaan.",
            ),
            Record(
                -12,
                "laporan_atasan",
                "Supervisor keuangan: konseli biasanya teliti; bulan ini 5 hari izin dan "
                "beberapa kesalahan input. Supervisor bersedia mengatur ulang pembagian tugas.",
            ),
        ),
        core_problem="Kelelahan dan sulit berkonsentrasi karena merawat orang tua yang sakit",
        aspects=(
            ("gejala", "Sering izin dan kesalahan input data"),
            ("penyebab", "Merawat ayah pascastroke pada malam hari"),
            ("faktor", "Belum ada pembagian peran perawatan yang jelas di keluarga"),
        ),
        people=(
            Person(
                "Yuliana Pakiding",
                "Supervisor keuangan",
                "pemberi_kerja",
                disclosure="shared_minutes",
                email="yuliana.pakiding@nsl.demo",
                contribution="Mengatur ulang pembagian tugas",
            ),
            Person(
                "Irawati Syam, S.Psi.",
                "Staf HRD",
                "staf_lembaga",
                disclosure="shared_minutes",
                email="irawati.syam@nsl.demo",
                contribution="Informasi cuti dan kerja fleksibel",
            ),
            Person(
                "Nurlela",
                "Adik",
                "keluarga",
                phone="081355223344",
                contribution="Berbagi giliran merawat ayah",
            ),
            Person("Rosmawati", "Konseli", CLIENT_CATEGORY, disclosure="shared_minutes"),
        ),
        consent={
            "giver": "konseli",
            "giver_name": "Rosmawati",
            "channel": "lisan",
            "purposes": [
                "purpose_hold_kka",
                "share_employer",
                "share_school_staff",
                "share_family",
                "purpose_documents",
            ],
        },
        consent_day=-10,
        place="Ruang konseling, Kantor Pusat lantai 2",
        briefing="Pertemuan ini membahas dukungan bagi seorang karyawan yang sedang merawat "
        "anggota keluarga yang sakit. Konseli hadir dan menyetujui pertemuan ini.",
        start_hour=13,
        client_participation="throughout",
        rsvps=((0, "hadir", ""), (1, "hadir", ""), (2, "hadir", ""), (3, "hadir", "")),
        online_pledges=(0,),
        meeting_pledges=((1, "device"), (2, "paper"), (3, "device")),
        attendance=((0, "present"), (1, "present"), (2, "present"), (3, "present")),
        minutes={
            "shared_text": (
                "Pembukaan dan penstrukturan\n"
                "Konselor membuka pertemuan dan membacakan aturan kerahasiaan. Konseli hadir "
                "sepanjang pertemuan atas keinginannya sendiri.\n\n"
                "Gambaran keadaan\n"
                "Konseli merawat ayahnya pascastroke pada malam hari, bergantian dengan adiknya, "
                "dan tidur 4-5 jam semalam. Bulan ini konseli lima hari izin.\n\n"
                "Keterangan peserta\n"
                "- Supervisor: konseli dikenal teliti; kesalahan input baru terjadi bulan ini.\n"
                "- Staf HRD: tersedia cuti tahunan 7 hari dan kemungkinan kerja fleksibel dua "
                "hari seminggu.\n"
                "- Adik: bersedia mengambil giliran malam lebih banyak setelah anaknya selesai "
                "ujian.\n\n"
                "Kesepakatan sementara\n"
                "(sedang disusun)"
            ),
            "private_text": (
                "- Konseli menangis saat membahas kemungkinan ayah dirawat di panti; topik "
                "dihentikan dan dibicarakan di sesi konseling.\n"
                "- Adik tampak keberatan soal biaya fisioterapi: bahas dengan konseli saja.\n"
                "- Lengkapi: komitmen HRD, penilaian segera, jadwal tindak lanjut."
            ),
            "data_wanted": (
                "Pembagian perawatan di keluarga; beban kerja saat ini; fasilitas perusahaan "
                "yang tersedia."
            ),
        },
        promises=(
            Promise(
                0,
                "Mengatur ulang tugas input pembayaran menjadi pemeriksaan berpasangan selama "
                "satu bulan",
                due=5,
                check="Jadwal tugas bagian keuangan",
            ),
            Promise(
                2,
                "Mengambil giliran menjaga ayah pada malam Senin sampai Rabu",
                due=3,
                check="Ditanyakan konselor kepada konseli",
            ),
        ),
        link_for=0,
        link_label="supervisor, KKA sudah terlaksana: isi penilaian segera (laiseg)",
    )
    closed = Story(
        stage="closed",
        client={
            "full_name": "Syamsuddin Latif",
            "sex": "L",
            "birth_date": "1986-05-09",
            "employee_number": "NSL-0912",
            "group": "Gudang B",
        },
        bidang="pribadi",
        title="Kinerja menurun setelah masalah keluarga",
        intake_source="atasan",
        description="Kepala Gudang B melaporkan konseli sering absen, tampak murung, dan dua kali "
        "hampir menyenggol rak saat mengoperasikan forklift.",
        opened=-22,
        records=(
            Record(
                -20,
                "laporan_atasan",
                "Kepala Gudang B: dalam sebulan 4 hari absen, dua kali hampir menyenggol rak "
                "saat mengoperasikan forklift. Biasanya operator yang cermat; rekan-rekan "
                "menyebut konseli sedang ada masalah keluarga.",
            ),
            Record(
                -17,
                "wawancara",
                "Konseli bercerai tiga bulan lalu; dua anak (9 dan 6 tahun) tinggal bersamanya. "
                "Mengantar-jemput anak sambil bekerja sif bergilir, berutang pada pinjaman "
                "daring untuk biaya sekolah. Sulit tidur, sering terbangun pukul 02.00.",
            ),
            Record(
                -13,
                "instrumen",
                "Skrining DASS-21: skor kecemasan dan stres pada rentang berat, depresi sedang. "
                "Tidak ada pikiran menyakiti diri (ditanyakan langsung).",
            ),
        ),
        core_problem="Kinerja dan keselamatan kerja menurun karena tekanan setelah perceraian",
        aspects=(
            ("gejala", "Absen 4 hari sebulan dan dua kali hampir celaka saat bekerja"),
            ("penyebab", "Mengasuh dua anak sendirian sambil bekerja sif bergilir"),
            ("faktor", "Utang pinjaman daring dan sulit tidur"),
        ),
        people=(
            Person(
                "Ridwan Tahir",
                "Kepala Gudang B",
                "pemberi_kerja",
                disclosure="shared_minutes",
                email="ridwan.tahir@nsl.demo",
                contribution="Jadwal sif dan pendampingan di tempat kerja",
            ),
            Person(
                "Irawati Syam, S.Psi.",
                "Staf HRD",
                "staf_lembaga",
                disclosure="shared_minutes",
                email="irawati.syam@nsl.demo",
                contribution="Pinjaman koperasi, cuti, layanan psikolog mitra",
            ),
            Person(
                "Hj. Darmawati",
                "Kakak kandung",
                "keluarga",
                disclosure="shared_minutes",
                phone="081342778899",
                contribution="Membantu menjemput dan mengasuh anak-anak",
            ),
        ),
        consent={
            "giver": "konseli",
            "giver_name": "Syamsuddin Latif",
            "channel": "lisan",
            "purposes": [
                "purpose_hold_kka",
                "share_employer",
                "share_school_staff",
                "share_family",
                "share_professionals",
                "purpose_documents",
            ],
        },
        consent_day=-12,
        place="Ruang konseling, Kantor Pusat lantai 2",
        briefing="Pertemuan ini membahas dukungan bagi seorang karyawan yang sedang menghadapi "
        "perubahan besar dalam keluarganya. Pertemuan ini bukan penilaian kinerja.",
        start_hour=10,
        duration_minutes=80,
        rsvps=((0, "hadir", ""), (1, "hadir", ""), (2, "hadir", "Saya datang naik pete-pete.")),
        online_pledges=(2,),
        meeting_pledges=((0, "device"), (1, "paper")),
        attendance=((0, "present"), (1, "present"), (2, "present")),
        minutes={
            "shared_text": (
                "Pembukaan dan penstrukturan\n"
                "Konselor membuka pertemuan, menjelaskan tujuan (memahami keadaan konseli dan "
                "menyepakati dukungan dari tempat kerja dan keluarga) serta aturan kerahasiaan. "
                "Ditegaskan bahwa pertemuan ini bukan forum penilaian kinerja atau sanksi. Semua "
                "peserta telah menyatakan komitmen kerahasiaan. Konseli memilih tidak hadir dan "
                "menyetujui hal-hal yang dibahas.\n\n"
                "Gambaran kasus\n"
                "Konseli, operator forklift dengan catatan kerja yang baik selama delapan tahun, "
                "dalam sebulan terakhir empat hari absen dan dua kali hampir menyenggol rak. "
                "Konseli kini mengasuh dua anak sendirian dan mengalami sulit tidur.\n\n"
                "Keterangan peserta\n"
                "- Kepala Gudang B: konseli dikenal cermat dan suka membantu rekan baru; "
                "perubahan terlihat sejak tiga bulan lalu. Sif bergilir menyulitkan konseli "
                "mengantar-jemput anak.\n"
                "- Staf HRD: tersedia pinjaman koperasi karyawan berbunga rendah, sisa cuti "
                "tahunan 9 hari, dan layanan psikolog klinik mitra yang dibiayai perusahaan.\n"
                "- Kakak konseli: bersedia menjemput anak-anak; rumahnya dekat sekolah mereka.\n\n"
                "Kesepakatan\n"
                "Para pihak memahami bahwa menurunnya kinerja berkaitan dengan beban mengasuh "
                "anak dan tekanan keuangan, bukan kurangnya kemauan. Disepakati dukungan berupa "
                "sif pagi tetap, bantuan penjemputan anak, penjelasan fasilitas keuangan dari "
                "HRD, dan pendampingan psikologis. Komitmen setiap pihak tercatat pada daftar "
                "komitmen.\n\n"
                "Tindak lanjut\n"
                "Konseling individual mingguan; alih tangan ke psikolog klinik mitra dengan "
                "persetujuan konseli; konsultasi lanjutan dengan Kepala Gudang B; penilaian "
                "jangka pendek sekitar dua minggu lagi."
            ),
            "private_text": (
                "- Utang pinjaman daring sekitar Rp14 juta; konseli pernah ditagih melalui "
                "kontak rekan kerja. Tidak dibahas rinci di forum. Bantu susun rencana pelunasan "
                "dan jelaskan hak melapor penagihan yang tidak patut.\n"
                "- DASS-21: kecemasan dan stres berat. Tidak ada pikiran menyakiti diri saat "
                "ditanya langsung; tanyakan lagi setiap sesi.\n"
                "- Kepala Gudang bertanya apakah konseli sebaiknya dipindah dari forklift; "
                "dijawab bahwa keselamatan kerja mengikuti prosedur K3, bukan keputusan forum "
                "ini.\n"
                "- Kakak konseli cenderung menyalahkan mantan istri konseli; diarahkan kembali "
                "agar fokus pada anak-anak."
            ),
            "data_wanted": (
                "Penyebab menurunnya kinerja; dukungan yang dapat diberikan tempat kerja dan "
                "keluarga; fasilitas perusahaan yang tersedia."
            ),
            "data_obtained": (
                "Penyebab utama: mengasuh anak sendirian, sulit tidur, dan tekanan utang. "
                "Dukungan: sif pagi tetap, penjemputan anak oleh kakak, pinjaman koperasi, "
                "layanan psikolog mitra."
            ),
            "data_needs": "met",
            "conclusions": (
                "Konseli membutuhkan dukungan praktis (jadwal kerja dan pengasuhan anak) dan "
                "pendampingan psikologis. Kinerja diharapkan pulih bila beban berkurang."
            ),
            "directions": (
                "1. Stabilkan jadwal kerja dan pengasuhan anak.\n"
                "2. Kurangi tekanan keuangan melalui fasilitas koperasi.\n"
                "3. Alih tangan ke psikolog klinik mitra untuk kecemasan dan gangguan tidur.\n"
                "4. Konseling individual mingguan oleh konselor."
            ),
        },
        promises=(
            Promise(
                0,
                "Menempatkan konseli pada sif pagi tetap selama satu bulan dan bertemu singkat "
                "setiap Senin untuk menanyakan kendala",
                due=2,
                check="Jadwal sif; catatan pertemuan Senin",
                progress=(
                    Progress(
                        4,
                        "Jadwal sif pagi tetap sudah berlaku; pertemuan Senin pertama "
                        "berjalan sepuluh menit.",
                    ),
                ),
            ),
            Promise(
                1,
                "Menjelaskan kepada konseli program pinjaman koperasi karyawan dan hak cuti yang "
                "tersedia, secara tertulis",
                due=-2,
                check="Konseli menerima penjelasan tertulis dari HRD",
            ),
            Promise(
                2,
                "Menjemput kedua anak konseli sepulang sekolah pada hari kerja selama satu bulan",
                due=21,
                check="Ditanyakan konselor kepada konseli setiap minggu",
                progress=(
                    Progress(
                        3,
                        "Sudah berjalan sejak hari Senin; anak-anak saya jemput pukul 12.30 dan "
                        "makan siang di rumah saya.",
                        by_participant=True,
                    ),
                ),
            ),
            Promise(
                None,
                "Konseling individual setiap minggu dan mengurus alih tangan ke psikolog klinik "
                "mitra",
                due=4,
                check="Catatan sesi; surat alih tangan terkirim",
            ),
        ),
        laiseg=(
            Laiseg(
                2,
                {
                    "understanding": "Saya baru tahu kantor punya layanan psikolog dan pinjaman "
                    "koperasi untuk karyawan.",
                    "comfort": "Lega dan tenang, karena adik saya tidak disalahkan.",
                    "action": "Menjemput keponakan setiap hari kerja dan mengingatkan adik saya "
                    "datang ke psikolog.",
                },
                via_portal=True,
            ),
            Laiseg(
                0,
                {
                    "understanding": "Penurunan kinerja anggota regu saya ada penyebabnya dan "
                    "bisa dibantu dengan pengaturan sif.",
                    "comfort": "Awalnya canggung membicarakan urusan pribadi, akhirnya merasa "
                    "pertemuan ini bermanfaat.",
                    "action": "Mengatur sif pagi tetap dan bertemu singkat setiap Senin.",
                },
            ),
            Laiseg(
                1,
                {
                    "understanding": "Fasilitas perusahaan perlu dijelaskan lebih aktif kepada "
                    "karyawan yang sedang kesulitan.",
                    "comfort": "Nyaman; suasananya mendukung.",
                    "action": "Menyiapkan penjelasan tertulis tentang pinjaman koperasi dan cuti.",
                },
            ),
        ),
        process={
            "participation": "Ketiga peserta aktif; Kepala Gudang B banyak memberi gambaran "
            "positif tentang konseli.",
            "atmosphere": "Tenang dan saling menghargai; satu kali pembicaraan diarahkan kembali "
            "dari soal keselamatan kerja ke dukungan bagi konseli.",
            "adherence": "Sesuai rencana; berlangsung 80 menit dari 60 menit yang direncanakan.",
        },
        followups=(
            Next(
                "consultation",
                6,
                note="Konsultasi lanjutan dengan Kepala Gudang B tentang jadwal sif bulan depan.",
            ),
            Next(
                "referral",
                3,
                referral_to="psikolog",
                referral_to_name="Klinik Psikologi Mitra Sehati, Makassar",
                reason="Skor kecemasan dan stres berat pada skrining DASS-21 serta sulit tidur "
                "berkepanjangan; perlu asesmen dan penanganan psikologis.",
            ),
        ),
        link_for=2,
        link_label="kakak konseli, KKA selesai: baca notulen bersama, tambah kemajuan komitmennya",
    )
    quiet = Story(
        stage="quiet",
        client={
            "full_name": "Dewi Anggraini",
            "sex": "P",
            "birth_date": "1999-01-25",
            "employee_number": "NSL-4420",
            "group": "Layanan Pelanggan",
        },
        bidang="karir",
        title="Penyesuaian setelah mutasi ke kantor cabang",
        intake_source="sendiri",
        description="Konseli dimutasi ke kantor cabang dan merasa sulit menyesuaikan diri.",
        opened=-59,
        records=(
            Record(
                -58,
                "wawancara",
                "Konseli dimutasi dari kantor pusat ke cabang Maros; merasa jauh dari keluarga "
                "dan belum punya teman. Ingin membicarakan kemungkinan kembali ke kantor pusat "
                "setelah satu tahun.",
            ),
        ),
    )
    return planned, invited, held, closed, quiet


def build_school(organisation: Organisation, counsellor: User) -> list[tuple[str, str]]:
    today = Clock(organisation).today
    return build_organisation(organisation, counsellor, school_stories(today))


def build_company(organisation: Organisation, counsellor: User) -> list[tuple[str, str]]:
    today = Clock(organisation).today
    return build_organisation(organisation, counsellor, company_stories(today))
