"""``kka keys rotate``: after rotation the old key can go and everything still opens."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from pytest_django import Settings as SettingsWrapper

from kka.audit.models import AuditEvent
from kka.audit.services import audit_verify
from kka.cases import services as case_services
from kka.cases.models import Attachment, Case, Client
from kka.conferences import demo
from kka.conferences.models import ConferenceStatus
from kka.documents import services as document_services
from kka.documents.models import Document
from kka.lib import private_files, rotation
from kka.lib.crypto import DecryptionError, _multifernet
from kka.lib.fields import EncryptedTextField
from tests.personas import make_world
from tests.test_permission_matrix import PNG

pytestmark = pytest.mark.django_db

KEY_NEW = Fernet.generate_key().decode("ascii")
KEY_FOREIGN = Fernet.generate_key().decode("ascii")
CANARY = "KANARI-ROTASI-5V8P"
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Scene:
    old_key: str
    case: Case
    attachment: Attachment
    document: Document


@pytest.fixture(autouse=True)
def _fresh_key_cache() -> Iterator[None]:
    _multifernet.cache_clear()
    yield
    _multifernet.cache_clear()


@pytest.fixture
def scene(settings: SettingsWrapper, tmp_path: Path) -> Scene:
    """A closed demo KKA, a record with an attachment and a produced document, all
    under the configured (old) key. Rows written by migrations use the same key."""
    settings.PRIVATE_FILES_ROOT = tmp_path / "private"
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    world = make_world()
    story = next(
        s
        for s in demo.school_stories(demo.Clock(world.org).today)
        if s.stage == ConferenceStatus.CLOSED
    )
    built = demo.build_story(world.org, world.counsellor, story)
    assert built.conference is not None
    record = case_services.record_add(
        actor=world.counsellor,
        case=built.case,
        occurred_on=demo.Clock(world.org).today,
        source="observasi",
        content=f"Catatan {CANARY}",
        files=[("foto.png", PNG)],
    )
    document = document_services.produce(
        actor=world.counsellor, kind="daftar_hadir", fmt="docx", conference=built.conference
    )
    return Scene(old_key, built.case, record.attachments.get(), document)


def use_keys(settings: SettingsWrapper, *keys: str) -> None:
    settings.FIELD_ENCRYPTION_KEYS = list(keys)


def plaintexts() -> dict[tuple[str, Any, str], str | None]:
    """Every encrypted value, decrypted through the ORM (raises without a fitting key)."""
    found = {}
    for table in rotation.encrypted_tables():
        model = apps.get_model(table.label)
        fields = [f for f in model._meta.local_concrete_fields if isinstance(f, EncryptedTextField)]
        for obj in model._base_manager.order_by("pk"):
            for f in fields:
                found[(table.table, obj.pk, f.column)] = getattr(obj, f.attname)
    return found


def raw_tokens() -> dict[tuple[str, Any, str], str | None]:
    found = {}
    qn = connection.ops.quote_name
    for table in rotation.encrypted_tables():
        for column in table.columns:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {qn(table.pk_column)}, {qn(column)} FROM {qn(table.table)}")
                for pk, token in cursor.fetchall():
                    found[(table.table, pk, column)] = token
    return found


def file_contents() -> dict[str, bytes]:
    return {p.name: private_files.read(p.name) for p in rotation.private_file_paths()}


def file_bytes() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in rotation.private_file_paths()}


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("keys", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def rotated_rows() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="keys.rotated").order_by("id"))


# --- the requirement -------------------------------------------------------------------


def test_after_rotation_the_old_key_can_be_removed(scene: Scene, settings: SettingsWrapper) -> None:
    values = plaintexts()
    contents = file_contents()
    tokens_before = raw_tokens()
    bytes_before = file_bytes()
    stored = {k: v for k, v in values.items() if v is not None}
    tables = {table for table, _pk, _column in stored}
    assert {"cases_client", "cases_caserecord", "cases_attachment", "conferences_minutes"} <= tables
    assert len(stored) > 50
    assert {scene.attachment.stored_name, scene.document.stored_name} <= set(contents)
    assert contents[scene.attachment.stored_name] == PNG

    # Without the old key nothing opens: this is what rotation must change.
    use_keys(settings, KEY_NEW)
    with pytest.raises(DecryptionError):
        Client.objects.get(pk=scene.case.client_id)
    with pytest.raises(DecryptionError):
        private_files.read(scene.attachment.stored_name)

    use_keys(settings, KEY_NEW, scene.old_key)
    out, err = run("rotate")

    assert err == ""
    assert "Re-encrypted" in out
    assert "cases.Client (cases_client):" in out
    use_keys(settings, KEY_NEW)
    assert plaintexts() == values
    assert file_contents() == contents
    assert document_services.document_bytes(Document.objects.get(pk=scene.document.pk))
    tokens_after = raw_tokens()
    assert all(tokens_after[k] != tokens_before[k] for k in stored)
    assert all(file_bytes()[name] != data for name, data in bytes_before.items())
    assert not list(Path(settings.PRIVATE_FILES_ROOT).glob(".rotate-*"))

    (row,) = rotated_rows()
    per_table: dict[str, int] = {}
    for table, _pk, _column in stored:
        per_table[table] = per_table.get(table, 0) + 1
    assert row.outcome == "success"
    assert row.refs == {**per_table, "files": len(contents), "keys": 2, "failed": 0}
    assert row.actor_id is None
    assert audit_verify()[1] is None
    assert CANARY not in json.dumps(list(AuditEvent.objects.values()), default=str)
    assert CANARY not in out


def test_a_second_run_has_nothing_left_and_status_says_the_old_key_may_go(
    scene: Scene, settings: SettingsWrapper
) -> None:
    use_keys(settings, KEY_NEW, scene.old_key)
    before, _ = run("status")
    assert "still need an older key" in before
    run("rotate")
    tokens = raw_tokens()

    out, _ = run("rotate")

    assert "Re-encrypted 0 values" in out
    assert raw_tokens() == tokens
    assert rotated_rows()[-1].refs == {"files": 0, "keys": 2, "failed": 0}
    status, _ = run("status")
    assert "the older keys can be removed" in status
    assert "cases.Client (cases_client): 0 under an older key" in status


def test_dry_run_and_status_change_nothing(scene: Scene, settings: SettingsWrapper) -> None:
    use_keys(settings, KEY_NEW, scene.old_key)
    tokens = raw_tokens()
    stored = file_bytes()
    audit_count = AuditEvent.objects.count()

    out, _ = run("rotate", "--dry-run")
    run("status")

    assert "Dry run:" in out
    assert re.search(r"^cases\.Client \(cases_client\): [1-9]\d* to rotate, 0 current$", out, re.M)
    assert raw_tokens() == tokens
    assert file_bytes() == stored
    assert AuditEvent.objects.count() == audit_count
    use_keys(settings, KEY_NEW)
    with pytest.raises(DecryptionError):
        Client.objects.get(pk=scene.case.client_id)


def test_a_value_or_file_no_key_opens_is_named_and_fails_the_run(
    scene: Scene, settings: SettingsWrapper
) -> None:
    foreign = Fernet(KEY_FOREIGN.encode()).encrypt(CANARY.encode()).decode()
    client_pk = scene.case.client_id
    with connection.cursor() as cursor:
        cursor.execute("UPDATE cases_client SET full_name = %s WHERE id = %s", [foreign, client_pk])
    stray = Path(settings.PRIVATE_FILES_ROOT) / "asing.pdf.enc"
    stray.write_bytes(Fernet(KEY_FOREIGN.encode()).encrypt(b"%PDF-1.4 rahasia"))
    use_keys(settings, KEY_NEW, scene.old_key)

    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("keys", "rotate", stdout=out, stderr=err)

    assert failed.value.returncode == 1
    assert f"cases_client pk={client_pk} column=full_name" in err.getvalue()
    assert "files: asing.pdf.enc" in err.getvalue()
    assert CANARY not in err.getvalue() + out.getvalue() + str(failed.value)
    (row,) = rotated_rows()
    assert row.outcome == "failure"
    assert row.refs["failed"] == 2
    # Everything else was still rotated: the record opens with the new key alone.
    use_keys(settings, KEY_NEW)
    assert f"Catatan {CANARY}" in {r.content for r in scene.case.records.all()}
    assert private_files.read(scene.attachment.stored_name) == PNG


def test_without_keys_rotation_refuses(settings: SettingsWrapper) -> None:
    use_keys(settings)
    with pytest.raises(CommandError, match="no field-encryption keys"):
        run("rotate")
    use_keys(settings, "bukan-kunci")
    with pytest.raises(CommandError, match="key #1"):
        run("status")


# --- pieces that guard against the application working meanwhile ---------------------------


def test_a_value_rewritten_meanwhile_is_not_overwritten(
    scene: Scene, settings: SettingsWrapper
) -> None:
    use_keys(settings, KEY_NEW, scene.old_key)
    table = next(t for t in rotation.encrypted_tables() if t.table == "cases_client")
    stale = raw_tokens()[("cases_client", scene.case.client_id, "full_name")]
    assert stale is not None
    Client.objects.filter(pk=scene.case.client_id).update(full_name="Nama Baru")

    swapped = rotation._compare_and_swap(
        table,
        "full_name",
        scene.case.client_id,
        stale,
        Fernet(KEY_NEW.encode()).encrypt(b"x").decode(),
    )

    assert swapped is False
    assert Client.objects.get(pk=scene.case.client_id).full_name == "Nama Baru"


def test_a_file_removed_meanwhile_does_not_come_back(tmp_path: Path) -> None:
    gone = tmp_path / "hilang.png.enc"

    assert rotation.replace_file(gone, b"data") is False

    assert list(tmp_path.iterdir()) == []


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "berkas.png.enc"
    path.write_bytes(b"lama")
    path.chmod(0o640)

    assert rotation.replace_file(path, b"baru") is True

    assert path.read_bytes() == b"baru"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["berkas.png.enc"]


def test_copies_left_by_an_interrupted_run_are_removed(
    settings: SettingsWrapper, tmp_path: Path
) -> None:
    root = tmp_path / "private"
    root.mkdir()
    settings.PRIVATE_FILES_ROOT = root
    (root / ".rotate-abc.tmp").write_bytes(b"sisa")

    assert rotation.private_file_paths() == []
    run("rotate")

    assert list(root.iterdir()) == []


# --- several keys in the development key file --------------------------------------------


def test_the_development_key_file_may_hold_several_keys(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    old = Fernet.generate_key().decode()
    (data / "field.keys").write_text(f"{KEY_NEW}\n{old}\n")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "KKA_DATA_DIR": str(data),
        "DJANGO_SETTINGS_MODULE": "kka.settings",
        "PYTHONPATH": str(ROOT),
    }
    code = "from django.conf import settings; print(','.join(settings.FIELD_ENCRYPTION_KEYS))"

    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert result.stdout.strip() == f"{KEY_NEW},{old}"
