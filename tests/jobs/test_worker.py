"""A real Celery worker on Redis and PostgreSQL delivers an invitation to a local SMTP
server exactly once: also when the message is delivered twice, and when the worker is
killed in the middle of the task and another one takes the message over.

PostgreSQL only (the worker is another process on the same test database); Redis db 9.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from kka.conferences import services
from kka.jobs import tasks
from kka.jobs.models import JobOutcome, JobRun
from tests.conferences.test_planning import add_participant, planned
from tests.jobs.util import (
    flush_redis,
    kill_worker,
    smtp_env,
    smtp_sink,
    start_worker,
    stop_worker,
    use_broker,
    worker_env,
    worker_log,
)
from tests.personas import make_world

REDIS = "redis://127.0.0.1:6379/9"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_db() -> Iterator[str]:
    if connection.vendor != "postgresql":
        pytest.skip("a worker subprocess needs PostgreSQL (DATABASE_URL=postgres://...)")
    flush_redis(REDIS)  # fails (does not skip) when Redis is missing: CI starts it
    yield REDIS
    flush_redis(REDIS)


def wait_until(predicate: Any, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def invitation(world: Any) -> tuple[Any, Any]:
    p = planned(world)
    participant = add_participant(p.owner, p.conference, email="wali.murid@contoh.test")
    return p, participant


def test_a_worker_delivers_an_invitation_once_even_when_delivered_twice(redis_db: str) -> None:
    world = make_world()
    p, participant = invitation(world)
    with smtp_sink() as sink:
        worker = start_worker(worker_env(redis_url=redis_db, **smtp_env(sink)))
        try:
            with use_broker(redis_db):
                services.invitation_send(actor=p.owner, participant=participant, channel="email")
                run = JobRun.objects.get(task="send_invitation")
                assert wait_until(lambda: len(sink.messages) >= 1), worker_log(worker)
                assert wait_until(
                    lambda: JobRun.objects.filter(pk=run.pk, outcome=JobOutcome.DONE).exists()
                ), worker_log(worker)
                # The same message again (as after a lost acknowledgement).
                tasks.send_invitation.apply_async(
                    kwargs={
                        "participant_id": participant.pk,
                        "actor_id": p.owner.pk,
                        "key": run.key,
                    }
                )
                assert wait_until(lambda: worker_log(worker).count("succeeded in") >= 2), (
                    worker_log(worker)
                )
        finally:
            stop_worker(worker)

    assert len(sink.messages) == 1
    assert sink.messages[0]["To"] == participant.email
    assert "'already'" in worker_log(worker)
    # The worker's log names the task and its key, never the participant's address.
    assert participant.email not in worker_log(worker)


def test_a_worker_killed_mid_task_leaves_the_message_to_the_next_one(redis_db: str) -> None:
    world = make_world()
    p, participant = invitation(world)
    with smtp_sink() as sink:
        env = worker_env(redis_url=redis_db, KKA_JOB_VISIBILITY_SECONDS="3", **smtp_env(sink))
        slow = start_worker({**env, "KKA_TEST_TASK_DELAY": "30"})
        try:
            with use_broker(redis_db):
                services.invitation_send(actor=p.owner, participant=participant, channel="email")
            assert wait_until(lambda: "Task kka.jobs.tasks.send_invitation" in worker_log(slow))
            time.sleep(1)  # inside the task: the job row is locked, nothing sent
        finally:
            kill_worker(slow)
        assert sink.messages == []
        assert JobRun.objects.get(task="send_invitation").outcome == JobOutcome.PENDING

        worker = start_worker(env)
        try:
            assert wait_until(lambda: len(sink.messages) >= 1), worker_log(worker)
            assert wait_until(lambda: JobRun.objects.filter(outcome=JobOutcome.DONE).exists()), (
                worker_log(worker)
            )
            time.sleep(5)  # past another visibility timeout: nothing is delivered again
        finally:
            stop_worker(worker)

    assert len(sink.messages) == 1
    assert sink.messages[0]["To"] == participant.email
