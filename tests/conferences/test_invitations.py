"""Invitations: neutral wording, audit and disclosure, the calendar file, WhatsApp,
official letter numbers (also under concurrency) and the letter-number pattern.

The .ics is read back with ``vobject``, a parser independent of ``icalendar`` (which
writes it).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
import zoneinfo
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pytest
import vobject
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client as HttpClient
from django.utils import timezone, translation

from kka.accounts.models import Organisation, Role, User
from kka.audit.models import AuditEvent
from kka.audit.services import audit_verify
from kka.cases import selectors as case_selectors
from kka.cases import services as case_services
from kka.conferences import services
from kka.conferences.models import (
    ConferenceStatus,
    Disclosure,
    LetterCounter,
    LetterNumber,
    Participant,
)
from kka.documents.models import Document, DocumentAccess
from kka.lib.letters import ROMAN_MONTHS, BadPattern, check_pattern
from tests.conferences.test_planning import (
    ALL_PURPOSES,
    Planned,
    actions,
    add_participant,
    give_consent,
    local_moment,
    make_case,
    planned,
)
from tests.documents.util import pdf_text, qpdf_check, squash
from tests.personas import World, make_organisation, make_user, make_world

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/akun/lembaga/pengaturan/"
PORTAL_LINK = re.compile(r"/undangan/\?t=([A-Za-z0-9_\-]+)")
PHONE = "0812-3456 789"
INVITATION_MSGID = (
    "Dengan hormat, kami mengundang %(salutation)s untuk hadir dalam pertemuan "
    "terbatas guna %(purpose)s. Pertemuan ini bersifat rahasia. Mohon konfirmasi "
    "kehadiran melalui tautan pribadi yang kami kirimkan."
)


# --- helpers --------------------------------------------------------------------------------


def token_of(link: str) -> str:
    match = PORTAL_LINK.search(link)
    assert match, link
    return match.group(1)


def ics_text(message: Any) -> str:
    """The one .ics attachment of a mail, unfolded (RFC 5545 folds long lines)."""
    calendars = [a for a in message.attachments if a[0].endswith(".ics")]
    assert len(calendars) == 1
    _name, content, mimetype = calendars[0]
    assert mimetype.startswith("text/calendar")
    text = content.decode() if isinstance(content, bytes) else content
    return text.replace("\r\n ", "").replace("\n ", "")


def html_of(message: Any) -> str:
    htmls = [content for content, mimetype in message.alternatives if mimetype == "text/html"]
    assert len(htmls) == 1
    return str(htmls[0])


def letter_of(message: Any) -> bytes:
    """The one PDF attachment of a mail: the invitation letter."""
    letters = [a for a in message.attachments if a[0].endswith(".pdf")]
    assert len(letters) == 1
    _name, content, mimetype = letters[0]
    assert mimetype == "application/pdf"
    assert isinstance(content, bytes) and content.startswith(b"%PDF-")
    return content


def calendar_of(message: Any) -> Any:
    return vobject.readOne(ics_text(message))


def english(msgid: str) -> str | None:
    """The English catalogue's translation of ``msgid``, or None while it has none."""
    with translation.override("en"):
        text = translation.gettext(msgid)
    return None if text == msgid else text


def send(
    participant: Participant, channel: str, actor: User, capture: Any
) -> tuple[dict[str, str], Any]:
    """Send one invitation, running the after-commit mail; return the result and the mail."""
    before = len(mail.outbox)
    with capture(execute=True):
        result = services.invitation_send(actor=actor, participant=participant, channel=channel)
    new = mail.outbox[before:]
    assert len(new) == (1 if channel == "email" else 0)
    return result, (new[0] if new else None)


def local_today(organisation: Organisation) -> dt.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(organisation.time_zone)).date()


def expected_numbers(organisation: Organisation, seq: int, days: list[dt.date]) -> set[str]:
    return {f"{seq:03d}/BK/{ROMAN_MONTHS[d.month - 1]}/{d.year}" for d in days}


# --- neutral wording: canaries ------------------------------------------------------------


@dataclass
class Canaries:
    planned: Planned
    markers: dict[str, str]  # what must never reach an invitation


def canary_scene(world: World) -> Canaries:
    tag = uuid.uuid4().hex[:8].upper()
    names = [
        "surname",
        "title",
        "description",
        "record",
        "core",
        "aspect",
        "contribution",
        "consent_note",
        "topic",
        "subject",
        "summary",
        "briefing",
        "aim",
        "expected",
        "materials",
        "use",
        "evaluation",
        "related",
        "special",
    ]
    m = {name: f"Knr{name.replace('_', '').capitalize()}{tag}" for name in names}
    owner = world.counsellor
    full_name = f"Ani {m['surname']}"
    case = make_case(
        owner,
        world.org,
        full_name=full_name,
        title=f"Judul {m['title']}",
        description=f"Uraian {m['description']}",
        core_problem=f"Inti {m['core']}",
    )
    case_services.record_add(
        actor=owner,
        case=case,
        occurred_on=timezone.now().date(),
        source="wawancara",
        content=f"Catatan {m['record']}",
        may_bring_to_kka=True,
    )
    case_services.aspect_add(actor=owner, case=case, kind="gejala", text=f"Gejala {m['aspect']}")
    case_services.resource_add(
        actor=owner,
        case=case,
        name="Ibu Rina",
        role="wali kelas",
        category="staf_lembaga",
        contribution=f"Bantuan {m['contribution']}",
    )
    consent = case_services.consent_record(
        actor=owner,
        client=case.client,
        giver="orang_tua",
        giver_name="Budi Santoso",
        channel="lisan",
        purposes=ALL_PURPOSES,
        note=f"Catatan {m['consent_note']}",
    )
    draft = services.conference_create(actor=owner, case=case)
    starts = local_moment(world.org, days=9, hour=10)
    services.conference_update_plan(
        actor=owner,
        conference=draft,
        records=list(case.records.all()),
        topic=f"Topik {m['topic']}",
        subject=f"Subjek {m['subject']}",
        summary=f"Ringkas {m['summary']}",
        briefing=f"Briefing {m['briefing']}",
        aim=f"Tujuan {m['aim']}",
        expected_results=f"Hasil {m['expected']}",
        materials_note=f"Bahan {m['materials']}",
        use_of_results=f"Guna {m['use']}",
        evaluation_plan=f"Nilai {m['evaluation']}",
        related_activities=f"Kait {m['related']}",
        special_notes=f"Khusus {m['special']}",
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
        place="Ruang BK lantai 2",
    )
    conference = services.conference_set_status(
        actor=owner, conference=draft, status=ConferenceStatus.PLANNED
    )
    assert case_selectors.current_consent(case.client) == consent
    markers = {**m, "client_full_name": full_name}
    # The conference and the case really do carry the markers (so their absence means something).
    conference.refresh_from_db()
    assert m["briefing"] in conference.briefing
    assert m["surname"] in case.client.full_name
    return Canaries(Planned(world, owner, case, case.client, conference), markers)


def assert_clean(where: str, text: str, markers: dict[str, str]) -> None:
    folded = text.casefold()
    leaked = [name for name, value in markers.items() if value.casefold() in folded]
    assert leaked == [], f"{leaked} reached the {where}"


PARTICIPANTS = {
    "keluarga": {"full_name": "Bapak Budi Santoso", "role": "ayah"},
    "staf_lembaga": {"full_name": "Ibu Rina, S.Pd.", "role": "wali kelas"},
    "profesional": {"full_name": "Sinta Dewi", "role": "psikolog", "institution": "Puskesmas"},
    "konseli": {"full_name": "Ani", "role": "konseli"},
}


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("category", list(PARTICIPANTS))
def test_invitations_never_carry_case_content(
    world: World, django_capture_on_commit_callbacks: Any, category: str, language: str
) -> None:
    scene = canary_scene(world)
    p, markers = scene.planned, scene.markers
    participant = add_participant(
        p.owner,
        p.conference,
        category=category,
        email=f"{category}@contoh.test",
        phone=PHONE,
        language=language,
        **PARTICIPANTS[category],
    )
    assert_clean("default invitation text", participant.invitation_text, markers)

    _result, message = send(participant, "email", p.owner, django_capture_on_commit_callbacks)
    whatsapp, _none = send(participant, "whatsapp", p.owner, django_capture_on_commit_callbacks)
    letter, _none = send(participant, "letter", p.owner, django_capture_on_commit_callbacks)

    assert message.to == [f"{category}@contoh.test"]
    assert_clean("email subject", message.subject, markers)
    assert_clean("email body", message.body, markers)
    assert_clean("email HTML", html_of(message), markers)
    assert_clean("email headers", str(message.extra_headers), markers)
    assert_clean(".ics", ics_text(message), markers)
    letter_text = pdf_text(letter_of(message))
    assert_clean("letter PDF", letter_text, markers)
    assert_clean("letter PDF (unwrapped)", squash(letter_text), markers)
    url = whatsapp["whatsapp"]
    assert url.startswith("https://wa.me/628123456789?text=")
    assert_clean("WhatsApp link", unquote(url), markers)
    assert_clean("letter result", " ".join(letter.values()), markers)
    # What the invitation does say: when, where, the number and the private link.
    assert "Ruang BK lantai 2" in message.body
    assert participant.conference.case.organisation.name in message.body
    assert token_of(message.body)
    assert "Ruang BK lantai 2" in unquote(url)
    assert letter["number"] in unquote(url)
    # The attached letter: its number, the place, the organisation; always Indonesian.
    assert letter["number"] in letter_text
    assert "Ruang BK lantai 2" in letter_text
    assert "Undangan pertemuan" in letter_text
    assert world.org.name.upper() in letter_text

    assert_language(message, language, world.org.name)


def assert_language(message: Any, language: str, org: str) -> None:
    """Indonesian mail for "id"; English for "en" wherever the catalogue has the string."""
    summary = event_of(calendar_of(message)).summary.value
    if language == "id":
        assert message.subject == f"Undangan pertemuan — {org}"
        assert "Waktu: " in message.body
        assert message.body.startswith("Dengan hormat")
        assert summary == f"Pertemuan terbatas di {org}"
        return
    subject_en = english("Undangan pertemuan — %(org)s")
    if subject_en is not None:
        assert message.subject == subject_en % {"org": org}
    time_en = english("Waktu")
    if time_en is not None:
        assert f"{time_en}: " in message.body
        assert "Waktu: " not in message.body
    summary_en = english("Pertemuan terbatas di %(org)s")
    if summary_en is not None:
        assert summary == summary_en % {"org": org}
    if english(INVITATION_MSGID) is not None:
        assert not message.body.startswith("Dengan hormat")


def test_updates_and_cancellations_carry_no_case_content(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    scene = canary_scene(world)
    p, markers = scene.planned, scene.markers
    participant = add_participant(p.owner, p.conference, category="keluarga")
    send(participant, "email", p.owner, django_capture_on_commit_callbacks)
    starts = local_moment(world.org, days=12, hour=13)

    with django_capture_on_commit_callbacks(execute=True):
        services.conference_update_plan(
            actor=p.owner,
            conference=p.conference,
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=1),
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.conference_set_status(actor=p.owner, conference=p.conference, status="cancelled")

    assert len(mail.outbox) == 3
    for message in mail.outbox[1:]:
        for where, text in (
            ("subject", message.subject),
            ("body", message.body),
            ("HTML", html_of(message)),
            (".ics", ics_text(message)),
        ):
            assert_clean(where, text, markers)


# --- audit, disclosure and the private link -------------------------------------------------


def test_every_invitation_is_audited_and_disclosed_under_the_consent_in_force(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    p = planned(world)
    first_consent = case_selectors.current_consent(p.client)
    participant = add_participant(p.owner, p.conference, category="keluarga")

    for channel in ("email", "whatsapp", "letter"):
        send(participant, channel, p.owner, django_capture_on_commit_callbacks)

    sent = actions("invitation.sent")
    assert [row.refs for row in sent] == [
        {"conference": p.conference.code, "channel": channel}
        for channel in ("email", "whatsapp", "letter")
    ]
    assert {row.object_ref for row in sent} == {participant.code}
    assert {row.actor_id for row in sent} == {p.owner.pk}
    disclosures = list(Disclosure.objects.filter(participant=participant).order_by("id"))
    assert [d.kind for d in disclosures] == [
        "invitation_email",
        "document_undangan",  # the letter attached to the mail
        "invitation_whatsapp",
        "invitation_letter",
    ]
    assert {d.consent_id for d in disclosures} == {first_consent.pk}
    assert {d.actor_id for d in disclosures} == {p.owner.pk}

    newer = give_consent(p.owner, p.client, ["purpose_hold_kka", "share_family"])
    send(participant, "letter", p.owner, django_capture_on_commit_callbacks)

    assert Disclosure.objects.filter(participant=participant).latest("id").consent == newer
    assert len(actions("invitation.sent")) == 4


def test_the_private_link_in_the_mail_opens_the_portal(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    p = planned(world)
    participant = add_participant(p.owner, p.conference)
    _result, message = send(participant, "email", p.owner, django_capture_on_commit_callbacks)
    token = token_of(message.body)
    assert token_of(html_of(message)) == token
    visitor = HttpClient()

    response = visitor.get(f"/undangan/?t={token}")

    assert response.status_code == 302
    assert response["Location"] == "/undangan/"
    participant.refresh_from_db()
    assert participant.first_opened_at is not None
    assert AuditEvent.objects.get(action="portal.opened").object_ref == participant.code
    assert visitor.get("/undangan/").status_code == 200
    assert HttpClient().get(f"/undangan/?t={token[:-2]}xx").status_code == 404


def test_the_mail_carries_the_finalised_letter_and_a_resend_carries_the_same_one(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    p = planned(world)
    participant = add_participant(p.owner, p.conference, email="ayah@contoh.test")

    result, first = send(participant, "email", p.owner, django_capture_on_commit_callbacks)
    _result, again = send(participant, "email", p.owner, django_capture_on_commit_callbacks)

    letter = letter_of(first)
    qpdf_check(letter)
    text = pdf_text(letter)
    assert result["number"] in text
    assert "Ruang BK" in text
    assert letter_of(again) == letter  # served from storage, not produced again
    assert [a[0].rsplit(".", 1)[1] for a in first.attachments] == ["pdf", "ics"]
    document = Document.objects.get(kind="undangan", participant=participant)
    assert document.finalised_at is not None
    assert (document.number, document.format) == (result["number"], "pdf")
    assert document.letter_number == LetterNumber.objects.get(participant=participant)
    accesses = DocumentAccess.objects.filter(document=document)
    assert [(a.channel, a.user_id, a.participant_id) for a in accesses] == [
        ("email", p.owner.pk, participant.pk)
    ] * 2
    produced = actions("document.produced")
    assert [row.object_ref for row in produced] == [document.code]
    assert produced[0].actor_id == p.owner.pk
    assert produced[0].refs["number"] == result["number"]
    assert LetterNumber.objects.filter(participant=participant).count() == 1


def test_after_a_reschedule_a_resend_carries_a_new_letter_with_the_new_place(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    p = planned(world)
    participant = add_participant(p.owner, p.conference, email="ayah@contoh.test")
    result, first = send(participant, "email", p.owner, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.conference_update_plan(
            actor=p.owner, conference=p.conference, place="Ruang Kepala Sekolah"
        )
    participant.refresh_from_db()
    _result, again = send(participant, "email", p.owner, django_capture_on_commit_callbacks)
    old, new = pdf_text(letter_of(first)), pdf_text(letter_of(again))
    assert "Ruang BK" in old and "Ruang Kepala Sekolah" not in old
    assert "Ruang Kepala Sekolah" in new
    assert result["number"] in new  # the participant keeps their number
    documents = Document.objects.filter(kind="undangan", participant=participant)
    assert documents.count() == 2 and all(d.finalised_at for d in documents)
    assert LetterNumber.objects.filter(participant=participant).count() == 1


def test_sending_marks_the_conference_invited(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    p = planned(world)
    participant = add_participant(p.owner, p.conference)

    send(participant, "letter", p.owner, django_capture_on_commit_callbacks)

    p.conference.refresh_from_db()
    participant.refresh_from_db()
    assert p.conference.status == ConferenceStatus.INVITED
    assert participant.invited_at is not None


def test_a_draft_conference_sends_nothing(world: World) -> None:
    p = planned(world, status=ConferenceStatus.DRAFT)
    participant = add_participant(p.owner, p.conference)

    with pytest.raises(ValidationError):
        services.invitation_send(actor=p.owner, participant=participant, channel="letter")

    assert not LetterNumber.objects.exists()
    assert actions("invitation.sent") == []


def test_a_channel_needs_its_address(world: World) -> None:
    p = planned(world)
    participant = add_participant(p.owner, p.conference, email="", phone="")

    for channel in ("email", "whatsapp"):
        with pytest.raises(ValidationError):
            services.invitation_send(actor=p.owner, participant=participant, channel=channel)

    assert not LetterNumber.objects.exists()


# --- the calendar file ---------------------------------------------------------------------


def makassar_conference() -> tuple[Planned, dt.datetime]:
    world = make_world()
    organisation = make_organisation(time_zone="Asia/Makassar", email="bk@sekolah-wita.test")
    owner = make_user(organisation=organisation, role=Role.KONSELOR)
    world.org, world.counsellor = organisation, owner
    case = make_case(owner, organisation)
    give_consent(owner, case.client)
    conference = services.conference_create(actor=owner, case=case)
    starts = local_moment(organisation, days=10, hour=9, minute=30)
    conference = services.conference_update_plan(
        actor=owner,
        conference=conference,
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=2),
        place="Ruang BK",
    )
    conference = services.conference_set_status(
        actor=owner, conference=conference, status="planned"
    )
    return Planned(world, owner, case, case.client, conference), starts


def event_of(calendar: Any) -> Any:
    assert len(calendar.vevent_list) == 1
    return calendar.vevent


def test_the_ics_is_one_event_in_the_organisations_zone(
    django_capture_on_commit_callbacks: Any,
) -> None:
    p, starts = makassar_conference()
    first = add_participant(p.owner, p.conference, email="satu@contoh.test")
    second = add_participant(p.owner, p.conference, email="dua@contoh.test")

    _r, mail_one = send(first, "email", p.owner, django_capture_on_commit_callbacks)
    _r, mail_two = send(second, "email", p.owner, django_capture_on_commit_callbacks)
    _r, mail_again = send(first, "email", p.owner, django_capture_on_commit_callbacks)

    calendar = calendar_of(mail_one)
    assert calendar.method.value == "REQUEST"
    event = event_of(calendar)
    start = event.dtstart.value
    assert start.utcoffset() == dt.timedelta(hours=8)
    assert start.replace(tzinfo=None) == starts.replace(tzinfo=None)
    assert (start.hour, start.minute) == (9, 30)
    assert start == starts
    assert event.dtend.value == starts + dt.timedelta(hours=2)
    assert int(event.sequence.value) == 0
    assert p.conference.code in event.uid.value
    assert event.attendee.value == "mailto:satu@contoh.test"
    assert event.organizer.value == "mailto:bk@sekolah-wita.test"
    uids = {event_of(calendar_of(m)).uid.value for m in (mail_one, mail_two, mail_again)}
    assert uids == {event.uid.value}


def test_a_reschedule_sends_an_update_with_the_same_uid_and_a_higher_sequence(
    django_capture_on_commit_callbacks: Any,
) -> None:
    p, _starts = makassar_conference()
    invited = add_participant(p.owner, p.conference, email="hadir@contoh.test")
    removed = add_participant(p.owner, p.conference, email="keluar@contoh.test")
    add_participant(p.owner, p.conference, email="belum@contoh.test")  # never invited
    _r, original = send(invited, "email", p.owner, django_capture_on_commit_callbacks)
    send(removed, "email", p.owner, django_capture_on_commit_callbacks)
    services.participant_remove(actor=p.owner, participant=removed)
    uid = event_of(calendar_of(original)).uid.value

    # A change that is not about time or place sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        services.conference_update_plan(
            actor=p.owner, conference=p.conference, special_notes="Bawa rapor"
        )
    assert len(mail.outbox) == 2

    new_start = local_moment(p.conference.case.organisation, days=11, hour=14, minute=15)
    with django_capture_on_commit_callbacks(execute=True):
        services.conference_update_plan(
            actor=p.owner,
            conference=p.conference,
            starts_at=new_start,
            ends_at=new_start + dt.timedelta(hours=1),
        )

    updates = mail.outbox[2:]
    assert [m.to for m in updates] == [["hadir@contoh.test"]]
    calendar = calendar_of(updates[0])
    assert calendar.method.value == "REQUEST"
    event = event_of(calendar)
    assert event.uid.value == uid
    assert int(event.sequence.value) == 1
    assert event.dtstart.value == new_start
    assert event.dtstart.value.utcoffset() == dt.timedelta(hours=8)
    assert (event.dtstart.value.hour, event.dtstart.value.minute) == (14, 15)
    assert "Perubahan jadwal" in updates[0].subject

    with django_capture_on_commit_callbacks(execute=True):
        services.conference_set_status(actor=p.owner, conference=p.conference, status="cancelled")

    cancels = mail.outbox[3:]
    assert [m.to for m in cancels] == [["hadir@contoh.test"]]
    calendar = calendar_of(cancels[0])
    assert calendar.method.value == "CANCEL"
    event = event_of(calendar)
    assert event.uid.value == uid
    assert int(event.sequence.value) > 1
    assert event.status.value == "CANCELLED"
    assert "dibatalkan" in cancels[0].subject


# --- WhatsApp -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("0812-3456 789", "628123456789"),
        ("+62 812 3456 789", "628123456789"),
        ("62812-3456-789", "628123456789"),
    ],
)
def test_whatsapp_numbers_are_international(phone: str, expected: str) -> None:
    assert services.whatsapp_number(phone) == expected


def test_the_whatsapp_link_carries_the_neutral_message(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    p = planned(world)
    participant = add_participant(p.owner, p.conference, phone=PHONE)

    result, _none = send(participant, "whatsapp", p.owner, django_capture_on_commit_callbacks)

    url = result["whatsapp"]
    assert url.startswith("https://wa.me/62")
    assert url.startswith("https://wa.me/628123456789?text=")
    text = unquote(url.split("?text=", 1)[1])
    assert " " not in url
    assert result["link"] in text
    participant.refresh_from_db()
    assert participant.invitation_text in text
    assert participant.letter_number in text


# --- letter numbers --------------------------------------------------------------------------


def issue(organisation: Organisation, actor: User) -> tuple[LetterNumber, set[str]]:
    """Issue one number; also return the numbers it may be (the day could turn meanwhile)."""
    before = local_today(organisation)
    number = services.letter_number_issue(actor=actor, organisation=organisation, kind="undangan")
    after = local_today(organisation)
    return number, expected_numbers(organisation, number.seq, [before, after])


def test_letter_numbers_follow_the_default_pattern(world: World) -> None:
    first, first_expected = issue(world.org, world.counsellor)
    second, second_expected = issue(world.org, world.counsellor)

    assert first.seq == 1
    assert first.number in first_expected
    assert re.fullmatch(r"001/BK/[IVX]+/\d{4}", first.number)
    assert second.number in second_expected
    assert second.number.startswith("002/BK/")
    assert (first.issued_by, first.kind) == (world.counsellor, "undangan")
    issued = actions("letter.number_issued")
    assert [row.object_ref for row in issued] == [
        f"{first.year}/1",
        f"{second.year}/2",
    ]


def test_letter_numbers_are_counted_per_organisation_and_year(world: World) -> None:
    year = local_today(world.org).year
    LetterCounter.objects.create(organisation=world.org, year=year - 1, last=57)

    a1, _e = issue(world.org, world.counsellor)
    a2, _e = issue(world.org, world.counsellor)
    b1, _e = issue(world.other_org, world.outsider)

    assert (a1.seq, a2.seq, b1.seq) == (1, 2, 1)
    assert b1.number.startswith("001/BK/")
    assert LetterCounter.objects.get(organisation=world.org, year=a1.year).last == 2
    assert LetterCounter.objects.get(organisation=world.org, year=year - 1).last == 57
    assert LetterCounter.objects.get(organisation=world.other_org, year=b1.year).last == 1


def test_an_organisations_own_pattern_is_used(world: World) -> None:
    Organisation.objects.filter(pk=world.org.pk).update(
        letter_number_pattern="{seq}/KKA/{month}/{year}"
    )
    world.org.refresh_from_db()
    day = local_today(world.org)

    number, _e = issue(world.org, world.counsellor)

    assert number.number in {f"1/KKA/{d.month}/{d.year}" for d in (day, local_today(world.org))}


def test_resending_keeps_the_participants_number(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    p = planned(world)
    first = add_participant(p.owner, p.conference)
    second = add_participant(p.owner, p.conference)

    numbers = [
        send(first, channel, p.owner, django_capture_on_commit_callbacks)[0]["number"]
        for channel in ("letter", "email", "whatsapp", "letter")
    ]
    other = send(second, "letter", p.owner, django_capture_on_commit_callbacks)[0]["number"]

    assert len(set(numbers)) == 1
    assert numbers[0].startswith("001/BK/")
    assert other.startswith("002/BK/")
    first.refresh_from_db()
    assert first.letter_number == numbers[0]
    assert LetterNumber.objects.filter(participant=first).count() == 1
    row = LetterNumber.objects.get(participant=second)
    assert (row.conference_id, row.kind, row.number) == (p.conference.pk, "undangan", other)


def run_together(count: int, work: Any) -> list[BaseException]:
    """Run ``work(i)`` in ``count`` threads released at once; return their errors."""
    start = threading.Barrier(count, timeout=60)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait()
            work(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_letter_numbers_have_no_gaps_and_no_duplicates() -> None:
    world = make_world()
    count = 20
    issued: list[LetterNumber] = []

    def work(_i: int) -> None:
        issued.append(
            services.letter_number_issue(
                actor=world.counsellor, organisation=world.org, kind="undangan"
            )
        )

    errors = run_together(count, work)

    assert errors == []
    assert sorted(n.seq for n in issued) == list(range(1, count + 1))
    assert len({n.number for n in issued}) == count
    stored = LetterNumber.objects.filter(organisation=world.org)
    assert sorted(stored.values_list("seq", flat=True)) == list(range(1, count + 1))
    assert len(set(stored.values_list("number", flat=True))) == count
    assert LetterCounter.objects.get(organisation=world.org).last == count
    assert audit_verify() == (AuditEvent.objects.count(), None)


@pytest.mark.django_db(transaction=True)
def test_concurrent_invitations_get_distinct_gapless_numbers() -> None:
    world = make_world()
    p = planned(world)
    count = 20
    people = [add_participant(p.owner, p.conference, category="staf_lembaga") for _ in range(count)]
    results: list[dict[str, str]] = []

    def work(i: int) -> None:
        results.append(
            services.invitation_send(actor=p.owner, participant=people[i], channel="letter")
        )

    errors = run_together(count, work)

    assert errors == []
    numbers = [r["number"] for r in results]
    assert len(set(numbers)) == count
    assert sorted(int(n.split("/", 1)[0]) for n in numbers) == list(range(1, count + 1))
    stored = {
        participant.pk: participant.letter_number
        for participant in Participant.objects.filter(conference=p.conference)
    }
    assert sorted(stored.values()) == sorted(numbers)
    assert sorted(
        LetterNumber.objects.filter(organisation=world.org).values_list("seq", flat=True)
    ) == list(range(1, count + 1))
    assert LetterCounter.objects.get(organisation=world.org).last == count
    assert len(actions("invitation.sent")) == count
    p.conference.refresh_from_db()
    assert p.conference.status == ConferenceStatus.INVITED
    assert audit_verify() == (AuditEvent.objects.count(), None)


# --- the letter-number pattern ----------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    ["{seq:03d}/BK/{roman_month}/{year}", "{seq}", "KKA-{year}-{month}-{seq:04d}"],
)
def test_good_patterns_are_accepted(pattern: str) -> None:
    check_pattern(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        "BK/{roman_month}/{year}",  # no {seq}
        "",
        "{seq}/{unit}/{year}",  # unknown field
        "{seq}/{0}",
        "{seq:03d}/{day}",
        "{seq",  # broken braces
        "{seq:xyz}",  # bad format spec
    ],
)
def test_bad_patterns_are_rejected(pattern: str) -> None:
    with pytest.raises(BadPattern):
        check_pattern(pattern)


def settings_form(organisation: Organisation, **changes: str) -> dict[str, str]:
    data = {
        "name": organisation.name,
        "setting": organisation.setting,
        "address": organisation.address,
        "city": organisation.city,
        "phone": organisation.phone,
        "email": organisation.email,
        "time_zone": organisation.time_zone,
        "head_title": organisation.head_title,
        "head_name": organisation.head_name,
        "head_staff_number": organisation.head_staff_number,
        "letter_number_pattern": organisation.letter_number_pattern,
        "structuring_text": organisation.structuring_text,
        "asas_variant": organisation.asas_variant,
        "evaluation_scheme": organisation.evaluation_scheme,
        "letterhead_upper": organisation.letterhead_upper,
        "website": organisation.website,
        "paper_size": organisation.paper_size,
        "plan_format": organisation.plan_format,
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("pattern", ["BK/{year}", "{seq}/{kode}"])
def test_the_settings_form_refuses_a_bad_pattern_in_indonesian(world: World, pattern: str) -> None:
    http = HttpClient()
    http.force_login(world.admin)

    response = http.post(SETTINGS_URL, settings_form(world.org, letter_number_pattern=pattern))

    assert response.status_code == 200
    errors = response.context["form"].errors["letter_number_pattern"]
    assert errors == [
        "Pola nomor surat tidak valid. Wajib memuat {seq}; tersedia {seq:03d}, {month}, "
        "{roman_month}, {year}."
    ]
    world.org.refresh_from_db()
    assert world.org.letter_number_pattern == "{seq:03d}/BK/{roman_month}/{year}"
    assert not AuditEvent.objects.filter(action="org.updated").exists()


def test_the_settings_form_accepts_a_good_pattern(world: World) -> None:
    http = HttpClient()
    http.force_login(world.admin)

    response = http.post(
        SETTINGS_URL, settings_form(world.org, letter_number_pattern="{seq:04d}/KKA/{year}")
    )

    assert response.status_code == 302
    world.org.refresh_from_db()
    assert world.org.letter_number_pattern == "{seq:04d}/KKA/{year}"
