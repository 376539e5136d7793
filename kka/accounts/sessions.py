"""Session limits and the per-user session registry.

Sessions are stored in the database (``SESSION_ENGINE``), which all application
servers share. Each login also gets a :class:`~kka.accounts.models.UserSession` row,
so that a person can see their sessions and end them, and so that logout of all
devices, a deactivated membership or a password change can end every session of a
user at once: the row keeps the session key encrypted (``key_encrypted``) and the
session is deleted from the store by that key. Rows are found by a keyed hash of the
key; the key never appears in clear outside the session store itself.

:class:`SessionLimitsMiddleware` ends a session after ``SESSION_IDLE_MINUTES`` without
activity and ``SESSION_ABSOLUTE_SECONDS`` after login, for staff and for invited
participants in the portal alike. Activity is recorded at most once a minute, so a
session can end up to a minute before the idle limit, never after it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
from collections.abc import Callable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kka.accounts.models import SessionEndReason, User, UserSession
from kka.audit.services import audit_log
from kka.lib.request_context import client_ip

# Session data written by this module (epoch seconds).
AUTH_AT = "kka_auth_at"
SEEN_AT = "kka_seen_at"
PORTAL_KEY = "kka_portal"  # kka.portal.views.SESSION_KEY (not imported: portal imports us)
SEEN_EVERY = 60  # seconds between two recordings of activity


def now() -> dt.datetime:
    """The clock of this module; tests replace it to travel in time."""
    return timezone.now()


def idle_seconds() -> int:
    return int(settings.SESSION_IDLE_MINUTES) * 60


def absolute_seconds() -> int:
    return int(settings.SESSION_ABSOLUTE_SECONDS)


def key_hash(session_key: str) -> str:
    """Keyed hash of a session key (the registry's lookup column)."""
    secret = hashlib.sha256(b"kka.accounts.sessions:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(secret, session_key.encode(), hashlib.sha256).hexdigest()


def _store(session_key: str | None = None) -> Any:
    engine = import_module(settings.SESSION_ENGINE)
    return engine.SessionStore(session_key)


def ip_network(address: str | None) -> str:
    """Only the network part: IPv4 /24, IPv6 /48 ("203.0.113.0/24")."""
    if not address:
        return ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


_BROWSERS = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)


def device_summary(user_agent: str) -> str:
    """Summarise a User-Agent header as "Chrome · Android"; the header itself is not kept."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "")
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), "")
    return " · ".join(part for part in (browser, system) if part)


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _moment(epoch: int | float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


# --- Registry ---------------------------------------------------------------------------


def session_register(*, request: HttpRequest, user: User) -> UserSession:
    """Start the clocks of a fresh login and add it to the user's registry."""
    session = request.session  # type: ignore[attr-defined]
    moment = now()
    session[AUTH_AT] = _epoch(moment)
    session[SEEN_AT] = _epoch(moment)
    if not session.session_key:
        session.save()
    key = str(session.session_key)
    # Django keeps the key when the same user logs in again inside their session: the
    # row of that key then starts over.
    row, _created = UserSession.objects.update_or_create(
        key_hash=key_hash(key),
        defaults={
            "user": user,
            "key_encrypted": key,
            "created_at": moment,
            "last_seen_at": moment,
            "ended_at": None,
            "end_reason": "",
            "ip_network": ip_network(client_ip(request)),
            "device": device_summary(request.META.get("HTTP_USER_AGENT", ""))[:60],
        },
    )
    return row


def current_row(request: HttpRequest) -> UserSession | None:
    """The registry row of this request's session (also just after its key rotated)."""
    keys = {request.session.session_key, getattr(request, "_kka_session_key", None)}  # type: ignore[attr-defined]
    hashes = [key_hash(key) for key in keys if key]
    if not hashes:
        return None
    return UserSession.objects.filter(key_hash__in=hashes, ended_at__isnull=True).first()


def live_sessions(*, user: User) -> list[UserSession]:
    """The user's sessions that still work: not ended, within both limits, in the store."""
    moment = now()
    rows = UserSession.objects.filter(
        user=user,
        ended_at__isnull=True,
        last_seen_at__gt=moment - dt.timedelta(seconds=idle_seconds()),
        created_at__gt=moment - dt.timedelta(seconds=absolute_seconds()),
    ).order_by("-last_seen_at")
    store = _store()
    return [row for row in rows if store.exists(row.key_encrypted)]


def _end_rows(rows: list[UserSession], *, reason: str, moment: dt.datetime) -> None:
    store = _store()
    for row in rows:
        store.delete(row.key_encrypted)
    UserSession.objects.filter(pk__in=[row.pk for row in rows]).update(
        ended_at=moment, end_reason=reason
    )


def _audit_ended(
    *, actor: Any, user: User, reason: str, count: int, row: UserSession | None = None
) -> None:
    audit_log(
        action="auth.session_ended",
        actor=actor,
        object_type="session",
        object_ref=row.code if row is not None else "",
        refs={"reason": reason, "affected_user": user.pk, "count": count},
    )


@transaction.atomic
def session_end(*, actor: User | None, row: UserSession, reason: str) -> None:
    """End one session: its store entry goes, so its next request is logged out."""
    _end_rows([row], reason=reason, moment=now())
    _audit_ended(actor=actor, user=row.user, reason=reason, count=1, row=row)


@transaction.atomic
def user_sessions_end(
    *,
    actor: User | None,
    user: User,
    reason: str,
    keep: UserSession | None = None,
    keep_key: str | None = None,
) -> int:
    """End every session of ``user`` on every server, but the one kept (the registry row
    ``keep`` and the session key ``keep_key``: the current session, when given).

    Sessions of the user missing from the registry (e.g. started before it existed)
    are found in the store by the user id they hold and deleted too.
    """
    moment = now()
    open_rows = UserSession.objects.select_for_update().filter(user=user, ended_at__isnull=True)
    if keep is not None:
        open_rows = open_rows.exclude(pk=keep.pk)
    rows = list(open_rows)
    _end_rows(rows, reason=reason, moment=moment)
    kept = {keep_key, keep.key_encrypted if keep is not None else None} - {None}
    strays = _unregistered_session_keys(user=user, kept=kept)
    store = _store()
    for key in strays:
        store.delete(key)
    count = len(rows) + len(strays)
    if count:
        _audit_ended(actor=actor, user=user, reason=reason, count=count)
    return count


def _unregistered_session_keys(*, user: User, kept: set[str | None]) -> list[str]:
    """Database sessions of ``user`` with no live registry row (sessions from before
    the registry, or whose row was lost). Only for the database engine."""
    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":
        return []
    from django.contrib.auth import SESSION_KEY
    from django.contrib.sessions.models import Session

    found = []
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.session_key in kept:
            continue
        if str(session.get_decoded().get(SESSION_KEY, "")) == str(user.pk):
            found.append(session.session_key)
    return found


@transaction.atomic
def current_session_end(*, request: HttpRequest, reason: str, by_user: bool = False) -> None:
    """End the session of this request (the registry row and the audit row); the caller
    flushes the session, or Django's logout does."""
    user = request.user
    row = current_row(request)
    if row is not None:
        UserSession.objects.filter(pk=row.pk).update(ended_at=now(), end_reason=reason)
    if user.is_authenticated:
        actor = user if by_user else None
        _audit_ended(actor=actor, user=user, reason=reason, count=1, row=row)  # type: ignore[arg-type]


def current_session_logout(*, request: HttpRequest, reason: str, by_user: bool = False) -> None:
    """End this request's session and log the person out (without the logout signal: they
    did not log out themselves unless ``reason`` says so)."""
    current_session_end(request=request, reason=reason, by_user=by_user)
    request.session.flush()  # type: ignore[attr-defined]
    request.user = AnonymousUser()


# --- Middleware -----------------------------------------------------------------------


class SessionLimitsMiddleware:
    """Ends sessions idle for too long or older than the absolute limit.

    Staff are sent to the login page with a message; a portal participant is shown the
    "you have left" page and may open their private link again.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session  # type: ignore[attr-defined]
        request._kka_session_key = session.session_key  # type: ignore[attr-defined]
        staff = request.user.is_authenticated
        portal = not staff and PORTAL_KEY in session
        if staff or portal:
            ended = self._check(request, staff=staff)
            if ended is not None:
                return ended
        response = self.get_response(request)
        self._after(request, was_staff=staff)
        return response

    def _check(self, request: HttpRequest, *, staff: bool) -> HttpResponse | None:
        session = request.session  # type: ignore[attr-defined]
        moment = _epoch(now())
        auth_at = session.get(AUTH_AT)
        seen_at = session.get(SEEN_AT)
        if not isinstance(auth_at, int) or not isinstance(seen_at, int):
            # A session from before these limits (or a portal entry): its clock starts now.
            session[AUTH_AT] = session[SEEN_AT] = moment
            if staff:
                self._ensure_row(request)
            return None
        reason = ""
        if moment - auth_at > absolute_seconds():
            reason = SessionEndReason.ABSOLUTE
        elif moment - seen_at > idle_seconds():
            reason = SessionEndReason.IDLE
        if reason:
            return self._end(request, staff=staff, reason=reason)
        if moment - seen_at >= SEEN_EVERY:
            session[SEEN_AT] = moment
            if staff:
                updated = UserSession.objects.filter(
                    key_hash=key_hash(session.session_key or ""), ended_at__isnull=True
                ).update(last_seen_at=_moment(moment))
                if not updated:
                    self._ensure_row(request)
        return None

    def _ensure_row(self, request: HttpRequest) -> None:
        key = request.session.session_key  # type: ignore[attr-defined]
        if key and not UserSession.objects.filter(key_hash=key_hash(key)).exists():
            session_register(request=request, user=request.user)  # type: ignore[arg-type]

    def _end(self, request: HttpRequest, *, staff: bool, reason: str) -> HttpResponse:
        message = _("Sesi Anda berakhir karena tidak ada aktivitas.")
        if reason == SessionEndReason.ABSOLUTE:
            message = _("Sesi Anda berakhir setelah 12 jam. Silakan masuk lagi.")
        if not staff:
            request.session.flush()  # type: ignore[attr-defined]
            audit_log(action="auth.session_ended", object_type="portal", refs={"reason": reason})
            if request.path == reverse("portal:home") and request.GET.get("t"):
                return self.get_response(request)  # a fresh entry through the private link
            messages.info(request, message)
            return render(request, "portal/left.html")
        current_session_logout(request=request, reason=reason)
        messages.info(request, message)
        if request.headers.get("HX-Request") == "true":
            response = HttpResponse()
            response["HX-Redirect"] = reverse(settings.LOGIN_URL)
            return response
        if request.method == "GET":
            return redirect_to_login(request.get_full_path())
        return redirect_to_login(reverse("web:home"))

    def _after(self, request: HttpRequest, *, was_staff: bool) -> None:
        """Follow a key rotated during the request (login, second factor, password change,
        portal entry) so the registry keeps finding the session."""
        session = request.session  # type: ignore[attr-defined]
        old = request._kka_session_key  # type: ignore[attr-defined]
        new = session.session_key
        if not new or old == new:
            return
        if request.user.is_authenticated and was_staff and old:
            if UserSession.objects.filter(key_hash=key_hash(new)).exists():
                # A new login inside the session registered the new key itself; the row
                # of the old key described the same session and is superseded.
                UserSession.objects.filter(key_hash=key_hash(old), ended_at__isnull=True).delete()
                return
            updated = UserSession.objects.filter(
                key_hash=key_hash(old), ended_at__isnull=True
            ).update(key_hash=key_hash(new), key_encrypted=new)
            if not updated and UserSession.objects.filter(key_hash=key_hash(old)).exists():
                # Ended elsewhere while this request rotated the key: end the new one too.
                _store().delete(new)
        elif not request.user.is_authenticated and PORTAL_KEY in session:
            moment = _epoch(now())
            session[AUTH_AT] = session[SEEN_AT] = moment
