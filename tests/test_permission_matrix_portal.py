"""The permission matrix, continued: the personas a URL table cannot express.

- a participant whose private link was revoked: every portal URL answers exactly like an
  unknown token (404, same page), from the next request on;
- a valid participant of ANOTHER KKA (another case of the same organisation, and a KKA of
  another organisation), with their own portal session: nothing of KKA 1 is reachable by
  its object codes, nothing of it appears in any answer, nothing of it changes;
- someone who logged in with the password but has not given a second factor, in
  production mode (``KKA_REQUIRE_2FA``): every staff URL of the matrix sends them to
  enrolment (no device yet) or verification (device), and nothing is shown or written.

The expired session is covered in ``tests/test_permission_matrix.py``
(``test_expired_session_is_sent_to_login_and_removed``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import Client as HttpClient
from django.test import override_settings
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from kka.accounts import two_factor
from kka.audit.models import AuditEvent
from kka.cases import services as case_services
from kka.cases.models import Case
from kka.conferences import followup
from kka.conferences import services as conference_services
from kka.conferences.models import (
    Commitment,
    CommitmentProgress,
    Conference,
    MinutesResponse,
    Participant,
)
from kka.portal.views import SESSION_KEY
from tests.personas import PASSWORD
from tests.test_permission_matrix import (
    MATRIX,
    Scene,
    _all_url_names,
    build_scene,
    portal_session,
)

PORTAL = "/undangan/"
LOGIN = "/akun/masuk/"
ENROL = "/akun/2fa/daftar/"
VERIFY = "/akun/verifikasi/"
ALL_PURPOSES = [
    "purpose_hold_kka",
    "share_school_staff",
    "share_family",
    "share_employer",
    "share_community",
    "share_professionals",
    "purpose_documents",
]


@dataclass
class Invited:
    """A participant with a working private link, pledged, with one open commitment."""

    participant: Participant
    token: str
    commitment: Commitment


@dataclass
class PortalScene:
    scene: Scene
    kka1: Invited
    same_org: Invited  # another case (another counsellor) of the same organisation
    other_org: Invited  # a KKA of another organisation
    # Text and codes of KKA 1 that no other participant may ever read.
    kka1_secrets: list[str]


def _invite(participant: Participant) -> str:
    token = conference_services.portal_link_create(participant=participant)
    conference_services.pledge_take(
        participant=participant,
        typed_name=participant.full_name,
        agreed=True,
        ip="127.0.0.1",
        channel="online",
    )
    return token


def _other_kka(
    *, counsellor: Any, organisation: Any, client_name: str, person: str, promise: str
) -> Invited:
    client = case_services.client_create(
        actor=counsellor,
        organisation=organisation,
        full_name=client_name,
        birth_date="1990-02-03",
    )
    case = case_services.case_open(
        actor=counsellor, client=client, bidang="pribadi", title="Kasus lain", intake_source="guru"
    )
    case_services.consent_record(
        actor=counsellor,
        client=client,
        giver="konseli",
        giver_name=client_name,
        channel="lisan",
        purposes=ALL_PURPOSES,
    )
    conference = conference_services.conference_create(actor=counsellor, case=case)
    participant = conference_services.participant_add(
        actor=counsellor,
        conference=conference,
        full_name=person,
        role="kakak",
        category="keluarga",
        disclosure="shared_minutes",
    )
    conference_services.conference_set_status(
        actor=counsellor, conference=conference, status="planned"
    )
    commitment = followup.commitment_add(
        actor=counsellor, conference=conference, participant=participant, what=promise
    )
    token = _invite(participant)
    participant.refresh_from_db()
    return Invited(participant, token, commitment)


def build_portal_scene() -> PortalScene:
    scene = build_scene()
    world = scene.world
    owner = scene.users["owner"]
    case = Case.objects.get(code=scene.objects["case"])
    # The scene's consent covers holding the KKA only; the family needs its own purpose.
    case_services.consent_record(
        actor=owner,
        client=case.client,
        giver="orang_tua",
        giver_name="Budi",
        channel="lisan",
        purposes=ALL_PURPOSES,
    )
    participant = Participant.objects.get(code=scene.objects["participant"])
    token = _invite(participant)
    participant.refresh_from_db()
    kka1 = Invited(participant, token, Commitment.objects.get(code=scene.objects["commitment"]))
    same_org = _other_kka(
        counsellor=world.other_counsellor,
        organisation=world.org,
        client_name="Rudi Hartono",
        person="Wahyu Pratama",
        promise="Menjemput tepat waktu",
    )
    other_org = _other_kka(
        counsellor=world.outsider,
        organisation=world.other_org,
        client_name="Made Wirawan",
        person="Ketut Sari",
        promise="Mengatur jadwal kerja",
    )
    conference = Conference.objects.get(code=scene.objects["conference"])
    secrets = [
        case.client.full_name,
        case.title,
        kka1.commitment.what,
        participant.full_name,
        participant.letter_number or "",
        scene.objects["case"],
        scene.objects["client"],
        scene.objects["conference"],
        scene.objects["participant"],
        scene.objects["commitment"],
        conference.code,
    ]
    return PortalScene(scene, kka1, same_org, other_org, [s for s in secrets if s])


@pytest.fixture(scope="module")
def portal(django_db_setup: Any, django_db_blocker: Any) -> Iterator[PortalScene]:
    """Built once, inside an outer transaction; each test runs in a rolled-back savepoint."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield build_portal_scene()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


# Every portal URL a session can use (the table's rows; ``portal:leave`` only ends the
# portal session and shows nothing). A new portal URL without a row fails below.
PORTAL_URLS = sorted(
    name for name in MATRIX if name.startswith("portal:") and name != "portal:leave"
)


def test_every_portal_url_is_tried() -> None:
    portal_names = {name for name in _all_url_names() if name.startswith("portal:")}
    assert portal_names - {"portal:leave"} == set(PORTAL_URLS)
    assert len(PORTAL_URLS) >= 7


def _request(http: HttpClient, name: str, objects: dict[str, str], **data: str) -> Any:
    kwargs_spec, expectation = MATRIX[name]
    kwargs = {key: objects.get(value, value) for key, value in kwargs_spec.items()}
    url = reverse(name, kwargs=kwargs)
    if expectation is portal_session:
        return http.get(url)
    return http.post(url, data)


def _enter(token: str) -> HttpClient:
    http = HttpClient()
    response = http.get(PORTAL, {"t": token})
    assert response.status_code == 302, "a valid link opens a portal session"
    assert http.get(PORTAL).status_code == 200
    return http


# Per-request values: the CSP nonce and the CSRF token (of the language switch form).
NONCE = re.compile(r'nonce="[^"]*"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


# The language switch sends the person back to the address they asked for: that echo of
# the request's own URL is no disclosure and is left out of the secret checks.
NEXT = re.compile(r'name="next" value="[^"]*"')


def _page(response: Any) -> str:
    body = NONCE.sub('nonce=""', response.content.decode("utf-8", "replace"))
    return CSRF.sub('name="csrfmiddlewaretoken" value=""', body)


def _shown(response: Any) -> str:
    """What the page shows, without the echo of its own address."""
    return NEXT.sub('name="next" value=""', _page(response))


def _unknown_token_page() -> Any:
    response = HttpClient().get(PORTAL, {"t": "x" * 43})
    assert response.status_code == 404
    return response


# Form data naming KKA 1's objects, in case a view ever reads an id from the request.
def _hijack_data(portal: PortalScene) -> dict[str, str]:
    objects = portal.scene.objects
    return {
        "answer": "yes",
        "note": "Catatan",
        "typed_name": "Nama Sendiri",
        "agreed": "on",
        "comment": "Komentar",
        "participant": objects["participant"],
        "conference": objects["conference"],
        "commitment": objects["commitment"],
        "code": objects["commitment"],
    }


# --- the valid link works (so the refusals below can fail) -----------------------------


@pytest.mark.django_db
def test_kka1_participant_reaches_the_portal_and_their_commitment(portal: PortalScene) -> None:
    http = _enter(portal.kka1.token)
    page = http.get(PORTAL).content.decode()
    assert portal.kka1.participant.full_name in page
    assert portal.kka1.commitment.what in page
    response = _request(
        http, "portal:progress", portal.scene.objects, note="Sudah dimulai minggu ini"
    )
    assert response.status_code == 302
    assert CommitmentProgress.objects.filter(commitment=portal.kka1.commitment).count() == 1


# --- revoked participant ------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", PORTAL_URLS)
def test_revoked_participant_is_refused_like_an_unknown_token(
    portal: PortalScene, name: str
) -> None:
    http = _enter(portal.kka1.token)
    conference_services.portal_links_revoke(
        actor=portal.scene.users["owner"], participant=portal.kka1.participant
    )
    denied_before = AuditEvent.objects.filter(action="portal.denied").count()
    progress_before = CommitmentProgress.objects.count()
    rsvp_before = Participant.objects.get(pk=portal.kka1.participant.pk).rsvp

    response = _request(http, name, portal.scene.objects, **_hijack_data(portal))

    assert response.status_code == 404, f"{name}: {response.status_code}"
    # The same page as a browser that never had a link (the page names its own address
    # in the language switch, so the comparison is at the same URL).
    stranger = _request(HttpClient(), name, portal.scene.objects, **_hijack_data(portal))
    assert stranger.status_code == 404
    assert _page(response) == _page(stranger), "the refusal must not tell a revoked link apart"
    body = _shown(response)
    for secret in portal.kka1_secrets:
        assert secret not in body, (name, secret)
    # The session no longer carries the link; the refusal is audited; nothing changed.
    assert SESSION_KEY not in http.session
    assert AuditEvent.objects.filter(action="portal.denied").count() > denied_before
    assert CommitmentProgress.objects.count() == progress_before
    assert Participant.objects.get(pk=portal.kka1.participant.pk).rsvp == rsvp_before
    # And the revoked token itself no longer opens a session.
    again = HttpClient().get(PORTAL, {"t": portal.kka1.token})
    assert again.status_code == 404
    assert _page(again) == _page(_unknown_token_page())


# --- participant of another KKA -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["same_org", "other_org"])
@pytest.mark.parametrize("name", PORTAL_URLS)
def test_participant_of_another_kka_reaches_nothing_of_kka1(
    portal: PortalScene, who: str, name: str
) -> None:
    other: Invited = getattr(portal, who)
    http = _enter(other.token)
    # Read afresh: the scene's objects are shared by tests whose writes are rolled back.
    kka1 = Participant.objects.get(pk=portal.kka1.participant.pk)
    progress_before = CommitmentProgress.objects.filter(commitment=portal.kka1.commitment).count()
    responses_before = MinutesResponse.objects.filter(participant=kka1).count()
    events_before = set(
        AuditEvent.objects.filter(object_ref=kka1.code).values_list("id", flat=True)
    )

    response = _request(http, name, portal.scene.objects, **_hijack_data(portal))

    if name == "portal:progress":
        # KKA 1's commitment code, through the other participant's own session.
        assert response.status_code == 404
    else:
        assert response.status_code in (200, 302, 404), response.status_code
    bodies = [_shown(response)]
    if response.status_code == 302:
        follow = http.get(response["Location"])
        assert follow.status_code == 200
        bodies.append(_shown(follow))
        # The page it lands on is the other participant's own portal.
        assert other.participant.full_name in bodies[-1]
    for body in bodies:
        for secret in portal.kka1_secrets:
            assert secret not in body, (name, secret)
        if who == "other_org":
            assert portal.scene.world.org.name not in body
    # Nothing of KKA 1 changed, and nothing was recorded against its participant.
    kka1_after = Participant.objects.get(pk=kka1.pk)
    assert kka1_after.rsvp == kka1.rsvp
    assert kka1_after.pledged_at == kka1.pledged_at
    assert kka1_after.first_opened_at == kka1.first_opened_at
    assert (
        CommitmentProgress.objects.filter(commitment=portal.kka1.commitment).count()
        == progress_before
    )
    assert MinutesResponse.objects.filter(participant=kka1).count() == responses_before
    assert (
        set(AuditEvent.objects.filter(object_ref=kka1.code).values_list("id", flat=True))
        == events_before
    )


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["same_org", "other_org"])
def test_other_participants_own_commitment_still_works(portal: PortalScene, who: str) -> None:
    """Control for the test above: the same request with their own code succeeds."""
    other: Invited = getattr(portal, who)
    http = _enter(other.token)
    response = _request(
        http, "portal:progress", {"commitment": other.commitment.code}, note="Berjalan baik"
    )
    assert response.status_code == 302
    assert CommitmentProgress.objects.filter(commitment=other.commitment).count() == 1


# --- expired session: the POSTs too -------------------------------------------------------
# (Every staff GET is tried in tests/test_permission_matrix.py; a write must not slip
# through an expired session either.)

STAFF_POST = [
    name
    for name in sorted(MATRIX)
    if not name.startswith("portal:")
    and MATRIX[name][1]("anonymous")[1] == "login"
    and MATRIX[name][1]("owner")[1] is not None
    and name != "accounts:logout"
    and name != "accounts:sessions_end_all"
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", STAFF_POST)
def test_expired_session_writes_nothing(portal: PortalScene, name: str) -> None:
    from django.conf import settings

    from kka.accounts import sessions

    scene = portal.scene
    kwargs = {key: scene.objects.get(value, value) for key, value in MATRIX[name][0].items()}
    http = HttpClient()
    http.force_login(scene.users["owner"])
    session = http.session
    session[sessions.SEEN_AT] -= settings.SESSION_IDLE_MINUTES * 60 + 1
    session.save()
    before = set(AuditEvent.objects.values_list("action", flat=True).distinct())
    count = AuditEvent.objects.exclude(action__startswith="auth.").count()

    response = http.post(reverse(name, kwargs=kwargs), {"status": "closed", "text": "x"})

    assert response.status_code == 302 and LOGIN in response["Location"], name
    # Only the session's end was recorded; the view never ran.
    assert AuditEvent.objects.exclude(action__startswith="auth.").count() == count
    assert set(AuditEvent.objects.values_list("action", flat=True).distinct()) - before <= {
        "auth.session_ended",
        "auth.logout",
    }


# --- password but no second factor (production mode) ---------------------------------------

STAFF = [
    (name, method)
    for name in sorted(MATRIX)
    if not name.startswith("portal:")
    and MATRIX[name][1]("anonymous") != MATRIX[name][1]("owner")  # not a public page
    and name not in two_factor.OPEN_URL_NAMES
    for method in ("GET", "POST")
    if MATRIX[name][1]("owner")[0 if method == "GET" else 1] is not None
]


def test_the_second_factor_table_names_every_staff_url() -> None:
    names = {name for name, _method in STAFF}
    assert len(names) > 60
    public_or_open = {
        name
        for name in MATRIX
        if name.startswith("portal:")
        or name in two_factor.OPEN_URL_NAMES
        or MATRIX[name][1]("anonymous") == MATRIX[name][1]("owner")
    }
    assert names | public_or_open == set(MATRIX)
    # The pages open without a second factor are public ones or the factor's own pages.
    for name in two_factor.OPEN_URL_NAMES:
        assert name.startswith("accounts:") or name in {"healthz", "readyz"}


def _password_login(email: str) -> HttpClient:
    http = HttpClient()
    response = http.post(LOGIN, {"username": email, "password": PASSWORD})
    assert response.status_code == 302, "password login failed"
    return http


@pytest.mark.django_db
@override_settings(KKA_REQUIRE_2FA=True)
@pytest.mark.parametrize("device", [False, True], ids=["no_device", "unverified_device"])
@pytest.mark.parametrize(("name", "method"), STAFF)
def test_password_only_is_sent_to_the_second_factor_from_every_staff_url(
    portal: PortalScene, name: str, method: str, device: bool
) -> None:
    scene = portal.scene
    owner = scene.users["owner"]
    if device:
        TOTPDevice.objects.create(user=owner, name="KKA", confirmed=True)
    http = _password_login(owner.email)
    target = VERIFY if device else ENROL
    kwargs = {key: scene.objects.get(value, value) for key, value in MATRIX[name][0].items()}
    url = reverse(name, kwargs=kwargs)
    events_before = AuditEvent.objects.count()

    response = (
        http.get(url) if method == "GET" else http.post(url, {"status": "closed", "text": "x"})
    )

    assert response.status_code == 302, f"{method} {url}: {response.status_code}"
    assert response["Location"].startswith(target), f"{method} {url}: {response['Location']}"
    assert response.content == b""
    # The view never ran: nothing written, nothing read into the audit trail.
    assert AuditEvent.objects.count() == events_before
    # Still logged in (not an expired session): the redirect is the second factor's.
    assert http.get(target).status_code == 200


@pytest.mark.django_db
@override_settings(KKA_REQUIRE_2FA=True)
def test_second_factor_redirect_also_for_htmx(portal: PortalScene) -> None:
    http = _password_login(portal.scene.users["owner"].email)
    url = reverse("cases:case_detail", kwargs={"code": portal.scene.objects["case"]})
    response = http.get(url, headers={"HX-Request": "true"})
    assert response["HX-Redirect"].startswith(ENROL)
    assert portal.scene.objects["case"] not in response.content.decode()


@pytest.mark.django_db
@override_settings(KKA_REQUIRE_2FA=True)
def test_second_factor_holds_for_every_role(portal: PortalScene) -> None:
    """The admin, the coordinator and the DPO are staff too: their own pages redirect."""
    pages = {
        "admin": "accounts:member_list",
        "coordinator": "cases:consent_text_edit",
        "dpo": "web:home",
        "head": "web:home",
    }
    for persona, name in pages.items():
        user = portal.scene.users[persona]
        http = _password_login(user.email)
        response = http.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(ENROL), persona
