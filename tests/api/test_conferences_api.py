"""The conference routes of the API: tokens, scoping (404 for strangers), the list and
its filters, create/schedule/status, participants and the consent gate, commitments
and their progress, evaluations, and the same answer as the web conference page."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import zoneinfo
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from kka.audit.models import AuditEvent
from kka.cases import services as case_services
from kka.cases.models import CaseRole
from kka.conferences import followup, services
from kka.conferences.models import (
    Commitment,
    CommitmentProgress,
    Conference,
    ConferenceStatus,
    Participant,
)
from kka.privacy import subject
from tests.api.util import READ, WRITE, api_client
from tests.conferences.test_planning import (
    add_participant,
    give_consent,
    local_moment,
    make_case,
)
from tests.documents.conftest import (
    FullKka,
    full_kka,  # noqa: F401  (fixture)
)
from tests.personas import World

pytestmark = pytest.mark.django_db

LIST = "/api/v1/conferences"


def url(conference: Conference, tail: str = "") -> str:
    return f"{LIST}/{conference.code}{tail}"


def post(http: HttpClient, path: str, data: dict[str, Any]) -> Any:
    return http.post(path, data=json.dumps(data), content_type="application/json")


def rows(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


@pytest.fixture
def scene(world: World) -> dict[str, Any]:
    """The counsellor's case with a planned KKA (consent for school staff only) and a
    second draft KKA; another counsellor's case with a KKA; one in another organisation."""
    me = world.counsellor
    case = make_case(me, world.org, full_name="Ani Lestari", title="Relasi teman")
    give_consent(me, case.client, ["purpose_hold_kka", "share_school_staff"])
    first = services.conference_create(actor=me, case=case)
    services.conference_update_plan(
        actor=me,
        conference=first,
        starts_at=local_moment(world.org, days=7),
        ends_at=local_moment(world.org, days=7, hour=11),
        place="Ruang BK",
    )
    first = services.conference_set_status(actor=me, conference=first, status="planned")
    second = services.conference_create(actor=me, case=case)
    services.conference_update_plan(
        actor=me, conference=second, starts_at=local_moment(world.org, days=2), bidang="belajar"
    )
    other_case = make_case(world.other_counsellor, world.org, full_name="Budi", title="Lain")
    theirs = services.conference_create(actor=world.other_counsellor, case=other_case)
    far_case = make_case(world.outsider, world.other_org, full_name="Jauh", title="Jauh")
    elsewhere = services.conference_create(actor=world.outsider, case=far_case)
    return {
        "case": case,
        "first": Conference.objects.get(pk=first.pk),
        "second": Conference.objects.get(pk=second.pk),
        "theirs": theirs,
        "elsewhere": elsewhere,
        "other_case": other_case,
    }


# --- authentication and scoping ----------------------------------------------------------


def test_without_or_with_a_bad_token_401(scene: dict[str, Any]) -> None:
    for http in (HttpClient(), api_client(raw="kka_bukan-token-yang-benar")):
        for path in (LIST, url(scene["first"]), url(scene["first"], "/participants")):
            response = http.get(path)
            assert response.status_code == 401
            assert response.json()["code"] == "unauthenticated"


def test_strangers_get_the_same_404_as_a_code_that_does_not_exist(
    world: World, scene: dict[str, Any]
) -> None:
    first = scene["first"]
    missing = api_client(world.counsellor).get(f"{LIST}/TIDAKADA00")
    assert missing.status_code == 404
    for user in (world.other_counsellor, world.outsider, world.coordinator, world.dpo):
        http = api_client(user, WRITE)
        for tail in ("", "/participants", "/commitments", "/evaluations"):
            response = http.get(url(first, tail))
            assert response.status_code == 404, (user, tail)
            assert response.json() == missing.json()
        for tail, data in (
            ("/status", {"status": "cancelled"}),
            ("/schedule", {"place": "Aula"}),
            ("/participants", {"full_name": "X Y", "role": "guru", "category": "staf_lembaga"}),
            ("/commitments", {"who": "me", "what": "Mendampingi"}),
        ):
            response = post(http, url(first, tail), data)
            assert response.status_code == 404, (user, tail)
            assert response.json() == missing.json()
        create = post(http, LIST, {"case_code": scene["case"].code})
        assert create.status_code == 404
    first.refresh_from_db()
    assert first.status == ConferenceStatus.PLANNED
    assert first.participants.count() == 0


def test_a_token_acts_only_in_its_organisation(world: World, scene: dict[str, Any]) -> None:
    # The outsider's own KKA is visible to them, but not to a counsellor of this school.
    assert api_client(world.outsider).get(url(scene["elsewhere"])).status_code == 200
    assert api_client(world.counsellor).get(url(scene["elsewhere"])).status_code == 404


# --- the list -------------------------------------------------------------------------


def test_list_shape_order_and_filters(world: World, scene: dict[str, Any]) -> None:
    http = api_client(world.counsellor)
    first, second = scene["first"], scene["second"]
    body = http.get(LIST).json()
    assert set(body) == {"items", "count"}
    assert body["count"] == 2
    # Planned start first (the second KKA is sooner), never another counsellor's KKA.
    assert [c["code"] for c in body["items"]] == [second.code, first.code]
    assert body["items"][1]["case"] == scene["case"].code
    assert body["items"][1]["status"] == "planned"

    def codes(query: str) -> list[str]:
        response = http.get(f"{LIST}?{query}")
        assert response.status_code == 200, response.content
        return [c["code"] for c in response.json()["items"]]

    assert codes("status=planned") == [first.code]
    assert codes("status=draft") == [second.code]
    assert codes("bidang=belajar") == [second.code]
    assert codes(f"case={scene['case'].code}") == [second.code, first.code]
    assert codes(f"case={scene['other_case'].code}") == []
    zone = zoneinfo.ZoneInfo(world.org.time_zone)
    first_day = first.starts_at.astimezone(zone).date()
    assert codes(f"from={first_day.isoformat()}") == [first.code]
    assert codes(f"to={(first_day - dt.timedelta(days=1)).isoformat()}") == [second.code]
    assert codes(f"from={first_day.isoformat()}&to={first_day.isoformat()}") == [first.code]
    assert codes("limit=1") == [second.code]
    assert codes("limit=1&offset=1") == [first.code]
    assert http.get(f"{LIST}?limit=1&offset=1").json()["count"] == 2
    assert http.get(f"{LIST}?status=unbekannt").status_code == 422
    # The other counsellor sees their own only.
    theirs = api_client(world.other_counsellor).get(LIST).json()
    assert [c["code"] for c in theirs["items"]] == [scene["theirs"].code]


def test_the_list_is_audited_with_the_codes_shown(world: World, scene: dict[str, Any]) -> None:
    api_client(world.counsellor).get(f"{LIST}?status=planned")
    event = rows("conference.list_viewed")[-1]
    assert event.actor_id == world.counsellor.pk
    assert event.refs["shown"] == scene["first"].code
    assert event.refs["via"] == "api"


def test_detail_shows_the_plan_and_is_audited(world: World, scene: dict[str, Any]) -> None:
    response = api_client(world.counsellor).get(url(scene["first"]))
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == scene["first"].code
    assert body["topic"] == "Relasi teman"
    assert body["place"] == "Ruang BK"
    assert body["next_statuses"] == ["draft", "invited", "cancelled"]
    event = rows("conference.viewed")[-1]
    assert event.object_ref == scene["first"].code
    assert event.refs["via"] == "api"


# --- writes: scope, create, schedule, status ---------------------------------------------


def test_a_read_token_cannot_write(world: World, scene: dict[str, Any]) -> None:
    first = scene["first"]
    participant = add_participant(world.counsellor, first, category="staf_lembaga")
    http = api_client(world.counsellor, READ)
    before = AuditEvent.objects.count()
    attempts = [
        (LIST, {"case_code": scene["case"].code}),
        (url(first, "/status"), {"status": "cancelled"}),
        (url(first, "/schedule"), {"place": "Aula"}),
        (url(first, "/participants"), {"full_name": "A B", "role": "x", "category": "keluarga"}),
        (url(first, f"/participants/{participant.code}/invitation"), {"channel": "email"}),
        (url(first, "/commitments"), {"who": "me", "what": "Mendampingi"}),
    ]
    for path, data in attempts:
        response = post(http, path, data)
        assert response.status_code == 403, path
        assert response.json()["code"] == "read_only_token"
    response = http.delete(url(first, f"/participants/{participant.code}"))
    assert response.status_code == 403
    assert response.json()["code"] == "read_only_token"
    first.refresh_from_db()
    assert first.status == ConferenceStatus.PLANNED
    assert Conference.objects.filter(case=scene["case"]).count() == 2
    assert first.participants.filter(removed_at__isnull=True).count() == 1
    assert not AuditEvent.objects.filter(
        pk__gt=before, action__in=["conference.created", "conference.status_changed"]
    ).exists()


def test_create_prefills_the_plan_and_applies_the_fields_sent(
    world: World, scene: dict[str, Any]
) -> None:
    http = api_client(world.counsellor, WRITE)
    response = post(
        http,
        LIST,
        {
            "case_code": scene["case"].code,
            "place": "Ruang rapat",
            "starts_at": "2031-03-04T09:00:00",
            "ends_at": "2031-03-04T10:30:00",
            "functions": ["pemahaman"],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    conference = Conference.objects.get(code=body["code"])
    assert conference.sequence == 3
    assert conference.status == ConferenceStatus.DRAFT
    assert conference.topic == "Relasi teman"  # pre-filled from the case
    assert conference.place == "Ruang rapat"
    assert conference.functions == ["pemahaman"]
    # A time without an offset is a wall-clock time in the organisation's zone.
    zone = zoneinfo.ZoneInfo(world.org.time_zone)
    assert conference.starts_at == dt.datetime(2031, 3, 4, 9, 0, tzinfo=zone)
    assert rows("conference.created")[-1].object_ref == conference.code
    assert rows("conference.plan_updated")[-1].object_ref == conference.code


def test_create_with_an_invalid_plan_creates_nothing(world: World, scene: dict[str, Any]) -> None:
    http = api_client(world.counsellor, WRITE)
    before = Conference.objects.count()
    response = post(http, LIST, {"case_code": scene["case"].code, "bidang": "tidak-ada"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    response = post(
        http, LIST, {"case_code": scene["case"].code, "ends_at": "2031-03-04T10:30:00+07:00"}
    )
    assert response.status_code == 422
    response = post(http, LIST, {"case_code": scene["case"].code, "functions": ["sulap"]})
    assert response.status_code == 422
    assert Conference.objects.count() == before


def test_schedule_changes_time_and_place(world: World, scene: dict[str, Any]) -> None:
    http = api_client(world.counsellor, WRITE)
    first = scene["first"]
    response = post(
        http,
        url(first, "/schedule"),
        {
            "starts_at": "2031-05-06T01:00:00Z",
            "ends_at": "2031-05-06T02:00:00Z",
            "place": "Aula",
        },
    )
    assert response.status_code == 200, response.content
    first.refresh_from_db()
    assert first.place == "Aula"
    assert first.starts_at == dt.datetime(2031, 5, 6, 1, 0, tzinfo=dt.UTC)
    assert response.json()["place"] == "Aula"
    event = rows("conference.plan_updated")[-1]
    assert event.refs["fields"] == "ends_at,place,starts_at"
    bad = post(
        http,
        url(first, "/schedule"),
        {"starts_at": "2031-05-06T02:00:00Z", "ends_at": "2031-05-06T01:00:00Z"},
    )
    assert bad.status_code == 422
    assert post(http, url(first, "/schedule"), {}).status_code == 422


def test_schedule_of_a_held_kka_is_a_conflict(world: World, scene: dict[str, Any]) -> None:
    first = scene["first"]
    me = world.counsellor
    services.conference_set_status(actor=me, conference=first, status="invited")
    services.conference_set_status(actor=me, conference=first, status="held")
    response = post(api_client(me, WRITE), url(first, "/schedule"), {"place": "Aula"})
    assert response.status_code == 409
    assert response.json()["code"] == "not_editable"


def test_status_moves_as_on_the_web(world: World, scene: dict[str, Any]) -> None:
    http = api_client(world.counsellor, WRITE)
    second = scene["second"]
    response = post(http, url(second, "/status"), {"status": "held"})
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert response.json()["message"]
    assert post(http, url(second, "/status"), {"status": "bogus"}).status_code == 422
    response = post(http, url(second, "/status"), {"status": "planned"})
    assert response.status_code == 200
    assert response.json()["status"] == "planned"
    second.refresh_from_db()
    assert second.status == ConferenceStatus.PLANNED
    event = rows("conference.status_changed")[-1]
    assert (event.object_ref, event.refs["old"], event.refs["new"]) == (
        second.code,
        "draft",
        "planned",
    )


def test_a_supervisor_reads_but_may_not_write(world: World, scene: dict[str, Any]) -> None:
    case_services.case_member_add(
        actor=world.counsellor,
        case=scene["case"],
        user=world.other_counsellor,
        role=CaseRole.SUPERVISOR,
    )
    http = api_client(world.other_counsellor, WRITE)
    assert http.get(url(scene["first"])).status_code == 200
    response = post(http, url(scene["first"], "/status"), {"status": "cancelled"})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


# --- participants -------------------------------------------------------------------------


def test_participants_add_list_and_remove(world: World, scene: dict[str, Any]) -> None:
    http = api_client(world.counsellor, WRITE)
    first = scene["first"]
    response = post(
        http,
        url(first, "/participants"),
        {
            "full_name": "Ibu Sari Dewi",
            "role": "Wali kelas",
            "category": "staf_lembaga",
            "email": "sari@sekolah.test",
            "disclosure": "briefing",
        },
    )
    assert response.status_code == 201, response.content
    item = response.json()
    assert item["name"] == "Ibu Sari Dewi"
    assert item["category"] == "staf_lembaga"
    assert item["disclosure"] == "briefing"
    assert item["invitation"]["state"] == "not_invited"
    assert item["rsvp"] == "pending"
    assert item["pledged"] is False
    assert item["attended"] is None
    assert item["consent_problem"] is None
    assert "email" not in item  # contact details stay in the web UI
    added = rows("participant.added")[-1]
    assert added.object_ref == item["code"]
    assert "Sari" not in json.dumps(added.refs)

    listed = http.get(url(first, "/participants")).json()
    assert listed["count"] == 1
    assert [p["code"] for p in listed["items"]] == [item["code"]]

    missing = post(http, url(first, "/participants"), {"full_name": "Tanpa Peran"})
    assert missing.status_code == 422
    bad_mail = post(
        http,
        url(first, "/participants"),
        {"full_name": "A B", "role": "x", "category": "keluarga", "email": "bukan-email"},
    )
    assert bad_mail.status_code == 422

    response = http.delete(url(first, f"/participants/{item['code']}"))
    assert response.status_code == 204
    assert rows("participant.removed")[-1].object_ref == item["code"]
    assert http.get(url(first, "/participants")).json()["count"] == 0
    assert http.delete(url(first, f"/participants/{item['code']}")).status_code == 404


def test_the_consent_gate(world: World, scene: dict[str, Any]) -> None:
    """The consent covers school staff only: a family member may be added (the web lets
    the counsellor plan ahead) but is flagged, and inviting them is refused."""
    http = api_client(world.counsellor, WRITE)
    first = scene["first"]
    response = post(
        http,
        url(first, "/participants"),
        {
            "full_name": "Budi Santoso",
            "role": "Ayah",
            "category": "keluarga",
            "email": "budi@contoh.test",
        },
    )
    assert response.status_code == 201
    family = response.json()
    assert family["consent_problem"]["code"] == "consent"
    assert family["consent_problem"]["message"]
    refused = post(
        http, url(first, f"/participants/{family['code']}/invitation"), {"channel": "email"}
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "consent"
    assert Participant.objects.get(code=family["code"]).invited_at is None

    staff = post(
        http,
        url(first, "/participants"),
        {"full_name": "Sari", "role": "Wali kelas", "category": "staf_lembaga", "email": "s@x.id"},
    ).json()
    sent = post(http, url(first, f"/participants/{staff['code']}/invitation"), {})
    assert sent.status_code == 200, sent.content
    assert sent.json()["invitation"]["state"] == "invited"
    assert sent.json()["invitation"]["letter_number"]
    assert "link" not in sent.content.decode()
    assert rows("invitation.sent")[-1].object_ref == staff["code"]
    # Only email through the API: a link must never come back in an answer.
    whatsapp = post(
        http, url(first, f"/participants/{staff['code']}/invitation"), {"channel": "whatsapp"}
    )
    assert whatsapp.status_code == 422


def test_participants_of_a_closed_kka_cannot_change(world: World, scene: dict[str, Any]) -> None:
    me = world.counsellor
    first = scene["first"]
    services.conference_set_status(actor=me, conference=first, status="cancelled")
    response = post(
        api_client(me, WRITE),
        url(first, "/participants"),
        {"full_name": "A B", "role": "x", "category": "staf_lembaga"},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "not_editable"


def test_api_and_web_list_the_same_participants(world: World, scene: dict[str, Any]) -> None:
    me = world.counsellor
    first = scene["first"]
    added = [
        add_participant(me, first, category=category, full_name=name)
        for name, category in (
            ("Sari Dewi", "staf_lembaga"),
            ("Budi Santoso", "keluarga"),
            ("Rina Wulandari", "staf_lembaga"),
            ("Agus Salim", "profesional"),
        )
    ]
    services.participant_remove(actor=me, participant=added[2])

    api = api_client(me).get(url(first, "/participants")).json()
    web = HttpClient()
    web.force_login(me)
    page = web.get(reverse("conferences:detail", kwargs={"code": first.code}))
    assert page.status_code == 200
    table = page.content.decode().split('id="participants"', 1)[1].split("</table>", 1)[0]
    web_names = [html.unescape(n) for n in re.findall(r"<td[^>]*><strong>(.*?)</strong>", table)]
    assert web_names == ["Sari Dewi", "Budi Santoso", "Agus Salim"]
    assert [p["name"] for p in api["items"]] == web_names
    assert api["count"] == len(web_names)


# --- commitments and evaluations -------------------------------------------------------------


def test_commitments_create_list_and_progress(world: World, scene: dict[str, Any]) -> None:
    me = world.counsellor
    http = api_client(me, WRITE)
    first = scene["first"]
    staff = add_participant(me, first, category="staf_lembaga", full_name="Sari Dewi")
    response = post(
        http,
        url(first, "/commitments"),
        {
            "who": staff.code,
            "what": "Memantau kehadiran",
            "due_on": "2031-01-10",
            "check_method": "Rekap absensi",
        },
    )
    assert response.status_code == 201, response.content
    item = response.json()
    assert (item["who"], item["participant"], item["who_name"]) == (
        "participant",
        staff.code,
        "Sari Dewi",
    )
    assert item["status"] == "planned"
    mine = post(http, url(first, "/commitments"), {"who": "me", "what": "Konseling individual"})
    assert mine.status_code == 201
    assert mine.json()["who"] == "counsellor"
    added = rows("commitment.added")
    assert [e.object_ref for e in added[-2:]] == [item["code"], mine.json()["code"]]
    assert "Memantau" not in json.dumps(added[-2].refs)

    listed = http.get(url(first, "/commitments")).json()
    # Due date first, the undated one last.
    assert [c["code"] for c in listed["items"]] == [item["code"], mine.json()["code"]]

    progress = post(
        http,
        url(first, f"/commitments/{item['code']}/progress"),
        {"note": "Sudah dua minggu hadir penuh"},
    )
    assert progress.status_code == 201, progress.content
    assert progress.json()["status"] == "in_progress"
    assert progress.json()["progress"][0]["note"] == "Sudah dua minggu hadir penuh"
    assert progress.json()["progress"][0]["by"] == "counsellor"
    done = post(
        http, url(first, f"/commitments/{item['code']}/progress"), {"note": "", "status": "done"}
    )
    assert done.status_code == 201
    assert done.json()["status"] == "done"
    commitment = Commitment.objects.get(code=item["code"])
    assert commitment.status == "done"
    assert CommitmentProgress.objects.filter(commitment=commitment).count() == 1
    assert rows("commitment.progress_added")[-1].object_ref == commitment.code
    assert rows("commitment.status_changed")[-1].refs["new"] == "done"
    empty = post(http, url(first, f"/commitments/{item['code']}/progress"), {"note": " "})
    assert empty.status_code == 422
    assert (
        post(http, url(first, "/commitments/TIDAKADA00/progress"), {"note": "x"}).status_code == 404
    )
    stranger = post(http, url(first, "/commitments"), {"who": "TIDAKADA00", "what": "x"})
    assert stranger.status_code == 422


def test_commitments_on_a_draft_kka_are_a_conflict(world: World, scene: dict[str, Any]) -> None:
    response = post(
        api_client(world.counsellor, WRITE),
        url(scene["second"], "/commitments"),
        {"who": "me", "what": "Mendampingi"},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "not_editable"


def test_evaluations_with_their_results(full_kka: FullKka) -> None:  # noqa: F811
    conference = full_kka.conference
    owner = full_kka.case.owner
    participant = full_kka.participants[0]
    if not conference.evaluations.filter(kind="laiseg").exists():
        followup.laiseg_record(
            conference=conference,
            participant=participant,
            answers={"understanding": "Paham"},
            actor=owner,
        )
    body = api_client(owner).get(url(conference, "/evaluations")).json()
    kinds = [e["kind"] for e in body["items"]]
    assert "laiseg" in kinds and "laijapen" in kinds and "laijapang" in kinds
    assert body["count"] == len(body["items"])
    laiseg = next(e for e in body["items"] if e["kind"] == "laiseg")
    assert laiseg["done"] is True
    assert any(value for value in laiseg["answers"].values())
    later = next(e for e in body["items"] if e["kind"] == "laijapen")
    assert later["due_on"]
    event = rows("conference.viewed")[-1]
    assert event.refs["page"] == "evaluation"
    # Outsiders: the same 404 as for a code that does not exist.
    outsider = api_client(full_kka.world.outsider).get(url(conference, "/evaluations"))
    assert outsider.status_code == 404


def test_a_restricted_client_kka_cannot_change(world: World, scene: dict[str, Any]) -> None:
    subject.restriction_start(actor=world.dpo, client=scene["case"].client)
    http = api_client(world.counsellor, WRITE)
    first = scene["first"]
    response = post(http, url(first, "/status"), {"status": "cancelled"})
    assert response.status_code == 403
    assert response.json()["code"] == "processing_restricted"
    response = post(http, url(first, "/commitments"), {"who": "me", "what": "Mendampingi"})
    assert response.status_code == 403
    assert http.get(url(first)).status_code == 200
    first.refresh_from_db()
    assert first.status == ConferenceStatus.PLANNED


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/schedule", {"starts_at": "0001-01-01T00:00:00+05:00"}),
        ("/schedule", {"place": "Aula\u0000"}),
        ("/commitments", {"who": "me", "what": "x", "due_on": "9999-12-31"}),
        ("/participants", {"full_name": "A\u0000", "role": "x", "category": "keluarga"}),
    ],
)
def test_input_the_database_cannot_store_is_invalid(
    world: World, scene: dict[str, Any], path: str, data: dict[str, Any]
) -> None:
    response = post(api_client(world.counsellor, WRITE), url(scene["first"], path), data)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid"


def test_list_dates_out_of_range_are_invalid(world: World, scene: dict[str, Any]) -> None:
    http = api_client(world.counsellor)
    assert http.get(f"{LIST}?to=9999-12-31").status_code == 422
    assert http.get(f"{LIST}?from=0001-01-01").status_code == 422
