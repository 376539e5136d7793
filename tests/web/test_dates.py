"""Indonesian long dates in the organisation's time zone (WIB / WITA / WIT)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone, translation

from kka.lib.dates import long_date, long_datetime, zone_abbreviation
from kka.web.templatetags import kka_dates
from tests.personas import World

UTC = dt.UTC
# 02:00 UTC is 09:00 WIB, 10:00 WITA and 11:00 WIT on Monday 30 November 2026.
MORNING = dt.datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
# 16:30 UTC is still Monday in Jakarta (23:30) but already Tuesday in Makassar (00:30).
NEAR_MIDNIGHT = dt.datetime(2026, 11, 30, 16, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def indonesian() -> None:
    with translation.override("id"):
        yield


def test_long_date_of_a_date() -> None:
    assert long_date(dt.date(2026, 11, 30)) == "Senin, 30 November 2026"


def test_long_date_follows_the_active_language() -> None:
    with translation.override("en"):
        assert long_date(dt.date(2026, 11, 30)) == "Monday, 30 November 2026"


def test_long_datetime_in_jakarta_is_wib() -> None:
    assert long_datetime(MORNING, "Asia/Jakarta") == "Senin, 30 November 2026 pukul 09.00 WIB"


def test_long_datetime_in_makassar_is_wita() -> None:
    text = long_datetime(MORNING, "Asia/Makassar")

    assert text.endswith("10.00 WITA")
    assert text == "Senin, 30 November 2026 pukul 10.00 WITA"


def test_long_datetime_in_jayapura_is_wit() -> None:
    assert long_datetime(MORNING, "Asia/Jayapura") == "Senin, 30 November 2026 pukul 11.00 WIT"


def test_long_datetime_uses_the_active_time_zone_without_a_zone_name() -> None:
    with timezone.override("Asia/Makassar"):
        assert long_datetime(MORNING) == "Senin, 30 November 2026 pukul 10.00 WITA"


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Asia/Jakarta", "Senin, 30 November 2026 pukul 23.30 WIB"),
        ("Asia/Makassar", "Selasa, 1 Desember 2026 pukul 00.30 WITA"),
        ("Asia/Jayapura", "Selasa, 1 Desember 2026 pukul 01.30 WIT"),
    ],
)
def test_an_instant_near_midnight_lands_on_the_local_day(zone: str, expected: str) -> None:
    assert long_datetime(NEAR_MIDNIGHT, zone) == expected


def test_long_date_of_a_datetime_uses_the_local_day() -> None:
    late_evening_utc = dt.datetime(2026, 12, 31, 20, 0, tzinfo=UTC)  # 03:00 WIB on 1 January

    assert long_date(late_evening_utc, "Asia/Jakarta") == "Jumat, 1 Januari 2027"
    assert long_date(late_evening_utc.date()) == "Kamis, 31 Desember 2026"


def test_zone_abbreviations() -> None:
    assert [zone_abbreviation(z) for z in ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")] == [
        "WIB",
        "WITA",
        "WIT",
    ]


def test_template_filters_leave_empty_values_empty() -> None:
    assert kka_dates.long_date(None) == ""
    assert kka_dates.long_datetime(None) == ""


@pytest.mark.django_db
def test_home_page_shows_today_in_the_organisations_time_zone(client: Client, world: World) -> None:
    assert world.outsider.memberships.get().organisation.time_zone == "Asia/Makassar"
    client.force_login(world.outsider)

    before = long_date(timezone.now(), "Asia/Makassar")
    html = client.get("/").content.decode()
    after = long_date(timezone.now(), "Asia/Makassar")

    # Two readings, in case the request straddles midnight in Makassar.
    assert before in html or after in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "expected", "wrong"),
    [
        ("outsider", "Selasa, 1 Desember 2026", "Senin, 30 November 2026"),  # Asia/Makassar
        ("counsellor", "Senin, 30 November 2026", "Selasa, 1 Desember 2026"),  # Asia/Jakarta
    ],
)
def test_home_page_date_near_midnight_depends_on_the_organisation(
    client: Client,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    persona: str,
    expected: str,
    wrong: str,
) -> None:
    # Only the clock the date tag reads is fixed; sessions and logins keep the real one.
    monkeypatch.setattr(kka_dates, "timezone", SimpleNamespace(now=lambda: NEAR_MIDNIGHT))
    client.force_login(world.personas()[persona])

    html = client.get("/").content.decode()

    assert expected in html
    assert wrong not in html
