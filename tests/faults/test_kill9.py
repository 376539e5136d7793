"""kill -9 during writes, 50 times: the database stays intact and the audit chain verifies
(#9, item 4).

A writer process runs whole KKA cycles through the services (client, case, consent,
KKA, participants, letters, minutes, commitments, finalising, closing: every step its
own transaction with its audit rows) and notes each committed step in its own log.
The test SIGKILLs it at a random moment (seeded, 0.2 to 1.5 s after it is ready), 50
times, starting it again each time. After every kill a checker process, on the same
database, finds: SQLite ``PRAGMA integrity_check`` "ok" and ``PRAGMA foreign_key_check``
empty (PostgreSQL: every foreign key of every model resolves, by a join per key); the
audit chain verifies up to its head; every step in the writer's log is in the database.

Both databases, whatever the suite runs on: SQLite in a fresh data directory, and a
PostgreSQL database of its own (``<name>_kill9``, made and dropped by the test) on the
server of a postgres ``DATABASE_URL``, else on the local server (skipped when there is
none and the suite runs on SQLite).

Run as a script (``python -m tests.faults.test_kill9 setup|writer|checker``) it is the
writer's and the checker's code, in the environment the test gives it.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.faults.util import ROOT, kka, kka_env

KILLS = 50
SEED = 20260909
COUNSELLOR = "penulis.kill9@uji.test"
DPO = "dpo.kill9@uji.test"
LOG_NAME = "writer-committed.log"


# --- the test -----------------------------------------------------------------------------------


# Without a postgres DATABASE_URL: the local server CI and the other tests use.
LOCAL_POSTGRES = "postgres://postgres@127.0.0.1:5432/kka"


def _postgres_url() -> str:
    """The PostgreSQL server to use: the suite's (``DATABASE_URL``), else the local one,
    which must answer when the suite runs on PostgreSQL and is skipped otherwise."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    required = url.startswith(("postgres://", "postgresql://"))
    url = url if required else LOCAL_POSTGRES
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    try:
        psycopg.connect(admin, connect_timeout=3).close()
    except psycopg.OperationalError as error:
        if required:
            raise
        pytest.skip(f"no PostgreSQL server at {LOCAL_POSTGRES} ({type(error).__name__})")
    return url


@contextlib.contextmanager
def _own_postgres_database(url: str) -> Iterator[str]:
    """A fresh database ``<name>_kill9`` on the server of ``url``; dropped afterwards."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_kill9"
    admin = urlunsplit(parts._replace(path="/postgres"))

    def run(statement: str) -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(statement)

    run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path="/" + name))
    finally:
        run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _script(mode: str, env: dict[str, str], **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faults.test_kill9", mode],
        env=env,
        cwd=ROOT,
        text=True,
        start_new_session=True,
        **popen,
    )


def _read_line(stream: TextIO, timeout: float) -> str:
    ready, _w, _x = select.select([stream], [], [], timeout)
    assert ready, f"no answer within {timeout} s"
    return stream.readline()


@pytest.mark.faults
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_fifty_kill_nines_during_writes_leave_an_intact_database(
    tmp_path: Path, engine: str
) -> None:
    with contextlib.ExitStack() as stack:
        database_url = None
        if engine == "postgresql":
            database_url = stack.enter_context(_own_postgres_database(_postgres_url()))
        env = kka_env(data_dir=tmp_path, database_url=database_url)
        kka("migrate", "--no-input", env=env)
        setup = _script("setup", env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out, _err = setup.communicate(timeout=120)
        assert setup.returncode == 0, out

        checker = _script(
            "checker", env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None
        )
        stack.callback(checker.kill)
        assert checker.stdin is not None and checker.stdout is not None
        assert _read_line(checker.stdout, 120).strip() == "ready"

        rng = random.Random(SEED)
        stages: list[str] = []
        for n in range(1, KILLS + 1):
            writer = _script("writer", env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            try:
                assert writer.stdout is not None
                line = _read_line(writer.stdout, 120)
                assert line.strip() == "ready", line + writer.stdout.read()
                time.sleep(rng.uniform(0.2, 1.5))
                assert writer.poll() is None, f"the writer died by itself:\n{writer.stdout.read()}"
                os.killpg(writer.pid, signal.SIGKILL)
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(writer.pid, signal.SIGKILL)
                writer.wait(timeout=30)
            assert writer.returncode == -signal.SIGKILL

            checker.stdin.write("check\n")
            checker.stdin.flush()
            report = json.loads(_read_line(checker.stdout, 300))
            assert report["integrity"] == "ok", (n, report)
            assert report["foreign_keys"] == [], (n, report)
            assert report["foreign_keys_checked"] > 50, report
            assert report["audit_break"] is None, (n, report)
            assert report["audit_head_is_last_row"], (n, report)
            assert report["missing"] == [], (n, report)
            stages.append(report["last_step"])

        checker.stdin.write("quit\n")
        checker.stdin.flush()
        checker.wait(timeout=30)
    # The writer got somewhere each time, and the kills landed in different steps.
    assert report["logged"] > KILLS * 5, report
    assert len(set(stages)) >= 5, stages


# --- the writer, the checker and the setup (run as scripts) --------------------------------------


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()


def _setup() -> None:
    from kka.accounts.models import Role
    from tests.personas import make_organisation, make_user

    organisation = make_organisation(name="Lembaga Uji Kill9")
    make_user(organisation=organisation, role=Role.KONSELOR, email=COUNSELLOR)
    make_user(organisation=organisation, role=Role.DPO, email=DPO)


class _Log:
    """The writer's record of committed steps: one line per step, on disk before the next."""

    def __init__(self, path: Path) -> None:
        self.fh = path.open("a", encoding="utf-8")

    def __call__(self, step: str, *codes: object) -> None:
        self.fh.write(" ".join([step, *map(str, codes)]) + "\n")
        self.fh.flush()
        os.fsync(self.fh.fileno())


def _writer() -> None:
    import datetime as dt

    from django.conf import settings
    from django.db import connection

    from kka.accounts.models import User
    from kka.conferences import followup, meeting, services
    from kka.conferences.models import ConferenceStatus
    from tests.conferences.test_planning import add_participant, give_consent, make_case, schedule

    owner = User.objects.get(email=COUNSELLOR)
    organisation = owner.memberships.get().organisation
    connection.ensure_connection()
    log = _Log(Path(settings.DATA_DIR) / LOG_NAME)
    print("ready", flush=True)
    while True:
        case = make_case(owner, organisation, title="Relasi teman")  # client, case, map
        log("case", case.code)
        give_consent(owner, case.client)
        log("consent", case.code)
        conference = services.conference_create(actor=owner, case=case)
        log("conference", conference.code)
        conference = schedule(owner, conference)
        log("scheduled", conference.code)
        father = add_participant(owner, conference, category="keluarga")
        teacher = add_participant(owner, conference, category="staf_lembaga", role="wali kelas")
        log("participant", father.code)
        log("participant", teacher.code)
        conference = services.conference_set_status(
            actor=owner, conference=conference, status=ConferenceStatus.PLANNED
        )
        for participant in (father, teacher):
            services.invitation_send(actor=owner, participant=participant, channel="letter")
            log("invited", participant.code)
        conference.refresh_from_db()
        conference = services.conference_set_status(
            actor=owner, conference=conference, status=ConferenceStatus.HELD
        )
        log("status", conference.code, ConferenceStatus.HELD)
        minutes = meeting.minutes_save(
            actor=owner,
            conference=conference,
            base_version=meeting.minutes_for(conference).version,
            values={"shared_text": "Kesepakatan bersama", "conclusions": "Bertemu lagi"},
        )
        log("minutes", conference.code, minutes.version)
        commitment = followup.commitment_add(
            actor=owner,
            conference=conference,
            participant=father,
            what="Menjemput setiap Jumat",
            due_on=dt.date.today() + dt.timedelta(days=14),
        )
        log("commitment", commitment.code)
        meeting.minutes_finalise(actor=owner, conference=conference)
        log("finalised", conference.code)
        followup.conference_close(actor=owner, conference=conference)
        log("closed", conference.code)


def _foreign_key_orphans() -> tuple[list[str], int]:
    """Every concrete foreign key of every model (many-to-many tables included): the
    rows whose key names no row, counted by one join per key; and how many keys."""
    from django.apps import apps
    from django.db import connection

    quote = connection.ops.quote_name
    found: list[str] = []
    keys = 0
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            if model._meta.proxy or not model._meta.managed:
                continue
            for field in model._meta.concrete_fields:
                if not field.is_relation or field.related_model is None:
                    continue
                target = field.related_model._meta
                target_column = field.target_field.column  # type: ignore[attr-defined]
                table, column = model._meta.db_table, field.column
                keys += 1
                cursor.execute(
                    f"SELECT COUNT(*) FROM {quote(table)} t LEFT JOIN {quote(target.db_table)} r "
                    f"ON t.{quote(column)} = r.{quote(target_column)} "
                    f"WHERE t.{quote(column)} IS NOT NULL AND r.{quote(target_column)} IS NULL"
                )
                (count,) = cursor.fetchone()
                if count:
                    found.append(f"{table}.{column}: {count}")
    return found, keys


def _missing(log_path: Path) -> tuple[list[str], int, str]:
    """Logged steps not in the database, how many steps were logged, the last one (one
    query per kind of step, whatever the length of the log)."""
    from django.db.models import Count, Max, Q

    from kka.cases.models import Case, Consent
    from kka.conferences.models import Commitment, Conference, ConferenceStatus, Participant

    lines = log_path.read_text(encoding="utf-8").splitlines() if log_path.exists() else []
    logged: dict[str, dict[str, int]] = {}
    for line in lines:
        step, code, *rest = line.split()
        wanted = int(rest[0]) if step == "minutes" else 0
        logged.setdefault(step, {})
        logged[step][code] = max(logged[step].get(code, 0), wanted)

    def codes(step: str) -> list[str]:
        return list(logged.get(step, {}))

    conferences = Conference.objects.filter(
        code__in=[
            c
            for step in ("conference", "scheduled", "status", "minutes", "finalised", "closed")
            for c in codes(step)
        ]
    ).annotate(
        minutes_version=Max("minutes__version"),
        finalised_count=Count("minutes", filter=Q(minutes__finalised_at__isnull=False)),
        scheduled_evaluations=Count("evaluations", distinct=True),
    )
    state = {c.code: c for c in conferences}
    held = {ConferenceStatus.HELD, ConferenceStatus.CLOSED}
    present: dict[str, set[str]] = {
        "case": set(Case.objects.filter(code__in=codes("case")).values_list("code", flat=True)),
        "consent": set(
            Consent.objects.filter(client__cases__code__in=codes("consent")).values_list(
                "client__cases__code", flat=True
            )
        ),
        "participant": set(
            Participant.objects.filter(code__in=codes("participant")).values_list("code", flat=True)
        ),
        "invited": set(
            Participant.objects.filter(code__in=codes("invited"), invited_at__isnull=False)
            .exclude(letter_number="")
            .values_list("code", flat=True)
        ),
        "commitment": set(
            Commitment.objects.filter(code__in=codes("commitment")).values_list("code", flat=True)
        ),
        "conference": set(state),
        "scheduled": {c for c, k in state.items() if k.starts_at is not None},
        "status": {c for c, k in state.items() if k.status in held},
        "minutes": {
            c
            for c, k in state.items()
            if (k.minutes_version or 0) >= logged["minutes"].get(c, 1 << 30)
        }
        if "minutes" in logged
        else set(),
        "finalised": {c for c, k in state.items() if k.finalised_count},
        "closed": {
            c
            for c, k in state.items()
            if k.status == ConferenceStatus.CLOSED and k.scheduled_evaluations == 2
        },
    }
    missing = [
        f"{step} {code}"
        for step, seen in logged.items()
        for code in seen
        if code not in present[step]
    ]
    return missing, len(lines), (lines[-1].split()[0] if lines else "")


def _check() -> dict[str, Any]:
    from django.conf import settings
    from django.db import connection

    from kka.audit.models import AuditEvent, AuditHead
    from kka.audit.services import audit_verify

    connection.close()  # a fresh connection: nothing cached from before the kill
    report: dict[str, Any] = {"integrity": "ok", "foreign_keys": []}
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA integrity_check")
            report["integrity"] = "; ".join(row[0] for row in cursor.fetchall())
            cursor.execute("PRAGMA foreign_key_check")
            report["foreign_keys"] = [list(row) for row in cursor.fetchall()]
    orphans, report["foreign_keys_checked"] = _foreign_key_orphans()
    report["foreign_keys"] += orphans
    rows, broken = audit_verify()
    report["audit_rows"] = rows
    report["audit_break"] = None if broken is None else str(broken)
    head = AuditHead.objects.filter(pk=1).first()
    last = AuditEvent.objects.order_by("-id").values_list("id", "row_hash").first()
    report["audit_head_is_last_row"] = head is not None and last == (head.last_id, head.last_hash)
    missing, logged, last_step = _missing(Path(settings.DATA_DIR) / LOG_NAME)
    report.update(missing=missing, logged=logged, last_step=last_step)
    return report


def _checker() -> None:
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "check":
            return
        print(json.dumps(_check()), flush=True)


if __name__ == "__main__":
    _setup_django()
    {"setup": _setup, "writer": _writer, "checker": _checker}[sys.argv[1]]()
