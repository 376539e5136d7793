"""The record of processing activities is generated from the models: every encrypted
field appears, marked; no client data ever does."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import models
from django.test import Client as HttpClient
from django.test.utils import isolate_apps

from kka.audit.models import AuditEvent
from kka.cases import services
from kka.lib.fields import EncryptedTextField
from kka.privacy import retention, ropa
from tests.personas import World

pytestmark = pytest.mark.django_db

CANARY_NAME = "Kanari Ropanama"
CANARY_TEXT = "KANARI-ROPA-8H2D"


def _ropa(*args: str) -> str:
    out = io.StringIO()
    call_command("privacy", "ropa", *args, stdout=out)
    return out.getvalue()


def _kka_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models() if model.__module__.startswith("kka.")]


def _listed_fields(data: dict[str, Any]) -> set[tuple[str, str, bool]]:
    return {
        (field["model"], field["field"], field["encrypted"])
        for activity in data["activities"]
        for category in activity["data_categories"]
        for field in category["fields"]
    }


def test_every_encrypted_field_of_every_model_is_listed_as_encrypted() -> None:
    data = json.loads(_ropa("--format", "json"))
    listed = _listed_fields(data)
    encrypted = [
        (model._meta.label_lower, field.name)
        for model in _kka_models()
        for field in model._meta.concrete_fields
        if isinstance(field, EncryptedTextField)
    ]
    assert len(encrypted) > 60
    missing = [pair for pair in encrypted if (*pair, True) not in listed]
    assert missing == []
    assert ("cases.client", "full_name", True) in listed
    assert ("conferences.minutes", "private_text", True) in listed


def test_every_model_of_kka_is_assigned_to_an_activity() -> None:
    unassigned = [row["model"] for row in ropa.inventory() if row["activity"] == ropa.UNCLASSIFIED]
    assert unassigned == [], "assign these models in kka.privacy.ropa.MODELS"
    keys = {activity.key for activity in ropa.ACTIVITIES}
    assert {activity for activity, _category in ropa.MODELS.values()} <= keys
    assert {category for _activity, category in ropa.MODELS.values()} <= set(ropa.CATEGORIES)


@isolate_apps("kka.privacy")
def test_a_new_encrypted_field_or_model_appears_on_its_own() -> None:
    class Diary(models.Model):
        mood = models.CharField(max_length=20)
        secret_note = EncryptedTextField()

        class Meta:
            app_label = "privacy"

        def __str__(self) -> str:
            return self.mood

    data = ropa.record(model_list=[Diary])
    assert ("privacy.diary", "secret_note", True) in _listed_fields(data)
    assert ("privacy.diary", "mood", False) in _listed_fields(data)
    assert data["activities"][-1]["key"] == ropa.UNCLASSIFIED
    text = ropa.render(data, "text")
    assert "privacy.diary: mood, secret_note [terenkripsi/encrypted]" in text
    assert "Belum digolongkan" in text


def test_each_activity_has_purpose_basis_subjects_recipients_and_retention() -> None:
    data = ropa.record()
    for activity in data["activities"]:
        assert activity["purpose"]["id"] and activity["purpose"]["en"]
        assert activity["legal_basis"] and activity["data_subjects"] and activity["recipients"]
        assert activity["processors"] == []
        assert activity["retention"] or activity["retention_note"]
    text = ropa.render(data, "text")
    for phrase in ("Persetujuan", "Kepentingan vital", "Kewajiban hukum", "Peserta KKA"):
        assert phrase in text
    assert "Enkripsi saat disimpan" in text


def test_the_output_holds_no_client_data_in_any_format(world: World) -> None:
    client = services.client_create(
        actor=world.counsellor, organisation=world.org, full_name=CANARY_NAME
    )
    services.case_open(
        actor=world.counsellor,
        client=client,
        bidang="sosial",
        title="Judul uji",
        intake_source="guru",
        description=CANARY_TEXT,
    )
    for fmt in ropa.FORMATS:
        output = _ropa("--format", fmt, "--organisation", world.org.code)
        for secret in (CANARY_NAME, "Ropanama", CANARY_TEXT, client.code, "Judul uji"):
            assert secret not in output, (fmt, secret)
    events = AuditEvent.objects.filter(action="privacy.ropa_printed").order_by("id")
    assert [event.refs["format"] for event in events] == list(ropa.FORMATS)
    assert all(event.organisation_id == world.org.pk for event in events)


def test_retention_comes_from_the_organisations_rules(world: World) -> None:
    retention.retention_rule_set(
        actor=world.dpo, organisation=world.org, record_type="closed_case", months=36
    )
    mine = json.loads(_ropa("--format", "json", "--organisation", world.org.code))
    defaults = json.loads(_ropa("--format", "json"))

    def months(data: dict[str, Any]) -> int:
        activity = next(a for a in data["activities"] if a["key"] == "case_handling")
        return next(r["months"] for r in activity["retention"] if r["record_type"] == "closed_case")

    assert months(mine) == 36 and months(defaults) == 60
    assert mine["controller"] == world.org.name
    with pytest.raises(CommandError):
        _ropa("--organisation", "NOPE")


def test_markdown_has_headings() -> None:
    output = _ropa("--format", "md")
    assert output.startswith("# Catatan kegiatan pemrosesan data pribadi")
    assert "\n## 1. " in output and "\n### Dasar pemrosesan / Legal basis" in output


def test_the_dpo_reads_the_record_on_the_web_and_no_one_else(world: World) -> None:
    for name, user in world.personas().items():
        browser = HttpClient()
        browser.force_login(user)
        response = browser.get("/privasi/ropa/")
        if name == "dpo":
            assert response.status_code == 200
            page = response.content.decode()
            assert "Catatan kegiatan pemrosesan" in page and "terenkripsi" in page
            assert "cases.client.full_name" in page
        else:
            assert response.status_code == 404, name
    assert AuditEvent.objects.filter(action="privacy.ropa_printed").count() == 1


def test_an_english_speaking_dpo_reads_the_english_texts(world: World) -> None:
    world.dpo.language = "en"
    world.dpo.save(update_fields=["language"])
    browser = HttpClient()
    browser.force_login(world.dpo)
    page = browser.get("/privasi/ropa/").content.decode()
    assert "Handling counselling cases" in page
    assert "Penanganan kasus bimbingan dan konseling" not in page
