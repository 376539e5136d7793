"""The DPO page is for the DPO only; everyone else gets 404."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from tests.personas import World

pytestmark = pytest.mark.django_db


def test_only_the_dpo_opens_the_data_protection_page(world: World) -> None:
    for name, user in world.personas().items():
        browser = HttpClient()
        browser.force_login(user)
        response = browser.get("/privasi/")
        if name == "dpo":
            assert response.status_code == 200, name
            assert "Pelindungan data" in response.content.decode()
        else:
            assert response.status_code == 404, name


def test_the_dpo_sees_the_menu_entry_and_a_counsellor_does_not(world: World) -> None:
    browser = HttpClient()
    browser.force_login(world.dpo)
    assert 'href="/privasi/"' in browser.get("/").content.decode()
    browser.force_login(world.counsellor)
    assert 'href="/privasi/"' not in browser.get("/").content.decode()
