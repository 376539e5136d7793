"""Second factor: TOTP (django-otp) with hashed one-time backup codes.

- ``KKA_REQUIRE_2FA`` (on in production) makes every staff account enrol a TOTP device
  at its first login; ``TwoFactorMiddleware`` sends a logged-in person who has not given
  their second factor in this session to the verification (or enrolment) page from every
  staff URL.
- Someone who has a device is always asked for it, whatever the setting.
- A TOTP code is accepted once (django-otp keeps the last accepted time step); a backup
  code is spent when used. Backup codes are stored only as password hashes.
- The time of the last verification is kept in the session; ``kka.accounts.stepup`` asks
  for a fresh one before sensitive actions.
"""

from __future__ import annotations

import secrets
import time
from base64 import b32encode
from collections.abc import Callable
from typing import Any

import segno
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from kka.accounts.models import BackupCode, User
from kka.audit.services import audit_log

SESSION_VERIFIED_AT = "kka_2fa_at"
BACKUP_CODE_COUNT = 10
BACKUP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
BACKUP_LENGTH = 10

# Pages a logged-in person may open before giving the second factor.
OPEN_URL_NAMES = {
    "accounts:logout",
    "accounts:login",
    "accounts:otp_verify",
    "accounts:otp_enrol",
    "accounts:set_language",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
    "healthz",
    "readyz",
}
OPEN_NAMESPACES = {"portal"}
# The API answers for itself (bearer token, 401 JSON), never with a redirect to a login
# page; only its interactive docs are a staff page (login and second factor).
API_NAMESPACE = "api"
API_STAFF_URL_NAMES = {"api:openapi-view"}


def required() -> bool:
    return bool(getattr(settings, "KKA_REQUIRE_2FA", False))


def step_up_seconds() -> int:
    return int(getattr(settings, "KKA_STEP_UP_SECONDS", 300))


def confirmed_device(user: Any) -> TOTPDevice | None:
    if user is None or not user.is_authenticated:
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("id").first()


def enrolment_device(user: User) -> TOTPDevice:
    """The unconfirmed device being set up (a new secret if there is none yet)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="KKA", confirmed=False)
    return device


def secret_base32(device: TOTPDevice) -> str:
    raw = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def qr_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// URI as an SVG QR code in a data: URI (no inline styles or scripts)."""
    return str(segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2))


def is_verified(request: HttpRequest) -> bool:
    user = request.user
    return bool(getattr(user, "is_verified", lambda: False)())


def verified_at(request: HttpRequest) -> float | None:
    value = request.session.get(SESSION_VERIFIED_AT)  # type: ignore[attr-defined]
    return float(value) if isinstance(value, int | float) else None


def verified_recently(request: HttpRequest) -> bool:
    moment = verified_at(request)
    return moment is not None and 0 <= time.time() - moment <= step_up_seconds()


def mark_verified(request: HttpRequest, device: TOTPDevice | None) -> None:
    """Record a successful verification in the session (new session key)."""
    if device is not None:
        otp_login(request, device)
    request.session.cycle_key()  # type: ignore[attr-defined]
    request.session[SESSION_VERIFIED_AT] = time.time()  # type: ignore[attr-defined]


# --- backup codes -------------------------------------------------------------------


def _normalise(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _new_code() -> str:
    raw = "".join(secrets.choice(BACKUP_ALPHABET) for _ in range(BACKUP_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def backup_codes_replace(*, user: User) -> list[str]:
    """Delete every backup code of the user and make new ones; the raw codes are returned
    once, for display, and never stored."""
    codes = [_new_code() for _ in range(BACKUP_CODE_COUNT)]
    BackupCode.objects.filter(user=user).delete()
    BackupCode.objects.bulk_create(
        BackupCode(user=user, code_hash=make_password(_normalise(code))) for code in codes
    )
    return codes


def backup_codes_left(user: User) -> int:
    return BackupCode.objects.filter(user=user, used_at__isnull=True).count()


def backup_code_use(*, user: User, code: str) -> bool:
    wanted = _normalise(code)
    if len(wanted) != BACKUP_LENGTH:
        return False
    with transaction.atomic():
        rows = BackupCode.objects.select_for_update().filter(user=user, used_at__isnull=True)
        for row in rows:
            if check_password(wanted, row.code_hash):
                row.used_at = timezone.now()
                row.save(update_fields=["used_at"])
                return True
    return False


# --- verification -------------------------------------------------------------------


def looks_like_totp(code: str) -> bool:
    digits = code.replace(" ", "")
    return digits.isdigit() and len(digits) == 6


def verify_code(*, user: User, device: TOTPDevice, code: str) -> tuple[bool, str]:
    """Check a TOTP or backup code. Returns (accepted, method); failures are counted on the
    device (django-otp throttling: after a failure the next try must wait 2^n seconds)."""
    allowed, _info = device.verify_is_allowed()
    if not allowed:
        return False, "throttled"
    code = code.strip()
    if looks_like_totp(code):
        return bool(device.verify_token(code.replace(" ", ""))), "totp"
    if backup_code_use(user=user, code=code):
        device.throttle_reset(commit=True)
        return True, "backup_code"
    device.throttle_increment(commit=True)
    return False, "backup_code"


def audit(action: str, user: User, outcome: str = "success", **refs: Any) -> None:
    audit_log(action=action, actor=user, outcome=outcome, object_type="user", refs=refs)


def device_reset(*, user: User) -> None:
    """Remove the second factor (the person enrols again); only from a fresh step-up."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        BackupCode.objects.filter(user=user).delete()
        audit("auth.otp_reset", user)


# --- middleware ---------------------------------------------------------------------


def needs_second_factor(request: HttpRequest) -> bool:
    user = request.user
    if not user.is_authenticated or is_verified(request):
        return False
    return required() or confirmed_device(user) is not None


def _open_path(request: HttpRequest) -> bool:
    if request.path.startswith(str(settings.STATIC_URL)):
        return True
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return True  # the 404 page itself shows nothing
    if match.namespace in OPEN_NAMESPACES:
        return True
    if match.namespace == API_NAMESPACE and match.view_name not in API_STAFF_URL_NAMES:
        return True
    return match.view_name in OPEN_URL_NAMES


def second_factor_url(request: HttpRequest) -> str:
    name = "accounts:otp_verify" if confirmed_device(request.user) else "accounts:otp_enrol"
    url = reverse(name)
    if request.method == "GET":
        url += "?" + urlencode({"next": request.get_full_path()})
    return url


class TwoFactorMiddleware:
    """Sends a logged-in person without a verified second factor to verify or enrol."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if needs_second_factor(request) and not _open_path(request):
            target = second_factor_url(request)
            if request.headers.get("HX-Request") == "true":
                response = HttpResponse()
                response["HX-Redirect"] = target
                return response
            return redirect(target)
        return self.get_response(request)
