"""``kka seed``: counts, every setting, determinism, audit chain, encryption at rest,
name search through the real view, a stored PDF that downloads, production refusal."""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import Client as HttpClient
from django.test import override_settings
from django.urls import reverse

from kka.accounts.models import Membership, Organisation, Role, Setting, User
from kka.audit.models import AuditEvent, AuditHead
from kka.audit.services import audit_log, audit_verify
from kka.cases.models import Case, CaseStatus, Client, ClientNameToken, Consent
from kka.conferences.models import (
    Commitment,
    Conference,
    ConferenceStatus,
    LetterCounter,
    LetterNumber,
    Minutes,
    Participant,
    PortalLink,
)
from kka.documents.models import Document
from kka.lib.crypto import decrypt_text
from kka.seed.generate import Options, Summary, seed
from kka.web.management.commands import seed as seed_command

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 15)


def small(**overrides: Any) -> Summary:
    values: dict[str, Any] = {
        "organisations": 6,
        "cases": 40,
        "seed": 7,
        "today": TODAY,
        "batch_size": 15,
        "documents_every": 0,
    }
    values.update(overrides)
    return seed(Options(**values))


def test_counts_by_table_match_the_summary_and_the_shape_asked_for() -> None:
    summary = small()
    assert Organisation.objects.count() == 6
    assert {o.setting for o in Organisation.objects.all()} == set(Setting.values)
    assert Case.objects.count() == 40 == Client.objects.count()
    for model in (Case, Client, ClientNameToken, Conference, Participant, Minutes, Commitment):
        assert summary.counts[model.__name__] == model.objects.count(), model.__name__
    assert summary.counts["AuditEvent"] == AuditEvent.objects.count()
    for org in Organisation.objects.all():
        roles = Counter(Membership.objects.filter(organisation=org).values_list("role", flat=True))
        assert roles[Role.KOORDINATOR] == 1 and roles[Role.PIMPINAN] == 1
        assert 2 <= roles[Role.KONSELOR] <= 5
    # One password hash, shared by every seeded user.
    assert User.objects.values("password").distinct().count() == 1
    assert User.objects.get(email="konselor1@org1.seed.kka.test").check_password("kka-seed-2026")
    # Cases across statuses and bidang; 1-3 KKAs with participants where there are any.
    assert {c.status for c in Case.objects.all()} >= {
        CaseStatus.OPEN,
        CaseStatus.IN_HANDLING,
        CaseStatus.CLOSED,
    }
    assert {c.bidang for c in Case.objects.all()} == {"pribadi", "sosial", "belajar", "karir"}
    for case in Case.objects.all():
        assert case.conferences.count() <= 3
        if case.status == CaseStatus.CLOSED:
            assert case.outcome and case.closed_at and case.closed_at >= case.opened_at
    assert Conference.objects.filter(status=ConferenceStatus.CLOSED).exists()
    for conference in Conference.objects.all():
        assert 2 <= conference.participants.count() <= 5
    # Every invited participant has a letter number from the register, unique per org.
    invited = Participant.objects.exclude(invited_at=None)
    assert invited.count() == LetterNumber.objects.count() > 0
    assert set(invited.values_list("letter_number", flat=True)) == set(
        LetterNumber.objects.values_list("number", flat=True)
    )
    for counter in LetterCounter.objects.all():
        numbers = LetterNumber.objects.filter(organisation=counter.organisation, year=counter.year)
        assert sorted(numbers.values_list("seq", flat=True)) == list(range(1, counter.last + 1))
    # Portal links store only a SHA-256 of the token.
    assert all(len(h) == 64 for h in PortalLink.objects.values_list("token_hash", flat=True))
    # Minutes of closed KKAs are final; commitments include overdue open ones.
    assert not Minutes.objects.filter(
        conference__status=ConferenceStatus.CLOSED, finalised_at=None
    ).exists()
    assert Commitment.objects.filter(status="done").exists()
    # Consent covers every category invited, so the consent gate would agree.
    for participant in invited.select_related("conference__case__client"):
        if participant.category == "konseli":
            continue
        consent = Consent.objects.filter(client=participant.conference.case.client).get()
        assert consent.allows_sharing_with(participant.category)


def _snapshot() -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    rows += [(o.code, o.name, o.setting) for o in Organisation.objects.order_by("code")]
    rows += [(u.email, u.full_name) for u in User.objects.order_by("email")]
    rows += [(c.code, c.full_name, c.birth_date, c.nisn) for c in Client.objects.order_by("code")]
    rows += [
        (c.code, c.client.code, c.title, c.status, c.opened_at, c.description)
        for c in Case.objects.select_related("client").order_by("code")
    ]
    rows += [
        (p.code, p.full_name, p.role, p.letter_number, p.attendance)
        for p in Participant.objects.order_by("code")
    ]
    # Audit refs without database ids (PostgreSQL sequences do not roll back).
    rows += [
        (a.at, a.action, a.object_ref, {k: v for k, v in a.refs.items() if k != "affected_user"})
        for a in AuditEvent.objects.filter(action__startswith="case.").order_by(
            "object_ref", "at", "action"
        )
    ]
    return rows


def test_same_arguments_on_an_empty_database_give_the_same_plaintext() -> None:
    snapshots = []
    for _run in range(2):
        with transaction.atomic():
            small(organisations=2, cases=12)
            snapshots.append(_snapshot())
            transaction.set_rollback(True)  # back to an empty database
    assert len(snapshots[0]) > 50
    assert snapshots[0] == snapshots[1]
    with transaction.atomic():
        small(organisations=2, cases=12, seed=8)
        other = _snapshot()
        transaction.set_rollback(True)
    assert other != snapshots[0]


def test_audit_chain_verifies_continuing_existing_rows_and_after_seeding_twice() -> None:
    audit_log(action="org.created", object_type="organisation", object_ref="EXISTING")
    small(organisations=2, cases=10)
    checked, problem = audit_verify()
    assert problem is None and checked == AuditEvent.objects.count() > 100
    small(organisations=3, cases=10)
    checked, problem = audit_verify()
    assert problem is None and checked == AuditEvent.objects.count()
    assert AuditHead.objects.get().last_id == checked
    # The second run continued the numbering instead of colliding with the first.
    assert Organisation.objects.count() == 5
    assert User.objects.filter(email="konselor1@org5.seed.kka.test").exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"client.created", "case.opened", "conference.created", "invitation.sent"} <= actions


def test_encrypted_columns_hold_ciphertext_that_decrypts() -> None:
    small(organisations=1, cases=5)
    client = Client.objects.order_by("pk").first()
    assert client is not None
    minutes = Minutes.objects.order_by("pk").first()
    assert minutes is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT full_name, birth_date FROM cases_client WHERE id = %s", [client.pk])
        raw_name, raw_birth = cursor.fetchone()
        cursor.execute("SELECT shared_text FROM conferences_minutes WHERE id = %s", [minutes.pk])
        (raw_minutes,) = cursor.fetchone()
    assert raw_name.startswith("gAAAA") and client.full_name not in raw_name
    assert decrypt_text(raw_name) == client.full_name and len(client.full_name) > 3
    assert decrypt_text(raw_birth) == client.birth_date
    assert raw_minutes.startswith("gAAAA") and decrypt_text(raw_minutes) == minutes.shared_text


def test_case_list_name_search_finds_a_seeded_client_for_its_counsellor() -> None:
    small(organisations=1, cases=8)
    case = Case.objects.select_related("client", "owner").order_by("code").first()
    assert case is not None
    http = HttpClient()
    http.force_login(case.owner)
    word = case.client.full_name.split()[-1]
    response = http.get(reverse("cases:case_list"), {"q": word.lower()})
    assert response.status_code == 200
    assert case.code in response.content.decode()
    missing = http.get(reverse("cases:case_list"), {"q": "Zzqxw"})
    assert case.code not in missing.content.decode()


def test_a_seeded_document_downloads_as_a_pdf(settings: Any, tmp_path: Any) -> None:
    settings.PRIVATE_FILES_ROOT = tmp_path
    small(organisations=1, cases=12, documents_every=2)
    document = Document.objects.select_related("created_by").order_by("pk").first()
    assert document is not None and Document.objects.count() >= 2
    http = HttpClient()
    http.force_login(document.created_by)
    response = http.get(reverse("documents:download", args=[document.code]))
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body.startswith(b"%PDF-")
    assert response["Content-Type"].startswith("application/pdf")
    stored = (tmp_path / document.stored_name).read_bytes()
    assert not stored.startswith(b"%PDF")  # encrypted at rest


def test_command_prints_counsellor_logins_and_no_client_data() -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("seed", organisations=2, cases=6, seed=3, today=TODAY, stdout=out, stderr=err)
    text = out.getvalue()
    assert "konselor1@org1.seed.kka.test" in text and "konselor1@org2.seed.kka.test" in text
    assert "6/6 cases" in err.getvalue()
    for client in Client.objects.all():
        assert client.full_name not in text + err.getvalue()


@override_settings(PRODUCTION=True)
def test_refuses_in_production() -> None:
    with pytest.raises(CommandError, match="production"):
        call_command("seed", organisations=1, cases=1, stdout=io.StringIO())
    assert not Organisation.objects.exists()


def test_refuses_on_an_unmigrated_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seed_command, "unapplied_migrations", lambda: 3)
    with pytest.raises(CommandError, match="not migrated"):
        call_command("seed", organisations=1, cases=1, stdout=io.StringIO())
    assert not Organisation.objects.exists()


def test_the_migrated_test_database_has_no_pending_migrations() -> None:
    assert seed_command.unapplied_migrations() == 0


@pytest.mark.django_db(transaction=True)
def test_pipelined_run_writes_every_batch_in_order_and_verifies() -> None:
    lines: list[str] = []
    summary = seed(
        Options(organisations=2, cases=30, seed=5, today=TODAY, batch_size=7, documents_every=0),
        progress=lines.append,
    )
    assert lines[-1].startswith("seed: 30/30 cases")
    assert [line.split()[1] for line in lines[1:]] == ["7/30", "14/30", "21/30", "28/30", "30/30"]
    assert Case.objects.count() == 30
    for model in (Client, ClientNameToken, Conference, Participant, LetterNumber):
        assert summary.counts[model.__name__] == model.objects.count(), model.__name__
    checked, problem = audit_verify()
    assert problem is None and checked == summary.counts["AuditEvent"]
