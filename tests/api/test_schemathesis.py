"""schemathesis against the live OpenAPI document, with a counsellor's write token.

The document is read from the running Django application (``/api/v1/openapi.json``
through its WSGI handler, in this test's database transaction) and every operation in
it is called with generated requests: with the codes of the counsellor's own case,
conference and document (so the answers are real 200s and 201s, not only 404s), with
generated codes, and with deliberately invalid input. No answer may be a server error,
and every answer must match the status codes and bodies the document declares.

Deterministic (derandomised Hypothesis, no example database) and bounded: at most
``EXAMPLES`` requests per operation and pass. No network: the requests never leave the
process.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode

from kka.cases import services as case_services
from kka.conferences import followup
from kka.conferences import services as conference_services
from kka.conferences.models import ApprovalState, Conference
from kka.documents import services as document_services
from tests.api.util import WRITE, token_for
from tests.personas import World

pytestmark = pytest.mark.django_db

# Requests per operation: with the counsellor's own codes, with generated codes (nearly
# always 404), with invalid input.
EXAMPLES = {"own codes": 15, "generated": 5, "invalid input": 10}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def own_objects(world: World) -> dict[str, str]:
    """A case with a conference, a participant, a commitment and a document, owned by
    the counsellor whose token schemathesis uses."""
    me = world.counsellor
    client = case_services.client_create(
        actor=me, organisation=world.org, full_name="Dimas Pratama", birth_date="2011-04-04"
    )
    case = case_services.case_open(
        actor=me, client=client, bidang="sosial", title="Relasi teman", intake_source="guru"
    )
    conference = conference_services.conference_create(actor=me, case=case)
    participant = conference_services.participant_add(
        actor=me,
        conference=conference,
        full_name="Budi",
        role="ayah",
        category="keluarga",
        disclosure="briefing",
    )
    Conference.objects.filter(pk=conference.pk).update(approval=ApprovalState.PENDING)
    conference = conference_services.conference_set_status(
        actor=me, conference=conference, status="planned"
    )
    commitment = followup.commitment_add(
        actor=me, conference=conference, participant=participant, what="Memantau tugas"
    )
    document = document_services.produce(
        actor=me, kind="daftar_hadir", fmt="pdf", conference=conference
    )
    return {
        "case": case.code,
        "client": client.code,
        "conference": conference.code,
        "participant": participant.code,
        "commitment": commitment.code,
        "document": document.code,
    }


def real_path_parameters(operation: Any, objects: dict[str, str]) -> dict[str, str]:
    """The counsellor's own codes for the operation's path parameters (by resource)."""
    path = operation.path
    resource = next(
        (name for name in ("cases", "conferences", "documents") if f"/{name}/" in path + "/"),
        "",
    )
    first = {"cases": "case", "conferences": "conference", "documents": "document"}
    found: dict[str, str] = {}
    for parameter in operation.path_parameters:
        name = parameter.name
        if name in objects:
            found[name] = objects[name]
        elif name.endswith("code") and name != "code" and name[: -len("_code")] in objects:
            found[name] = objects[name[: -len("_code")]]
        elif name == "code" and resource:
            found[name] = objects[first[resource]]
    return found


def run_operation(
    operation: Any,
    headers: dict[str, str],
    *,
    mode: GenerationMode,
    examples: int,
    statuses: list[int],
    path_parameters: dict[str, str] | None = None,
) -> None:
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None)

    @given(case=strategy)
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses.append(response.status_code)

    call()


@pytest.fixture
def keep_connection() -> Iterator[None]:
    """Like Django's test client: the WSGI handler must not close the database connection
    at the end of each request (it holds this test's transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@override_settings(KKA_API_RATE_PER_MINUTE=1_000_000)
@pytest.mark.usefixtures("keep_connection")
def test_schemathesis_finds_no_server_error_and_no_schema_violation(world: World) -> None:
    objects = own_objects(world)
    headers = {"Authorization": f"Bearer {token_for(world.counsellor, WRITE)}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", WSGIHandler())
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # the document itself is valid
        operations.append(result.ok())
    assert len(operations) >= 3, "the API document lists (almost) no operations"

    failures: list[str] = []
    statuses: dict[str, list[int]] = {label: [] for label in EXAMPLES}
    started = time.monotonic()
    for operation in operations:
        real = real_path_parameters(operation, objects)
        passes: list[tuple[str, GenerationMode, dict[str, str] | None]] = [
            ("own codes", GenerationMode.POSITIVE, real),
            ("generated", GenerationMode.POSITIVE, None),
            ("invalid input", GenerationMode.NEGATIVE, real),
        ]
        for label, mode, path_parameters in passes:
            if label == "own codes" and not real:
                continue  # no path parameters: the generated pass covers it
            try:
                run_operation(
                    operation,
                    headers,
                    mode=mode,
                    examples=EXAMPLES[label],
                    statuses=statuses[label],
                    path_parameters=path_parameters,
                )
            except (Exception, BaseExceptionGroup) as error:  # reported together below
                failures.append(f"{operation.method.upper()} {operation.path} [{label}]: {error}")
    elapsed = time.monotonic() - started
    assert not failures, "\n\n".join(failures)
    # The token worked and the own codes reached real objects: not a run of 401s and 404s.
    # (Invalid input includes leaving out or breaking the Authorization header: 401.)
    positive = statuses["own codes"] + statuses["generated"]
    assert positive and 401 not in positive
    assert sum(1 for status in positive if 200 <= status < 300) >= len(operations)
    assert 201 in positive and 422 in statuses["invalid input"]
    assert elapsed < 240, f"schemathesis took {elapsed:.0f} s"
