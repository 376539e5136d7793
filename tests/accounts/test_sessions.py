"""Sessions: idle and absolute limits, key rotation, the registry and ending sessions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from kka import checks
from kka.accounts import sessions
from kka.accounts.models import User, UserSession
from kka.audit.models import AuditEvent
from tests.personas import PASSWORD, World

pytestmark = pytest.mark.django_db

LOGIN_URL = "/akun/masuk/"
SESSIONS_URL = "/akun/sesi/"
END_ALL_URL = "/akun/sesi/akhiri-semua/"
PHONE = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
LAPTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
IDLE_MESSAGE = "Sesi Anda berakhir karena tidak ada aktivitas"


class Clock:
    """The sessions module's clock, moved by hand."""

    def __init__(self) -> None:
        self.moment = timezone.now()

    def __call__(self) -> dt.datetime:
        return self.moment

    def forward(self, **delta: float) -> None:
        self.moment += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    fake = Clock()
    monkeypatch.setattr(sessions, "now", fake)
    yield fake


def login(user: User, *, agent: str = PHONE, address: str = "203.0.113.77") -> Client:
    http = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=address)
    response = http.post(LOGIN_URL, {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return http


def session_key(http: Client) -> str:
    return http.cookies[settings.SESSION_COOKIE_NAME].value


def is_logged_in(http: Client) -> bool:
    response = http.get("/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)
    return False


def ended(action_reason: str) -> list[AuditEvent]:
    return [
        row
        for row in AuditEvent.objects.filter(action="auth.session_ended").order_by("id")
        if row.refs.get("reason") == action_reason
    ]


# --- login: key rotation and the registry ---------------------------------------------


def test_login_rotates_the_session_key_and_the_old_key_no_longer_works(world: World) -> None:
    http = Client()
    before = http.session  # an anonymous session, as a visitor has before logging in
    before["seen"] = 1
    before.save()
    old_key = before.session_key

    response = http.post(LOGIN_URL, {"username": world.counsellor.email, "password": PASSWORD})

    assert response.status_code == 302
    new_key = session_key(http)
    assert new_key != old_key
    assert not SessionStore().exists(old_key)
    assert http.session[SESSION_KEY] == str(world.counsellor.pk)
    stale = Client()
    stale.cookies[settings.SESSION_COOKIE_NAME] = old_key
    assert not is_logged_in(stale)
    assert is_logged_in(http)


def test_login_adds_a_registry_row_without_the_raw_key(world: World) -> None:
    http = login(world.counsellor)
    key = session_key(http)

    row = UserSession.objects.get(user=world.counsellor)
    assert row.device == "Chrome · Android"
    assert row.ip_network == "203.0.113.0/24"
    assert row.ended_at is None
    assert row.key_hash == sessions.key_hash(key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_usersession")
        stored = " ".join(str(value) for record in cursor.fetchall() for value in record)
    assert key not in stored
    assert "203.0.113.77" not in stored
    assert "SM-A546E" not in stored

    page = http.get(SESSIONS_URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert key not in html
    assert "Chrome · Android" in html
    assert "sesi ini" in html
    assert "no-store" in page["Cache-Control"]


def test_device_and_network_summaries() -> None:
    assert sessions.device_summary(LAPTOP) == "Firefox · Windows"
    assert (
        sessions.device_summary(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
        )
        == "Safari · iOS"
    )
    assert sessions.device_summary("curl/8.0") == ""
    assert sessions.ip_network("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert sessions.ip_network("not an address") == ""
    assert sessions.ip_network(None) == ""


# --- idle and absolute limits ---------------------------------------------------------------


def test_idle_session_ends_with_a_message_on_the_login_page(world: World, clock: Clock) -> None:
    http = login(world.counsellor)
    key = session_key(http)
    clock.forward(minutes=14)
    assert is_logged_in(http)  # activity: the idle clock starts again
    clock.forward(minutes=14)
    assert is_logged_in(http)

    clock.forward(minutes=15, seconds=1)
    response = http.get("/kasus/", follow=True)

    assert response.redirect_chain[0][0].startswith(f"{LOGIN_URL}?next=/kasus/")
    assert IDLE_MESSAGE in response.content.decode()
    assert not Session.objects.filter(session_key=key).exists()
    row = UserSession.objects.get(user=world.counsellor)
    assert (row.end_reason, row.ended_at) == ("idle", clock.moment)
    audit = ended("idle")
    assert len(audit) == 1
    assert audit[0].actor_id is None
    assert audit[0].refs["affected_user"] == world.counsellor.pk
    assert key not in str(audit[0].refs) + audit[0].object_ref
    assert not is_logged_in(http)


@override_settings(SESSION_IDLE_MINUTES=30)
def test_idle_limit_is_configurable(world: World, clock: Clock) -> None:
    http = login(world.counsellor)
    clock.forward(minutes=29)
    assert is_logged_in(http)
    clock.forward(minutes=30, seconds=1)
    assert not is_logged_in(http)


def test_activity_is_recorded_at_most_once_a_minute(world: World, clock: Clock) -> None:
    http = login(world.counsellor)
    row = UserSession.objects.get(user=world.counsellor)
    clock.forward(seconds=30)
    assert is_logged_in(http)
    row.refresh_from_db()
    assert row.last_seen_at == row.created_at
    clock.forward(seconds=31)
    assert is_logged_in(http)
    row.refresh_from_db()
    assert row.last_seen_at == clock.moment.replace(microsecond=0)


def test_session_ends_twelve_hours_after_login_despite_activity(world: World, clock: Clock) -> None:
    http = login(world.counsellor)
    for _ in range(12 * 6):
        clock.forward(minutes=10)
        assert is_logged_in(http)
    clock.forward(seconds=1)

    response = http.get("/", follow=True)

    assert response.redirect_chain[0][0].startswith(LOGIN_URL)
    assert "12 jam" in response.content.decode()
    row = UserSession.objects.get(user=world.counsellor)
    assert row.end_reason == "absolute"
    assert len(ended("absolute")) == 1


def test_htmx_request_of_an_expired_session_is_sent_to_login(world: World, clock: Clock) -> None:
    http = login(world.counsellor)
    clock.forward(minutes=16)
    response = http.get("/kasus/", headers={"HX-Request": "true"})
    assert response["HX-Redirect"] == LOGIN_URL


def test_idle_limit_outside_5_to_30_minutes_is_a_configuration_error() -> None:
    for value in (4, 31, -1):
        with override_settings(SESSION_IDLE_MINUTES=value):
            assert [m.id for m in checks.check_session_limits()] == ["kka.E015"]
    for value in (5, 15, 30):
        with override_settings(SESSION_IDLE_MINUTES=value):
            assert checks.check_session_limits() == []


# --- logout and ending sessions ---------------------------------------------------------


def test_logout_ends_the_registry_row(world: World) -> None:
    http = login(world.counsellor)
    http.post("/akun/keluar/")
    row = UserSession.objects.get(user=world.counsellor)
    assert row.end_reason == "logout"
    assert [r.actor_id for r in ended("logout")] == [world.counsellor.pk]
    assert not is_logged_in(http)


def test_end_one_session_from_the_page(world: World) -> None:
    phone = login(world.counsellor, agent=PHONE)
    laptop = login(world.counsellor, agent=LAPTOP, address="198.51.100.9")
    html = laptop.get(SESSIONS_URL).content.decode()
    assert "Chrome · Android" in html and "Firefox · Windows" in html
    assert html.count(">sesi ini<") == 1
    phone_row = UserSession.objects.get(key_hash=sessions.key_hash(session_key(phone)))

    response = laptop.post(reverse("accounts:session_end", args=[phone_row.code]))

    assert response.status_code == 302
    assert response["Location"] == SESSIONS_URL
    assert not is_logged_in(phone)
    assert is_logged_in(laptop)
    phone_row.refresh_from_db()
    assert phone_row.end_reason == "ended_by_user"
    assert "Chrome · Android" not in laptop.get(SESSIONS_URL).content.decode()
    assert [(r.actor_id, r.object_ref) for r in ended("ended_by_user")] == [
        (world.counsellor.pk, phone_row.code)
    ]


def test_ending_the_current_session_from_the_page_logs_out(world: World) -> None:
    http = login(world.counsellor)
    row = UserSession.objects.get(user=world.counsellor)
    response = http.post(reverse("accounts:session_end", args=[row.code]))
    assert response["Location"].startswith(LOGIN_URL)
    assert not is_logged_in(http)


def test_someone_elses_session_cannot_be_ended(world: World) -> None:
    victim = login(world.counsellor)
    other = login(world.other_counsellor)
    row = UserSession.objects.get(user=world.counsellor)

    assert other.post(reverse("accounts:session_end", args=[row.code])).status_code == 404
    assert other.get(reverse("accounts:session_end", args=[row.code])).status_code == 405
    assert is_logged_in(victim)
    row.refresh_from_db()
    assert row.ended_at is None


def test_end_all_other_sessions_keeps_this_one(world: World) -> None:
    phone = login(world.counsellor, agent=PHONE)
    tablet = login(world.counsellor, agent=PHONE)
    laptop = login(world.counsellor, agent=LAPTOP)
    someone_else = login(world.coordinator)

    laptop.post(END_ALL_URL, {"keep_current": "1"})

    assert not is_logged_in(phone)
    assert not is_logged_in(tablet)
    assert is_logged_in(laptop)
    assert is_logged_in(someone_else)
    [audit] = ended("all")
    assert audit.refs["count"] == 2


def test_logout_of_every_device(world: World) -> None:
    phone = login(world.counsellor, agent=PHONE)
    laptop = login(world.counsellor, agent=LAPTOP)

    response = laptop.post(END_ALL_URL, follow=True)

    assert "Anda sudah keluar dari semua perangkat" in response.content.decode()
    assert not is_logged_in(phone)
    assert not is_logged_in(laptop)
    assert not UserSession.objects.filter(user=world.counsellor, ended_at__isnull=True).exists()


def test_two_servers_sharing_the_database_see_the_same_end(world: World, clock: Clock) -> None:
    """One browser whose requests reach two application servers (two test clients with
    the same cookie): what one server ends, the other refuses on the next request."""
    server_a = login(world.counsellor)
    server_b = Client()
    server_b.cookies[settings.SESSION_COOKIE_NAME] = session_key(server_a)
    assert is_logged_in(server_b)
    clock.forward(minutes=10)
    assert is_logged_in(server_a)  # activity seen by A keeps B's view of the session alive
    clock.forward(minutes=10)
    assert is_logged_in(server_b)

    server_a.post("/akun/keluar/")

    assert not is_logged_in(server_b)


# --- deactivation and password change ---------------------------------------------------


def test_deactivating_a_member_ends_all_their_sessions(world: World) -> None:
    phone = login(world.counsellor, agent=PHONE)
    laptop = login(world.counsellor, agent=LAPTOP)
    # A session from before the registry existed is found in the store and ended too.
    old = login(world.counsellor)
    UserSession.objects.filter(key_hash=sessions.key_hash(session_key(old))).delete()
    admin = login(world.admin)
    membership = world.org.memberships.get(user=world.counsellor)

    admin.post(reverse("accounts:member_set_active", args=[membership.code]), {"active": "0"})

    for http in (phone, laptop, old):
        assert not is_logged_in(http)
    assert is_logged_in(admin)
    [audit] = ended("deactivated")
    assert (audit.actor_id, audit.refs["affected_user"], audit.refs["count"]) == (
        world.admin.pk,
        world.counsellor.pk,
        3,
    )


def test_password_change_ends_every_other_session(world: World) -> None:
    phone = login(world.counsellor, agent=PHONE)
    laptop = login(world.counsellor, agent=LAPTOP)
    before = session_key(laptop)

    response = laptop.post(
        "/akun/kata-sandi/ubah/",
        {
            "old_password": PASSWORD,
            "new_password1": "Kopi-tubruk-pagi-hari-2026",
            "new_password2": "Kopi-tubruk-pagi-hari-2026",
        },
    )

    assert response.status_code == 302
    assert session_key(laptop) != before  # the key rotates with the new password
    assert is_logged_in(laptop)
    assert not is_logged_in(phone)
    live = UserSession.objects.get(user=world.counsellor, ended_at__isnull=True)
    assert live.key_hash == sessions.key_hash(session_key(laptop))
    assert live.device == "Firefox · Windows"
    assert [r.refs["count"] for r in ended("password_changed")] == [1]
    assert len(laptop.get(SESSIONS_URL).context["rows"]) == 1


# --- portal ----------------------------------------------------------------------------------


def test_idle_portal_session_ends_and_the_private_link_opens_it_again(
    world: World, clock: Clock
) -> None:
    from kka.conferences import services as conference_services
    from tests.conferences.test_planning import add_participant, give_consent, make_case

    owner = world.counsellor
    case = make_case(owner, world.org)
    give_consent(owner, case.client)
    conference = conference_services.conference_create(actor=owner, case=case)
    participant = add_participant(owner, conference)
    token = conference_services.portal_link_create(participant=participant)
    visitor = Client()
    assert visitor.get("/undangan/", {"t": token}).status_code == 302
    assert visitor.get("/undangan/").status_code == 200
    clock.forward(minutes=15, seconds=1)

    response = visitor.get("/undangan/")

    assert response.status_code == 200
    assert IDLE_MESSAGE in response.content.decode()
    assert sessions.PORTAL_KEY not in visitor.session
    assert visitor.get("/undangan/").status_code == 404
    assert visitor.get("/undangan/", {"t": token}).status_code == 302  # a fresh start
    assert visitor.get("/undangan/").status_code == 200
    assert [r.object_type for r in ended("idle")] == ["portal"]


def test_logging_in_again_inside_a_session_keeps_one_registry_row(world: World) -> None:
    """A second login() inside a logged-in session (as a second-factor step may do) keeps
    Django's key; the view then rotates it: one open row follows the newest key."""
    from django.contrib.auth import login as django_login
    from django.http import HttpResponse
    from django.test import RequestFactory

    http = login(world.counsellor)
    old_key = session_key(http)
    request = RequestFactory().get("/")
    request.session = SessionStore(old_key)
    request.user = world.counsellor

    def view(request: Any) -> HttpResponse:
        django_login(request, world.counsellor, backend="django.contrib.auth.backends.ModelBackend")
        request.session.cycle_key()
        return HttpResponse()

    sessions.SessionLimitsMiddleware(view)(request)
    request.session.save()

    new_key = request.session.session_key
    assert new_key != old_key
    open_rows = UserSession.objects.filter(user=world.counsellor, ended_at__isnull=True)
    assert [row.key_hash for row in open_rows] == [sessions.key_hash(new_key)]
    http.cookies[settings.SESSION_COOKIE_NAME] = new_key
    assert is_logged_in(http)


def test_a_key_rotated_during_a_request_is_followed_by_the_registry(world: World) -> None:
    from django.http import HttpResponse
    from django.test import RequestFactory

    http = login(world.counsellor)
    old_key = session_key(http)
    request = RequestFactory().get("/")
    request.session = SessionStore(old_key)
    request.user = world.counsellor

    def view(request: Any) -> HttpResponse:
        request.session.cycle_key()  # e.g. after the second factor was verified
        return HttpResponse()

    sessions.SessionLimitsMiddleware(view)(request)

    new_key = request.session.session_key
    row = UserSession.objects.get(user=world.counsellor)
    assert (row.key_hash, row.key_encrypted) == (sessions.key_hash(new_key), new_key)
