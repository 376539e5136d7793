"""Helpers for tests that run a real Celery worker and a local SMTP server.

Shared with the two-server integration test (tests/integration): ``smtp_sink()`` is an
aiosmtpd server on a free port that keeps what it receives (and can refuse the next
messages with a transient 451), ``start_worker(env)`` starts ``celery -A kka.celery
worker`` as a subprocess and waits until it is ready, ``stop_worker(proc)`` ends it (and
its pool), ``worker_env(...)`` builds the environment for a worker that uses the test
database, data directory and keys of this test process.
"""

from __future__ import annotations

import contextlib
import email
import email.message
import email.policy
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

ROOT = Path(__file__).resolve().parent.parent.parent
CELERY = Path(sys.executable).with_name("celery")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Sink:
    """What the SMTP server received; ``refuse(n)`` answers 451 to the next n messages."""

    port: int = 0
    messages: list[email.message.EmailMessage] = field(default_factory=list)
    refused: int = 0  # how many messages were refused so far
    _to_refuse: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def refuse(self, count: int = 1) -> None:
        with self._lock:
            self._to_refuse = count

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if address in str(m.get("To", ""))]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[email.message.EmailMessage]:
        """Wait until at least ``count`` messages arrived (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return list(self.messages)

    # aiosmtpd handler hook
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            if self._to_refuse > 0:
                self._to_refuse -= 1
                self.refused += 1
                return "451 4.3.0 Try again later"
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        self.messages.append(message)
        return "250 OK"


@contextlib.contextmanager
def smtp_sink() -> Iterator[Sink]:
    """A local SMTP server on a free port for the duration of the block."""
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port
    try:
        yield sink
    finally:
        controller.stop()


def smtp_env(sink: Sink) -> dict[str, str]:
    """Environment for a KKA process that mails through ``sink`` (plain SMTP)."""
    return {
        "KKA_SMTP_HOST": "127.0.0.1",
        "KKA_SMTP_PORT": str(sink.port),
        "KKA_SMTP_TLS": "0",
        "KKA_SMTP_SSL": "0",
    }


def worker_env(*, redis_url: str, **extra: str) -> dict[str, str]:
    """Environment for a worker that shares this test process's database (the test
    database, so the test must use ``django_db(transaction=True)``), data directory,
    keys and base URL. PostgreSQL only: SQLite's test database may live in memory."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise RuntimeError("a worker subprocess needs the PostgreSQL test database")
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or "5432"
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "kka.settings",
            "DATABASE_URL": f"postgres://{user}{password}@{host}:{port}/{db['NAME']}",
            "REDIS_URL": redis_url,
            "KKA_DATA_DIR": str(settings.DATA_DIR),
            "KKA_FIELD_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
            "KKA_INDEX_KEY": str(settings.SEARCH_INDEX_KEY),
            "KKA_SECRET_KEY": str(settings.SECRET_KEY),
            "KKA_BASE_URL": str(settings.KKA_BASE_URL),
            "KKA_LOG_LEVEL": "INFO",
        }
    )
    env.update(extra)
    return env


def start_worker(
    env: dict[str, str], *, args: tuple[str, ...] = (), timeout: float = 60.0
) -> subprocess.Popen[Any]:
    """Start ``celery -A kka.celery worker`` (solo pool, one task at a time) and wait
    until it says it is ready. Its output goes to ``proc.log_path`` (read it with
    ``worker_log(proc)``). The worker runs in its own process group."""
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115  (kept open by the process)
        prefix="kka-worker-", suffix=".log", delete=False
    )
    proc = subprocess.Popen(
        [
            str(CELERY),
            "-A",
            "kka.celery",
            "worker",
            "--loglevel=INFO",
            "--pool=solo",
            "--concurrency=1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            *args,
        ],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    proc.log_path = log.name  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"celery worker exited ({proc.returncode}):\n{worker_log(proc)}")
        if " ready." in worker_log(proc):
            return proc
        time.sleep(0.2)
    stop_worker(proc)
    raise RuntimeError(f"celery worker not ready after {timeout} s:\n{worker_log(proc)}")


def worker_log(proc: subprocess.Popen[Any]) -> str:
    return Path(proc.log_path).read_text(errors="replace")  # type: ignore[attr-defined]


def kill_worker(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL the worker's whole process group (a crash: nothing is acknowledged)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def stop_worker(proc: subprocess.Popen[Any], *, timeout: float = 15.0) -> None:
    """Warm shutdown (SIGTERM), then SIGKILL if it does not end in time."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_worker(proc)


def flush_redis(redis_url: str) -> None:
    """Empty the Redis database of ``redis_url`` (a test's own db number)."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()


@contextlib.contextmanager
def use_broker(url: str) -> Iterator[None]:
    """This test process enqueues to the broker at ``url`` (e.g. ``memory://`` or a
    Redis db) instead of running tasks in-process; restored afterwards."""
    from kka.celery import app

    conf = app.conf
    saved = (conf.task_always_eager, conf.broker_url, conf.broker_write_url)

    def reset_pools() -> None:
        # Forget (not close: kombu keeps pools in a registry) the producer connections.
        app._pool = None
        with contextlib.suppress(AttributeError, KeyError):
            app.__dict__["amqp"]._producer_pool = None

    reset_pools()
    conf.task_always_eager, conf.broker_url, conf.broker_write_url = False, url, url
    try:
        yield
    finally:
        reset_pools()
        conf.task_always_eager, conf.broker_url, conf.broker_write_url = saved


@contextlib.contextmanager
def published() -> Iterator[list[dict[str, Any]]]:
    """Every task message published in the block: {"task", "headers", "body"}."""
    from celery.signals import before_task_publish

    seen: list[dict[str, Any]] = []

    def record(sender: str | None = None, headers: Any = None, body: Any = None, **_: Any) -> None:
        seen.append({"task": sender, "headers": dict(headers or {}), "body": body})

    before_task_publish.connect(record, weak=False)
    try:
        yield seen
    finally:
        before_task_publish.disconnect(record)
