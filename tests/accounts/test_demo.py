from __future__ import annotations

import io
import stat
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client as HttpClient

from kka.accounts.models import Membership, Organisation, Role, User
from kka.audit.services import audit_verify
from kka.cases.models import Case
from kka.conferences.models import Conference


def run_demo(tmp_path: Path, *args: str) -> tuple[str, Path]:
    out = io.StringIO()
    logins = tmp_path / "logins.txt"
    call_command("demo", f"--logins-file={logins}", *args, stdout=out)
    return out.getvalue(), logins


@pytest.mark.django_db
def test_demo_creates_a_school_and_a_company_with_one_user_per_role(tmp_path: Path) -> None:
    output, logins = run_demo(tmp_path)
    school = Organisation.objects.get(setting="sekolah")
    company = Organisation.objects.get(setting="perusahaan")
    assert school.time_zone == "Asia/Jakarta"
    assert company.time_zone == "Asia/Makassar"
    for organisation in (school, company):
        roles = set(
            Membership.objects.filter(organisation=organisation).values_list("role", flat=True)
        )
        assert roles == set(Role.values)
    assert stat.S_IMODE(logins.stat().st_mode) == 0o600
    assert "konselor@smpn7.demo" in output and "konselor@smpn7.demo" in logins.read_text()
    assert Case.objects.filter(organisation=school).count() == 2
    assert Conference.objects.filter(case__organisation=school, status="planned").count() == 1
    assert audit_verify()[1] is None


@pytest.mark.django_db
def test_demo_passwords_are_random_and_work(tmp_path: Path) -> None:
    _output, logins = run_demo(tmp_path)
    line = next(x for x in logins.read_text().splitlines() if "konselor@smpn7.demo" in x)
    password = line.split("|")[-1].strip()
    assert len(password) >= 12
    other = next(x for x in logins.read_text().splitlines() if "admin@smpn7.demo" in x)
    assert other.split("|")[-1].strip() != password
    http = HttpClient()
    response = http.post("/akun/masuk/", {"username": "konselor@smpn7.demo", "password": password})
    assert response.status_code == 302
    assert "Penurunan prestasi belajar" in http.get("/kasus/").content.decode()


@pytest.mark.django_db
def test_demo_password_can_be_fixed(tmp_path: Path, settings: Any) -> None:
    settings.KKA_DEMO_PASSWORD = "Sandi-demo-yang-panjang-1"
    run_demo(tmp_path)
    assert User.objects.get(email="dpo@nsl.demo").check_password("Sandi-demo-yang-panjang-1")


@pytest.mark.django_db
def test_demo_refuses_a_database_that_is_not_empty_unless_told_to_skip(tmp_path: Path) -> None:
    run_demo(tmp_path)
    with pytest.raises(CommandError):
        run_demo(tmp_path)
    output, _ = run_demo(tmp_path, "--if-empty")
    assert "not empty" in output
    assert Organisation.objects.count() == 2


@pytest.mark.django_db
def test_demo_is_never_created_in_production(tmp_path: Path, settings: Any) -> None:
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="never"):
        run_demo(tmp_path)
    assert not Organisation.objects.exists()
