"""Two application servers, one PostgreSQL, one Redis, a real Celery worker (#8, Done when).

Two gunicorn processes on two ports share the PostgreSQL *test* database and Redis db 10:
a session made on one works on the other, failed logins alternating between them still
lock at the sixth, and an invitation sent through server A is delivered by the worker to
a local SMTP sink exactly once, even when the worker is SIGKILLed mid-task and restarted.

PostgreSQL only (SQLite is one file on one machine: kka.E030 refuses it). On SQLite the
module is skipped; with a postgres DATABASE_URL it is required: a missing Redis, gunicorn
or celery fails it instead of skipping.

The servers run the test settings (``tests.settings``: the real settings with fast
password hashing and static files served without the collected manifest, which takes
minutes to build) in development mode over plain HTTP; production differs only in
HTTPS-only cookies, which a local test cannot carry.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from django.conf import settings

from kka.audit.models import AuditEvent
from kka.conferences.models import Participant, PortalLink
from kka.jobs.models import JobRun
from tests.conferences.test_planning import add_participant, planned
from tests.jobs.util import (
    CELERY,
    flush_redis,
    free_port,
    kill_worker,
    smtp_env,
    smtp_sink,
    start_worker,
    stop_worker,
    worker_env,
    worker_log,
)
from tests.personas import PASSWORD, World

REDIS_URL = "redis://127.0.0.1:6379/10"
GUNICORN = Path(sys.executable).with_name("gunicorn")
ROOT = Path(__file__).resolve().parents[2]
LOGIN_URL = "/akun/masuk/"
LOCKED = "Terlalu banyak percobaan. Coba lagi dalam 30 menit."
WRONG_LOGIN = "Email atau kata sandi salah."
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# A redelivered message comes back after this many seconds without an acknowledgement.
VISIBILITY_SECONDS = 4


def _on_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))


pytestmark = [
    pytest.mark.skipif(
        not _on_postgres(),
        reason="two application servers need PostgreSQL (SQLite is one file on one "
        "machine, refused by kka.E030); runs in CI with DATABASE_URL=postgres://...",
    ),
    pytest.mark.django_db(transaction=True),
]


def _require_tools() -> None:
    """With PostgreSQL the test is required: a missing tool fails it, never skips it."""
    for tool in (GUNICORN, CELERY):
        assert tool.exists(), f"{tool.name} is missing from the virtual environment"
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {type(exc).__name__}")


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[Any]
    log_path: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return Path(self.log_path).read_text(errors="replace")


def _server_env(**extra: str) -> dict[str, str]:
    env = worker_env(redis_url=REDIS_URL, **extra)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "KKA_TEST_DATA_DIR": str(settings.DATA_DIR),
            "KKA_ENV": "development",
            "KKA_SERVERS": "2",
            # One data directory on one machine here; a real cluster shares a mount or S3.
            "KKA_SHARED_FILES": "1",
            "PYTHONPATH": str(ROOT),
        }
    )
    return env


def _start_server(name: str, env: dict[str, str]) -> Server:
    port = free_port()
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115  (kept open by the process)
        prefix=f"kka-gunicorn-{name}-", suffix=".log", delete=False
    )
    proc = subprocess.Popen(
        [
            str(GUNICORN),
            "kka.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--timeout",
            "60",
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Server(name, port, proc, log.name)


def _wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server {server.name} exited:\n{server.log()}")
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"server {server.name} not ready after {timeout} s:\n{server.log()}")


def _stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(timeout=10)
    Path(server.log_path).unlink(missing_ok=True)


@pytest.fixture(scope="module")
def servers(django_db_setup: None, django_db_blocker: Any) -> Iterator[tuple[Server, Server]]:
    """Servers A and B on the test database (its tables are emptied after each test)."""
    _require_tools()
    with django_db_blocker.unblock():
        env = _server_env()
    flush_redis(REDIS_URL)
    started = [_start_server("A", env), _start_server("B", env)]
    try:
        for server in started:
            _wait_ready(server)
        yield started[0], started[1]
    finally:
        for server in started:
            _stop_server(server)
        flush_redis(REDIS_URL)


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    if _on_postgres():
        flush_redis(REDIS_URL)
    yield


def _csrf(session: requests.Session, server: Server, path: str = LOGIN_URL) -> str:
    page = session.get(server.url + path, timeout=30)
    assert page.status_code == 200, page.status_code
    match = CSRF_FIELD.search(page.text)
    assert match, "no CSRF field on the page"
    return match.group(1)


def _login(session: requests.Session, server: Server, email: str, password: str) -> Any:
    token = _csrf(session, server)
    return session.post(
        server.url + LOGIN_URL,
        data={"username": email, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": server.url + LOGIN_URL},
        allow_redirects=False,
        timeout=30,
    )


def _signed_in(session: requests.Session, server: Server) -> bool:
    """The home page answers (not a redirect to the login page) with the session cookie."""
    page = session.get(server.url + "/", allow_redirects=False, timeout=30)
    return page.status_code == 200


# --- (1) a session made on one server works on the other -------------------------------------


def test_a_session_made_on_server_a_works_on_server_b(
    servers: tuple[Server, Server], world: World
) -> None:
    a, b = servers
    browser = requests.Session()
    assert not _signed_in(browser, b)

    answer = _login(browser, a, world.counsellor.email, PASSWORD)
    assert answer.status_code == 302, answer.text[:500]

    assert _signed_in(browser, b)
    assert _signed_in(browser, a)
    # Logging out on B ends the session on A as well (one row in the shared database).
    token = _csrf(browser, b, "/")
    out = browser.post(
        b.url + "/akun/keluar/",
        data={"csrfmiddlewaretoken": token},
        headers={"Referer": b.url + "/"},
        allow_redirects=False,
        timeout=30,
    )
    assert out.status_code == 302
    assert not _signed_in(browser, a)


# --- (2) lock-out across servers ----------------------------------------------------------


def test_failed_logins_alternating_between_servers_lock_at_the_sixth(
    servers: tuple[Server, Server], world: World
) -> None:
    a, b = servers
    email = world.counsellor.email
    answers = []
    for n in range(6):
        server = (a, b)[n % 2]
        answers.append(_login(requests.Session(), server, email, "salah-sama-sekali-123"))

    assert [r.status_code for r in answers[:5]] == [200] * 5
    assert all(WRONG_LOGIN in r.text for r in answers[:5])
    assert answers[5].status_code == 429
    assert LOCKED in answers[5].text

    # Locked on both servers, even with the right password.
    for server in (a, b):
        right = _login(requests.Session(), server, email, PASSWORD)
        assert right.status_code == 429
        assert LOCKED in right.text
    assert not AuditEvent.objects.filter(action="auth.login").exists()


# --- (3) an invitation through server A, delivered once by a worker killed mid-task -----------


def test_an_invitation_sent_through_a_is_delivered_once_despite_a_killed_worker(
    servers: tuple[Server, Server], world: World
) -> None:
    a, _b = servers
    p = planned(world)
    participant = add_participant(p.owner, p.conference, email="wali.murid@contoh.test")

    with smtp_sink() as sink:
        env = worker_env(
            redis_url=REDIS_URL,
            KKA_JOB_VISIBILITY_SECONDS=str(VISIBILITY_SECONDS),
            **smtp_env(sink),
        )
        # The first worker takes the task and is killed while it works (a long delay
        # before sending); the second one, without the delay, gets the message again.
        first = start_worker({**env, "KKA_TEST_TASK_DELAY": "60"})
        try:
            browser = requests.Session()
            assert _login(browser, a, p.owner.email, PASSWORD).status_code == 302
            path = f"/kka/{p.conference.code}/peserta/{participant.code}/undang/"
            token = _csrf(browser, a, f"/kka/{p.conference.code}/")
            sent = browser.post(
                a.url + path,
                data={"channel": "email", "csrfmiddlewaretoken": token},
                headers={"Referer": a.url + f"/kka/{p.conference.code}/"},
                allow_redirects=False,
                timeout=60,
            )
            assert sent.status_code == 302, sent.text[:500]

            deadline = time.monotonic() + 30
            while "send_invitation" not in worker_log(first) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert "send_invitation" in worker_log(first), worker_log(first)
            time.sleep(0.5)  # inside the task now (it sleeps before sending)
            kill_worker(first)
        finally:
            stop_worker(first)
        assert sink.messages == []  # killed before it sent anything

        second = start_worker(env)
        try:
            delivered = sink.wait_for(1, timeout=40)
            # Anything sent twice would arrive within another visibility period.
            time.sleep(VISIBILITY_SECONDS + 2)
        finally:
            stop_worker(second)
        log = worker_log(second)

    assert len(delivered) == 1, log
    assert len(sink.messages) == 1
    assert sink.messages[0]["To"] == "wali.murid@contoh.test"
    participant = Participant.objects.get(pk=participant.pk)
    assert PortalLink.objects.filter(participant=participant).count() == 1
    assert AuditEvent.objects.filter(action="invitation.sent").count() == 1
    assert list(JobRun.objects.values_list("task", "outcome")) == [("send_invitation", "done")]
