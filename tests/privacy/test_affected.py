"""Who an account or an address reached, read from the audit log (``kka privacy affected``).

The rows are written by really using the application (pages opened through the test
client from a given address, a participant's private link), then the window, the
account and the address pick exactly the clients reached.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import zoneinfo
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client as HttpClient
from django.utils import timezone

from kka.accounts.models import User
from kka.audit.actions import ACTIONS
from kka.audit.models import AuditEvent
from kka.audit.services import audit_log
from kka.cases import services
from kka.cases.models import Case, CaseRecord, Client
from kka.privacy.affected import ACTION_CATEGORIES, CATEGORIES, NO_REACH, affected
from tests.personas import World, make_user
from tests.portal.test_portal import PORTAL, Setup, kka  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

SUSPECT_IP = "198.51.100.23"
OTHER_IP = "198.51.100.99"


@dataclass
class Story:
    world: World
    a: Client  # client page opened in the window
    b: Client  # case and record opened in the window
    c: Client  # opened only after the window
    d: Client  # opened in the window by someone else
    case_b: Case
    record_b: CaseRecord
    start: dt.datetime
    end: dt.datetime


def _client(
    world: World, name: str, *, actor: User | None = None
) -> tuple[Client, Case, CaseRecord]:
    owner = actor or world.counsellor
    client = services.client_create(
        actor=owner,
        organisation=world.org,
        full_name=name,
        birth_date="2012-05-01",
        address="Jl. Melati 3",
        guardians=[{"full_name": f"Wali {name}", "relationship": "ibu"}],
    )
    case = services.case_open(
        actor=owner, client=client, bidang="sosial", title="Uji", intake_source="guru"
    )
    record = services.record_add(
        actor=owner,
        case=case,
        occurred_on=case.opened_at.date(),
        source="observasi",
        content="Catatan uji",
    )
    return client, case, record


@pytest.fixture
def story(world: World) -> Story:
    a, _case_a, _ = _client(world, "Ayu Kartika")
    b, case_b, record_b = _client(world, "Bima Saputra")
    c, _case_c, _ = _client(world, "Citra Lestari")
    d, _case_d, _ = _client(world, "Dewi Anggraini", actor=world.other_counsellor)

    suspect = HttpClient(REMOTE_ADDR=SUSPECT_IP)
    suspect.force_login(world.counsellor)
    colleague = HttpClient(REMOTE_ADDR=OTHER_IP)
    colleague.force_login(world.other_counsellor)

    start = timezone.now()
    assert suspect.get(f"/konseli/{a.code}/").status_code == 200
    assert suspect.get(f"/kasus/{case_b.code}/").status_code == 200
    assert suspect.get(f"/kasus/{case_b.code}/catatan/{record_b.code}/").status_code == 200
    assert colleague.get(f"/konseli/{d.code}/").status_code == 200
    end = timezone.now()
    assert suspect.get(f"/konseli/{c.code}/").status_code == 200
    return Story(world, a, b, c, d, case_b, record_b, start, end)


def test_urls_used_by_the_story_exist(story: Story) -> None:
    # The story reads through the real pages; each must have written its audit row.
    actions = set(
        AuditEvent.objects.filter(at__gte=story.start, at__lte=story.end).values_list(
            "action", flat=True
        )
    )
    assert {"client.viewed", "case.viewed", "record.viewed"} <= actions


def test_by_user_finds_exactly_the_clients_reached_in_the_window(story: Story) -> None:
    result = affected(
        user=story.world.counsellor, start=story.start, end=story.end, organisation=story.world.org
    )
    assert {c.code for c in result.clients} == {story.a.code, story.b.code}
    by_code = {c.code: c for c in result.clients}
    assert by_code[story.a.code].sorted_categories() == [
        "identitas",
        "kontak",
        "wali",
        "persetujuan",
    ]
    assert by_code[story.b.code].sorted_categories() == [
        "identitas",
        "kasus",
        "catatan_konseling",
        "peta_masalah",
    ]
    assert by_code[story.b.code].events == 2
    first, last = by_code[story.b.code].first_at, by_code[story.b.code].last_at
    assert first is not None and last is not None
    assert story.start <= first < last <= story.end


def test_the_other_users_reach_is_theirs_only(story: Story) -> None:
    result = affected(user=story.world.other_counsellor, start=story.start, end=story.end)
    assert [c.code for c in result.clients] == [story.d.code]


def test_by_ip_finds_what_came_from_that_address(story: Story) -> None:
    result = affected(ip=SUSPECT_IP, start=story.start, end=story.end)
    assert {c.code for c in result.clients} == {story.a.code, story.b.code}
    assert affected(ip="192.0.2.1", start=story.start, end=story.end).clients == []


def test_user_and_ip_together_take_either(story: Story) -> None:
    result = affected(
        user=story.world.other_counsellor, ip=SUSPECT_IP, start=story.start, end=story.end
    )
    assert {c.code for c in result.clients} == {story.a.code, story.b.code, story.d.code}


def test_another_organisation_sees_nothing(story: Story) -> None:
    result = affected(
        user=story.world.counsellor,
        start=story.start,
        end=story.end,
        organisation=story.world.other_org,
    )
    assert result.clients == []


def test_a_list_page_reaches_the_clients_it_showed(world: World) -> None:
    shown, _, _ = _client(world, "Eka Prasetya")
    browser = HttpClient()
    browser.force_login(world.counsellor)
    start = timezone.now()
    assert browser.get("/konseli/").status_code == 200
    result = affected(user=world.counsellor, start=start, end=timezone.now())
    assert [(c.code, c.sorted_categories()) for c in result.clients] == [
        (shown.code, ["identitas"])
    ]


def test_a_participant_link_opened_from_an_address_counts_by_ip(kka: Setup) -> None:  # noqa: F811
    start = timezone.now()
    participant_browser = HttpClient(REMOTE_ADDR=SUSPECT_IP)
    assert participant_browser.get(PORTAL, {"t": kka.parent_token}).status_code == 302
    assert participant_browser.get(PORTAL).status_code == 200
    end = timezone.now()
    result = affected(ip=SUSPECT_IP, start=start, end=end)
    assert [c.code for c in result.clients] == [kka.client.code]
    assert "ringkasan_kka" in result.clients[0].categories
    # The counsellor's account did not do this.
    assert affected(user=kka.counsellor, start=start, end=end).clients == []


def test_affected_needs_a_user_or_an_address(story: Story) -> None:
    with pytest.raises(ValueError, match="user or an IP"):
        affected(start=story.start, end=story.end)


# --- the command ------------------------------------------------------------------------


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("privacy", "affected", *args, stdout=out)
    return out.getvalue()


def test_command_json_lists_codes_and_categories_never_names(story: Story) -> None:
    output = _run(
        "--user",
        story.world.counsellor.email,
        "--from",
        story.start.isoformat(),
        "--to",
        story.end.isoformat(),
        "--json",
    )
    payload = json.loads(output)
    assert {row["client"] for row in payload["clients"]} == {story.a.code, story.b.code}
    row_b = next(row for row in payload["clients"] if row["client"] == story.b.code)
    assert row_b["events"] == 2
    assert row_b["organisation"] == story.world.org.code
    assert "catatan_konseling" in row_b["categories"]
    for name in ("Ayu", "Bima", "Citra", "Dewi", "Melati", "Wali"):
        assert name not in output
    listed = AuditEvent.objects.filter(action="privacy.affected_listed").get()
    assert listed.refs == {"via": "cli", "by": "user", "clients": 2, "events": 3}
    assert listed.actor_id is None


def test_command_text_output_by_ip_and_user_id(story: Story) -> None:
    output = _run(
        "--user",
        str(story.world.counsellor.pk),
        "--ip",
        SUSPECT_IP,
        "--from",
        story.start.isoformat(),
        "--to",
        story.end.isoformat(),
    )
    assert output.startswith("2 client(s) reached")
    assert story.a.code in output and story.b.code in output
    assert story.c.code not in output and story.d.code not in output
    assert "Ayu" not in output and "Bima" not in output


def test_naive_times_are_read_in_the_organisations_zone(story: Story) -> None:
    jakarta = zoneinfo.ZoneInfo(story.world.org.time_zone)
    naive_from = story.start.astimezone(jakarta).replace(tzinfo=None).isoformat()
    naive_to = story.end.astimezone(jakarta).replace(tzinfo=None).isoformat()
    args = ["--user", story.world.counsellor.email, "--from", naive_from, "--to", naive_to]
    with_zone = json.loads(_run(*args, "--organisation", story.world.org.code, "--json"))
    assert {row["client"] for row in with_zone["clients"]} == {story.a.code, story.b.code}
    assert with_zone["from"].endswith("+07:00")
    # Without an organisation the same naive times are UTC: seven hours later, nothing.
    in_utc = json.loads(_run(*args, "--json"))
    assert in_utc["clients"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-01-01", "--to", "2026-01-02"], "give --user or --ip"),
        (["--user", "nobody@uji.test", "--from", "2026-01-01", "--to", "2026-01-02"], "no account"),
        (["--ip", "not-an-ip", "--from", "2026-01-01", "--to", "2026-01-02"], "--ip wants"),
        (["--ip", SUSPECT_IP, "--from", "kemarin", "--to", "2026-01-02"], "--from wants"),
        (["--ip", SUSPECT_IP, "--from", "2026-01-03", "--to", "2026-01-02"], "after --to"),
    ],
)
def test_command_refuses_bad_input(world: World, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        _run(*args)


def test_a_bare_date_covers_the_whole_day(world: World) -> None:
    make_user(organisation=world.org)  # an unrelated account; nothing to find
    today = timezone.now().astimezone(dt.UTC).date().isoformat()
    payload = json.loads(_run("--ip", SUSPECT_IP, "--from", today, "--to", today, "--json"))
    assert payload["from"].endswith("T00:00:00+00:00")
    assert payload["to"].startswith(today) and "23:59:59" in payload["to"]


def test_every_audit_action_is_classified() -> None:
    # A new action code must say which data it reaches, or that it reaches none.
    assert set(ACTION_CATEGORIES) | NO_REACH == set(ACTIONS)
    assert set(ACTION_CATEGORIES) & NO_REACH == set()
    assert {c for codes in ACTION_CATEGORIES.values() for c in codes} <= set(CATEGORIES)


def test_actions_that_reach_nothing_are_left_out(story: Story) -> None:
    start = timezone.now()
    # Voiding a letter number names its case but shows none of the client's data.
    audit_log(
        action="letter.number_voided",
        actor=story.world.counsellor,
        organisation=story.world.org,
        object_type="letternumber",
        object_ref="2026/1",
        refs={"conference": "", "case": story.case_b.code},
    )
    audit_log(action="auth.step_up", actor=story.world.counsellor, object_type="user")
    result = affected(user=story.world.counsellor, start=start, end=timezone.now())
    assert result.clients == [] and result.events == 0
