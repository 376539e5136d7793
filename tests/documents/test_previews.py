"""``kka documents preview``: page 1 of every registered kind as a small PNG."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from kka.accounts.models import Organisation
from kka.documents import registry
from kka.documents.models import Document

pytestmark = pytest.mark.django_db


def test_preview_renders_every_kind_and_leaves_no_data(tmp_path: Path) -> None:
    stale = tmp_path / "dihapus.png"
    stale.write_bytes(b"old")
    call_command("documents", "preview", "--out", str(tmp_path))
    pngs = sorted(path.stem for path in tmp_path.glob("*.png"))
    assert pngs == sorted(registry.load_all())
    for name in pngs:
        data = (tmp_path / f"{name}.png").read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert 3_000 < len(data) < 60_000, name  # legible, yet small enough to commit
    # The demo data is rolled back.
    assert not Organisation.objects.exists()
    assert not Document.objects.exists()
