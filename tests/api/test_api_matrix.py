"""The permission matrix of the HTTP API: every route under /api/v1/ x every persona,
each with a personal token (the anonymous persona sends none).

A route a persona may not use answers 404 exactly like a code that does not exist (403
only where the caller sees the object but may not change it, e.g. a supervisor). The
session matrix (tests/test_permission_matrix.py) leaves "api:" names to this file.

Each row: URL name → (path kwargs, method, JSON body — for a GET, the query string —,
expectation). Values in kwargs and body that name a scene object (``"case"``,
``"client"``…) are replaced by its code. An expectation maps a persona to the expected
status code.

The pengawas's token acts in its education office, which has no cases: 404 on every
case route; it reads the program reports of the group its office supervises only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.api.util import READ, WRITE, api_client
from tests.test_permission_matrix import PERSONAS, Scene, build_scene

# Routes that are not resources: the OpenAPI document and the docs (login-protected web
# pages, covered by the API docs tests) and the root.
NOT_RESOURCES = {"api:openapi-json", "api:openapi-view", "api:api-root"}

CASE_TEAM = {"owner", "co_counsellor", "supervisor"}
WRITERS = {"owner", "co_counsellor"}
# Every persona with a counselling role in the scene's organisation (or, for the outsider,
# in their own organisation, whose token acts there).
COUNSELLORS = {
    "owner",
    "co_counsellor",
    "supervisor",
    "other_counsellor",
    "coordinator",
    "outsider",
}

Expectation = Callable[[str], int]


def _anonymous(persona: str, status: int) -> int:
    return 401 if persona == "anonymous" else status


def counselling_list(persona: str) -> int:
    """A list of the caller's own objects: every counselling role has one (maybe empty)."""
    return _anonymous(persona, 200 if persona in COUNSELLORS else 404)


def case_read(persona: str) -> int:
    return _anonymous(persona, 200 if persona in CASE_TEAM else 404)


def case_write(ok: int) -> Expectation:
    """Owner and co-counsellor succeed (``ok``); the supervisor sees but may not change."""

    def expect(persona: str) -> int:
        if persona in WRITERS:
            return ok
        return _anonymous(persona, 403 if persona == "supervisor" else 404)

    return expect


def organisation_report(persona: str) -> int:
    """The organisation's protected program report: its koordinator BK and pimpinan."""
    return _anonymous(persona, 200 if persona in {"coordinator", "head"} else 404)


def group_report(persona: str) -> int:
    """The groups the pengawas's office supervises: the pengawas only."""
    return _anonymous(persona, 200 if persona == "pengawas" else 404)


def nobody(persona: str) -> int:
    return _anonymous(persona, 404)


Row = tuple[dict[str, str], str, dict[str, Any] | None, Expectation]

MATRIX: dict[str, Row] = {
    # cases (ap1)
    "api:case_list": ({}, "GET", None, counselling_list),
    "api:case_open": (
        {},
        "POST",
        {"client_code": "client", "bidang": "belajar", "title": "Uji", "intake_source": "guru"},
        case_write(201),
    ),
    "api:case_detail": ({"code": "case"}, "GET", None, case_read),
    "api:case_client": ({"code": "case"}, "GET", None, case_read),
    "api:case_status": ({"code": "case"}, "POST", {"status": "in_handling"}, case_write(200)),
    # documents (ap1)
    "api:conference_documents": ({"code": "conference"}, "GET", None, case_read),
    "api:document_download": ({"code": "document"}, "GET", None, case_read),
    # conferences, participants, commitments, evaluations (ap2): rows below
    "api:conference_list": ({}, "GET", None, counselling_list),
    "api:conference_detail": ({"code": "conference"}, "GET", None, case_read),
    "api:conference_create": ({}, "POST", {"case_code": "case"}, case_write(201)),
    "api:conference_schedule": ({"code": "conference"}, "POST", {"place": "Aula"}, case_write(200)),
    "api:conference_status": ({"code": "conference"}, "POST", {"status": "draft"}, case_write(200)),
    "api:participant_list": ({"code": "conference"}, "GET", None, case_read),
    "api:participant_add": (
        {"code": "conference"},
        "POST",
        {"resource": "resource"},
        case_write(201),
    ),
    "api:participant_remove": (
        {"code": "conference", "participant_code": "participant"},
        "DELETE",
        None,
        case_write(204),
    ),
    # The scene's KKA has no time yet (and its consent covers no family member): refused.
    "api:invitation_send": (
        {"code": "conference", "participant_code": "participant"},
        "POST",
        {"channel": "email"},
        case_write(409),
    ),
    "api:commitment_list": ({"code": "conference"}, "GET", None, case_read),
    "api:commitment_add": (
        {"code": "conference"},
        "POST",
        {"who": "participant", "what": "Uji"},
        case_write(201),
    ),
    "api:commitment_progress": (
        {"code": "conference", "commitment_code": "commitment"},
        "POST",
        {"note": "Uji"},
        case_write(201),
    ),
    "api:evaluation_list": ({"code": "closed_conference"}, "GET", None, case_read),
    # program reports: aggregates only (no period given: the current semester)
    "api:report_organisation": ({}, "GET", None, organisation_report),
    "api:report_own": ({}, "GET", None, counselling_list),
    "api:report_groups": ({}, "GET", None, group_report),
    "api:report_group": ({"code": "group"}, "GET", None, group_report),
}

# Further rows for routes already in MATRIX: another period, another office's group.
PERIOD = {"from": "2026-01-01", "to": "2026-06-30"}
MORE: list[tuple[str, Row]] = [
    ("api:report_organisation", ({}, "GET", PERIOD, organisation_report)),
    ("api:report_own", ({}, "GET", PERIOD, counselling_list)),
    ("api:report_group", ({"code": "group"}, "GET", PERIOD, group_report)),
    ("api:report_group", ({"code": "other_group"}, "GET", None, nobody)),
    ("api:report_group", ({"code": "other_group"}, "GET", PERIOD, nobody)),
]


def _api_url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list[Any], namespace: str | None) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and namespace == "api":
                names.add(f"api:{pattern.name}")

    walk(get_resolver().url_patterns, None)
    return names - NOT_RESOURCES


def test_every_api_route_is_in_the_matrix() -> None:
    names = _api_url_names()
    assert names, "no API routes found"
    assert names - set(MATRIX) == set(), "API routes missing from the API permission matrix"
    assert set(MATRIX) - names == set(), "matrix rows for API routes that no longer exist"


@pytest.fixture(scope="module")
def scene(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Scene]:
    """Built once per module inside an outer transaction; each test's writes are rolled
    back with its savepoint."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_scene()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _resolve(spec: Any, scene: Scene) -> Any:
    if isinstance(spec, dict):
        return {key: _resolve(value, scene) for key, value in spec.items()}
    if isinstance(spec, str):
        return scene.objects.get(spec, spec)
    return spec


def _request(scene: Scene, name: str, persona: str, scope: str, row: Row | None = None) -> Any:
    kwargs_spec, method, body_spec, _expect = row or MATRIX[name]
    url = reverse(name, kwargs=_resolve(kwargs_spec, scene))
    user = scene.users[persona]
    http = api_client(user, scope) if user is not None else api_client()
    if method == "GET":
        return http.get(url, _resolve(body_spec or {}, scene))
    body = json.dumps(_resolve(body_spec or {}, scene))
    return http.generic(method, url, body, content_type="application/json")


CASES = [(name, persona) for name in MATRIX for persona in PERSONAS]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "persona"), CASES)
def test_api_permission_matrix(scene: Scene, name: str, persona: str) -> None:
    response = _request(scene, name, persona, WRITE)
    expected = MATRIX[name][3](persona)
    assert response.status_code == expected, (
        f"{MATRIX[name][1]} {name} as {persona}: got {response.status_code}, expected "
        f"{expected}: {response.content[:200]!r}"
    )
    if expected == 404:
        assert response.json()["code"] == "not_found"


MORE_CASES = [(n, persona) for n in range(len(MORE)) for persona in PERSONAS]


@pytest.mark.django_db
@pytest.mark.parametrize(("row", "persona"), MORE_CASES)
def test_api_permission_matrix_more(scene: Scene, row: int, persona: str) -> None:
    name, spec = MORE[row]
    response = _request(scene, name, persona, WRITE, spec)
    expected = spec[3](persona)
    assert response.status_code == expected, (
        f"{name} {spec[0]} {spec[2]} as {persona}: got {response.status_code}, expected "
        f"{expected}: {response.content[:200]!r}"
    )
    if expected == 404:
        assert response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_the_pengawas_lists_its_group_only(scene: Scene) -> None:
    response = _request(scene, "api:report_groups", "pengawas", READ)
    assert response.status_code == 200
    codes = [group["code"] for group in response.json()["items"]]
    assert codes == [scene.objects["group"]]
    members = response.json()["items"][0]["organisations"]
    assert [m["code"] for m in members] == [scene.world.org.code]


WRITE_ROUTES = [name for name, row in MATRIX.items() if row[1] != "GET"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", WRITE_ROUTES)
def test_a_read_token_cannot_use_a_write_route(scene: Scene, name: str) -> None:
    response = _request(scene, name, "owner", READ)
    assert response.status_code == 403
    assert response.json()["code"] == "read_only_token"
