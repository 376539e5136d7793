"""The participant's private link: what an invited person (no account) can do and see.

The token is long and random, stored only as a hash, exchanged once for a session and
never logged. A bad, revoked, expired or no-longer-consented link answers 404 and is
audited. The participant answers the invitation, takes the confidentiality pledge, and
only then (and only with "briefing" access) reads the counsellor's briefing. Nothing
else of the case ever reaches the portal.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import secrets
import uuid
import zoneinfo
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.test import Client as HttpClient
from django.utils import timezone, translation

from kka.accounts.models import Organisation, Role, User
from kka.audit.models import AuditEvent
from kka.cases import services as case_services
from kka.cases.models import Case, Client, Consent
from kka.conferences import services
from kka.conferences.models import Conference, ConferenceStatus, Disclosure, Participant, PortalLink
from kka.lib import dates
from tests.personas import make_organisation, make_user

pytestmark = pytest.mark.django_db

PORTAL = "/undangan/"
RSVP = "/undangan/kehadiran/"
PLEDGE = "/undangan/kerahasiaan/"
ZONE = "Asia/Jakarta"
STARTS = dt.datetime(2031, 3, 10, 9, 0, tzinfo=zoneinfo.ZoneInfo(ZONE))
PLACE = "Ruang BK lantai dua"
ALL_PURPOSES = [
    "purpose_hold_kka",
    "share_school_staff",
    "share_family",
    "share_employer",
    "share_community",
    "share_professionals",
    "purpose_documents",
]


def marker(what: str) -> str:
    return f"RAHASIA{what.upper()}{uuid.uuid4().hex[:8].upper()}"


@dataclass
class Setup:
    org: Organisation
    counsellor: User
    client: Client
    case: Case
    consent: Consent
    conference: Conference
    parent: Participant
    parent_token: str
    expert: Participant
    expert_token: str
    briefing: str
    # Case content that no participant may ever see, by where it was written.
    secrets: dict[str, str] = field(default_factory=dict)


def _token(link: str) -> str:
    assert "?t=" in link
    return link.split("?t=", 1)[1]


@pytest.fixture
def kka(db: None) -> Setup:
    org = make_organisation(name="SMP Negeri 9 Harapan", time_zone=ZONE)
    counsellor = make_user(organisation=org, role=Role.KONSELOR, full_name="Bu Wati")
    hidden = {
        name: marker(name)
        for name in [
            "nama",
            "judul",
            "deskripsi",
            "catatan",
            "intimasalah",
            "aspek",
            "sumber",
            "topik",
            "tujuan",
            "hasil",
            "subjek",
            "gambaran",
            "bahan",
            "penggunaan",
            "penilaian",
            "keterkaitan",
            "khusus",
        ]
    }
    today = timezone.localdate()
    client = case_services.client_create(
        actor=counsellor,
        organisation=org,
        full_name=f"Dimas {hidden['nama']} Putra",
        birth_date=dt.date(today.year - 13, 1, 15).isoformat(),
        guardians=[
            {"full_name": "Siti Rahmawati", "relationship": "ibu", "email": "siti@keluarga.test"}
        ],
    )
    case = case_services.case_open(
        actor=counsellor,
        client=client,
        bidang="belajar",
        title=f"Prestasi menurun {hidden['judul']}",
        intake_source="guru",
        description=f"Gambaran {hidden['deskripsi']}",
    )
    record = case_services.record_add(
        actor=counsellor,
        case=case,
        occurred_on=today,
        source="wawancara",
        content=f"Isi wawancara {hidden['catatan']}",
        may_bring_to_kka=True,
    )
    case_services.problem_map_set_core(
        actor=counsellor, case=case, core_problem=f"Inti {hidden['intimasalah']}"
    )
    case_services.aspect_add(
        actor=counsellor, case=case, kind="penyebab", text=f"Sebab {hidden['aspek']}"
    )
    case_services.resource_add(
        actor=counsellor,
        case=case,
        name=f"Sumber {hidden['sumber']}",
        role="wali kelas",
        category="staf_lembaga",
    )
    consent = case_services.consent_record(
        actor=counsellor,
        client=client,
        giver="orang_tua",
        giver_name="Siti Rahmawati",
        giver_relationship="ibu kandung",
        channel="lisan",
        purposes=ALL_PURPOSES,
    )
    conference = services.conference_create(actor=counsellor, case=case)
    briefing = marker("ringkasan")
    services.conference_update_plan(
        actor=counsellor,
        conference=conference,
        records=[record],
        topic=f"Topik {hidden['topik']}",
        aim=f"Tujuan {hidden['tujuan']}",
        expected_results=f"Hasil {hidden['hasil']}",
        subject=f"Subjek {hidden['subjek']}",
        summary=f"Ringkas {hidden['gambaran']}",
        materials_note=f"Bahan {hidden['bahan']}",
        use_of_results=f"Guna {hidden['penggunaan']}",
        evaluation_plan=f"Nilai {hidden['penilaian']}",
        related_activities=f"Kait {hidden['keterkaitan']}",
        special_notes=f"Khusus {hidden['khusus']}",
        place=PLACE,
        starts_at=STARTS,
        ends_at=STARTS + dt.timedelta(hours=2),
        briefing=f"Mohon perhatikan: {briefing}",
    )
    conference = services.conference_set_status(
        actor=counsellor, conference=conference, status=ConferenceStatus.PLANNED
    )
    parent = services.participant_add(
        actor=counsellor,
        conference=conference,
        full_name="Siti Rahmawati",
        role="Ibu",
        category="keluarga",
        email="siti@keluarga.test",
        disclosure="briefing",
    )
    expert = services.participant_add(
        actor=counsellor,
        conference=conference,
        full_name="Dr. Hendra Gunawan",
        role="Psikolog",
        category="profesional",
        institution="Biro Psikologi Cerah",
        email="hendra@psikolog.test",
        disclosure="invitation",
    )
    parent_link = services.invitation_send(actor=counsellor, participant=parent, channel="letter")
    expert_link = services.invitation_send(actor=counsellor, participant=expert, channel="letter")
    conference.refresh_from_db()
    parent.refresh_from_db()
    expert.refresh_from_db()
    return Setup(
        org=org,
        counsellor=counsellor,
        client=client,
        case=case,
        consent=consent,
        conference=conference,
        parent=parent,
        parent_token=_token(parent_link["link"]),
        expert=expert,
        expert_token=_token(expert_link["link"]),
        briefing=briefing,
        secrets=hidden,
    )


class Browser:
    """A participant's browser: a test client that keeps every response it received."""

    def __init__(self, **defaults: Any) -> None:
        self.http = HttpClient(**defaults)
        self.responses: list[Any] = []

    def get(self, path: str, **kwargs: Any) -> Any:
        response = self.http.get(path, **kwargs)
        self.responses.append(response)
        return response

    def post(self, path: str, data: dict[str, Any], **kwargs: Any) -> Any:
        response = self.http.post(path, data, **kwargs)
        self.responses.append(response)
        return response

    def enter(self, token: str) -> Any:
        response = self.get(PORTAL, data={"t": token})
        assert response.status_code == 302
        return response

    def everything(self) -> str:
        """All bodies and headers received so far, as one text."""
        parts = []
        for response in self.responses:
            parts.append(response.content.decode("utf-8", "replace"))
            parts.extend(f"{k}: {v}" for k, v in response.items())
        return "\n".join(parts)


def denied_count() -> int:
    return AuditEvent.objects.filter(action="portal.denied", outcome="denied").count()


def audits(action: str, participant: Participant) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, object_ref=participant.code))


# --- tokens -----------------------------------------------------------------------------


def test_token_has_256_random_bits_and_only_its_hash_is_stored(kka: Setup) -> None:
    token = services.portal_link_create(participant=kka.parent)
    assert len(token) >= 43
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert len(raw) >= 32  # >= 256 bits from the CSPRNG (128 required)
    assert token != services.portal_link_create(participant=kka.parent)

    link = PortalLink.objects.get(token_hash=hashlib.sha256(token.encode()).hexdigest())
    assert link.participant == kka.parent
    assert len(link.token_hash) == 64

    # The token itself is in no column of the link table (nor anywhere else in the DB).
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(PortalLink._meta.db_table)}")
        rows = cursor.fetchall()
        assert rows
        assert not [row for row in rows if any(token in str(value) for value in row)]
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                for value in row:
                    text = (
                        bytes(value).decode("latin-1")
                        if isinstance(value, bytes | memoryview)
                        else str(value)
                    )
                    assert token not in text, table
                    assert kka.parent_token not in text, table


# --- exchanging the token for a session --------------------------------------------------


def test_token_is_exchanged_for_a_new_session_and_leaves_the_address(kka: Setup) -> None:
    visitor = Browser()
    # A session that existed before (e.g. planted by someone else) must not be reused.
    planted = visitor.http.session
    planted["seen"] = True
    planted.save()
    old_key = planted.session_key

    response = visitor.get(PORTAL, data={"t": kka.parent_token})
    assert response.status_code == 302
    assert response["Location"] == PORTAL
    assert "no-store" in response["Cache-Control"]
    new_key = visitor.http.cookies[settings.SESSION_COOKIE_NAME].value
    assert new_key != old_key
    assert not Session.objects.filter(session_key=old_key).exists()

    page = visitor.get(PORTAL)
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    body = page.content.decode()
    with translation.override("id"):
        when = dates.long_datetime(STARTS, ZONE)
    assert when in body
    assert "pukul 09.00 WIB" in body
    assert PLACE in body
    assert kka.parent.letter_number in body
    assert "Siti Rahmawati" in body
    assert "Pertemuan ini bersifat rahasia" in body  # the neutral invitation text
    assert kka.parent_token not in visitor.everything()

    kka.parent.refresh_from_db()
    assert kka.parent.first_opened_at is not None
    assert len(audits("portal.opened", kka.parent)) == 1


def test_without_a_session_the_portal_is_not_found(kka: Setup) -> None:
    visitor = Browser()
    assert visitor.get(PORTAL).status_code == 404
    assert visitor.post(RSVP, {"answer": "hadir"}).status_code == 404
    assert visitor.post(PLEDGE, {"typed_name": "Siti", "agreed": "on"}).status_code == 404


def test_token_is_never_logged(kka: Setup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("django", "django.request", "django.server", "django.security", "kka"):
        caplog.set_level(logging.DEBUG, logger=name)
    visitor = Browser()
    visitor.enter(kka.parent_token)
    visitor.get(PORTAL)
    visitor.post(RSVP, {"answer": "hadir", "note": "Saya datang"})
    visitor.post(PLEDGE, {"typed_name": "Siti Rahmawati", "agreed": "on"})
    visitor.get(PORTAL)
    unknown = secrets.token_urlsafe(32)
    assert Browser().get(PORTAL, data={"t": unknown}).status_code == 404
    services.portal_links_revoke(actor=kka.counsellor, participant=kka.expert)
    assert Browser().get(PORTAL, data={"t": kka.expert_token}).status_code == 404

    assert caplog.records  # something was logged (the 404s at least), so the check has teeth
    for token in (kka.parent_token, kka.expert_token, unknown):
        assert token not in caplog.text
        for record in caplog.records:
            assert token not in record.getMessage()
            assert token not in repr(record.args)


def test_access_log_records_the_path_without_the_query_string(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gunicorn.app.base import BaseApplication
    from gunicorn.glogging import Logger

    import kka.web.management.commands.run as run_command

    started: list[Any] = []
    monkeypatch.setattr(BaseApplication, "run", lambda self: started.append(self))
    call_command(run_command.Command(), "--no-collectstatic", "--bind", "127.0.0.1:0")
    assert len(started) == 1
    cfg = started[0].cfg
    fmt = cfg.access_log_format
    assert "%(U)s" in fmt
    for leaky in ("%(r)s", "%(q)s", "%(f)s", "{query_string}e", "{raw_uri}e", "{referer}i"):
        assert leaky not in fmt, leaky

    # And rendered the way gunicorn renders it, the token is nowhere in the line.
    token = secrets.token_urlsafe(32)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/undangan/?t={token}",
        "PATH_INFO": "/undangan/",
        "QUERY_STRING": f"t={token}",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": f"https://kka.test/undangan/?t={token}",
    }
    logger = Logger(cfg)
    try:
        response = SimpleNamespace(status="302 Found", sent=0, headers=[("Location", PORTAL)])
        request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
        atoms = logger.atoms_wrapper_class(
            logger.atoms(response, request, environ, dt.timedelta(milliseconds=12))
        )
        line = fmt % atoms
    finally:
        for log in (logger.error_log, logger.access_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
    assert '"GET /undangan/"' in line
    assert token not in line
    assert "t=" not in line


# --- refused links -----------------------------------------------------------------------


def _unknown(kka: Setup) -> str:
    return secrets.token_urlsafe(32)


def _revoked(kka: Setup) -> str:
    services.portal_links_revoke(actor=kka.counsellor, participant=kka.parent)
    return kka.parent_token


def _cancelled(kka: Setup) -> str:
    services.conference_set_status(
        actor=kka.counsellor, conference=kka.conference, status=ConferenceStatus.CANCELLED
    )
    return kka.parent_token


def _closed_long_ago(kka: Setup) -> str:
    Conference.objects.filter(pk=kka.conference.pk).update(
        status=ConferenceStatus.CLOSED,
        updated_at=timezone.now() - services.PORTAL_GRACE - dt.timedelta(days=1),
    )
    return kka.parent_token


def _removed(kka: Setup) -> str:
    services.participant_remove(actor=kka.counsellor, participant=kka.parent)
    assert Participant.objects.get(pk=kka.parent.pk).removed_at is not None  # kept, invited
    return kka.parent_token


def _consent_withdrawn(kka: Setup) -> str:
    case_services.consent_withdraw(actor=kka.counsellor, consent=kka.consent)
    return kka.parent_token


REFUSALS = {
    "unknown": _unknown,
    "revoked": _revoked,
    "cancelled": _cancelled,
    "closed_past_grace": _closed_long_ago,
    "removed": _removed,
    "consent_withdrawn": _consent_withdrawn,
}


@pytest.mark.parametrize("reason", list(REFUSALS))
def test_bad_links_are_not_found_and_audited(kka: Setup, reason: str) -> None:
    token = REFUSALS[reason](kka)
    before = denied_count()
    visitor = Browser()
    response = visitor.get(PORTAL, data={"t": token})
    assert response.status_code == 404
    assert denied_count() == before + 1
    # The refusal says nothing about the invitation or the person.
    body = response.content.decode()
    for text in ("Siti Rahmawati", PLACE, kka.parent.letter_number, kka.org.name):
        assert text not in body
    # No session was handed out: the portal itself stays closed.
    assert visitor.get(PORTAL).status_code == 404
    kka.parent.refresh_from_db()
    if reason != "unknown":
        assert kka.parent.first_opened_at is None


def test_closed_conference_link_works_during_the_grace_period(kka: Setup) -> None:
    Conference.objects.filter(pk=kka.conference.pk).update(
        status=ConferenceStatus.CLOSED,
        updated_at=timezone.now() - services.PORTAL_GRACE + dt.timedelta(days=1),
    )
    visitor = Browser()
    visitor.enter(kka.parent_token)
    assert visitor.get(PORTAL).status_code == 200


def test_closed_conference_link_serves_open_commitments_past_the_grace_period(
    kka: Setup,
) -> None:
    """A parent still reports on an open commitment months after the KKA closed; once
    it is done, the link closes like any other after the grace period."""
    from kka.conferences import followup

    commitment = followup.commitment_add(
        actor=kka.counsellor, conference=kka.conference, participant=kka.parent, what="Mengantar"
    )
    _closed_long_ago(kka)
    visitor = Browser()
    visitor.enter(kka.parent_token)
    assert visitor.get(PORTAL).status_code == 200
    followup.commitment_set_status(actor=kka.counsellor, commitment=commitment, status="done")
    assert visitor.get(PORTAL).status_code == 404


def _revoke_parent(kka: Setup) -> None:
    services.portal_links_revoke(actor=kka.counsellor, participant=kka.parent)


def _withdraw(kka: Setup) -> None:
    case_services.consent_withdraw(actor=kka.counsellor, consent=kka.consent)


@pytest.mark.parametrize("cut", [_revoke_parent, _withdraw], ids=["revoked", "withdrawn"])
def test_an_open_session_is_cut_on_the_next_request(kka: Setup, cut: Any) -> None:
    visitor = Browser()
    visitor.enter(kka.parent_token)
    assert visitor.get(PORTAL).status_code == 200
    cut(kka)
    before = denied_count()
    assert visitor.get(PORTAL).status_code == 404
    assert denied_count() == before + 1
    # The answer and the pledge are refused too, and change nothing.
    assert visitor.post(RSVP, {"answer": "hadir"}).status_code == 404
    assert visitor.post(PLEDGE, {"typed_name": "Siti R", "agreed": "on"}).status_code == 404
    kka.parent.refresh_from_db()
    assert kka.parent.rsvp == "pending"
    assert kka.parent.pledged_at is None


# --- answering the invitation ------------------------------------------------------------


@pytest.mark.parametrize("answer", ["hadir", "tidak_hadir", "diwakilkan"])
def test_rsvp_is_stored_and_audited(kka: Setup, answer: str) -> None:
    visitor = Browser()
    visitor.enter(kka.parent_token)
    response = visitor.post(RSVP, {"answer": answer, "note": "  Saya usahakan datang  "})
    assert response.status_code == 302
    assert response["Location"] == PORTAL
    kka.parent.refresh_from_db()
    assert kka.parent.rsvp == answer
    assert kka.parent.rsvp_note == "Saya usahakan datang"
    assert kka.parent.rsvp_at is not None
    rows = audits("portal.rsvp", kka.parent)
    assert len(rows) == 1
    assert rows[0].refs["answer"] == answer
    assert "Saya usahakan" not in str(rows[0].refs)
    page = visitor.get(PORTAL).content.decode()
    assert "Terima kasih, jawaban Anda tersimpan." in page


@pytest.mark.parametrize("data", [{"answer": "mungkin"}, {"answer": ""}, {"note": "tanpa jawaban"}])
def test_an_invalid_rsvp_changes_nothing(kka: Setup, data: dict[str, str]) -> None:
    visitor = Browser()
    visitor.enter(kka.parent_token)
    assert visitor.post(RSVP, data).status_code == 302
    kka.parent.refresh_from_db()
    assert kka.parent.rsvp == "pending"
    assert kka.parent.rsvp_at is None
    assert kka.parent.rsvp_note == ""
    assert audits("portal.rsvp", kka.parent) == []
    assert "Pilih jawaban kehadiran." in visitor.get(PORTAL).content.decode()


# --- the confidentiality pledge ----------------------------------------------------------


def test_pledge_records_name_address_and_channel(kka: Setup) -> None:
    visitor = Browser(REMOTE_ADDR="203.0.113.7")
    visitor.enter(kka.parent_token)
    response = visitor.post(PLEDGE, {"typed_name": "  Siti   Rahmawati ", "agreed": "on"})
    assert response.status_code == 302
    kka.parent.refresh_from_db()
    assert kka.parent.pledged_at is not None
    assert kka.parent.pledge_name == "Siti Rahmawati"
    assert kka.parent.pledge_ip == "203.0.113.7"
    assert kka.parent.pledge_channel == "online"
    rows = audits("pledge.taken", kka.parent)
    assert len(rows) == 1
    assert rows[0].refs["channel"] == "online"
    page = visitor.get(PORTAL).content.decode()
    assert "Siti Rahmawati telah menyatakan komitmen kerahasiaan" in page


@pytest.mark.parametrize(
    "data",
    [
        {"typed_name": "Siti Rahmawati"},  # no tick
        {"typed_name": "Siti Rahmawati", "agreed": ""},
        {"agreed": "on"},  # no name
        {"typed_name": "   ", "agreed": "on"},
        {"typed_name": "Si", "agreed": "on"},  # not a full name
    ],
)
def test_pledge_needs_the_typed_name_and_the_tick(kka: Setup, data: dict[str, str]) -> None:
    visitor = Browser()
    visitor.enter(kka.parent_token)
    assert visitor.post(PLEDGE, data).status_code == 302
    kka.parent.refresh_from_db()
    assert kka.parent.pledged_at is None
    assert kka.parent.pledge_name == ""
    assert kka.parent.pledge_ip is None
    assert audits("pledge.taken", kka.parent) == []
    assert kka.briefing not in visitor.get(PORTAL).content.decode()


# --- the briefing, and nothing else of the case -------------------------------------------


def _assert_nothing_of_the_case(kka: Setup, visitor: Browser) -> None:
    seen = visitor.everything()
    for where, text in kka.secrets.items():
        assert text not in seen, where


def test_briefing_shows_only_after_the_pledge(kka: Setup) -> None:
    visitor = Browser()
    visitor.enter(kka.parent_token)
    before = visitor.get(PORTAL).content.decode()
    assert kka.briefing not in before
    assert "dapat dibaca setelah Anda menyatakan komitmen kerahasiaan" in before
    assert not Disclosure.objects.filter(participant=kka.parent, kind="briefing_view").exists()
    assert audits("portal.briefing_viewed", kka.parent) == []

    visitor.post(RSVP, {"answer": "hadir", "note": ""})
    visitor.post(PLEDGE, {"typed_name": "Siti Rahmawati", "agreed": "on"})
    after = visitor.get(PORTAL).content.decode()
    assert kka.briefing in after
    views = Disclosure.objects.filter(participant=kka.parent, kind="briefing_view")
    assert views.count() == 1
    assert views.get().consent == kka.consent
    assert len(audits("portal.briefing_viewed", kka.parent)) == 1
    _assert_nothing_of_the_case(kka, visitor)


def test_invitation_only_access_never_shows_the_briefing(kka: Setup) -> None:
    visitor = Browser()
    visitor.enter(kka.expert_token)
    assert kka.briefing not in visitor.get(PORTAL).content.decode()
    visitor.post(RSVP, {"answer": "diwakilkan", "note": "Diwakili rekan"})
    visitor.post(PLEDGE, {"typed_name": "Hendra Gunawan", "agreed": "on"})
    kka.expert.refresh_from_db()
    assert kka.expert.pledged_at is not None
    after = visitor.get(PORTAL).content.decode()
    assert kka.briefing not in after
    assert "Tidak ada bahan tambahan untuk Anda sebelum pertemuan." in after
    assert not Disclosure.objects.filter(participant=kka.expert, kind="briefing_view").exists()
    assert audits("portal.briefing_viewed", kka.expert) == []
    _assert_nothing_of_the_case(kka, visitor)
    assert kka.briefing not in visitor.everything()


def test_nothing_of_the_case_reaches_any_portal_response(kka: Setup) -> None:
    for token in (kka.parent_token, kka.expert_token):
        visitor = Browser()
        visitor.enter(token)
        visitor.get(PORTAL)
        visitor.post(RSVP, {"answer": "hadir"}, follow=True)
        visitor.post(PLEDGE, {"typed_name": "Nama Lengkap Saya", "agreed": "on"}, follow=True)
        visitor.post(RSVP, {"answer": "salah"}, follow=True)
        visitor.get(PORTAL)
        _assert_nothing_of_the_case(kka, visitor)
        # The client's name is not in the invitation text either.
        assert "Dimas" not in visitor.everything()


# --- participants are kept apart ---------------------------------------------------------


def test_one_participant_cannot_see_or_change_another(kka: Setup) -> None:
    parent, expert = Browser(), Browser()
    parent.enter(kka.parent_token)
    expert.enter(kka.expert_token)
    assert (
        parent.http.cookies[settings.SESSION_COOKIE_NAME].value
        != expert.http.cookies[settings.SESSION_COOKIE_NAME].value
    )

    parent.post(RSVP, {"answer": "hadir", "note": "Pasti datang"})
    parent.post(PLEDGE, {"typed_name": "Siti Rahmawati", "agreed": "on"})
    expert.post(RSVP, {"answer": "tidak_hadir", "note": "Ada praktik"})

    kka.parent.refresh_from_db()
    kka.expert.refresh_from_db()
    assert (kka.parent.rsvp, kka.parent.rsvp_note) == ("hadir", "Pasti datang")
    assert (kka.expert.rsvp, kka.expert.rsvp_note) == ("tidak_hadir", "Ada praktik")
    assert kka.parent.pledged_at is not None
    assert kka.expert.pledged_at is None

    parent_page = parent.get(PORTAL).content.decode()
    expert_page = expert.get(PORTAL).content.decode()
    assert "Siti Rahmawati" in parent_page and "Siti Rahmawati" not in expert_page
    assert "Hendra Gunawan" in expert_page and "Hendra Gunawan" not in parent_page
    assert kka.parent.letter_number in parent_page
    assert kka.expert.letter_number in expert_page
    assert kka.parent.letter_number not in expert_page
    assert kka.expert.letter_number not in parent_page
    for text in ("Pasti datang", "siti@keluarga.test", kka.briefing):
        assert text not in expert.everything()
    for text in ("Ada praktik", "hendra@psikolog.test", "Biro Psikologi Cerah"):
        assert text not in parent.everything()

    # Revoking one participant's link leaves the other's session working.
    services.portal_links_revoke(actor=kka.counsellor, participant=kka.expert)
    assert expert.get(PORTAL).status_code == 404
    assert parent.get(PORTAL).status_code == 200
