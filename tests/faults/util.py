"""Process helpers for the fault tests: KKA servers and scripts in real subprocesses.

``kka_env(data_dir=..., database_url=...)`` builds the environment of a KKA process
(test settings: fast password hashing, static files from the finders) on its own data
directory and database; ``kka(*args, env=env)`` runs a ``kka`` management command;
``start_server(env)`` starts ``kka run`` (gunicorn, the way a single machine runs KKA)
or bare gunicorn on a free port and waits for ``/healthz``; ``stop_server(server)``
ends it; ``login(session, server, email, password)`` signs in over HTTP with the CSRF
token of the login page. Shared by the crash, outage and backup fault tests.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.jobs.util import free_port

__all__ = [
    "BIN",
    "CSRF_FIELD",
    "LOGIN_URL",
    "ROOT",
    "Server",
    "csrf_token",
    "free_port",
    "kka",
    "kka_env",
    "login",
    "start_server",
    "stop_server",
]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LOGIN_URL = "/akun/masuk/"
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# Passed through from the test's own environment (locale, paths of tools).
_INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")


def kka_env(
    *, data_dir: Path | str, database_url: str | None = None, **extra: str
) -> dict[str, str]:
    """The environment of a KKA subprocess with its own data directory (keys, files and,
    without ``database_url``, the SQLite database ``kka.sqlite3`` live there)."""
    env = {key: value for key, value in os.environ.items() if key in _INHERITED}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "KKA_TEST_DATA_DIR": str(data_dir),
            "KKA_DATA_DIR": str(data_dir),
            "KKA_ENV": "development",
            "KKA_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


def kka(
    *args: str, env: dict[str, str], timeout: float = 300.0, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``kka ARGS`` to the end; its output is returned (raises on failure if ``check``)."""
    result = subprocess.run(
        [str(BIN / "kka"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"kka {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


@dataclass
class Server:
    port: int
    proc: subprocess.Popen[Any]
    log_path: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return Path(self.log_path).read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None


def start_server(
    env: dict[str, str],
    *,
    kka_run: bool = True,
    workers: int | None = None,
    threads: int | None = None,
    port: int | None = None,
    ready_path: str = "/healthz",
    timeout: float = 60.0,
) -> Server:
    """Start KKA on 127.0.0.1 and wait until ``ready_path`` answers 200.

    ``kka_run`` (default) starts ``kka run`` as production on one machine does (its
    workers and threads unless given); otherwise bare ``gunicorn kka.wsgi``. The server
    runs in its own process group, its output in ``server.log()``.
    """
    port = port or free_port()
    if kka_run:
        command = [str(BIN / "kka"), "run", "--bind", f"127.0.0.1:{port}", "--no-collectstatic"]
        if workers is not None:
            command += ["--workers", str(workers)]
        if threads is not None:
            command += ["--threads", str(threads)]
    else:
        command = [
            str(BIN / "gunicorn"),
            "kka.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers or 2),
            "--threads",
            str(threads or 4),
            "--timeout",
            "60",
        ]
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115  (kept open by the process)
        prefix="kka-server-", suffix=".log", delete=False
    )
    proc = subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(port=port, proc=proc, log_path=log.name, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{server.log()}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(server.url + ready_path, timeout=5).status_code == 200:
                return server
        time.sleep(0.2)
    stop_server(server)
    raise RuntimeError(f"server not ready after {timeout} s:\n{server.log()}")


def stop_server(server: Server, *, timeout: float = 20.0, keep_log: bool = False) -> None:
    """SIGTERM the server's process group (gunicorn's graceful stop), SIGKILL if slow."""
    if server.proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.proc.pid, signal.SIGTERM)
        try:
            server.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.proc.pid, signal.SIGKILL)
            server.proc.wait(timeout=10)
    if not keep_log:
        Path(server.log_path).unlink(missing_ok=True)


def csrf_token(session: requests.Session, url: str) -> str:
    """The CSRF token of the form on the page at ``url`` (which must answer 200)."""
    page = session.get(url, timeout=30)
    assert page.status_code == 200, (url, page.status_code)
    match = CSRF_FIELD.search(page.text)
    assert match, f"no CSRF field on {url}"
    return match.group(1)


def login(session: requests.Session, server: Server | str, email: str, password: str) -> None:
    """Sign in over HTTP (raises AssertionError unless the login redirects)."""
    base = server.url if isinstance(server, Server) else server
    token = csrf_token(session, base + LOGIN_URL)
    answer = session.post(
        base + LOGIN_URL,
        data={"username": email, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": base + LOGIN_URL},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, (answer.status_code, answer.text[:300])
