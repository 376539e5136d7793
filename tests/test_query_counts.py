"""The number of SQL queries of each key page does not grow with the data, and stays
at most 15 (issue #9; the pages still above it are held at their count, see OVER_LIMIT):
a small KKA (one of everything) and a big one (many records, aspects, resources,
participants, commitments, progress notes, follow-ups), with more cases around the big
one, must cost the same number of queries per page.

Not timed: the benchmark (bench/pages.py) measures time. Transaction control statements
(BEGIN, COMMIT, SAVEPOINT …) and the audit chain's PostgreSQL advisory lock are not
counted: they are how each database admits one writer (SQLite's log shows BEGIN
IMMEDIATE, PostgreSQL's shows the lock), so both databases count the same data queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kka.accounts.models import User
from kka.api.tokens import token_create
from kka.cases import services as case_services
from kka.cases.models import Case, CaseRole
from kka.conferences import followup, meeting, services
from kka.conferences.models import Conference, ConferenceStatus, Participant
from tests.conferences.test_planning import add_participant, give_consent, make_case, schedule
from tests.personas import World

pytestmark = pytest.mark.django_db

MAX_QUERIES = 15
# Pages still above the limit, with the reason in docs/performance.md ("Pages"):
# held at today's count per database, so one more query still fails. PostgreSQL appends
# an audit row in one statement fewer (kka.audit.services._write). Lower these as pages
# improve.
OVER_LIMIT = {
    "case page": {"sqlite": 21, "postgresql": 20},
    "KKA page": {"sqlite": 16, "postgresql": 15},
}


def allowed(name: str) -> int:
    return OVER_LIMIT.get(name, {}).get(connection.vendor, MAX_QUERIES)


# Transaction control and the audit chain's lock: how each database serialises writers
# (SQLite: BEGIN IMMEDIATE; PostgreSQL: pg_advisory_xact_lock), not data round trips.
TRANSACTION_CONTROL = (
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "SELECT PG_ADVISORY_XACT_LOCK",
)


def data_queries(captured: CaptureQueriesContext) -> list[str]:
    sqls = [q["sql"] for q in captured.captured_queries]
    return [s for s in sqls if not s.lstrip().upper().startswith(TRANSACTION_CONTROL)]


@dataclass
class Kka:
    case: Case
    conference: Conference
    portal: HttpClient  # a participant's browser, already through their private link


def build(world: World, size: int) -> Kka:
    """A held KKA with ``size`` of everything the key pages list."""
    owner = world.counsellor
    case = make_case(owner, world.org, title=f"Kasus ukuran {size}", full_name=f"Dimas Uji{size}")
    give_consent(owner, case.client)
    case_services.case_member_add(
        actor=owner, case=case, user=world.other_counsellor, role=CaseRole.CO_COUNSELLOR
    )
    today = timezone.localdate()
    for n in range(size):
        record = case_services.record_add(
            actor=owner,
            case=case,
            occurred_on=today - dt.timedelta(days=n),
            source="wawancara",
            content=f"Catatan {n}",
            may_bring_to_kka=True,
            files=[(f"lampiran{n}.pdf", b"%PDF-1.4\n%%EOF\n")],
        )
        aspect = case_services.aspect_add(
            actor=owner, case=case, kind="penyebab", text=f"Sebab {n}", records=[record]
        )
        case_services.resource_add(
            actor=owner,
            case=case,
            name=f"Sumber {n}",
            role="wali kelas",
            category="staf_lembaga",
            aspects=[aspect],
        )
    conference = services.conference_create(actor=owner, case=case)
    schedule(owner, conference, days=0)
    services.conference_update_plan(
        actor=owner, conference=conference, briefing="Ringkasan untuk peserta"
    )
    conference = services.conference_set_status(
        actor=owner, conference=conference, status=ConferenceStatus.PLANNED
    )
    people = [add_participant(owner, conference, disclosure="shared_minutes") for _ in range(size)]
    tokens = []
    for person in people:
        sent = services.invitation_send(actor=owner, participant=person, channel="letter")
        tokens.append(sent["link"].split("?t=", 1)[1])
        services.pledge_take(
            participant=person, typed_name=person.full_name, agreed=True, ip=None, channel="portal"
        )
    for step in (ConferenceStatus.INVITED, ConferenceStatus.HELD):
        conference.refresh_from_db()
        if conference.status != step:
            conference = services.conference_set_status(
                actor=owner, conference=conference, status=step
            )
    for person in people:
        meeting.attendance_set(actor=owner, participant=person, attendance="present")
    minutes = meeting.minutes_for(conference)
    meeting.minutes_save(
        actor=owner,
        conference=conference,
        base_version=minutes.version,
        values={"shared_text": "Notulen bersama", "private_text": "Catatan pribadi"},
    )
    for n, person in enumerate(people):
        for who in (person, owner):
            kwargs: dict[str, Any] = (
                {"participant": who} if isinstance(who, Participant) else {"counsellor": who}
            )
            commitment = followup.commitment_add(
                actor=owner,
                conference=conference,
                what=f"Komitmen {n}",
                due_on=today + dt.timedelta(days=n),
                **kwargs,
            )
            followup.commitment_progress_add(commitment=commitment, note="Berjalan", actor=owner)
    meeting.minutes_finalise(actor=owner, conference=conference)
    followup.later_evaluations_schedule(actor=owner, conference=conference)
    for n in range(size):
        followup.followup_add(actor=owner, case=case, kind="home_visit", note=f"Lanjut {n}")
    portal = HttpClient()
    assert portal.get("/undangan/", {"t": tokens[0]}).status_code == 302
    conference.refresh_from_db()
    return Kka(case=case, conference=conference, portal=portal)


def more_cases(world: World, count: int) -> None:
    for n in range(count):
        case = make_case(
            world.counsellor, world.org, title=f"Tambahan {n}", full_name=f"Dimas T{n}"
        )
        give_consent(world.counsellor, case.client)


def pages(user: User, kka: Kka, api_token: str) -> dict[str, Callable[[], Any]]:
    http = HttpClient()
    http.force_login(user)
    api = HttpClient(HTTP_AUTHORIZATION=f"Bearer {api_token}")
    case, conference = kka.case, kka.conference
    return {
        "dashboard": lambda: http.get("/"),
        "case list, filter": lambda: http.get("/kasus/", {"status": "open", "bidang": "sosial"}),
        "case list, name search": lambda: http.get("/kasus/", {"q": "dimas"}),
        "case page": lambda: http.get(f"/kasus/{case.code}/"),
        "KKA page": lambda: http.get(f"/kka/{conference.code}/"),
        "meeting mode": lambda: http.get(f"/kka/{conference.code}/pertemuan/"),
        "participant portal": lambda: kka.portal.get("/undangan/"),
        "API case list": lambda: api.get("/api/v1/cases"),
    }


def count_queries(user: User, kka: Kka, api_token: str) -> dict[str, list[str]]:
    counts = {}
    for name, get in pages(user, kka, api_token).items():
        assert get().status_code == 200, name  # warm-up: first-request work is not measured
        with CaptureQueriesContext(connection) as captured:
            response = get()
        assert response.status_code == 200, name
        counts[name] = data_queries(captured)
    return counts


def test_the_key_pages_cost_the_same_few_queries_with_little_and_much_data(
    world: World,
) -> None:
    _token, raw = token_create(user=world.counsellor, organisation=world.org, name="uji")
    small = count_queries(world.counsellor, build(world, 1), raw)
    big_kka = build(world, 6)
    more_cases(world, 30)
    big = count_queries(world.counsellor, big_kka, raw)

    grown = {
        name: (len(small[name]), len(big[name]))
        for name in small
        if len(big[name]) != len(small[name])
    }
    # page: (queries with one of everything, queries with six); the SQL of the big one
    # shows which statement repeats.
    assert not grown, (grown, {name: big[name] for name in grown})

    over = {
        name: (len(sqls), allowed(name)) for name, sqls in big.items() if len(sqls) > allowed(name)
    }
    assert not over, over  # page: (queries, allowed)
