"""The case routes of the API: tokens, scoping, lists, opening a case, status changes,
and the same answer as the web case list."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from kka.accounts.models import User
from kka.api.models import ApiToken
from kka.audit.models import AuditEvent
from kka.cases import services
from kka.cases.models import Case, CaseRole, Client
from kka.privacy import subject
from tests.api.util import READ, WRITE, api_client, token_for
from tests.personas import World

pytestmark = pytest.mark.django_db

LIST = "/api/v1/cases"


def new_client(actor: User, organisation: Any, name: str, birth: str = "2011-04-04") -> Client:
    return services.client_create(
        actor=actor, organisation=organisation, full_name=name, birth_date=birth
    )


def open_case(
    actor: User, client: Client, *, title: str = "Relasi teman", bidang: str = "sosial"
) -> Case:
    return services.case_open(
        actor=actor, client=client, bidang=bidang, title=title, intake_source="guru"
    )


@pytest.fixture
def scene(world: World) -> dict[str, Any]:
    me, other = world.counsellor, world.other_counsellor
    mine_client = new_client(me, world.org, "Dimas Pratama")
    mine = open_case(me, mine_client, title="Relasi teman sebaya")
    second = open_case(
        me, new_client(me, world.org, "Nur Aini"), title="Nilai turun", bidang="belajar"
    )
    services.case_change_status(actor=me, case=second, status="in_handling")
    theirs = open_case(other, new_client(other, world.org, "Dimas Lain"))
    shared = open_case(other, new_client(other, world.org, "Dimas Santoso"), title="Konflik")
    services.case_member_add(actor=other, case=shared, user=me, role=CaseRole.SUPERVISOR)
    elsewhere = open_case(world.outsider, new_client(world.outsider, world.other_org, "Dimas Jauh"))
    return {
        "mine": mine,
        "mine_client": mine_client,
        "second": second,
        "theirs": theirs,
        "shared": shared,
        "elsewhere": elsewhere,
    }


def body(response: Any) -> Any:
    return response.json()


# --- authentication ----------------------------------------------------------------------


def test_without_or_with_a_bad_token_401(world: World, scene: dict[str, Any]) -> None:
    for http in (HttpClient(), api_client(raw="kka_bukan-token-yang-benar")):
        for url in (LIST, f"{LIST}/{scene['mine'].code}"):
            response = http.get(url)
            assert response.status_code == 401
            assert body(response)["code"] == "unauthenticated"
            assert response["WWW-Authenticate"] == "Bearer"


def test_revoked_token_401_on_the_next_request(world: World, scene: dict[str, Any]) -> None:
    raw = token_for(world.counsellor)
    http = api_client(raw=raw)
    assert http.get(LIST).status_code == 200
    ApiToken.objects.filter(user=world.counsellor).update(revoked_at=dt.datetime.now(dt.UTC))
    assert http.get(LIST).status_code == 401


# --- not found is not found --------------------------------------------------------------


@pytest.mark.parametrize("persona", ["other_counsellor", "outsider", "coordinator"])
def test_a_case_not_yours_answers_like_one_that_does_not_exist(
    world: World, scene: dict[str, Any], persona: str
) -> None:
    user = world.personas()[persona]
    http = api_client(user, WRITE)
    code = scene["mine"].code
    missing = http.get(f"{LIST}/ZZZZZZZZZZ")
    assert missing.status_code == 404
    for url in (f"{LIST}/{code}", f"{LIST}/{code}/client"):
        response = http.get(url)
        assert response.status_code == 404, url
        assert body(response) == body(missing)
    response = http.post(
        f"{LIST}/{code}/status", {"status": "in_handling"}, content_type="application/json"
    )
    assert response.status_code == 404
    assert body(response) == body(missing)
    assert scene["mine"].client.full_name.encode() not in response.content


def test_a_case_of_another_organisation_of_the_same_user_is_404_with_this_token(
    world: World, scene: dict[str, Any]
) -> None:
    """A token acts in its own organisation only."""
    from kka.accounts.models import Membership, Role

    Membership.objects.create(
        user=world.counsellor, organisation=world.other_org, role=Role.KONSELOR
    )
    services.case_member_add(
        actor=world.outsider,
        case=scene["elsewhere"],
        user=world.counsellor,
        role=CaseRole.SUPERVISOR,
    )
    http = api_client(raw=token_for(world.counsellor, organisation=world.org))
    assert http.get(f"{LIST}/{scene['elsewhere'].code}").status_code == 404
    there = api_client(raw=token_for(world.counsellor, organisation=world.other_org))
    assert there.get(f"{LIST}/{scene['elsewhere'].code}").status_code == 200
    assert [i["code"] for i in body(there.get(LIST))["items"]] == [scene["elsewhere"].code]


@pytest.mark.parametrize("code", ["bad%00code", "a" * 40, "KODE-1"])
def test_a_malformed_code_is_404(world: World, code: str) -> None:
    assert api_client(world.counsellor).get(f"{LIST}/{code}").status_code == 404


# --- list --------------------------------------------------------------------------------


def test_list_shape_count_and_scope(world: World, scene: dict[str, Any]) -> None:
    response = api_client(world.counsellor).get(LIST)
    assert response.status_code == 200
    data = body(response)
    codes = {i["code"] for i in data["items"]}
    assert codes == {scene["mine"].code, scene["second"].code, scene["shared"].code}
    assert data["count"] == 3
    item = next(i for i in data["items"] if i["code"] == scene["mine"].code)
    assert set(item) == {
        "code", "title", "bidang", "status", "outcome", "opened_at", "closed_at",
        "last_activity_at", "client_code", "owner", "my_role",
    }  # fmt: skip
    assert item["client_code"] == scene["mine_client"].code
    assert item["owner"] == world.counsellor.full_name
    assert item["my_role"] == "owner"
    shared = next(i for i in data["items"] if i["code"] == scene["shared"].code)
    assert shared["my_role"] == "supervisor"
    assert "Dimas" not in response.content.decode()  # no client names in the list


@pytest.mark.parametrize("persona", ["head", "admin", "dpo"])
def test_list_is_404_for_roles_without_a_case_list(world: World, persona: str) -> None:
    response = api_client(world.personas()[persona]).get(LIST)
    assert response.status_code == 404


def test_list_limit_offset_and_stable_order(world: World, scene: dict[str, Any]) -> None:
    http = api_client(world.counsellor)
    everything = [i["code"] for i in body(http.get(LIST))["items"]]
    first = body(http.get(LIST, {"limit": 2, "offset": 0}))
    rest = body(http.get(LIST, {"limit": 2, "offset": 2}))
    assert first["count"] == rest["count"] == 3
    assert [i["code"] for i in first["items"] + rest["items"]] == everything
    assert len(first["items"]) == 2 and len(rest["items"]) == 1
    for bad in ({"limit": 0}, {"limit": 10_000}, {"offset": -1}, {"offset": 10**30}):
        response = http.get(LIST, bad)
        assert response.status_code == 422, bad
        assert body(response)["code"] == "invalid"


def test_list_filters(world: World, scene: dict[str, Any]) -> None:
    http = api_client(world.counsellor)

    def codes(**params: Any) -> set[str]:
        response = http.get(LIST, params)
        assert response.status_code == 200, response.content
        return {i["code"] for i in body(response)["items"]}

    assert codes(status="in_handling") == {scene["second"].code}
    assert codes(bidang="belajar") == {scene["second"].code}
    assert codes(bidang="sosial", status="open") == {scene["mine"].code, scene["shared"].code}
    assert codes(bidang="tidak-ada") == set()
    Case.objects.filter(pk=scene["mine"].pk).update(
        opened_at=dt.datetime(2026, 1, 10, 18, 0, tzinfo=dt.UTC)  # 11 January in Jakarta
    )
    assert codes(opened_from="2026-01-11", opened_to="2026-01-11") == {scene["mine"].code}
    assert codes(opened_to="2026-01-10") == set()
    assert scene["mine"].code not in codes(opened_from="2026-01-12")
    assert http.get(LIST, {"status": "hilang"}).status_code == 422
    assert http.get(LIST, {"opened_from": "kemarin"}).status_code == 422


def test_list_is_audited_like_the_web(world: World, scene: dict[str, Any]) -> None:
    data = body(api_client(world.counsellor).get(LIST))
    row = AuditEvent.objects.get(action="case.list_viewed")
    assert row.actor_id == world.counsellor.pk
    assert row.refs["shown"] == ",".join(i["code"] for i in data["items"])
    assert row.refs["via"] == "api"


def test_the_api_and_the_web_list_give_the_same_answer(world: World, scene: dict[str, Any]) -> None:
    # More activity on an older case changes the order on both.
    services.case_update(actor=world.counsellor, case=scene["mine"], title="Relasi teman baru")
    for user in (world.counsellor, world.other_counsellor):
        web = HttpClient()
        web.force_login(user)
        page = web.get(reverse("cases:case_list"))
        assert page.status_code == 200
        web_codes = re.findall(r'<a href="/kasus/([0-9A-Z]{10})/"><code>', page.content.decode())
        api_codes = [i["code"] for i in body(api_client(user).get(LIST))["items"]]
        assert api_codes == web_codes
        assert api_codes  # the comparison is about something


# --- detail and client -------------------------------------------------------------------


def test_detail_with_client_members_and_conferences(world: World, scene: dict[str, Any]) -> None:
    from kka.conferences import services as conference_services

    case = scene["mine"]
    services.case_member_add(
        actor=world.counsellor, case=case, user=world.coordinator, role=CaseRole.CO_COUNSELLOR
    )
    conference = conference_services.conference_create(actor=world.counsellor, case=case)
    response = api_client(world.counsellor).get(f"{LIST}/{case.code}")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]  # client data: never cached
    data = body(response)
    assert data["code"] == case.code
    assert data["client"] == {
        "code": scene["mine_client"].code,
        "full_name": "Dimas Pratama",
        "initials": "D.P.",
        "sex": "",
        "is_minor": True,
    }
    assert data["members"] == [{"name": world.coordinator.full_name, "role": "co_counsellor"}]
    assert data["conferences"] == [conference.code]
    assert data["my_role"] == "owner"
    row = AuditEvent.objects.filter(action="case.viewed").latest("id")
    assert row.object_ref == case.code and row.refs == {"via": "api"}


def test_client_has_minimal_identity_only(world: World, scene: dict[str, Any]) -> None:
    client = scene["mine_client"]
    services.client_update(
        actor=world.counsellor, client=client, nisn="0012345678", address="Jl. Mawar 3",
        phone="08123456789", full_name=client.full_name, birth_date="2011-04-04",
    )  # fmt: skip
    response = api_client(world.counsellor).get(f"{LIST}/{scene['mine'].code}/client")
    assert response.status_code == 200
    assert set(body(response)) == {"code", "full_name", "initials", "sex", "is_minor"}
    for secret in ("0012345678", "Mawar", "08123456789", "2011"):
        assert secret not in response.content.decode()
    row = AuditEvent.objects.filter(action="client.viewed").latest("id")
    assert row.object_ref == client.code and row.refs["case"] == scene["mine"].code


def test_an_adult_client_is_not_a_minor(world: World) -> None:
    client = new_client(world.counsellor, world.org, "Sri Rahayu", birth="1990-02-02")
    case = open_case(world.counsellor, client)
    data = body(api_client(world.counsellor).get(f"{LIST}/{case.code}/client"))
    assert data["is_minor"] is False


# --- writing -----------------------------------------------------------------------------


def test_a_read_token_cannot_write(world: World, scene: dict[str, Any]) -> None:
    http = api_client(world.counsellor, READ)
    opened = http.post(
        LIST,
        {"client_code": scene["mine_client"].code, "bidang": "belajar", "title": "Baru",
         "intake_source": "guru"},
        content_type="application/json",
    )  # fmt: skip
    assert opened.status_code == 403
    assert body(opened)["code"] == "read_only_token"
    status = http.post(
        f"{LIST}/{scene['mine'].code}/status", {"status": "in_handling"},
        content_type="application/json",
    )  # fmt: skip
    assert status.status_code == 403
    assert body(status)["code"] == "read_only_token"
    assert Case.objects.filter(client=scene["mine_client"]).count() == 1
    scene["mine"].refresh_from_db()
    assert scene["mine"].status == "open"


def test_open_a_case(world: World, scene: dict[str, Any]) -> None:
    http = api_client(world.counsellor, WRITE)
    response = http.post(
        LIST,
        {"client_code": scene["mine_client"].code, "bidang": "belajar", "title": "Nilai turun",
         "intake_source": "guru", "description": "Sejak semester lalu"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    data = body(response)
    case = Case.objects.get(code=data["code"])
    assert case.owner == world.counsellor and case.client == scene["mine_client"]
    assert data["description"] == "Sejak semester lalu" and data["status"] == "open"
    assert AuditEvent.objects.filter(action="case.opened", object_ref=case.code).exists()


def test_open_a_case_refusals(world: World, scene: dict[str, Any]) -> None:
    def post(user: User, **values: Any) -> Any:
        payload = {"client_code": scene["mine_client"].code, "bidang": "belajar",
                   "title": "Judul", "intake_source": "guru", **values}  # fmt: skip
        return api_client(user, WRITE).post(LIST, payload, content_type="application/json")

    before = Case.objects.count()
    # Someone who may not see the client: 404 like a client that does not exist.
    assert post(world.other_counsellor).status_code == 404
    assert post(world.outsider).status_code == 404
    assert post(world.counsellor, client_code="ZZZZZZZZZZ").status_code == 404
    # Invalid input: 422 with field locations only.
    unknown = post(world.counsellor, bidang="tidak-ada")
    assert unknown.status_code == 422
    assert body(unknown)["detail"] == [{"loc": ["body", "bidang"], "type": "invalid"}]
    assert post(world.counsellor, intake_source="entah").status_code == 422
    assert post(world.counsellor, title="").status_code == 422
    assert post(world.counsellor, title="a\x00b").status_code == 422
    assert Case.objects.count() == before


def test_change_status_and_illegal_transition(world: World, scene: dict[str, Any]) -> None:
    http = api_client(world.counsellor, WRITE)
    url = f"{LIST}/{scene['mine'].code}/status"

    def post(**values: Any) -> Any:
        return http.post(url, values, content_type="application/json")

    moved = post(status="in_handling")
    assert moved.status_code == 200 and body(moved)["status"] == "in_handling"
    no_outcome = post(status="closed")
    assert no_outcome.status_code == 422
    assert body(no_outcome)["detail"] == [{"loc": ["body", "outcome"], "type": "invalid"}]
    closed = post(status="closed", outcome="improved")
    assert closed.status_code == 200
    assert body(closed)["outcome"] == "improved" and body(closed)["closed_at"]
    illegal = post(status="referred")  # closed → referred is not a move
    assert illegal.status_code == 409
    assert body(illegal)["code"] == "invalid_transition"
    assert body(illegal)["message"]
    scene["mine"].refresh_from_db()
    assert scene["mine"].status == "closed"
    assert post(status="hilang").status_code == 422
    actions = list(
        AuditEvent.objects.filter(action="case.status_changed", object_ref=scene["mine"].code)
        .order_by("id")
        .values_list("refs__new", flat=True)
    )
    assert actions == ["in_handling", "closed"]


def test_a_supervisor_may_read_but_not_change_status(world: World, scene: dict[str, Any]) -> None:
    http = api_client(world.counsellor, WRITE)
    url = f"{LIST}/{scene['shared'].code}/status"
    assert http.get(f"{LIST}/{scene['shared'].code}").status_code == 200
    response = http.post(url, {"status": "in_handling"}, content_type="application/json")
    assert response.status_code == 403
    assert body(response)["code"] == "forbidden"


def test_a_restricted_client_case_cannot_change(world: World, scene: dict[str, Any]) -> None:
    subject.restriction_start(actor=world.dpo, client=scene["mine_client"])
    http = api_client(world.counsellor, WRITE)
    response = http.post(
        f"{LIST}/{scene['mine'].code}/status", {"status": "in_handling"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 403
    assert response.json()["code"] == "processing_restricted"  # as the conference routes say
    assert http.get(f"{LIST}/{scene['mine'].code}").status_code == 200
