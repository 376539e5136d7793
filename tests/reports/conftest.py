"""Shared helpers for the program-report tests: data that lives for a whole module
(seeded once, rolled back at the end) and small builders for hand-made rows."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import transaction

from kka.accounts.models import Organisation, User
from kka.cases.models import Case, Client
from kka.conferences.models import Conference, Participant

T = TypeVar("T")
_numbers = itertools.count(1)


@contextmanager
def module_data(django_db_blocker: Any, build: Callable[[], T]) -> Iterator[T]:
    """Build rows once for a test module; every test runs inside a savepoint of this
    transaction, and the whole transaction is rolled back when the module is done.

    Use from a module-scoped fixture that also requests ``django_db_setup``; the tests
    themselves still ask for ``db``."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build()
        transaction.set_rollback(True)


def add_case(
    organisation: Organisation,
    owner: User,
    opened_at: dt.datetime,
    *,
    bidang: str = "pribadi",
    status: str = "open",
    outcome: str = "",
    closed_at: dt.datetime | None = None,
    client: Client | None = None,
) -> Case:
    if client is None:
        client = Client.objects.create(
            organisation=organisation, full_name=f"Konseli Uji {next(_numbers)}", created_by=owner
        )
    return Case.objects.create(
        organisation=organisation,
        client=client,
        owner=owner,
        bidang=bidang,
        title="Kasus uji laporan",
        intake_source="sendiri",
        status=status,
        outcome=outcome,
        opened_at=opened_at,
        closed_at=closed_at,
        last_activity_at=opened_at,
    )


def add_conference(
    case: Case, starts_at: dt.datetime, *, status: str = "closed", bidang: str | None = None
) -> Conference:
    return Conference.objects.create(
        case=case,
        sequence=case.conferences.count() + 1,  # type: ignore[attr-defined]
        status=status,
        topic="Topik uji",
        bidang=bidang or case.bidang,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(hours=1),
        created_by=case.owner,
    )


def add_participant(
    conference: Conference,
    category: str,
    *,
    attendance: str = "present",
    removed_at: dt.datetime | None = None,
) -> Participant:
    return Participant.objects.create(
        conference=conference,
        full_name=f"Peserta Uji {next(_numbers)}",
        role="Peran uji",
        category=category,
        attendance=attendance,
        removed_at=removed_at,
    )
