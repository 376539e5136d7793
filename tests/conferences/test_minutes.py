"""Minutes: two layers, optimistic versions, nothing lost, finalised means read-only."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from kka.cases import services as case_services
from kka.conferences import meeting, services
from kka.conferences.models import Minutes, MinutesDraft
from tests.personas import make_world


def _conference(world: Any) -> Any:
    client = case_services.client_create(
        actor=world.counsellor,
        organisation=world.org,
        full_name="Rudi Hartono",
        birth_date="1990-01-01",
    )
    case = case_services.case_open(
        actor=world.counsellor,
        client=client,
        bidang="sosial",
        title="Relasi",
        intake_source="sendiri",
    )
    return services.conference_create(actor=world.counsellor, case=case)


@pytest.mark.django_db
def test_a_save_based_on_an_old_version_is_refused_with_both_texts_and_kept() -> None:
    world = make_world()
    conference = _conference(world)
    first = meeting.minutes_save(
        actor=world.counsellor,
        conference=conference,
        base_version=0,
        values={"shared_text": "Pembukaan", "private_text": "Catatan A"},
    )
    assert first.version == 1
    with pytest.raises(meeting.MinutesConflict) as conflict:
        meeting.minutes_save(
            actor=world.other_counsellor,
            conference=conference,
            base_version=0,
            values={"shared_text": "Versi lain"},
        )
    assert conflict.value.current["shared_text"] == "Pembukaan"
    assert conflict.value.yours["shared_text"] == "Versi lain"
    assert conflict.value.current_version == 1
    minutes = Minutes.objects.get(conference=conference)
    assert minutes.shared_text == "Pembukaan" and minutes.version == 1
    draft = MinutesDraft.objects.get()
    assert json.loads(draft.content) == {"shared_text": "Versi lain"}


@pytest.mark.django_db
def test_finalised_minutes_cannot_be_edited_only_amended() -> None:
    world = make_world()
    conference = _conference(world)
    meeting.minutes_save(
        actor=world.counsellor,
        conference=conference,
        base_version=0,
        values={"shared_text": "Kesepakatan"},
    )
    meeting.minutes_finalise(actor=world.counsellor, conference=conference)
    with pytest.raises(ValidationError):
        meeting.minutes_save(
            actor=world.counsellor,
            conference=conference,
            base_version=1,
            values={"shared_text": "Diubah diam-diam"},
        )
    assert Minutes.objects.get(conference=conference).shared_text == "Kesepakatan"
    addendum = meeting.minutes_addendum_add(
        actor=world.counsellor,
        conference=conference,
        layer="shared",
        text="Tanggal tindak lanjut 5 Desember",
        reason="Salah ketik",
    )
    assert addendum.minutes.addenda.count() == 1
    with pytest.raises(ValidationError):
        meeting.minutes_addendum_add(
            actor=world.counsellor, conference=conference, layer="shared", text="x", reason=""
        )


@pytest.mark.django_db(transaction=True)
def test_two_editors_saving_from_the_same_version_twenty_times_lose_nothing() -> None:
    world = make_world()
    conference = _conference(world)
    editors = [world.counsellor, world.other_counsellor]
    for round_number in range(20):
        base = meeting.minutes_for(conference).version
        barrier = threading.Barrier(2)
        outcomes: dict[int, Any] = {}
        texts = {i: f"ronde {round_number} editor {i}" for i in range(2)}

        def save(
            i: int,
            base: int = base,
            barrier: Any = barrier,
            outcomes: dict[int, Any] = outcomes,
            texts: dict[int, str] = texts,
        ) -> None:
            try:
                barrier.wait(timeout=10)
                meeting.minutes_save(
                    actor=editors[i],
                    conference=conference,
                    base_version=base,
                    values={"shared_text": texts[i]},
                )
                outcomes[i] = "won"
            except meeting.MinutesConflict as exc:
                outcomes[i] = exc
            finally:
                connection.close()

        threads = [threading.Thread(target=save, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        winners = [i for i, result in outcomes.items() if result == "won"]
        losers = [i for i, result in outcomes.items() if result != "won"]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        winner, loser = winners[0], losers[0]
        conflict = outcomes[loser]
        assert conflict.current["shared_text"] == texts[winner]
        assert conflict.yours["shared_text"] == texts[loser]
        minutes = Minutes.objects.get(conference=conference)
        assert minutes.version == base + 1
        assert minutes.shared_text == texts[winner]
        kept = [json.loads(d.content)["shared_text"] for d in MinutesDraft.objects.all()]
        assert texts[loser] in kept
    assert MinutesDraft.objects.count() == 20
