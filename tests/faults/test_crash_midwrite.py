"""A crash in the middle of a multi-row write leaves nothing half-written (#9, item 4).

Every write statement (INSERT, UPDATE, DELETE) passes through the connection's
execute wrapper. For k = 1, 2, … the wrapper raises after the k-th write statement of
the operation, until the operation finishes without reaching k. After every attempt
the fault interrupted: every table's row count and content fingerprint, and every
file in the data directory, equal what they were before; the audit chain verifies;
no mail left and no task was published for the rolled-back work.

The operations are the ones a counsellor triggers (each view calls one service): a
new KKA, an invitation by letter and by e-mail (the request, and the mail task that
produces the private link, the letter and the mail), finalising the minutes, adding a
commitment, closing the KKA (status, two scheduled evaluations) and an approved
erasure. Transactional tests: the services' own transactions really commit or roll
back, and ``on_commit`` work runs only after a real commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection

from kka.audit.services import audit_verify
from kka.cases import services as case_services
from kka.conferences import followup, meeting, services
from kka.conferences.models import ConferenceStatus
from kka.jobs import tasks
from kka.privacy import erasure
from tests.conferences.test_followup import held
from tests.conferences.test_planning import add_participant, give_consent, make_case, planned
from tests.jobs.util import published, use_broker
from tests.personas import World, make_world

pytestmark = pytest.mark.django_db(transaction=True)

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
# No operation here needs more write statements than this; a loop that gets here is a bug.
MAX_STEPS = 200


def _audit_writes() -> int:
    """Write statements of one audit row: on PostgreSQL the row and the head move are one
    statement, on SQLite two."""
    return 1 if connection.vendor == "postgresql" else 2


AUDIT_WRITES = _audit_writes()


def is_write(sql: str) -> bool:
    """A write statement, including a data-modifying WITH (the audit append on PostgreSQL
    inserts the row and moves the chain head in one statement)."""
    words = sql.split()
    if not words:
        return False
    first = words[0].upper()
    if first == "WITH":
        return any(word.upper() in WRITES for word in words[1:])
    return first in WRITES


class InjectedFault(Exception):
    """The simulated crash (not a database error: nothing may catch it by accident)."""


class FaultAfter:
    """Execute wrapper: counts write statements and raises right after the k-th one."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.writes = 0
        self.fired = False

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        result = execute(sql, params, many, context)
        if is_write(sql):
            self.writes += 1
            if self.writes == self.k:
                self.fired = True
                raise InjectedFault(f"after write {self.k}")
        return result


def _value(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


def database_state() -> dict[str, tuple[int, str]]:
    """Every table: its row count and a fingerprint of its content (order-independent)."""
    state: dict[str, tuple[int, str]] = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows = sorted(repr(tuple(_value(v) for v in row)) for row in cursor.fetchall())
            digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()
            state[table] = (len(rows), digest)
    return state


def files_state() -> dict[str, str]:
    """Every file of the data directory but the database itself, with its checksum."""
    root = Path(settings.DATA_DIR)
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".sqlite3" not in path.name
    }


def changed_tables(
    before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]
) -> list[str]:
    return [
        f"{table}: {before.get(table)} -> {after.get(table)}"
        for table in sorted(set(before) | set(after))
        if before.get(table) != after.get(table)
    ]


@dataclass
class Run:
    """What the k-loop saw: write statements of the completed operation, attempts made."""

    writes: int
    interrupted: int
    swallowed: list[int]


def crash_at_every_step(
    build: Callable[[], Any],
    operation: Callable[[Any], Any],
    *,
    may_swallow: bool = False,
) -> Run:
    """For k = 1, 2, …: a fresh scene from ``build()``, then ``operation(scene)`` with a
    fault after its k-th write; after an interrupted attempt nothing has changed. Stops
    when the operation completes without reaching k. A fault caught inside the
    operation (``may_swallow``: a best-effort part such as the invitation letter) must
    still leave a verifying audit chain."""
    swallowed: list[int] = []
    for k in itertools.count(1):
        assert k < MAX_STEPS, "the operation never completed"
        scene = build()
        before, files_before = database_state(), files_state()
        outbox_before = len(mail.outbox)
        fault = FaultAfter(k)
        with published() as messages, connection.execute_wrapper(fault):
            try:
                operation(scene)
            except InjectedFault:
                interrupted = True
            else:
                interrupted = False
        if not interrupted:
            if not fault.fired:
                assert k > 1, "the operation wrote nothing"
                return Run(writes=fault.writes, interrupted=k - 1, swallowed=swallowed)
            assert may_swallow, f"a fault after write {k} was caught and the work committed"
            swallowed.append(k)
        else:
            after = database_state()
            assert after == before, f"partial rows after write {k}: {changed_tables(before, after)}"
            assert files_state() == files_before, f"files changed after write {k}"
            assert len(mail.outbox) == outbox_before, f"a mail left after write {k}"
            assert messages == [], f"a task was published after write {k}"
        _rows, broken = audit_verify()
        assert broken is None, (k, broken)
    raise AssertionError("unreachable")


@pytest.fixture
def crash_world(transactional_db: None) -> Iterator[World]:
    mail.outbox = []
    yield make_world()


# --- planning ---------------------------------------------------------------------------------


def test_a_crash_while_creating_a_kka_leaves_nothing(crash_world: World) -> None:
    owner = crash_world.counsellor

    def build() -> Any:
        case = make_case(owner, crash_world.org)
        give_consent(owner, case.client)
        return case

    run = crash_at_every_step(
        build, lambda case: services.conference_create(actor=owner, case=case)
    )
    # Conference, timeline event, audit row and the chain head at least.
    assert run.writes >= 4
    assert run.interrupted == run.writes


def test_a_crash_while_sending_an_invitation_by_letter_leaves_nothing(crash_world: World) -> None:
    def build() -> Any:
        scene = planned(crash_world)
        return scene, add_participant(scene.owner, scene.conference)

    def send(scene: Any) -> None:
        p, participant = scene
        result = services.invitation_send(actor=p.owner, participant=participant, channel="letter")
        assert result["number"]

    run = crash_at_every_step(build, send)
    # Letter number, participant, conference status, event, disclosure, audit rows.
    assert run.writes >= 6


def test_a_crash_in_an_e_mail_invitation_request_enqueues_nothing(crash_world: World) -> None:
    """With a broker (several machines): the request commits the invitation and its job
    record, and only then publishes the task; an interrupted request publishes nothing."""

    def build() -> Any:
        scene = planned(crash_world)
        return scene, add_participant(scene.owner, scene.conference)

    sent: list[int] = []

    def send(scene: Any) -> None:
        p, participant = scene
        with published() as messages:
            services.invitation_send(actor=p.owner, participant=participant, channel="email")
        sent.append(len(messages))

    with use_broker("memory://"):
        run = crash_at_every_step(build, send)
    assert run.writes >= 5
    assert sent == [1]  # the one completed request published its task
    assert mail.outbox == []  # the worker sends it, not the request


def test_a_crash_in_the_invitation_mail_task_sends_no_mail(crash_world: World) -> None:
    """The task makes the private link, produces the letter, records what was sent and
    marks its job done: a crash at any of those steps sends no mail (the task is retried
    with nothing of the first attempt left)."""

    def build() -> Any:
        scene = planned(crash_world)
        participant = add_participant(scene.owner, scene.conference)
        with use_broker("memory://"), published() as messages:
            services.invitation_send(actor=scene.owner, participant=participant, channel="email")
        (message,) = messages
        return message["body"][1]  # (args, kwargs, embed)

    outbox_sizes: list[int] = []

    def deliver(kwargs: dict[str, Any]) -> None:
        tasks.send_invitation.run(**kwargs)
        outbox_sizes.append(len(mail.outbox))

    # The letter is best effort: a failure producing it is caught, the mail goes without it.
    run = crash_at_every_step(build, deliver, may_swallow=True)
    assert run.writes >= 4
    assert len(mail.outbox) == len(outbox_sizes) == len(run.swallowed) + 1
    assert mail.outbox[-1].attachments, "the completed run attaches the .ics and the letter"


# --- holding and closing the KKA --------------------------------------------------------------


def test_a_crash_while_finalising_the_minutes_leaves_them_a_draft(crash_world: World) -> None:
    def build() -> Any:
        scene = held(crash_world)
        owner = crash_world.counsellor
        meeting.minutes_save(
            actor=owner,
            conference=scene.conference,
            base_version=meeting.minutes_for(scene.conference).version,
            values={"shared_text": "Kesepakatan bersama", "conclusions": "Bertemu lagi"},
        )
        followup.commitment_add(
            actor=owner, conference=scene.conference, participant=scene.father, what="Menjemput"
        )
        return scene

    run = crash_at_every_step(
        build,
        lambda scene: meeting.minutes_finalise(
            actor=crash_world.counsellor, conference=scene.conference
        ),
    )
    assert run.writes >= 1 + AUDIT_WRITES


def test_a_crash_while_adding_a_commitment_leaves_nothing(crash_world: World) -> None:
    def build() -> Any:
        return held(crash_world)

    run = crash_at_every_step(
        build,
        lambda scene: followup.commitment_add(
            actor=crash_world.counsellor,
            conference=scene.conference,
            participant=scene.teacher,
            what="Memantau kehadiran",
        ),
    )
    assert run.writes >= 1 + AUDIT_WRITES


def test_a_crash_while_closing_a_kka_schedules_nothing(crash_world: World) -> None:
    owner = crash_world.counsellor

    def build() -> Any:
        scene = held(crash_world)
        followup.commitment_add(
            actor=owner, conference=scene.conference, participant=scene.father, what="Menjemput"
        )
        meeting.minutes_finalise(actor=owner, conference=scene.conference)
        return scene

    def close(scene: Any) -> None:
        conference = followup.conference_close(actor=owner, conference=scene.conference)
        assert conference.status == ConferenceStatus.CLOSED

    run = crash_at_every_step(build, close)
    # Status, timeline event, audit rows, two evaluations with their audit rows.
    assert run.writes >= 8


# --- data protection ----------------------------------------------------------------------------


def test_a_crash_during_an_approved_erasure_erases_nothing(crash_world: World) -> None:
    owner = crash_world.counsellor

    def build() -> Any:
        scene = held(crash_world)
        followup.commitment_add(
            actor=owner, conference=scene.conference, participant=scene.father, what="Menjemput"
        )
        return erasure.erasure_request(actor=owner, client=scene.case.client)

    run = crash_at_every_step(
        build, lambda request: erasure.erasure_approve(actor=crash_world.dpo, request=request)
    )
    assert run.writes >= 10


# --- case file ----------------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_crash_while_adding_a_record_with_attachments_leaves_no_file(
    crash_world: World,
) -> None:
    owner = crash_world.counsellor

    def add(case: Any) -> None:
        case_services.record_add(
            actor=owner,
            case=case,
            occurred_on=dt.date(2026, 11, 2),
            source="observasi",
            content="Catatan pengamatan",
            files=[("hasil-1.pdf", PDF), ("hasil-2.pdf", PDF + b"%")],
        )

    run = crash_at_every_step(lambda: make_case(owner, crash_world.org), add)
    # Record, event, audit rows, two attachments with their audit rows.
    assert run.writes >= 7


def test_a_crash_while_attaching_a_file_to_a_record_leaves_nothing(crash_world: World) -> None:
    """The record page adds attachments to an existing record one by one."""
    owner = crash_world.counsellor

    def build() -> Any:
        case = make_case(owner, crash_world.org)
        return case_services.record_add(
            actor=owner,
            case=case,
            occurred_on=dt.date(2026, 11, 2),
            source="observasi",
            content="Catatan pengamatan",
        )

    run = crash_at_every_step(
        build,
        lambda record: case_services.attachment_add(
            actor=owner, record=record, filename="hasil.pdf", data=PDF
        ),
    )
    # Attachment, timeline event, audit row, chain head.
    assert run.writes >= 4
