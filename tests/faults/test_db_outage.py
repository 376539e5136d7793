"""PostgreSQL stopped for 30 s under load: 503 pages, /readyz 503, recovery without restart.

A private PostgreSQL cluster (initdb in a temporary directory, its own free port: the
shared server on 5432 is never touched) holds a migrated KKA database with a few
counsellors. gunicorn (2 workers, 4 threads each, persistent connections with health
checks as in production) serves it while one thread per counsellor requests pages with
that counsellor's session and another polls ``/readyz``. Then ``pg_ctl stop -m immediate``
(what a crash or a failover looks like to the application), 30 s of outage under the same
load, ``pg_ctl start``, and:

- no response is ever a 500; during the outage every page is 200 or the Indonesian 503
  "temporarily unavailable" page, without a traceback, with Retry-After;
- ``/readyz`` answers 503 within 5 s of the stop;
- within 30 s of the start every counsellor gets pages again with the session they had
  (sessions live in the database, which kept them), ``/readyz`` is 200, and the gunicorn
  master and workers are the same processes as before (nothing was restarted).

Measured figures are printed (run with ``-s``) and recorded in docs/decisions.md.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests

from tests.faults.util import (
    Server,
    free_port,
    kka,
    kka_env,
    login,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.faults

OUTAGE_SECONDS = 30  # the issue: "PostgreSQL stopped for 30 s under load"
READYZ_BOUND = 5.0  # the issue: "/readyz turns 503 within 5 s"
RECOVERY_BOUND = 30.0  # the issue: "recovers by itself within 30 s of the database returning"
USERS = 3
PAGES = ("/", "/kasus/")
PASSWORD = "Kata-sandi-uji-yang-panjang-42"
HEADING = "Layanan sementara tidak tersedia"


# --- a private PostgreSQL cluster -------------------------------------------------------------


def _pg_bin(tool: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{tool}"))
    if not found:
        found = [path] if (path := shutil.which(tool)) else []
    assert found, f"{tool} not found (PostgreSQL server binaries are needed for this test)"
    return found[-1]


@dataclass
class Cluster:
    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "pgdata"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/kka"

    def _run(self, *command: str, timeout: float = 120.0) -> None:
        # The server refuses to run as root: as root, run its tools as the postgres user.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run(
            [*prefix, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=self.root,
        )
        assert result.returncode == 0, f"{command[0]}: {result.stdout}\n{result.stderr}"

    def init(self) -> None:
        self._run(
            _pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c full_page_writes=off -c max_connections=50"
        )
        self._run(
            _pg_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "postgres.log"),
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "immediate") -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="kka-outage-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = Cluster(root=root, port=free_port())
    try:
        cluster.init()
        cluster.start()
        with psycopg.connect(
            f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres",
            autocommit=True,
        ) as conn:
            conn.execute("CREATE DATABASE kka")
        yield cluster
    finally:
        if cluster.running():
            with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
                cluster.stop("fast")
        shutil.rmtree(root, ignore_errors=True)


# --- the application ------------------------------------------------------------------------

SEED = f"""
from tests.personas import make_organisation, make_user
org = make_organisation(name="SMP Uji Gangguan")
for n in range({USERS}):
    make_user(organisation=org, email=f"konselor{{n}}@gangguan.test", password={PASSWORD!r})
"""


@pytest.fixture(scope="module")
def server(cluster: Cluster) -> Iterator[Server]:
    data_dir = Path(tempfile.mkdtemp(prefix="kka-outage-data-"))
    env = kka_env(data_dir=data_dir, database_url=cluster.url, KKA_LOG_LEVEL="ERROR")
    try:
        kka("migrate", "--noinput", env=env, timeout=600)
        kka("shell", "-c", SEED, env=env)
        running = start_server(env, kka_run=False, workers=2, threads=4, ready_path="/readyz")
        try:
            yield running
        finally:
            stop_server(running)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _process_tree(pid: int) -> set[int]:
    """The gunicorn master and its workers (Linux /proc)."""
    pids = {pid}
    for children in glob.glob(f"/proc/{pid}/task/*/children"):
        with contextlib.suppress(FileNotFoundError):
            pids.update(int(child) for child in Path(children).read_text().split())
    return pids


# --- load -----------------------------------------------------------------------------------


@dataclass
class Answer:
    at: float
    who: str
    path: str
    status: int
    unavailable_page: bool
    traceback: bool
    retry_after: str | None


@dataclass
class Recorder:
    answers: list[Answer] = field(default_factory=list)
    failures: list[tuple[float, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def add(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)


def _load(server: Server, who: str, session: requests.Session, recorder: Recorder) -> None:
    n = 0
    while not recorder.stop.is_set():
        path = PAGES[n % len(PAGES)]
        n += 1
        try:
            response = session.get(server.url + path, allow_redirects=False, timeout=20)
        except requests.RequestException as exc:
            recorder.failures.append((time.monotonic(), who, type(exc).__name__))
            time.sleep(0.2)
            continue
        text = response.text
        recorder.add(
            Answer(
                at=time.monotonic(),
                who=who,
                path=path,
                status=response.status_code,
                unavailable_page=HEADING in text,
                traceback="Traceback" in text or "OperationalError" in text,
                retry_after=response.headers.get("Retry-After"),
            )
        )
        time.sleep(0.05)


def _poll_readyz(server: Server, recorder: Recorder) -> None:
    while not recorder.stop.is_set():
        try:
            status = requests.get(server.url + "/readyz", timeout=10).status_code
        except requests.RequestException as exc:
            recorder.failures.append((time.monotonic(), "readyz", type(exc).__name__))
            status = 0
        recorder.add(Answer(time.monotonic(), "readyz", "/readyz", status, False, False, None))
        time.sleep(0.2)


def _first(answers: list[Answer], who: str, status: int, after: float) -> float | None:
    return next(
        (a.at for a in answers if a.who == who and a.status == status and a.at > after), None
    )


@pytest.fixture(scope="module")
def sessions(server: Server) -> dict[str, requests.Session]:
    signed_in = {}
    for n in range(USERS):
        session = requests.Session()
        login(session, server, f"konselor{n}@gangguan.test", PASSWORD)
        signed_in[f"konselor{n}"] = session
    return signed_in


@contextlib.contextmanager
def under_load(server: Server, sessions: dict[str, requests.Session]) -> Iterator[Recorder]:
    """One thread per counsellor requesting pages, one polling /readyz."""
    recorder = Recorder()
    threads = [
        threading.Thread(target=_load, args=(server, who, s, recorder), daemon=True)
        for who, s in sessions.items()
    ]
    threads.append(threading.Thread(target=_poll_readyz, args=(server, recorder), daemon=True))
    for thread in threads:
        thread.start()
    try:
        time.sleep(3)  # every persistent connection is open and in use
        yield recorder
    finally:
        recorder.stop.set()
        for thread in threads:
            thread.join(timeout=30)


def _terminate_backends(cluster: Cluster) -> int:
    with psycopg.connect(
        f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = 'kka' AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


def test_connections_killed_under_load_are_replaced_not_reused(
    cluster: Cluster, server: Server, sessions: dict[str, requests.Session]
) -> None:
    """Every persistent connection is cut (as a failover or a pooler restart does) five
    times under load: the health check at the next request opens a new one, a request
    whose query was cut gets the 503 page, and no broken connection is handed out again."""
    processes_before = _process_tree(server.proc.pid)
    killed = 0
    with under_load(server, sessions) as recorder:
        for _ in range(5):
            killed += _terminate_backends(cluster)
            time.sleep(1)
        last_kill = time.monotonic()
        time.sleep(4)

    assert killed >= 1
    assert not recorder.failures, recorder.failures[:10]
    statuses = [a.status for a in recorder.answers]
    assert set(statuses) <= {200, 503}, set(statuses)
    assert all(
        a.unavailable_page for a in recorder.answers if a.status == 503 and a.who != "readyz"
    )
    # A second after the last cut, every answer is 200 again: nothing broken was reused.
    settled = [a for a in recorder.answers if a.at > last_kill + 1]
    assert settled and all(a.status == 200 for a in settled), {a.status for a in settled}
    assert _process_tree(server.proc.pid) == processes_before
    print(  # the measured figures, shown with -s
        f"\nkilled connections: {killed} backends cut, {len(statuses)} answers, "
        f"{statuses.count(503)} x 503"
    )


def test_postgresql_stopped_for_30_s_under_load(
    cluster: Cluster, server: Server, sessions: dict[str, requests.Session]
) -> None:
    cookies_before = {who: s.cookies.get("sessionid") for who, s in sessions.items()}
    processes_before = _process_tree(server.proc.pid)
    assert len(processes_before) == 3, processes_before  # master + 2 workers

    with under_load(server, sessions) as recorder:
        stopped_at = time.monotonic()
        cluster.stop("immediate")
        time.sleep(OUTAGE_SECONDS)
        cluster.start()
        started_at = time.monotonic()
        # Run on until every counsellor and /readyz answered 200 again (or the bound passed),
        # and a little longer to see that no broken connection is handed out afterwards.
        deadline = started_at + RECOVERY_BOUND
        while time.monotonic() < deadline:
            with recorder.lock:
                answers = list(recorder.answers)
            if all(_first(answers, who, 200, started_at) for who in [*sessions, "readyz"]):
                break
            time.sleep(0.2)
        time.sleep(5)

    answers = recorder.answers
    assert not recorder.failures, recorder.failures[:10]  # every request was answered
    pages = [a for a in answers if a.who != "readyz"]
    readyz = [a for a in answers if a.who == "readyz"]
    before = [a for a in pages if a.at < stopped_at]
    assert before and all(a.status == 200 for a in before)

    # Never a 500; during and after the outage only 200 or the Indonesian 503 page.
    assert not [a for a in answers if a.status >= 500 and a.status != 503]
    unavailable = [a for a in pages if a.status == 503]
    assert unavailable, "the outage was never seen"
    assert all(a.unavailable_page for a in unavailable)
    assert all(a.retry_after for a in unavailable)
    assert not [a for a in pages if a.traceback]
    assert {a.status for a in pages} <= {200, 503}, {a.status for a in pages}  # no logout

    # /readyz turned 503 within 5 s of the stop.
    readyz_down = _first(readyz, "readyz", 503, stopped_at)
    assert readyz_down is not None
    time_to_503 = readyz_down - stopped_at

    # Every counsellor and /readyz back within 30 s of the start, same sessions.
    recovered = {who: _first(answers, who, 200, started_at) for who in [*sessions, "readyz"]}
    assert all(recovered.values()), recovered
    recovery = {who: at - started_at for who, at in recovered.items() if at is not None}
    last_recovered = max(recovered.values())  # type: ignore[type-var]
    # Once back, back for good: no broken connection handed out afterwards.
    after = [a for a in answers if last_recovered is not None and a.at > last_recovered]
    assert after and all(a.status == 200 for a in after), {a.status for a in after}
    assert {who: s.cookies.get("sessionid") for who, s in sessions.items()} == cookies_before

    # Nothing was restarted.
    assert server.alive()
    assert _process_tree(server.proc.pid) == processes_before

    print(  # the measured figures, shown with -s
        f"\noutage: {len(pages)} page answers ({len(unavailable)} x 503), "
        f"/readyz 503 after {time_to_503:.2f} s; "
        f"pg_ctl stop and start took {started_at - stopped_at - OUTAGE_SECONDS:.2f} s; "
        "recovery after start: " + ", ".join(f"{w} {s:.2f} s" for w, s in recovery.items())
    )
    assert time_to_503 <= READYZ_BOUND, time_to_503
    assert max(recovery.values()) <= RECOVERY_BOUND, recovery
