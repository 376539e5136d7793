"""A closed demo KKA with everything filled in (the school's story at the "closed"
stage): finalised minutes in both layers, commitments, laiseg, laijapen scheduled,
follow-up; plus canaries in the case description and the private notes."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kka.cases.models import Case
from kka.conferences import demo, meeting
from kka.conferences.models import Conference, ConferenceStatus, Minutes, Participant
from tests.personas import World, make_world

DESCRIPTION_CANARY = "KANARI-URAIAN-7F3K"
PRIVATE_CANARY = "KANARI-PRIBADI-9Q2M"


@dataclass
class FullKka:
    world: World
    case: Case
    conference: Conference
    participants: list[Participant]


@pytest.fixture
def full_kka(db: None) -> FullKka:
    world = make_world()
    world.org.city = "Bandung"
    world.org.address = "Jl. Pendidikan No. 7, Sukamaju"
    world.org.phone = "022-1234567"
    world.org.head_title = "Kepala Sekolah"
    world.org.head_name = "Dra. Sri Wahyuni, M.Pd."
    world.org.head_staff_number = "196805121993032004"
    world.org.save()
    today = demo.Clock(world.org).today
    story = next(s for s in demo.school_stories(today) if s.stage == ConferenceStatus.CLOSED)
    built = demo.build_story(world.org, world.counsellor, story)
    case = built.case
    Case.objects.filter(pk=case.pk).update(description=f"Uraian rahasia {DESCRIPTION_CANARY}")
    case.refresh_from_db()
    conference = built.conference
    assert conference is not None
    minutes = Minutes.objects.get(conference=conference)
    # Finalised minutes are never edited: the canary goes in as a private addendum.
    meeting.minutes_addendum_add(
        actor=world.counsellor,
        conference=conference,
        layer="private",
        text=f"Catatan pribadi {PRIVATE_CANARY}",
        reason="uji",
    )
    assert minutes.private_text
    return FullKka(world, case, conference, list(built.participants))
