"""The data subject request register, correction with history, and the DPO's view."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django.utils import timezone

from kka.accounts import two_factor
from kka.audit.models import AuditEvent
from kka.cases import selectors
from kka.cases import services as case_services
from kka.cases.models import CaseRole, Client
from kka.privacy import subject
from kka.privacy.models import Correction, RequestStatus, SubjectRequest
from tests.personas import World, make_user

pytestmark = pytest.mark.django_db

NOTE_CANARY = "KANARI-PEMOHON-6Z2Q"


def fresh(user: object) -> HttpClient:
    browser = HttpClient()
    browser.force_login(user)  # type: ignore[arg-type]
    session = browser.session
    session[two_factor.SESSION_VERIFIED_AT] = time.time()
    session.save()
    return browser


def make_client(world: World, *, full_name: str = "Ani Lestari") -> Client:
    client = case_services.client_create(
        actor=world.counsellor,
        organisation=world.org,
        full_name=full_name,
        birth_date="2012-05-01",
        phone="0811-1111",
        guardians=[{"full_name": "Budi Santoso", "relationship": "ayah", "phone": "0822-2222"}],
    )
    case_services.case_open(
        actor=world.counsellor, client=client, bidang="sosial", title="Relasi", intake_source="guru"
    )
    return client


def home(client: Client) -> str:
    return f"/konseli/{client.code}/hak-subjek/"


# --- the register ----------------------------------------------------------------------------


def test_recording_a_request_sets_the_72_hour_deadline_and_audits_codes_only(
    world: World,
) -> None:
    client = make_client(world)
    received = timezone.now().replace(microsecond=0, second=0) - dt.timedelta(hours=2)
    local = timezone.localtime(received, timezone.get_fixed_timezone(7 * 60))

    response = fresh(world.counsellor).post(
        home(client) + "permintaan/",
        {
            "kind": "access",
            "requested_by_note": f"Ibu kandung, lewat WhatsApp {NOTE_CANARY}",
            "received_at": local.strftime("%Y-%m-%dT%H:%M"),
        },
    )

    assert response.status_code == 302
    request = SubjectRequest.objects.get()
    assert request.kind == "access" and request.status == RequestStatus.OPEN
    assert request.received_at == received
    assert request.due_at == received + dt.timedelta(hours=72)
    assert request.created_by == world.counsellor
    event = AuditEvent.objects.get(action="privacy.request_received")
    assert event.object_ref == request.code
    assert event.refs == {"kind": "access", "client": client.code}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT requested_by_note FROM privacy_subjectrequest WHERE id = %s", [request.pk]
        )
        assert NOTE_CANARY not in str(cursor.fetchone()[0]), "the note is stored encrypted"
    page = fresh(world.counsellor).get(home(client)).content.decode()
    assert NOTE_CANARY in page and "sisa 69 jam" in page


def test_received_time_defaults_to_now_and_erasure_is_not_recorded_here(world: World) -> None:
    client = make_client(world)
    browser = fresh(world.counsellor)

    browser.post(home(client) + "permintaan/", {"kind": "correction"})
    refused = browser.post(home(client) + "permintaan/", {"kind": "erasure"})

    request = SubjectRequest.objects.get()
    assert abs((request.received_at - timezone.now()).total_seconds()) < 60
    assert refused.status_code == 200  # the form again, with the error
    assert SubjectRequest.objects.count() == 1


def test_completing_and_rejecting_requests(world: World) -> None:
    client = make_client(world)
    owner = world.counsellor
    access = subject.request_record(actor=owner, client=client, kind="access")
    restriction = subject.request_record(actor=owner, client=client, kind="restriction")
    browser = fresh(owner)

    browser.post(home(client) + f"permintaan/{access.code}/tutup/", {"outcome": "done"})
    browser.post(home(client) + f"permintaan/{restriction.code}/tutup/", {"outcome": "rejected"})

    access.refresh_from_db()
    restriction.refresh_from_db()
    assert access.status == RequestStatus.DONE and access.completed_by == owner
    assert restriction.status == RequestStatus.OPEN, "a refusal needs a reason"
    browser.post(
        home(client) + f"permintaan/{restriction.code}/tutup/",
        {"outcome": "rejected", "outcome_note": "Membahayakan keselamatan pihak lain"},
    )
    restriction.refresh_from_db()
    assert restriction.status == RequestStatus.REJECTED
    assert restriction.outcome_note == "Membahayakan keselamatan pihak lain"
    assert AuditEvent.objects.get(action="privacy.request_completed").refs == {
        "kind": "access",
        "client": client.code,
    }
    assert AuditEvent.objects.get(action="privacy.request_rejected").refs == {
        "kind": "restriction",
        "client": client.code,
    }
    # Closing twice changes nothing.
    browser.post(home(client) + f"permintaan/{access.code}/tutup/", {"outcome": "rejected"})
    access.refresh_from_db()
    assert access.status == RequestStatus.DONE


def test_the_rights_pages_need_step_up_and_the_client_writer(world: World) -> None:
    client = make_client(world)
    case = client.cases.get()
    supervisor = make_user(organisation=world.org)
    case_services.case_member_add(
        actor=world.counsellor, case=case, user=supervisor, role=CaseRole.SUPERVISOR
    )

    stale = HttpClient()
    stale.force_login(world.counsellor)
    asked = stale.get(home(client))
    assert asked.status_code == 302 and asked["Location"].startswith("/akun/verifikasi/")
    posted = stale.post(home(client) + "permintaan/", {"kind": "access"})
    assert posted.status_code == 302 and "/akun/verifikasi/" in posted["Location"]
    assert not SubjectRequest.objects.exists()

    assert fresh(world.counsellor).get(home(client)).status_code == 200
    assert fresh(supervisor).get(home(client)).status_code == 403
    for user in (world.other_counsellor, world.coordinator, world.dpo, world.outsider):
        assert fresh(user).get(home(client)).status_code == 404
        assert fresh(user).post(home(client) + "permintaan/", {"kind": "access"}).status_code == 404
    assert not SubjectRequest.objects.exists()


def test_client_page_links_to_the_rights_page(world: World) -> None:
    client = make_client(world)
    browser = HttpClient()
    browser.force_login(world.counsellor)
    assert f'href="{home(client)}"' in browser.get(f"/konseli/{client.code}/").content.decode()


# --- correction ------------------------------------------------------------------------------


def _correction_post(client: Client, **changes: str) -> dict[str, str]:
    guardian = client.guardians.get()
    data = {
        "full_name": client.full_name,
        "sex": client.sex,
        "birth_date": client.birth_date,
        "nisn": client.nisn,
        "employee_number": client.employee_number,
        "nik": client.nik,
        "group": client.group,
        "address": client.address,
        "phone": client.phone,
        f"g_{guardian.code}_full_name": guardian.full_name,
        f"g_{guardian.code}_relationship": guardian.relationship,
        f"g_{guardian.code}_phone": guardian.phone,
        f"g_{guardian.code}_email": guardian.email,
        f"g_{guardian.code}_address": guardian.address,
        "reason": "Salah ketik saat pendaftaran",
    }
    for key, value in changes.items():
        data[key.replace("GUARDIAN", f"g_{guardian.code}")] = value
    return data


def test_correction_keeps_history_and_refreshes_the_name_tokens(world: World) -> None:
    client = make_client(world, full_name="Ani Lestary")
    guardian = client.guardians.get()
    browser = fresh(world.counsellor)

    response = browser.post(
        home(client) + "pembetulan/",
        _correction_post(
            client, full_name="Ani Lestari", phone="0811-9999", GUARDIAN_phone="0822-0000"
        ),
    )

    assert response.status_code == 302
    rows = {c.field: c for c in Correction.objects.filter(client=client)}
    assert set(rows) == {"client.full_name", "client.phone", "guardian.phone"}
    assert rows["client.full_name"].old_value == "Ani Lestary"
    assert rows["client.full_name"].new_value == "Ani Lestari"
    assert rows["guardian.phone"].object_code == guardian.code
    assert rows["guardian.phone"].new_value == "0822-0000"
    assert all(r.reason == "Salah ketik saat pendaftaran" for r in rows.values())
    client.refresh_from_db()
    guardian.refresh_from_db()
    assert client.full_name == "Ani Lestari" and guardian.phone == "0822-0000"
    found = selectors.client_list(viewer=world.counsellor, organisation=world.org, query="Lestari")
    assert list(found) == [client]
    gone = selectors.client_list(viewer=world.counsellor, organisation=world.org, query="Lestary")
    assert list(gone) == []
    event = AuditEvent.objects.get(action="privacy.corrected")
    assert event.object_ref == client.code
    assert event.refs == {"fields": "full_name,guardian.phone,phone"}
    page = browser.get(home(client)).content.decode()
    assert "Ani Lestary" in page and "client.full_name" in page


def test_correction_without_change_or_reason_is_refused(world: World) -> None:
    client = make_client(world)
    browser = fresh(world.counsellor)

    same = browser.post(home(client) + "pembetulan/", _correction_post(client))
    no_reason = browser.post(
        home(client) + "pembetulan/", _correction_post(client, full_name="Ana", reason="")
    )

    assert same.status_code == 200 and no_reason.status_code == 200
    assert not Correction.objects.exists()
    client.refresh_from_db()
    assert client.full_name == "Ani Lestari"


def test_correction_answering_a_request_completes_it(world: World) -> None:
    client = make_client(world)
    request = subject.request_record(actor=world.counsellor, client=client, kind="correction")

    fresh(world.counsellor).post(
        home(client) + f"pembetulan/?permintaan={request.code}",
        {**_correction_post(client, group="8B"), "permintaan": request.code},
    )

    correction = Correction.objects.get()
    assert correction.request == request
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE


def test_correction_is_allowed_while_processing_is_restricted(world: World) -> None:
    client = make_client(world)
    subject.restriction_start(actor=world.counsellor, client=client)

    fresh(world.counsellor).post(home(client) + "pembetulan/", _correction_post(client, group="9A"))

    client.refresh_from_db()
    assert client.group == "9A"


# --- the DPO ---------------------------------------------------------------------------------


def test_dpo_sees_open_requests_by_deadline_with_client_codes_only(world: World) -> None:
    client = make_client(world)
    other = make_client(world, full_name="Citra Dewi")
    owner = world.counsellor
    now = timezone.now()
    late = subject.request_record(
        actor=owner, client=client, kind="access", received_at=now - dt.timedelta(hours=77)
    )
    soon = subject.request_record(
        actor=owner,
        client=other,
        kind="restriction",
        received_at=now - dt.timedelta(hours=40, minutes=30),
    )
    done = subject.request_record(actor=owner, client=other, kind="correction")
    subject.request_complete(actor=owner, request=done)

    page = fresh(world.dpo).get("/privasi/").content.decode()

    assert client.code in page and other.code in page
    assert "lewat 5 jam" in page and "sisa 31 jam" in page
    assert page.index(late.client.code) < page.index(soon.client.code)
    assert "badge-late" in page
    for secret in ("Ani Lestari", "Citra Dewi", "Budi Santoso"):
        assert secret not in page
    register = fresh(world.dpo).get("/privasi/permintaan/")
    assert register.status_code == 200
    assert register.content.decode().count(other.code) == 2  # open and closed one
    assert fresh(world.counsellor).get("/privasi/permintaan/").status_code == 404


def test_countdown_texts() -> None:
    due = timezone.now()
    assert subject.countdown(due, due - dt.timedelta(hours=31, minutes=20)).text == "sisa 31 jam"
    assert subject.countdown(due, due + dt.timedelta(hours=5, minutes=10)).text == "lewat 5 jam"
    assert subject.countdown(due, due + dt.timedelta(seconds=1)).overdue


def test_erasure_requests_show_on_the_rights_page_with_a_link(world: World) -> None:
    from kka.privacy import erasure

    client = make_client(world)
    request = erasure.erasure_request(actor=world.counsellor, client=client)

    page = fresh(world.counsellor).get(home(client)).content.decode()

    assert "Penghapusan / anonimisasi" in page
    assert f'href="/privasi/hapus/{request.code}/"' in page
