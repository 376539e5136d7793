"""The case and client lists: scoped to the viewer, searchable by blind index, paginated."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kka.accounts.models import User
from kka.audit.models import AuditEvent
from kka.cases import selectors, services
from kka.cases.models import Case, CaseRole, Client, ClientNameToken
from kka.lib.blind_index import name_tokens, normalise
from tests.personas import World

pytestmark = pytest.mark.django_db

ROW_MARK = 'data-label="Kode"'  # one per table row on the case list


# --- helpers -------------------------------------------------------------------------


def new_client(actor: User, organisation: Any, name: str) -> Client:
    return services.client_create(
        actor=actor, organisation=organisation, full_name=name, birth_date="2011-04-04"
    )


def open_case(
    actor: User,
    client: Client,
    *,
    title: str = "Relasi teman sebaya",
    bidang: str = "sosial",
) -> Case:
    return services.case_open(
        actor=actor, client=client, bidang=bidang, title=title, intake_source="guru"
    )


def logged_in(user: User) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def codes(cases: Any) -> set[str]:
    return {case.code for case in cases}


def listed(world: World, viewer: User, **filters: Any) -> set[str]:
    return codes(selectors.case_list(viewer=viewer, organisation=world.org, **filters))


def row_count(response: Any) -> int:
    assert response.status_code == 200
    return response.content.decode().count(ROW_MARK)


def shown_codes(response: Any) -> list[str]:
    return re.findall(r'<a href="/kasus/([0-9A-Z]{10})/"><code>', response.content.decode())


@pytest.fixture
def scene(world: World) -> dict[str, Case]:
    """The counsellor owns two cases and supervises a third; other cases are not theirs."""
    me, other = world.counsellor, world.other_counsellor
    mine = open_case(me, new_client(me, world.org, "Dimas Pratama"), title="Relasi teman sebaya")
    second = open_case(
        me, new_client(me, world.org, "Nur Aini"), title="Nilai turun", bidang="belajar"
    )
    services.case_change_status(actor=me, case=second, status="in_handling")
    theirs = open_case(other, new_client(other, world.org, "Dimas Lain"), title="Relasi teman")
    shared = open_case(
        other, new_client(other, world.org, "Dimas Santoso"), title="Konflik keluarga"
    )
    services.case_member_add(actor=other, case=shared, user=me, role=CaseRole.SUPERVISOR)
    elsewhere = open_case(
        world.outsider, new_client(world.outsider, world.other_org, "Dimas Jauh"), title="Teman"
    )
    return {
        "mine": mine,
        "second": second,
        "theirs": theirs,
        "shared": shared,
        "elsewhere": elsewhere,
    }


# --- scope and filters ---------------------------------------------------------------


def test_case_list_shows_only_cases_the_viewer_owns_or_is_on(
    world: World, scene: dict[str, Case]
) -> None:
    s = scene

    assert listed(world, world.counsellor) == codes([s["mine"], s["second"], s["shared"]])
    assert listed(world, world.other_counsellor) == codes([s["theirs"], s["shared"]])
    for persona in ("coordinator", "head", "admin", "dpo", "outsider"):
        assert listed(world, world.personas()[persona]) == set(), persona
    # The outsider's own case is only listed in the outsider's organisation.
    assert codes(selectors.case_list(viewer=world.outsider, organisation=world.other_org)) == codes(
        [s["elsewhere"]]
    )
    assert not selectors.case_list(viewer=world.counsellor, organisation=world.other_org)


def test_case_list_filters_by_status_and_bidang(world: World, scene: dict[str, Case]) -> None:
    s, me = scene, world.counsellor

    assert listed(world, me, status="in_handling") == codes([s["second"]])
    assert listed(world, me, status="open") == codes([s["mine"], s["shared"]])
    assert listed(world, me, status="closed") == set()
    assert listed(world, me, bidang="belajar") == codes([s["second"]])
    assert listed(world, me, bidang="sosial") == codes([s["mine"], s["shared"]])
    assert listed(world, me, bidang="sosial", status="in_handling") == set()


def test_search_by_code_is_exact_and_case_insensitive(world: World, scene: dict[str, Case]) -> None:
    s, me = scene, world.counsellor
    code = s["mine"].code

    assert listed(world, me, query=code) == {code}
    assert listed(world, me, query=code.lower()) == {code}
    assert listed(world, me, query=f"  {code}  ") == {code}
    assert listed(world, me, query=code[:6]) == set()
    # Another counsellor's case is not found by its code either.
    assert listed(world, me, query=s["theirs"].code) == set()


def test_search_by_title_substring(world: World, scene: dict[str, Case]) -> None:
    s, me = scene, world.counsellor

    assert listed(world, me, query="TEMAN") == codes([s["mine"]])
    assert listed(world, me, query="eman seb") == codes([s["mine"]])
    assert listed(world, me, query="keluarga") == codes([s["shared"]])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("dim", {"mine", "shared"}),  # a prefix of the first name
        ("DIMAS", {"mine", "shared"}),
        ("pra", {"mine"}),  # a prefix of another word of the name
        ("dim pra", {"mine"}),  # every word must match
        ("Dimas Pratama", {"mine"}),
        ("Ñur", {"second"}),  # accents and case are ignored
        ("nür", {"second"}),
        ("ima", set()),  # inside a word, not a prefix
        ("mas", set()),  # the end of "Dimas"
        ("tama", set()),  # the end of "Pratama"
        ("Dimaz", set()),
        ("lain", set()),  # "Dimas Lain" belongs to another counsellor's case
    ],
)
def test_search_by_client_name_prefix(
    world: World, scene: dict[str, Case], query: str, expected: set[str]
) -> None:
    assert listed(world, world.counsellor, query=query) == codes(scene[k] for k in expected)


def test_name_tokens_hold_no_plaintext(world: World, scene: dict[str, Case]) -> None:
    for case in Case.objects.select_related("client"):
        name = case.client.full_name
        tokens = list(
            ClientNameToken.objects.filter(client=case.client).values_list("token", flat=True)
        )
        assert sorted(tokens) == sorted(name_tokens(name))
        assert tokens
        for token in tokens:
            assert re.fullmatch(r"[0-9a-f]{32}", token), token
            assert normalise(name) not in token
            for word in normalise(name).split():
                assert word not in token
    # Nor does the client table hold the name in clear.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT full_name FROM {Client._meta.db_table}")
        stored = " ".join(str(row[0]) for row in cursor.fetchall())
    assert "Dimas" not in stored and "Pratama" not in stored


def test_case_search_view_shows_matches_and_audits_codes_only(
    world: World, scene: dict[str, Case]
) -> None:
    response = logged_in(world.counsellor).get(reverse("cases:case_list"), {"q": "dim"})

    assert sorted(shown_codes(response)) == sorted(codes([scene["mine"], scene["shared"]]))
    html = response.content.decode()
    assert "Dimas Pratama" in html and "Dimas Lain" not in html
    (row,) = AuditEvent.objects.filter(action="case.list_viewed")
    assert set(row.refs["shown"].split(",")) == codes([scene["mine"], scene["shared"]])
    assert "dim" not in json.dumps(row.refs)  # the search words are not logged either
    dump = json.dumps(list(AuditEvent.objects.values()), default=str)
    assert "Dimas" not in dump and "Pratama" not in dump


# --- query count and pagination ------------------------------------------------------


def add_cases(world: World, count: int) -> None:
    me = world.counsellor
    for n in range(count):
        client = new_client(me, world.org, f"Dimas Murid{n}")
        open_case(me, client, title=f"Relasi teman {n}")


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": "teman"},
        {"q": "dim"},
        {"q": "DIMAS murid"},
        {"status": "open"},
        {"status": "open", "bidang": "sosial", "q": "dim"},
    ],
)
def test_case_list_query_count_does_not_grow_with_the_number_of_cases(
    world: World, params: dict[str, str]
) -> None:
    # Noise the counsellor must not see (it also matches every search).
    other = world.other_counsellor
    open_case(other, new_client(other, world.org, "Dimas Lain"), title="Relasi teman")
    http = logged_in(world.counsellor)
    url = reverse("cases:case_list")
    assert url == "/kasus/"
    add_cases(world, 3)
    http.get(url, params)  # warm-up: first-request work is not what is measured

    with CaptureQueriesContext(connection) as few:
        response = http.get(url, params)
    assert row_count(response) == 3

    add_cases(world, 37)
    with CaptureQueriesContext(connection) as many:
        response = http.get(url, params)
    assert row_count(response) == 25

    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_client_list_query_count_does_not_grow_with_the_number_of_clients(
    world: World,
) -> None:
    me = world.counsellor
    http = logged_in(me)
    url = reverse("cases:client_list")
    for n in range(3):
        new_client(me, world.org, f"Dimas Murid{n}")
    http.get(url, {"q": "dim"})

    with CaptureQueriesContext(connection) as few:
        http.get(url, {"q": "dim"})
    for n in range(3, 40):
        new_client(me, world.org, f"Dimas Murid{n}")
    with CaptureQueriesContext(connection) as many:
        response = http.get(url, {"q": "dim"})

    assert response.content.decode().count("Dimas Murid") == 25
    assert len(many) == len(few)


def test_case_list_pages_hold_twenty_five_rows(world: World) -> None:
    add_cases(world, 30)
    newest_first = list(
        Case.objects.filter(owner=world.counsellor)
        .order_by("-last_activity_at", "-id")
        .values_list("code", flat=True)
    )
    http = logged_in(world.counsellor)
    url = reverse("cases:case_list")

    first = http.get(url)
    second = http.get(url, {"halaman": "2"})

    assert row_count(first) == 25 and row_count(second) == 5
    assert shown_codes(first) == newest_first[:25]
    assert shown_codes(second) == newest_first[25:]
    assert "halaman=2" in first.content.decode()
    # Page links keep the filters.
    filtered = http.get(url, {"status": "open"})
    assert "?status=open&amp;halaman=2" in filtered.content.decode()


# --- client list ---------------------------------------------------------------------


def test_client_list_search_is_by_name_prefix_and_scoped(
    world: World, scene: dict[str, Case]
) -> None:
    s = scene
    me, other = world.counsellor, world.other_counsellor

    def found(viewer: User, query: str) -> set[str]:
        return {
            c.code
            for c in selectors.client_list(viewer=viewer, organisation=world.org, query=query)
        }

    mine, second = s["mine"].client.code, s["second"].client.code
    theirs, shared = s["theirs"].client.code, s["shared"].client.code
    assert found(me, "dim") == {mine, shared}  # shared: through the supervised case
    assert found(me, "ÑUR") == {second}
    assert found(me, "pratama") == {mine}
    assert found(me, "ima") == set()
    assert found(me, "di") == set()  # too short to search by name
    assert found(me, "") == {mine, second, shared}
    assert found(other, "dim") == {theirs, shared}
    assert found(world.head, "dim") == set()


def test_client_list_view_search(world: World, scene: dict[str, Case]) -> None:
    url = reverse("cases:client_list")

    mine = logged_in(world.counsellor).get(url, {"q": "dim"}).content.decode()
    theirs = logged_in(world.other_counsellor).get(url, {"q": "dim"}).content.decode()
    accents = logged_in(world.counsellor).get(url, {"q": "Ñur"}).content.decode()

    assert "Dimas Pratama" in mine and "Dimas Santoso" in mine and "Dimas Lain" not in mine
    assert "Dimas Lain" in theirs and "Dimas Pratama" not in theirs
    assert "Nur Aini" in accents and "Dimas" not in accents
    assert logged_in(world.head).get(url).status_code == 404
