"""The incident register: DPO only, the 72-hour countdown, finding who was affected."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kka.accounts.models import Role
from kka.audit.models import AuditEvent
from kka.cases import services
from kka.cases.models import Client
from kka.privacy import incidents
from kka.privacy.models import Incident, IncidentStatus, IncidentSubject
from tests.personas import World, make_user
from tests.web.test_security_headers import assert_markup_obeys_csp, assert_no_store, nonce_of

pytestmark = pytest.mark.django_db

LIST = "/privasi/insiden/"
NEW = "/privasi/insiden/baru/"


def _incident(world: World, **values: object) -> Incident:
    fields: dict[str, object] = {
        "title": "Akun konselor dipakai orang lain",
        "discovered_at": timezone.now(),
    }
    fields.update(values)
    return incidents.incident_record(actor=world.dpo, organisation=world.org, **fields)  # type: ignore[arg-type]


def _browser(user: object) -> HttpClient:
    browser = HttpClient()
    browser.force_login(user)  # type: ignore[arg-type]
    return browser


def _client(world: World, name: str) -> Client:
    return services.client_create(
        actor=world.counsellor, organisation=world.org, full_name=name, birth_date="2000-01-01"
    )


# --- access -----------------------------------------------------------------------------


def test_only_the_dpo_opens_the_register(world: World) -> None:
    incident = _incident(world)
    pages = [LIST, NEW, f"{LIST}{incident.code}/", f"{LIST}{incident.code}/ubah/"]
    for name, user in world.personas().items():
        browser = _browser(user)
        for page in pages:
            expected = 200 if name == "dpo" else 404
            assert browser.get(page).status_code == expected, (name, page)


def test_another_organisations_dpo_gets_404(world: World) -> None:
    incident = _incident(world)
    other_dpo = make_user(organisation=world.other_org, role=Role.DPO)
    browser = _browser(other_dpo)
    assert browser.get(LIST).status_code == 200
    assert incident.code not in browser.get(LIST).content.decode()
    assert browser.get(f"{LIST}{incident.code}/").status_code == 404
    assert browser.post(f"{LIST}{incident.code}/terdampak/").status_code == 404
    assert browser.post(f"{LIST}{incident.code}/diberitahukan/").status_code == 404


# --- record and edit ----------------------------------------------------------------------


def test_dpo_records_an_incident_and_the_audit_row_holds_no_text(world: World) -> None:
    browser = _browser(world.dpo)
    response = browser.post(
        NEW,
        {
            "title": "Laptop BK hilang RAHASIA-JUDUL",
            "description": "Laptop tertinggal di angkot",
            "measures": "Kata sandi semua akun diganti",
            "discovered_at": "2026-11-29T08:00",
            "occurred_from": "2026-11-28T17:00",
            "occurred_to": "2026-11-29T07:30",
            "suspect_user": str(world.counsellor.pk),
            "suspect_ip": "203.0.113.40",
        },
    )
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}{incident.code}/"
    assert incident.title == "Laptop BK hilang RAHASIA-JUDUL"
    assert incident.suspect_user == world.counsellor
    # Naive form times are the organisation's zone (WIB, UTC+7).
    assert incident.discovered_at == dt.datetime(2026, 11, 29, 1, 0, tzinfo=dt.UTC)
    assert incident.notify_by == dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)
    row = AuditEvent.objects.get(action="privacy.incident_recorded")
    assert (row.object_type, row.object_ref, row.actor_id) == (
        "incident",
        incident.code,
        world.dpo.pk,
    )
    assert "RAHASIA" not in str(row.refs)


def test_suspect_must_be_a_member_and_the_window_in_order(world: World) -> None:
    browser = _browser(world.dpo)
    response = browser.post(
        NEW,
        {
            "title": "Uji",
            "discovered_at": "2026-11-29T08:00",
            "occurred_from": "2026-11-29T07:00",
            "occurred_to": "2026-11-28T07:00",
            "suspect_user": str(world.outsider.pk),
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "suspect_user" in form.errors  # not offered: another organisation's account
    assert not Incident.objects.exists()
    response = browser.post(
        NEW,
        {
            "title": "Uji",
            "discovered_at": "2026-11-29T08:00",
            "occurred_from": "2026-11-29T07:00",
            "occurred_to": "2026-11-28T07:00",
        },
    )
    assert "occurred_to" in response.context["form"].errors
    assert not Incident.objects.exists()


def test_edit_changes_fields_and_audits_their_names(world: World) -> None:
    incident = _incident(world)
    browser = _browser(world.dpo)
    response = browser.post(
        f"{LIST}{incident.code}/ubah/",
        {
            "title": incident.title,
            "measures": "Akun diblokir",
            "discovered_at": timezone.localtime(incident.discovered_at).strftime("%Y-%m-%dT%H:%M"),
            "status": IncidentStatus.CLOSED,
        },
    )
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.measures == "Akun diblokir"
    assert incident.status == IncidentStatus.CLOSED
    row = AuditEvent.objects.get(action="privacy.incident_updated")
    assert row.refs["fields"] == "measures,status"  # the deadline did not move
    assert "Akun diblokir" not in str(row.refs)


# --- countdown --------------------------------------------------------------------------


def test_countdown_counts_to_72_hours_after_discovery(world: World) -> None:
    now = timezone.now()
    fresh = _incident(world, discovered_at=now - dt.timedelta(hours=60))
    late = _incident(world, discovered_at=now - dt.timedelta(hours=75, minutes=10))
    nearly = _incident(world, discovered_at=now - dt.timedelta(hours=71, minutes=30))
    assert incidents.countdown(fresh, now) == incidents.Countdown("sisa 12 jam", False)
    assert incidents.countdown(late, now) == incidents.Countdown("lewat batas 3 jam", True)
    assert incidents.countdown(nearly, now) == incidents.Countdown("sisa 30 menit", False)
    incidents.incident_update(actor=world.dpo, incident=late, status=IncidentStatus.CLOSED)
    assert incidents.countdown(late, now) == incidents.Countdown(
        "ditutup tanpa pemberitahuan", False
    )


def test_register_shows_the_countdown_and_late_in_red(world: World) -> None:
    now = timezone.now()
    _incident(world, title="Insiden baru", discovered_at=now - dt.timedelta(hours=59, minutes=50))
    _incident(world, title="Insiden lama", discovered_at=now - dt.timedelta(hours=75, minutes=30))
    page = _browser(world.dpo).get(LIST).content.decode()
    assert "sisa 12 jam" in page
    assert '<span class="badge badge-late warn">lewat batas 3 jam</span>' in page
    assert page.index("Insiden baru") < page.index("Insiden lama")  # newest first


def test_notified_stops_the_countdown(world: World) -> None:
    incident = _incident(world, discovered_at=timezone.now() - dt.timedelta(hours=10))
    browser = _browser(world.dpo)
    assert browser.get(f"{LIST}{incident.code}/diberitahukan/").status_code == 405
    response = browser.post(f"{LIST}{incident.code}/diberitahukan/")
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.notified_at is not None
    assert incident.status == IncidentStatus.NOTIFIED
    assert incidents.countdown(incident).text == "diberitahukan tepat waktu"
    row = AuditEvent.objects.get(action="privacy.incident_updated")
    assert row.refs == {"change": "notified", "late": 0}


def test_dpo_page_lists_open_incidents_with_their_countdown(world: World) -> None:
    now = timezone.now()
    open_one = _incident(
        world, title="Masih ditangani", discovered_at=now - dt.timedelta(hours=69, minutes=50)
    )
    done = _incident(world, title="Sudah selesai", discovered_at=now - dt.timedelta(hours=5))
    incidents.incident_notified(actor=world.dpo, incident=done)
    page = _browser(world.dpo).get("/privasi/").content.decode()
    assert "Masih ditangani" in page and "sisa 2 jam" in page
    assert f'href="{LIST}{open_one.code}/"' in page
    assert "Sudah selesai" not in page
    section = incidents.dpo_section(world.org)
    assert section["count"] == 1


# --- affected ---------------------------------------------------------------------------


def test_find_affected_stores_codes_and_categories_and_shows_no_names(world: World) -> None:
    reached = _client(world, "Rahmat Hidayat")
    untouched = _client(world, "Sinta Maharani")
    start = timezone.now()
    suspect = _browser(world.counsellor)
    assert suspect.get(f"/konseli/{reached.code}/").status_code == 200
    end = timezone.now()
    suspect.get(f"/konseli/{untouched.code}/")  # after the window
    incident = _incident(world, occurred_from=start, occurred_to=end, suspect_user=world.counsellor)
    browser = _browser(world.dpo)
    response = browser.post(f"{LIST}{incident.code}/terdampak/", follow=True)
    assert response.status_code == 200
    subject = IncidentSubject.objects.get(incident=incident)
    assert subject.client == reached
    assert subject.categories == ["identitas", "kontak", "wali", "persetujuan"]
    page = response.content.decode()
    assert reached.code in page and untouched.code not in page
    assert "Alamat dan nomor telepon" in page
    assert "Rahmat" not in page and "Sinta" not in page
    listed = AuditEvent.objects.get(action="privacy.affected_listed")
    assert listed.object_ref == incident.code
    assert listed.refs == {"via": "web", "by": "user", "clients": 1, "events": 1}


def test_find_again_keeps_notified_subjects_and_drops_the_others(world: World) -> None:
    first = _client(world, "Satu")
    second = _client(world, "Dua")
    start = timezone.now()
    suspect = _browser(world.counsellor)
    suspect.get(f"/konseli/{first.code}/")
    middle = timezone.now()
    suspect.get(f"/konseli/{second.code}/")
    end = timezone.now()
    incident = _incident(world, occurred_from=start, occurred_to=end, suspect_user=world.counsellor)
    incidents.incident_find_affected(actor=world.dpo, incident=incident)
    assert IncidentSubject.objects.filter(incident=incident).count() == 2
    browser = _browser(world.dpo)
    assert (
        browser.post(f"{LIST}{incident.code}/terdampak/{second.code}/diberitahukan/").status_code
        == 302
    )
    # The window was narrower than first thought: only the first visit falls in it.
    incidents.incident_update(actor=world.dpo, incident=incident, occurred_to=middle)
    incidents.incident_find_affected(actor=world.dpo, incident=incident)
    kept = dict(
        IncidentSubject.objects.filter(incident=incident).values_list("client__code", "notified_at")
    )
    assert set(kept) == {first.code, second.code}  # the notified one stays on record
    assert kept[second.code] is not None
    incidents.incident_update(actor=world.dpo, incident=incident, occurred_from=middle)
    incidents.incident_find_affected(actor=world.dpo, incident=incident)
    assert set(
        IncidentSubject.objects.filter(incident=incident).values_list("client__code", flat=True)
    ) == {second.code}


def test_find_affected_needs_a_suspect_and_a_start(world: World) -> None:
    browser = _browser(world.dpo)
    no_suspect = _incident(world, occurred_from=timezone.now())
    page = browser.post(f"{LIST}{no_suspect.code}/terdampak/", follow=True).content.decode()
    assert "Isi akun atau alamat IP" in page
    no_start = _incident(world, suspect_ip="203.0.113.4")
    page = browser.post(f"{LIST}{no_start.code}/terdampak/", follow=True).content.decode()
    assert "Isi dulu waktu mulai" in page
    assert not IncidentSubject.objects.exists()
    assert not AuditEvent.objects.filter(action="privacy.affected_listed").exists()


def test_register_and_detail_queries_do_not_grow_with_rows(world: World) -> None:
    browser = _browser(world.dpo)

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert browser.get(url).status_code == 200
        return len(captured.captured_queries)

    incident = _incident(world, suspect_user=world.counsellor)
    IncidentSubject.objects.create(incident=incident, client=_client(world, "Satu"))
    few_list, few_detail = count(LIST), count(f"{LIST}{incident.code}/")
    for n in range(4):
        _incident(world)
        IncidentSubject.objects.create(incident=incident, client=_client(world, f"Lagi {n}"))
    assert count(LIST) == few_list
    assert count(f"{LIST}{incident.code}/") == few_detail


def test_register_pages_obey_the_csp_and_are_not_stored(world: World) -> None:
    incident = _incident(world)
    IncidentSubject.objects.create(incident=incident, client=_client(world, "Satu"))
    browser = _browser(world.dpo)
    for url in [LIST, NEW, f"{LIST}{incident.code}/", f"{LIST}{incident.code}/ubah/", "/privasi/"]:
        response = browser.get(url)
        assert response.status_code == 200, url
        assert_no_store(response)
        assert_markup_obeys_csp(response.content.decode(), nonce_of(response))
