"""Restriction of processing: while active, every change to the client's data, cases
and KKAs is refused (pages and the participant portal); reads and the access export
keep working; lifting it (with step-up) restores changes."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client as HttpClient
from django.urls import reverse

from kka.accounts import two_factor
from kka.audit.models import AuditEvent
from kka.cases import access as case_access
from kka.conferences import access as conference_access
from kka.conferences import services as conference_services
from kka.conferences.models import ConferenceStatus, Rsvp
from kka.privacy import subject
from kka.privacy.models import Restriction
from tests.conferences.test_followup import Held, held
from tests.personas import World

pytestmark = pytest.mark.django_db

BANNER = "Pemrosesan dibatasi sejak"


def fresh(user: object) -> HttpClient:
    browser = HttpClient()
    browser.force_login(user)  # type: ignore[arg-type]
    session = browser.session
    session[two_factor.SESSION_VERIFIED_AT] = time.time()
    session.save()
    return browser


@pytest.fixture
def kka(world: World) -> Held:
    return held(world, status=ConferenceStatus.INVITED)


def _portal(kka: Held) -> HttpClient:
    token = conference_services.portal_link_create(participant=kka.father)
    browser = HttpClient()
    assert browser.get(f"/undangan/?t={token}").status_code == 302
    return browser


def _writes(kka: Held) -> dict[str, str]:
    case, client, conference = kka.case, kka.case.client, kka.conference
    return {
        "case_edit": reverse("cases:case_edit", kwargs={"code": case.code}),
        "record_add": reverse("cases:record_add", kwargs={"code": case.code}),
        "client_edit": reverse("cases:client_edit", kwargs={"code": client.code}),
        "plan": reverse("conferences:plan", kwargs={"code": conference.code}),
    }


def test_restriction_refuses_every_change_but_reads_work(kka: Held) -> None:
    owner = kka.world.counsellor
    browser = fresh(owner)
    portal = _portal(kka)
    subject.restriction_start(actor=owner, client=kka.case.client)

    for name, url in _writes(kka).items():
        response = browser.post(url, {"title": "Diubah"})
        assert response.status_code == 403, name
        assert "dibatasi" in response.content.decode(), name
    answer = portal.post("/undangan/kehadiran/", {"answer": Rsvp.YES}, follow=True)
    assert answer.status_code == 200
    assert "dibatasi pemrosesannya" in answer.content.decode()
    kka.father.refresh_from_db()
    assert kka.father.rsvp == Rsvp.PENDING

    # Reads stay allowed, with the banner on the client, case and KKA pages.
    for url in (
        reverse("cases:case_detail", kwargs={"code": kka.case.code}),
        reverse("cases:client_detail", kwargs={"code": kka.case.client.code}),
        reverse("conferences:detail", kwargs={"code": kka.conference.code}),
    ):
        page = browser.get(url)
        assert page.status_code == 200, url
        assert BANNER in page.content.decode(), url
    export = browser.get(f"/konseli/{kka.case.client.code}/hak-subjek/salinan/json/")
    assert export.status_code == 200
    refused = AuditEvent.objects.filter(action="privacy.change_refused")
    assert refused.count() >= 5
    assert {e.object_ref for e in refused} == {kka.case.client.code}
    assert {e.outcome for e in refused} == {"denied"}


def test_access_functions_refuse_writes_only(kka: Held) -> None:
    owner = kka.world.counsellor
    subject.restriction_start(actor=owner, client=kka.case.client)

    assert case_access.access_case(owner, kka.case.code) == kka.case
    with pytest.raises(PermissionDenied):
        case_access.access_case(owner, kka.case.code, write=True)
    with pytest.raises(PermissionDenied):
        case_access.access_client(owner, kka.case.client.code, write=True)
    with pytest.raises(PermissionDenied):
        conference_access.access_conference(owner, kka.conference.code, write=True)
    with pytest.raises(PermissionDenied):
        conference_access.access_participant(owner, kka.conference, kka.father.code, write=True)
    # The rights page itself still reaches the client (to correct it or lift it).
    assert subject.access_subject(owner, kka.case.client.code) == kka.case.client
    # An outsider still gets 404, not a hint that the client is restricted.
    from django.http import Http404

    with pytest.raises(Http404):
        case_access.access_case(kka.world.other_counsellor, kka.case.code, write=True)


def test_lifting_needs_step_up_and_restores_changes(kka: Held) -> None:
    owner = kka.world.counsellor
    client = kka.case.client
    portal = _portal(kka)
    subject.restriction_start(actor=owner, client=client)
    lift = f"/konseli/{client.code}/hak-subjek/pembatasan/cabut/"

    stale = HttpClient()
    stale.force_login(owner)
    asked = stale.post(lift)
    assert asked.status_code == 302 and asked["Location"].startswith("/akun/verifikasi/")
    assert Restriction.objects.get(client=client).lifted_at is None

    browser = fresh(owner)
    assert browser.post(lift).status_code == 302
    restriction = Restriction.objects.get(client=client)
    assert restriction.lifted_at is not None and restriction.lifted_by == owner
    lifted = AuditEvent.objects.get(action="privacy.restriction_lifted")
    assert lifted.object_ref == restriction.code
    assert lifted.refs == {"client": client.code}

    for name, url in _writes(kka).items():
        assert browser.post(url, {}).status_code in (200, 302), name
    assert BANNER not in browser.get(f"/kasus/{kka.case.code}/").content.decode()
    portal.post("/undangan/kehadiran/", {"answer": Rsvp.YES})
    kka.father.refresh_from_db()
    assert kka.father.rsvp == Rsvp.YES


def test_restricting_through_a_request_completes_it(kka: Held) -> None:
    owner = kka.world.counsellor
    client = kka.case.client
    request = subject.request_record(actor=owner, client=client, kind="restriction")

    response = fresh(owner).post(
        f"/konseli/{client.code}/hak-subjek/pembatasan/", {"permintaan": request.code}
    )

    assert response.status_code == 302
    restriction = Restriction.objects.get(client=client, lifted_at__isnull=True)
    assert restriction.request == request
    request.refresh_from_db()
    assert request.status == "done"
    assert AuditEvent.objects.get(action="privacy.restricted").refs == {
        "request": request.code,
        "client": client.code,
    }
    # A second restriction while one is active is refused.
    fresh(owner).post(f"/konseli/{client.code}/hak-subjek/pembatasan/")
    assert Restriction.objects.filter(client=client).count() == 1


def test_only_who_may_write_the_client_restricts(kka: Held) -> None:
    client = kka.case.client
    url = f"/konseli/{client.code}/hak-subjek/pembatasan/"
    assert fresh(kka.world.other_counsellor).post(url).status_code == 404
    assert fresh(kka.world.dpo).post(url).status_code == 404
    assert not Restriction.objects.exists()


def test_withdrawing_consent_stays_possible_while_restricted(kka: Held) -> None:
    """Withdrawal of consent is itself a right of the data subject (UU 27/2022 Pasal 9)."""
    from kka.cases.models import Consent, ConsentKind

    owner = kka.world.counsellor
    client = kka.case.client
    grant = Consent.objects.filter(client=client, kind=ConsentKind.GRANT).latest("recorded_at")
    subject.restriction_start(actor=owner, client=client)

    response = fresh(owner).post(
        reverse("cases:consent_withdraw", kwargs={"code": client.code, "consent": grant.code}),
        {"note": "Orang tua menarik persetujuan"},
    )

    assert response.status_code == 302
    assert Consent.objects.filter(client=client, kind=ConsentKind.WITHDRAWAL).exists()
    # Any other change is still refused.
    edit = fresh(owner).post(reverse("cases:client_edit", kwargs={"code": client.code}), {})
    assert edit.status_code == 403
