"""The document routes of the API: a KKA's documents and downloading one."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient

from kka.audit.models import AuditEvent
from kka.documents import services
from kka.documents.models import Document, DocumentAccess
from kka.privacy import breakglass
from tests.api.util import WRITE, api_client
from tests.documents.conftest import DESCRIPTION_CANARY, PRIVATE_CANARY, FullKka, full_kka

__all__ = ["full_kka"]  # the fixture, imported for this module

pytestmark = pytest.mark.django_db


@pytest.fixture
def produced(full_kka: FullKka) -> dict[str, Document]:
    actor = full_kka.world.counsellor
    attendance = services.produce(
        actor=actor, kind="daftar_hadir", fmt="pdf", conference=full_kka.conference
    )
    private = services.produce(
        actor=actor, kind="notulen", fmt="pdf", edition="rahasia", conference=full_kka.conference
    )
    return {"attendance": attendance, "private": private}


def listing_url(full_kka: FullKka) -> str:
    return f"/api/v1/conferences/{full_kka.conference.code}/documents"


def test_list_documents_with_kind_format_and_download_url(
    full_kka: FullKka, produced: dict[str, Document]
) -> None:
    response = api_client(full_kka.world.counsellor).get(listing_url(full_kka))
    assert response.status_code == 200
    data = response.json()
    expected = list(
        Document.objects.filter(conference=full_kka.conference)
        .order_by("-created_at", "-id")
        .values_list("code", flat=True)
    )
    assert [i["code"] for i in data["items"]] == expected
    assert data["count"] == len(expected) >= 2
    item = next(i for i in data["items"] if i["code"] == produced["attendance"].code)
    assert item["kind"] == "daftar_hadir" and item["format"] == "pdf"
    assert item["download_url"] == f"/api/v1/documents/{produced['attendance'].code}/download"
    assert item["title"]
    for canary in (DESCRIPTION_CANARY, PRIVATE_CANARY):
        assert canary not in response.content.decode()
    row = AuditEvent.objects.get(action="document.list_viewed")
    assert row.object_ref == full_kka.conference.code
    assert row.refs["shown"] == ",".join(expected)
    page = api_client(full_kka.world.counsellor).get(
        listing_url(full_kka), {"limit": 1, "offset": 1}
    )
    assert [i["code"] for i in page.json()["items"]] == expected[1:2]


def test_download_a_pdf_is_recorded(full_kka: FullKka, produced: dict[str, Document]) -> None:
    document = produced["attendance"]
    http = api_client(full_kka.world.counsellor)
    url = http.get(listing_url(full_kka)).json()["items"]
    url = next(i["download_url"] for i in url if i["code"] == document.code)
    response = http.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert (
        response["Content-Disposition"] == f'attachment; filename="{services.filename(document)}"'
    )
    assert "no-store" in response["Cache-Control"]
    access = DocumentAccess.objects.get(document=document)
    assert access.channel == "download" and access.user == full_kka.world.counsellor
    assert AuditEvent.objects.filter(action="document.accessed", object_ref=document.code).exists()


def test_the_private_minutes_are_refused_over_the_api(
    full_kka: FullKka, produced: dict[str, Document]
) -> None:
    response = api_client(full_kka.world.counsellor, WRITE).get(
        f"/api/v1/documents/{produced['private'].code}/download"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "step_up_required"
    assert PRIVATE_CANARY.encode() not in response.content
    assert not DocumentAccess.objects.filter(document=produced["private"]).exists()


def test_break_glass_does_not_list_or_fetch_the_private_minutes(
    full_kka: FullKka, produced: dict[str, Document]
) -> None:
    world = full_kka.world
    breakglass.breakglass_open(
        actor=world.coordinator,
        organisation=world.org,
        case_code=full_kka.case.code,
        reason="Keadaan darurat: konseli tidak dapat dihubungi sejak kemarin",
    )
    http = api_client(world.coordinator)
    listed = {i["code"] for i in http.get(listing_url(full_kka)).json()["items"]}
    assert produced["attendance"].code in listed
    assert produced["private"].code not in listed
    assert http.get(f"/api/v1/documents/{produced['private'].code}/download").status_code == 404
    assert http.get(f"/api/v1/documents/{produced['attendance'].code}/download").status_code == 200


@pytest.mark.parametrize("persona", ["other_counsellor", "outsider", "head", "dpo", "coordinator"])
def test_outsiders_get_404_like_a_missing_code(
    full_kka: FullKka, produced: dict[str, Document], persona: str
) -> None:
    http = api_client(full_kka.world.personas()[persona])
    missing = http.get("/api/v1/documents/ZZZZZZZZZZ/download")
    assert missing.status_code == 404
    for url in (
        listing_url(full_kka),
        f"/api/v1/documents/{produced['attendance'].code}/download",
        f"/api/v1/documents/{produced['private'].code}/download",
    ):
        response = http.get(url)
        assert response.status_code == 404, url
        assert response.json() == missing.json()
    assert http.get("/api/v1/conferences/ZZZZZZZZZZ/documents").json() == missing.json()
    assert not DocumentAccess.objects.exists()


def test_without_a_token_401(full_kka: FullKka, produced: dict[str, Document]) -> None:
    http = HttpClient()
    assert http.get(listing_url(full_kka)).status_code == 401
    assert http.get(f"/api/v1/documents/{produced['attendance'].code}/download").status_code == 401


def test_the_download_route_is_in_the_openapi_document(full_kka: FullKka) -> None:
    http = HttpClient()
    http.force_login(full_kka.world.counsellor)
    schema: dict[str, Any] = http.get("/api/v1/openapi.json").json()
    assert "/api/v1/documents/{code}/download" in schema["paths"]
    assert "/api/v1/conferences/{code}/documents" in schema["paths"]
