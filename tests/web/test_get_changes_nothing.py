"""A GET changes nothing: every page of the permission matrix, opened by the case owner,
leaves every table as it was (rows and their contents), except the audit trail (reads
are logged on purpose) and session bookkeeping."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps
from django.db import models, transaction
from django.test import Client
from django.urls import reverse

from tests.test_permission_matrix import MATRIX, Scene, build_scene

pytestmark = pytest.mark.django_db

# Written by design on a read: the audit log (every read of client data is logged) and
# session state (server-side sessions, their activity time, login-attempt bookkeeping).
EXCLUDED_APPS = {"audit", "sessions", "axes"}
# Read logs of the same kind: the disclosure trail of a document (a download or a print
# bundle is a disclosure and must be recorded; UU PDP's processing trail lists it).
EXCLUDED_MODELS = {"documents.DocumentAccess"}


def _excluded(model: type[models.Model]) -> bool:
    return (
        model._meta.app_label in EXCLUDED_APPS
        or model._meta.label in EXCLUDED_MODELS
        or "session" in (model._meta.model_name or "")
    )


def snapshot() -> dict[str, tuple[int, str]]:
    """Per table: the row count and a digest of every row's values."""
    state: dict[str, tuple[int, str]] = {}
    for model in apps.get_models(include_auto_created=True):
        if _excluded(model) or model._meta.proxy or not model._meta.managed:
            continue
        rows = list(model._base_manager.order_by("pk").values_list())
        digest = hashlib.sha256(repr(rows).encode("utf-8", "replace")).hexdigest()
        state[model._meta.label] = (len(rows), digest)
    return state


def changed(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list[str]:
    return [
        f"{label}: {before.get(label)} -> {after.get(label)}"
        for label in sorted(set(before) | set(after))
        if before.get(label) != after.get(label)
    ]


@pytest.fixture(scope="module")
def scene(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Scene]:
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_scene()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


OWNER_GETS = sorted(
    name for name, (_kwargs, expect) in MATRIX.items() if expect("owner")[0] is not None
)


@pytest.mark.parametrize("name", OWNER_GETS)
def test_a_get_changes_nothing(scene: Scene, name: str) -> None:
    kwargs_spec, _expect = MATRIX[name]
    kwargs = {key: scene.objects.get(value, value) for key, value in kwargs_spec.items()}
    http = Client()
    http.force_login(scene.users["owner"])
    url = reverse(name, kwargs=kwargs)
    before = snapshot()

    response = http.get(url)

    assert response.status_code < 500
    assert changed(before, snapshot()) == [], f"GET {url} changed the database"


def test_the_snapshot_sees_a_change_in_a_row(scene: Scene) -> None:
    """The comparison can fail: an edited field (same row count) is noticed."""
    from kka.cases.models import Case

    before = snapshot()
    Case.objects.filter(code=scene.objects["case"]).update(title="Judul lain")

    assert any(line.startswith("cases.Case:") for line in changed(before, snapshot()))


def test_the_portal_page_changes_nothing(scene: Scene) -> None:
    """Exchanging the token opens a session (and records the first visit); looking at
    the portal afterwards changes nothing."""
    from kka.cases import services as case_services
    from kka.conferences import services as conference_services
    from kka.conferences.models import Participant

    participant = Participant.objects.get(code=scene.objects["participant"])
    case_services.consent_record(
        actor=scene.users["owner"],
        client=participant.conference.case.client,
        giver="orang_tua",
        giver_name="Budi",
        channel="kertas",
        purposes=["purpose_hold_kka", "share_family"],
    )
    token = conference_services.portal_link_create(participant=participant)
    visitor = Client()
    assert visitor.get("/undangan/", {"t": token}).status_code == 302
    before = snapshot()

    for _ in range(2):
        assert visitor.get("/undangan/").status_code == 200

    assert changed(before, snapshot()) == []
