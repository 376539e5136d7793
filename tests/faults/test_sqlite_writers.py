"""SQLite under 20 concurrent writers for 60 seconds: no "database is locked" reaches a
user (#9, item 4).

KKA runs as a single machine on SQLite runs it: ``kka run`` (gunicorn, its default
workers and threads) on a fresh data directory. Twenty counsellors, each signed in on
their own session, write for 60 s as fast as the server answers: a new client, a case
for them, two case records, a KKA with one participant, and the case page (whose read
writes an audit row). No answer is a 500 or 503, none says "database is locked" (nor
does the server's log), every write answers with its redirect, and the database holds
exactly as many clients, cases, records, KKAs and participants as answers said were
saved. The audit chain verifies afterwards.

Runs on SQLite only (the suite's database does not matter: the server gets its own).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from tests.faults.util import (
    Server,
    csrf_token,
    kka,
    kka_env,
    login,
    start_server,
    stop_server,
)
from tests.personas import PASSWORD

WRITERS = 20
SECONDS = 60
LOCKED = "database is locked"
EMAIL = "penulis{n}@uji.test"


class Tally:
    """What the writers saw, under a lock: successes per kind, every bad answer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.saved: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.bad: list[str] = []
        self.latencies: list[float] = []

    def answer(self, kind: str, response: requests.Response, started: float) -> str | None:
        """The redirect target of a successful write (None, recorded, otherwise)."""
        elapsed = time.monotonic() - started
        with self.lock:
            self.statuses[response.status_code] += 1
            self.latencies.append(elapsed)
            if LOCKED in response.text:
                self.bad.append(f"{kind}: {response.status_code} database is locked")
                return None
            if response.status_code != 302:
                self.bad.append(f"{kind}: {response.status_code} {response.text[:200]!r}")
                return None
            self.saved[kind] += 1
        return response.headers["Location"]

    def read(self, kind: str, response: requests.Response, started: float) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            self.latencies.append(time.monotonic() - started)
            if response.status_code != 200 or LOCKED in response.text:
                self.bad.append(f"{kind}: {response.status_code}")
            else:
                self.saved[kind] += 1


def _code(location: str) -> str:
    """``/konseli/ABC123/`` -> ``ABC123``."""
    return location.rstrip("/").rsplit("/", 1)[-1]


def _writer(n: int, server: Server, until: float, tally: Tally) -> None:
    session = requests.Session()
    login(session, server, EMAIL.format(n=n), PASSWORD)
    token = csrf_token(session, server.url + "/konseli/baru/")
    today = dt.date.today().isoformat()
    i = 0
    while time.monotonic() < until:
        i += 1

        def post(kind: str, path: str, data: dict[str, str]) -> str | None:
            started = time.monotonic()
            response = session.post(
                server.url + path,
                data={**data, "csrfmiddlewaretoken": token},
                headers={"Referer": server.url + path},
                allow_redirects=False,
                timeout=120,
            )
            return tally.answer(kind, response, started)

        client = post(
            "client",
            "/konseli/baru/",
            {"full_name": f"Konseli {n}-{i}", "birth_date": "2012-01-15", "sex": ""},
        )
        if client is None:
            continue
        case = post(
            "case",
            f"/konseli/{_code(client)}/kasus-baru/",
            {"bidang": "sosial", "title": f"Kasus uji {i}", "intake_source": "guru"},
        )
        if case is None:
            continue
        code = _code(case)
        for _ in range(2):
            post(
                "record",
                f"/kasus/{code}/catatan/baru/",
                {"occurred_on": today, "source": "observasi", "content": "Catatan uji beban"},
            )
        conference = post("conference", f"/kasus/{code}/kka/baru/", {})
        if conference is not None:  # -> /kka/CODE/rencana/
            post(
                "participant",
                f"/kka/{conference.rstrip('/').split('/')[-2]}/peserta/",
                {
                    "full_name": f"Wali {n}-{i}",
                    "role": "ayah",
                    "category": "keluarga",
                    "disclosure": "invitation",
                    "language": "id",
                },
            )
        started = time.monotonic()
        tally.read("case_page", session.get(server.url + f"/kasus/{code}/", timeout=120), started)


def _count(database: Path, table: str) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        return int(conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0])


@pytest.mark.faults
def test_twenty_writers_for_a_minute_never_see_database_is_locked(tmp_path: Path) -> None:
    env = kka_env(data_dir=tmp_path)
    env.pop("DATABASE_URL", None)
    kka("migrate", "--no-input", env=env)
    kka("shell", "-c", "from tests.faults.test_sqlite_writers import setup; setup()", env=env)

    server = start_server(env)  # kka run: its default workers and threads
    tally = Tally()
    errors: list[BaseException] = []
    try:
        until = time.monotonic() + SECONDS

        def run(n: int) -> None:
            try:
                _writer(n, server, until, tally)
            except BaseException as error:
                errors.append(error)

        threads = [threading.Thread(target=run, args=(n,)) for n in range(1, WRITERS + 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=SECONDS + 180)
        log = server.log()
    finally:
        stop_server(server)

    latencies = sorted(tally.latencies)
    print(  # the figures for the report (pytest -s)
        f"\n{WRITERS} writers, {SECONDS} s: {dict(tally.saved)}, statuses {dict(tally.statuses)}, "
        f"median {latencies[len(latencies) // 2] * 1000:.0f} ms, "
        f"p95 {latencies[int(len(latencies) * 0.95)] * 1000:.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms"
    )
    assert errors == [], errors
    assert tally.bad == [], tally.bad[:20]
    assert LOCKED not in log
    assert " 500 " not in log and " 503 " not in log
    assert tally.statuses.keys() <= {200, 302}
    assert tally.saved["client"] >= WRITERS  # every writer got through at least once

    database = tmp_path / "kka.sqlite3"
    assert _count(database, "cases_client") == tally.saved["client"]
    assert _count(database, "cases_case") == tally.saved["case"]
    assert _count(database, "cases_caserecord") == tally.saved["record"]
    assert _count(database, "conferences_conference") == tally.saved["conference"]
    assert _count(database, "conferences_participant") == tally.saved["participant"]
    verified = kka("audit", "verify", env=env, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def setup() -> None:
    """Twenty counsellors of one school (run inside ``kka shell``)."""
    from kka.accounts.models import Role
    from tests.personas import make_organisation, make_user

    school = make_organisation(name="SMP Uji Beban")
    for n in range(1, WRITERS + 1):
        make_user(organisation=school, role=Role.KONSELOR, email=EMAIL.format(n=n))
