"""The letterhead logo: uploaded by the organisation admin, checked by content, stored
encrypted, printed in documents, removable."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse
from pypdf import PdfReader

from kka.accounts.models import Organisation
from kka.audit.models import AuditEvent
from kka.documents import render
from kka.documents.blocks import Doc, Paragraph
from kka.lib import private_files
from tests.personas import make_world
from tests.test_permission_matrix import PNG

pytestmark = pytest.mark.django_db
URL = "/akun/lembaga/pengaturan/logo/"


def upload(http: HttpClient, data: bytes, name: str = "logo.png") -> None:
    response = http.post(URL, {"logo": SimpleUploadedFile(name, data)})
    assert response.status_code == 302


def images_in(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


def test_admin_uploads_a_logo_that_is_printed_and_can_be_removed(
    django_capture_on_commit_callbacks: Any,
) -> None:
    world = make_world()
    http = HttpClient()
    http.force_login(world.admin)
    assert reverse("accounts:organisation_logo") == URL
    doc = Doc(kind="uji", title="Uji", blocks=[Paragraph("Isi")])
    assert images_in(render.render_pdf(doc, world.org)) == 0

    upload(http, PNG)
    org = Organisation.objects.get(pk=world.org.pk)
    assert org.logo_stored_name
    assert private_files.read(org.logo_stored_name) == PNG
    assert images_in(render.render_pdf(doc, org)) == 1
    event = AuditEvent.objects.filter(action="org.logo_changed").latest("id")
    assert event.refs == {"logo": "set"}

    # Replacing deletes the previous file.
    first = org.logo_stored_name
    with django_capture_on_commit_callbacks(execute=True):
        upload(http, PNG + b"x")
    org.refresh_from_db()
    assert org.logo_stored_name != first
    with pytest.raises(FileNotFoundError):
        private_files.read(first)
    page = http.get(reverse("accounts:organisation_settings")).content.decode()
    assert "Logo sudah terpasang" in page

    response = http.post(URL, {"remove": "1"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.logo_stored_name == ""
    assert images_in(render.render_pdf(doc, org)) == 0


def test_only_images_are_accepted() -> None:
    world = make_world()
    http = HttpClient()
    http.force_login(world.admin)
    upload(http, b"%PDF-1.4 not an image", name="logo.png")
    upload(http, b"<svg onload=alert(1)>", name="logo.svg")
    upload(http, PNG + b"\0" * (1024 * 1024), name="besar.png")
    assert Organisation.objects.get(pk=world.org.pk).logo_stored_name == ""
    assert not AuditEvent.objects.filter(action="org.logo_changed").exists()


def test_nobody_else_changes_the_logo() -> None:
    world = make_world()
    for user in (world.counsellor, world.coordinator, world.head, world.dpo, world.outsider):
        http = HttpClient()
        http.force_login(user)
        response = http.post(URL, {"logo": SimpleUploadedFile("logo.png", PNG)})
        assert response.status_code == 404
    assert Organisation.objects.get(pk=world.org.pk).logo_stored_name == ""
