"""The register of letter numbers: who sees it, voiding with a reason, no gaps and no
duplicates even when many letters are numbered at the same moment."""

from __future__ import annotations

import csv
import io
import threading
import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection
from django.test import Client as HttpClient
from django.urls import reverse

from kka.accounts.models import Organisation, User
from kka.accounts.two_factor import SESSION_VERIFIED_AT
from kka.audit.models import AuditEvent
from kka.conferences import services
from kka.conferences.models import Conference, LetterNumber, Participant
from tests.conferences.test_planning import add_participant, make_case
from tests.personas import World, make_organisation, make_user

pytestmark = pytest.mark.django_db

REGISTER = reverse("documents:letter_register")
VOID = reverse("documents:letter_void")
CSV = reverse("documents:letter_register_csv")
SECRET_REASON = "ALASAN-RAHASIA-5TQ"


def logged_in(user: User, *, verified: bool = True) -> HttpClient:
    """Signed in; ``verified``: a fresh second-factor step-up, as the CSV export asks."""
    http = HttpClient()
    http.force_login(user)
    if verified:
        session = http.session
        session[SESSION_VERIFIED_AT] = time.time()
        session.save()
    return http


def issue(
    user: User,
    organisation: Organisation,
    *,
    conference: Conference | None = None,
    participant: Participant | None = None,
    kind: str = "undangan",
) -> LetterNumber:
    return services.letter_number_issue(
        actor=user,
        organisation=organisation,
        kind=kind,
        conference=conference,
        participant=participant,
    )


def kka_with_letter(world: World) -> tuple[Conference, Participant, LetterNumber]:
    case = make_case(world.counsellor, world.org)
    conference = services.conference_create(actor=world.counsellor, case=case)
    participant = add_participant(world.counsellor, conference, full_name="Bapak Penerima Surat")
    number = issue(world.counsellor, world.org, conference=conference, participant=participant)
    return conference, participant, number


# --- voiding ---------------------------------------------------------------------------


def test_voiding_keeps_the_number_in_the_register_and_never_reuses_it(world: World) -> None:
    first, second, third = (issue(world.counsellor, world.org) for _ in range(3))
    services.letter_number_void(actor=world.coordinator, number=second, reason=SECRET_REASON)
    fourth = issue(world.counsellor, world.org)
    numbers = LetterNumber.objects.filter(organisation=world.org).order_by("seq")
    assert [n.seq for n in numbers] == [1, 2, 3, 4]
    assert fourth.seq == 4 and fourth.number != second.number
    second.refresh_from_db()
    assert second.voided_at is not None and second.void_reason == SECRET_REASON
    assert first.voided_at is None and third.voided_at is None
    event = AuditEvent.objects.get(action="letter.number_voided")
    assert event.object_ref == f"{second.year}/2"
    assert event.actor_id == world.coordinator.pk
    # The reason is typed by a person: it stays in the register, never in the audit log.
    assert SECRET_REASON not in str(event.refs)
    assert not AuditEvent.objects.filter(refs__icontains=SECRET_REASON).exists()


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_void_needs_a_reason(world: World, reason: str) -> None:
    number = issue(world.counsellor, world.org)
    with pytest.raises(ValidationError) as exc:
        services.letter_number_void(actor=world.admin, number=number, reason=reason)
    assert "alasan" in " ".join(exc.value.messages).lower()
    number.refresh_from_db()
    assert number.voided_at is None
    assert not AuditEvent.objects.filter(action="letter.number_voided").exists()


def test_a_number_is_voided_once(world: World) -> None:
    number = issue(world.counsellor, world.org)
    services.letter_number_void(actor=world.admin, number=number, reason="Salah ketik")
    with pytest.raises(ValidationError):
        services.letter_number_void(actor=world.admin, number=number, reason="Lagi")
    number.refresh_from_db()
    assert number.void_reason == "Salah ketik"
    assert AuditEvent.objects.filter(action="letter.number_voided").count() == 1


# --- the page --------------------------------------------------------------------------


def test_register_lists_every_number_of_the_year_with_voided_ones(world: World) -> None:
    numbers = [issue(world.counsellor, world.org) for _ in range(3)]
    services.letter_number_void(actor=world.admin, number=numbers[1], reason="Surat tidak jadi")
    text = logged_in(world.other_counsellor).get(REGISTER).content.decode()
    for number in numbers:
        assert number.number in text
    assert "Dibatalkan" in text and "Surat tidak jadi" in text
    assert "Surat undangan" in text
    assert world.counsellor.full_name in text  # issued by
    # A counsellor reads but may not void: no void form on the page.
    assert VOID not in text


def test_the_addressee_and_link_are_shown_only_to_the_case_team(world: World) -> None:
    conference, participant, number = kka_with_letter(world)
    detail = reverse("conferences:detail", kwargs={"code": conference.code})
    own = logged_in(world.counsellor).get(REGISTER).content.decode()
    assert number.number in own
    assert participant.full_name in own and detail in own
    for outsider_to_case in (world.other_counsellor, world.coordinator, world.admin):
        text = logged_in(outsider_to_case).get(REGISTER).content.decode()
        assert number.number in text
        assert participant.full_name not in text
        assert detail not in text


def test_the_head_and_dpo_and_other_organisations_see_nothing(world: World) -> None:
    _conference, _participant, number = kka_with_letter(world)
    for user in (world.head, world.dpo):
        assert logged_in(user).get(REGISTER).status_code == 404
    # The outsider counsels elsewhere: its own (empty) register, never ours.
    text = logged_in(world.outsider).get(REGISTER).content.decode()
    assert number.number not in text


def test_years_are_filtered(world: World) -> None:
    this_year = issue(world.counsellor, world.org)
    LetterNumber.objects.create(
        organisation=world.org,
        year=this_year.year - 1,
        seq=1,
        number="LAMA/001",
        kind="undangan",
        issued_by=world.counsellor,
    )
    http = logged_in(world.admin)
    now = http.get(REGISTER).content.decode()
    assert this_year.number in now and "LAMA/001" not in now
    before = http.get(REGISTER, {"tahun": this_year.year - 1}).content.decode()
    assert "LAMA/001" in before and this_year.number not in before
    assert f'<option value="{this_year.year - 1}"' in now


def test_coordinator_voids_through_the_page(world: World) -> None:
    number = issue(world.counsellor, world.org)
    http = logged_in(world.coordinator)
    assert VOID in http.get(REGISTER).content.decode()
    response = http.post(VOID, {"year": number.year, "seq": number.seq, "reason": "Dobel"})
    assert response.status_code == 302
    number.refresh_from_db()
    assert number.voided_at is not None and number.void_reason == "Dobel"


def test_a_void_without_reason_changes_nothing(world: World) -> None:
    number = issue(world.counsellor, world.org)
    response = logged_in(world.admin).post(
        VOID, {"year": number.year, "seq": number.seq, "reason": " "}, follow=True
    )
    assert "alasan pembatalan" in response.content.decode().lower()
    number.refresh_from_db()
    assert number.voided_at is None


def test_counsellors_and_other_organisations_cannot_void(world: World) -> None:
    number = issue(world.counsellor, world.org)
    data = {"year": number.year, "seq": number.seq, "reason": "Coba"}
    for user in (world.counsellor, world.head, world.dpo):
        assert logged_in(user).post(VOID, data).status_code == 404
    other_admin = make_user(organisation=world.other_org, role="admin")
    assert logged_in(other_admin).post(VOID, data).status_code == 302  # "not found" there
    number.refresh_from_db()
    assert number.voided_at is None


def test_csv_export_matches_the_page_and_defuses_formulas(world: World) -> None:
    conference, participant, number = kka_with_letter(world)
    other = issue(world.counsellor, world.org)
    services.letter_number_void(actor=world.admin, number=other, reason="=HYPERLINK(1)")
    response = logged_in(world.admin).get(CSV)
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Nomor"
    assert [r[0] for r in rows[1:]] == [number.number, other.number]
    assert rows[1][5] == conference.code
    assert rows[1][6] == ""  # the admin may not see who the letter went to
    assert rows[2][8] == "'=HYPERLINK(1)"
    assert participant.full_name not in response.content.decode("utf-8-sig")
    event = AuditEvent.objects.get(action="letter.register_exported")
    assert event.refs == {"rows": 2}
    owner_rows = list(
        csv.reader(io.StringIO(logged_in(world.counsellor).get(CSV).content.decode("utf-8-sig")))
    )
    assert owner_rows[1][6] == participant.full_name


def test_the_csv_export_asks_for_a_fresh_step_up(world: World) -> None:
    response = logged_in(world.admin, verified=False).get(CSV)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:otp_verify"))


def test_register_page_query_count_does_not_grow_with_rows(
    world: World, django_assert_max_num_queries: Any
) -> None:
    for _ in range(12):
        issue(world.counsellor, world.org)
    http = logged_in(world.admin)
    http.get(REGISTER)
    with django_assert_max_num_queries(20):
        http.get(REGISTER)


# --- concurrency -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_issuance_has_no_gaps_and_no_duplicates() -> None:
    """Eight requests at once, five letters each: 1..40, each once (PostgreSQL locks
    the counter row; SQLite queues writers with BEGIN IMMEDIATE)."""
    organisation = make_organisation(name="SMP Serentak")
    users = [make_user(organisation=organisation) for _ in range(8)]
    start = threading.Barrier(len(users))
    errors: list[BaseException] = []

    def work(user: User) -> None:
        try:
            start.wait(timeout=30)
            for _ in range(5):
                issue(user, organisation)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    close_old_connections()
    assert not errors, errors
    numbers = list(LetterNumber.objects.filter(organisation=organisation).order_by("seq"))
    assert [n.seq for n in numbers] == list(range(1, 41))
    assert len({n.number for n in numbers}) == 40
    services.letter_number_void(actor=users[0], number=numbers[9], reason="Batal")
    assert LetterNumber.objects.filter(organisation=organisation).count() == 40
    assert issue(users[1], organisation).seq == 41
