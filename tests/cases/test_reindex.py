from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command

from kka.cases import selectors, services
from tests.personas import make_world


@pytest.mark.django_db
def test_reindex_makes_names_findable_again_after_the_index_key_changes(settings: Any) -> None:
    world = make_world()
    services.client_create(
        actor=world.counsellor, organisation=world.org, full_name="Dimas Anggara", nisn="0012345678"
    )

    def found() -> int:
        return selectors.client_list(
            viewer=world.counsellor, organisation=world.org, query="dimas"
        ).count()

    assert found() == 1
    settings.SEARCH_INDEX_KEY = "another-key-of-at-least-thirty-two-characters"
    assert found() == 0
    call_command("reindex")
    assert found() == 1
