"""Second factor: TOTP enrolment, verification, backup codes, reuse, throttling, step-up."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client, override_settings
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from kka.accounts import two_factor
from kka.accounts.models import BackupCode, User
from kka.audit.models import AuditEvent
from tests.personas import PASSWORD, World

pytestmark = pytest.mark.django_db

VERIFY = "/akun/verifikasi/"
ENROL = "/akun/2fa/daftar/"
MANAGE = "/akun/2fa/"
LOGIN = "/akun/masuk/"
REQUIRED = override_settings(KKA_REQUIRE_2FA=True)
RELAXED = override_settings(KKA_REQUIRE_2FA=False)


def code_for(device: TOTPDevice, steps: int = 0) -> str:
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps * device.step
    return f"{totp.token():06d}"


def login(email: str, password: str = PASSWORD) -> Client:
    client = Client()
    response = client.post(LOGIN, {"username": email, "password": password})
    assert response.status_code == 302, "password login failed"
    return client


def enrol(client: Client, user: User) -> tuple[TOTPDevice, list[str]]:
    page = client.get(ENROL)
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(ENROL, {"code": code_for(device)})
    assert response.status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    return device, list(response.context["codes"])


def enrolled(user: User) -> tuple[TOTPDevice, list[str]]:
    device = TOTPDevice.objects.create(user=user, name="KKA", confirmed=True)
    return device, two_factor.backup_codes_replace(user=user)


def actions(user: User) -> list[str]:
    return list(
        AuditEvent.objects.filter(actor_id=user.pk, action__startswith="auth.")
        .exclude(action__in=["auth.login", "auth.logout", "auth.session_ended"])
        .order_by("id")
        .values_list("action", flat=True)
    )


def age_verification(client: Client, seconds: float) -> None:
    session = client.session
    session[two_factor.SESSION_VERIFIED_AT] = time.time() - seconds
    session.save()


def unthrottle(device: TOTPDevice) -> None:
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)


# --- enrolment ------------------------------------------------------------------------------


@REQUIRED
def test_first_login_without_device_goes_to_enrolment_then_backup_codes(world: World) -> None:
    user = world.counsellor
    client = login(user.email)

    home = client.get("/")
    assert home.status_code == 302
    assert home["Location"].startswith(ENROL)

    page = client.get(ENROL)
    body = page.content.decode()
    assert 'src="data:image/svg+xml' in body
    assert "style=" not in body.split("<main", 1)[-1]  # CSP: no inline styles in the page
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert two_factor.secret_base32(device) in body

    wrong = client.post(ENROL, {"code": "000000" if code_for(device) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed
    unthrottle(device)  # django-otp makes the next try wait after a failure

    device, codes = enrol(client, user)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/").status_code == 200
    assert actions(user) == ["auth.otp_failed", "auth.otp_enrolled"]
    # Shown once: the management page only says how many are left.
    age_verification(client, 0)
    manage = client.get(MANAGE).content.decode()
    assert not any(code in manage for code in codes)


def test_backup_codes_are_stored_hashed_only(world: World) -> None:
    _device, codes = enrolled(world.counsellor)
    stored = list(
        BackupCode.objects.filter(user=world.counsellor).values_list("code_hash", flat=True)
    )
    assert len(stored) == 10
    for code in codes:
        raw = code.replace("-", "")
        assert all(raw not in value and code not in value for value in stored)
    events = " ".join(str(e.refs) for e in AuditEvent.objects.all())
    assert not any(code in events for code in codes)


# --- verification after login ----------------------------------------------------------------


@RELAXED
def test_someone_with_a_device_is_asked_even_when_not_required(world: World) -> None:
    device, _codes = enrolled(world.counsellor)
    client = login(world.counsellor.email)
    response = client.get("/kasus/")
    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)
    old_key = client.session.session_key

    ok = client.post(VERIFY + "?next=/kasus/", {"code": code_for(device), "next": "/kasus/"})
    assert ok.status_code == 302 and ok["Location"] == "/kasus/"
    assert client.session.session_key != old_key  # key rotated on verification
    assert client.get("/").status_code == 200
    assert actions(world.counsellor) == ["auth.otp_verified"]
    assert AuditEvent.objects.get(action="auth.otp_verified").refs == {"method": "totp"}


@REQUIRED
def test_totp_code_cannot_be_reused(world: World) -> None:
    device, _codes = enrolled(world.counsellor)
    code = code_for(device)
    first = login(world.counsellor.email)
    assert first.post(VERIFY, {"code": code})["Location"] == "/"

    second = login(world.counsellor.email)
    refused = second.post(VERIFY, {"code": code})
    assert refused.status_code == 200
    assert second.get("/").status_code == 302
    device.refresh_from_db()
    assert device.last_t >= 0
    assert AuditEvent.objects.filter(action="auth.otp_failed", outcome="failure").count() == 1


@REQUIRED
def test_backup_code_works_once(world: World) -> None:
    _device, codes = enrolled(world.counsellor)
    first = login(world.counsellor.email)
    assert first.post(VERIFY, {"code": codes[0].upper()})["Location"] == "/"
    assert first.get("/").status_code == 200
    assert two_factor.backup_codes_left(world.counsellor) == 9
    assert AuditEvent.objects.get(action="auth.otp_verified").refs == {"method": "backup_code"}

    second = login(world.counsellor.email)
    assert second.post(VERIFY, {"code": codes[0]}).status_code == 200
    assert second.get("/").status_code == 302
    assert two_factor.backup_codes_left(world.counsellor) == 9


@REQUIRED
def test_wrong_code_is_audited_and_throttled(world: World) -> None:
    device, _codes = enrolled(world.counsellor)
    client = login(world.counsellor.email)
    good = code_for(device)
    bad = "123456" if good != "123456" else "654321"

    wrong = client.post(VERIFY, {"code": bad})
    assert wrong.status_code == 200
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    failed = AuditEvent.objects.get(action="auth.otp_failed")
    assert failed.outcome == "failure" and failed.actor_id == world.counsellor.pk
    assert bad not in str(failed.refs)

    # Right code right after a failure: django-otp makes the person wait.
    throttled = client.post(VERIFY, {"code": good})
    assert throttled.status_code == 200
    assert "Terlalu banyak percobaan" in throttled.content.decode()
    assert client.get("/").status_code == 302

    unthrottle(device)
    assert client.post(VERIFY, {"code": good})["Location"] == "/"
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


# --- matrix: every staff page --------------------------------------------------------------


@REQUIRED
def test_password_only_user_is_sent_to_enrolment_from_every_staff_page(world: World) -> None:
    from django.urls import reverse

    from tests.test_permission_matrix import MATRIX, build_scene, logged_in

    scene = build_scene()
    client = Client()
    client.force_login(scene.users["owner"])
    checked = 0
    for name, (kwargs_spec, expectation) in MATRIX.items():
        if name.startswith("portal:") or expectation("anonymous")[0] != "login":
            continue  # public pages and the participants' portal need no staff login
        if expectation("owner")[0] is None:
            continue  # POST-only
        kwargs = {key: scene.objects.get(value, value) for key, value in kwargs_spec.items()}
        url = reverse(name, kwargs=kwargs)
        response = client.get(url)
        if name == "accounts:otp_enrol":
            assert response.status_code == 200
            continue
        assert response.status_code == 302, f"{url}: {response.status_code}"
        assert response["Location"].startswith(ENROL), f"{url}: {response['Location']}"
        checked += 1
        # Nothing of the page leaked into the redirect.
    assert checked > 40
    assert logged_in("owner") == ("ok", None)


@REQUIRED
def test_open_pages_stay_reachable_without_second_factor(world: World) -> None:
    client = login(world.counsellor.email)
    assert client.get("/healthz").status_code == 200
    assert client.post("/akun/bahasa/", {"language": "en"}).status_code == 302
    assert client.post("/akun/keluar/").status_code == 302
    assert client.session.get(SESSION_KEY) is None


# --- password reset --------------------------------------------------------------------------

LINK = re.compile(r"https?://testserver(/akun/kata-sandi/atur/[^/\s]+/[^/\s]+/)")


@REQUIRED
def test_password_reset_neither_logs_in_nor_removes_the_device(world: World) -> None:
    device, _codes = enrolled(world.counsellor)
    client = Client()
    client.post("/akun/kata-sandi/lupa/", {"email": world.counsellor.email})
    link = LINK.search(mail.outbox[0].body)
    assert link is not None
    set_url = client.get(link.group(1))["Location"]
    new = "Kopi-tubruk-pagi-hari-2026"
    done = client.post(set_url, {"new_password1": new, "new_password2": new})
    assert done["Location"] == "/akun/kata-sandi/atur/selesai/"
    assert client.session.get(SESSION_KEY) is None
    assert TOTPDevice.objects.filter(pk=device.pk, confirmed=True).exists()

    after = login(world.counsellor.email, new)
    response = after.get("/")
    assert response["Location"].startswith(VERIFY)


# --- step-up ---------------------------------------------------------------------------------


@REQUIRED
def test_step_up_asks_again_after_five_minutes(world: World) -> None:
    device, _codes = enrolled(world.counsellor)
    client = login(world.counsellor.email)
    client.post(VERIFY, {"code": code_for(device)})

    age_verification(client, 60)
    assert client.get(MANAGE).status_code == 200
    assert client.get("/akun/kata-sandi/ubah/").status_code == 200

    age_verification(client, 301)
    stale = client.get(MANAGE)
    assert stale.status_code == 302
    assert stale["Location"].startswith(VERIFY) and "step_up=1" in stale["Location"]
    assert client.get("/akun/kata-sandi/ubah/")["Location"].startswith(VERIFY)
    # Still verified for ordinary pages.
    assert client.get("/").status_code == 200

    ok = client.post(VERIFY, {"code": code_for(device, 1), "next": MANAGE, "step_up": "1"})
    assert ok["Location"] == MANAGE
    assert client.get(MANAGE).status_code == 200
    assert actions(world.counsellor)[-1] == "auth.step_up"


@REQUIRED
def test_regenerating_backup_codes_voids_the_old_ones(world: World) -> None:
    device, old = enrolled(world.counsellor)
    client = login(world.counsellor.email)
    client.post(VERIFY, {"code": code_for(device)})
    response = client.post(MANAGE, {"action": "regenerate"})
    new = list(response.context["codes"])
    assert set(new).isdisjoint(old)
    assert not two_factor.backup_code_use(user=world.counsellor, code=old[1])
    assert two_factor.backup_code_use(user=world.counsellor, code=new[1])
    assert "auth.backup_codes_regenerated" in actions(world.counsellor)


@REQUIRED
def test_reset_second_factor_needs_fresh_step_up_and_forces_enrolment(world: World) -> None:
    device, _codes = enrolled(world.counsellor)
    client = login(world.counsellor.email)
    client.post(VERIFY, {"code": code_for(device)})
    age_verification(client, 600)
    assert client.post(MANAGE, {"action": "reset"}).status_code == 302
    assert TOTPDevice.objects.filter(pk=device.pk).exists()  # refused: not fresh

    age_verification(client, 0)
    assert client.post(MANAGE, {"action": "reset"})["Location"] == ENROL
    assert not TOTPDevice.objects.filter(user=world.counsellor).exists()
    assert not BackupCode.objects.filter(user=world.counsellor).exists()
    assert client.get("/")["Location"].startswith(ENROL)


@RELAXED
def test_without_second_factor_step_up_asks_the_password(world: World) -> None:
    client = Client()
    client.force_login(world.counsellor)
    assert client.get("/").status_code == 200  # demo: password only
    # Password change asks for the current password itself: no extra step.
    assert client.get("/akun/kata-sandi/ubah/").status_code == 200

    asked = client.get(MANAGE)
    assert asked["Location"].startswith(VERIFY)
    page = client.get(asked["Location"])
    assert 'name="password"' in page.content.decode()
    assert client.post(VERIFY, {"password": "salah-sekali", "next": MANAGE}).status_code == 200
    ok = client.post(VERIFY, {"password": PASSWORD, "next": MANAGE})
    assert ok["Location"] == MANAGE
    # No device yet: the management page leads to enrolment.
    assert client.get(MANAGE)["Location"] == ENROL
    assert client.get(ENROL).status_code == 200
    age_verification(client, 301)
    assert client.get(ENROL)["Location"].startswith(VERIFY)  # voluntary enrolment: step-up
    assert actions(world.counsellor) == ["auth.otp_failed", "auth.step_up"]


@RELAXED
def test_wrong_passwords_at_step_up_end_the_session(world: World) -> None:
    client = Client()
    client.force_login(world.counsellor)
    for _ in range(5):
        response = client.post(VERIFY, {"password": "salah-sekali"})
    assert response["Location"] == LOGIN
    assert client.session.get(SESSION_KEY) is None


def test_production_without_second_factor_warns() -> None:
    from kka.checks import check_second_factor

    with override_settings(PRODUCTION=True, KKA_REQUIRE_2FA=False):
        assert [m.id for m in check_second_factor()] == ["kka.W012"]
    with override_settings(PRODUCTION=True, KKA_REQUIRE_2FA=True):
        assert check_second_factor() == []


@RELAXED
def test_rahasia_minutes_download_needs_a_fresh_step_up(world: World) -> None:
    from kka.documents import services as document_services
    from tests.conferences.test_followup import held

    kka = held(world)
    owner = world.counsellor
    rahasia = document_services.produce(
        actor=owner, kind="notulen", fmt="pdf", edition="rahasia", conference=kka.conference
    )
    shared = document_services.produce(
        actor=owner, kind="notulen", fmt="pdf", conference=kka.conference
    )
    client = Client()
    client.force_login(owner)
    assert client.get(f"/dokumen/{shared.code}/unduh/").status_code == 200

    url = f"/dokumen/{rahasia.code}/unduh/"
    asked = client.get(url)
    assert asked.status_code == 302 and asked["Location"].startswith(VERIFY)
    assert asked.get("Content-Disposition") is None
    client.post(VERIFY, {"password": PASSWORD, "next": url})
    assert client.get(url).status_code == 200
    age_verification(client, 301)
    assert client.get(url).status_code == 302
    # The KKA's bundle holds the rahasia minutes too.
    bundle = f"/kka/{kka.conference.code}/dokumen/cetak-semua/"
    assert client.get(bundle)["Location"].startswith(VERIFY)
    age_verification(client, 0)
    assert client.get(bundle).status_code == 200
    # Someone outside the case still gets 404, not the step-up page.
    outsider = Client()
    outsider.force_login(world.other_counsellor)
    assert outsider.get(url).status_code == 404
