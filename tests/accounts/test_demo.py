from __future__ import annotations

import datetime as dt
import io
import json
import re
import stat
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Model
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from kka.accounts.models import Membership, Organisation, OrganisationGroup, Role, User
from kka.audit.models import AuditEvent
from kka.audit.services import audit_verify
from kka.cases import selectors as case_selectors
from kka.cases.models import Case, CaseEvent, CaseRecord, Client, Consent
from kka.conferences import followup
from kka.conferences.models import (
    Commitment,
    CommitmentProgress,
    Conference,
    Evaluation,
    FollowUp,
    Minutes,
    MinutesResponse,
    Participant,
    PortalLink,
)
from kka.conferences.services import token_hash

pytestmark = pytest.mark.django_db

PASSWORD = "Sandi-demo-yang-panjang-1"


def run_demo(tmp_path: Path, *args: str) -> tuple[str, Path]:
    out = io.StringIO()
    logins = tmp_path / "logins.txt"
    call_command("demo", f"--logins-file={logins}", *args, stdout=out)
    return out.getvalue(), logins


def local_today(organisation: Organisation) -> dt.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(organisation.time_zone)).date()


def counsellor_of(organisation: Organisation) -> User:
    return Membership.objects.get(organisation=organisation, role=Role.KONSELOR).user


def one_conference(organisation: Organisation, *statuses: str) -> Conference:
    conferences = list(
        Conference.objects.filter(case__organisation=organisation, status__in=statuses)
    )
    assert len(conferences) == 1, (organisation.name, statuses, conferences)
    return conferences[0]


def active(conference: Conference) -> list[Participant]:
    return list(conference.participants.filter(removed_at__isnull=True))


def roles_in(organisation: Organisation) -> list[str]:
    return sorted(
        Membership.objects.filter(organisation=organisation).values_list("role", flat=True)
    )


def test_demo_creates_a_school_and_a_company_with_one_user_per_role(tmp_path: Path) -> None:
    output, logins = run_demo(tmp_path)
    school = Organisation.objects.get(setting="sekolah")
    company = Organisation.objects.get(setting="perusahaan")
    office = Organisation.objects.get(setting="lainnya")
    assert school.time_zone == "Asia/Jakarta"
    assert company.time_zone == "Asia/Makassar"
    assert Organisation.objects.count() == 3
    # Every working role once in the school and in the company; the education office
    # holds the one pengawas. Together: one user per role, every role.
    working = sorted(set(Role.values) - {Role.PENGAWAS})
    for organisation in (school, company):
        assert roles_in(organisation) == working
    assert roles_in(office) == [Role.PENGAWAS]
    every = [role for org in (school, company, office) for role in roles_in(org)]
    assert set(every) == set(Role.values)
    assert User.objects.count() == len(every)  # one user per membership
    for organisation in (school, company):
        # Five case files, all the counsellor's.
        cases = Case.objects.filter(organisation=organisation)
        assert cases.count() == 5
        assert set(cases.values_list("owner", flat=True)) == {counsellor_of(organisation).pk}
    assert stat.S_IMODE(logins.stat().st_mode) == 0o600
    assert "konselor@smpn7.demo" in output and "konselor@smpn7.demo" in logins.read_text()
    assert "pengawas@disdik.demo" in output and "pengawas@disdik.demo" in logins.read_text()
    assert not Case.objects.filter(organisation=office).exists()
    assert audit_verify()[1] is None


def test_the_office_supervises_a_group_of_the_demo_school(tmp_path: Path) -> None:
    run_demo(tmp_path)
    school = Organisation.objects.get(setting="sekolah")
    office = Organisation.objects.get(name="Dinas Pendidikan Kota Contoh")
    group = OrganisationGroup.objects.get()
    assert group.supervisor == office
    assert list(group.organisations.all()) == [school]
    assert group.report_threshold == 5
    # Made as the operator would (kka groups): audited under the office and the school.
    created = AuditEvent.objects.get(action="org.group_created")
    assert (created.organisation_id, created.object_ref) == (office.pk, group.code)
    changed = AuditEvent.objects.get(action="org.group_changed")
    assert (changed.organisation_id, changed.refs["change"]) == (school.pk, "added")


def test_the_demo_pengawas_logs_in_and_reaches_no_case(tmp_path: Path, settings: Any) -> None:
    settings.KKA_DEMO_PASSWORD = PASSWORD
    run_demo(tmp_path)
    http = HttpClient()
    response = http.post("/akun/masuk/", {"username": "pengawas@disdik.demo", "password": PASSWORD})
    assert response.status_code == 302
    home = http.get("/")
    assert home.status_code == 200
    text = home.content.decode()
    group = OrganisationGroup.objects.get()
    assert reverse("reports:group", args=[group.code]) in text
    assert http.get(reverse("reports:group", args=[group.code])).status_code == 200
    for case in Case.objects.all():
        assert case.code not in text and case.client.full_name not in text
        assert http.get(reverse("cases:case_detail", args=[case.code])).status_code == 404
        assert http.get(reverse("cases:client_detail", args=[case.client.code])).status_code == 404
    for conference in Conference.objects.all():
        for name in ("conferences:detail", "conferences:meeting"):
            assert http.get(reverse(name, args=[conference.code])).status_code == 404
    assert http.get("/kasus/").status_code == 404


def test_each_demo_organisation_has_a_kka_at_every_stage(tmp_path: Path) -> None:
    run_demo(tmp_path)
    now = timezone.now()
    # The education office holds no cases (its pengawas reads aggregates only).
    for organisation in Organisation.objects.exclude(setting="lainnya"):
        today = local_today(organisation)

        # 1. Being planned: participants chosen, nobody invited, no link exists.
        planned = one_conference(organisation, "draft", "planned")
        people = active(planned)
        assert len(people) >= 2
        assert all(p.invited_at is None and p.rsvp == "pending" for p in people)
        assert not PortalLink.objects.filter(participant__conference=planned).exists()
        assert planned.starts_at is not None and planned.starts_at > now
        assert planned.place

        # 2. Invitations out: everyone invited, some answered, one pledge online.
        invited = one_conference(organisation, "invited")
        people = active(invited)
        assert all(p.invited_at is not None and p.letter_number for p in people)
        assert {p.rsvp for p in people} >= {"pending", "hadir"}
        assert [p.pledge_channel for p in people if p.pledged_at] == ["online"]
        assert invited.starts_at is not None and invited.starts_at > now
        assert not Minutes.objects.filter(conference=invited).exists()

        # 3. Held, minutes in progress: attendance only with pledges; draft minutes.
        held = one_conference(organisation, "held")
        people = active(held)
        attended = [p for p in people if p.attendance in ("present", "left_early")]
        assert len(attended) >= 2
        assert all(p.pledged_at is not None for p in attended)
        assert {p.pledge_channel for p in people} == {"online", "device", "paper"}
        minutes = Minutes.objects.get(conference=held)
        assert minutes.finalised_at is None and minutes.version >= 1
        assert minutes.shared_text.strip() and minutes.private_text.strip()
        assert held.starts_at is not None and held.starts_at < now

        # 4. Closed: final minutes in both layers, commitments, evaluations, follow-up.
        closed = one_conference(organisation, "closed")
        assert closed.starts_at is not None
        held_on = closed.starts_at.astimezone(zoneinfo.ZoneInfo(organisation.time_zone)).date()
        assert today - dt.timedelta(days=13) <= held_on <= today - dt.timedelta(days=7)
        minutes = Minutes.objects.get(conference=closed)
        assert minutes.finalised_at is not None
        assert minutes.shared_text.strip() and minutes.private_text.strip()
        assert minutes.conclusions.strip() and minutes.directions.strip()
        assert minutes.data_needs in ("met", "partly", "not_met")
        assert not minutes.responses.exists()  # participants' answers are theirs to give

        commitments = list(Commitment.objects.filter(conference=closed))
        assert len(commitments) >= 3
        assert any(c.participant_id for c in commitments)
        assert any(c.counsellor_id == counsellor_of(organisation).pk for c in commitments)
        by_participant = CommitmentProgress.objects.filter(
            commitment__conference=closed, by_participant__isnull=False
        )
        assert by_participant.exists()
        assert all(p.by_participant_id == p.commitment.participant_id for p in by_participant)
        assert CommitmentProgress.objects.filter(
            commitment__conference=closed, by_user__isnull=False
        ).exists()

        laiseg = Evaluation.objects.filter(
            conference=closed, kind="laiseg", participant__isnull=False, done_at__isnull=False
        )
        assert laiseg.count() >= 2
        assert all(any(v.strip() for v in e.answers_dict.values()) for e in laiseg)
        through_portal = AuditEvent.objects.filter(
            action="evaluation.recorded",
            object_ref__in=[e.code for e in laiseg],
            refs__channel="portal",
        )
        assert through_portal.count() == 1
        process = Evaluation.objects.get(conference=closed, kind="proses")
        assert process.done_at is not None and all(process.answers_dict.values())
        laijapen = Evaluation.objects.get(conference=closed, kind="laijapen")
        assert laijapen.done_at is None
        assert laijapen.due_on is not None
        assert today < laijapen.due_on <= today + dt.timedelta(days=7)
        laijapang = Evaluation.objects.get(conference=closed, kind="laijapang")
        assert laijapang.done_at is None and laijapang.due_on > laijapen.due_on

        followups = FollowUp.objects.filter(conference=closed)
        planned_visits = followups.filter(
            kind__in=("home_visit", "consultation"), status="planned", planned_on__gte=today
        )
        assert planned_visits.exists()
        # A referral only where the client's consent allows it.
        consent = case_selectors.current_consent(closed.case.client)
        assert consent is not None
        referrals = followups.filter(kind="referral")
        assert referrals.exists() == consent.share_professionals
        for referral in referrals:
            assert referral.consent_id == consent.pk
            assert followup.referral_consent_problem(closed.case, referral.referral_to) is None

        # Consent in force for every case with a KKA: the gates pass.
        for conference in (planned, invited, held, closed):
            client = conference.case.client
            consent = case_selectors.current_consent(client)
            assert consent is not None and consent.purpose_hold_kka
            if case_selectors.client_is_minor(client):
                assert consent.giver in ("orang_tua", "wali")

        # What the counsellor's dashboard shows: due this week, overdue, a quiet case.
        counsellor = counsellor_of(organisation)
        assert followup.commitments_due(
            viewer=counsellor,
            organisation=organisation,
            start=today,
            end=today + dt.timedelta(days=3),
        ).exists()
        assert followup.commitments_overdue(
            viewer=counsellor, organisation=organisation, today=today
        ).exists()
        quiet = Case.objects.filter(
            organisation=organisation, last_activity_at__lt=now - dt.timedelta(days=30)
        )
        assert quiet.count() == 1
        assert not quiet.get().conferences.exists()

    # The story's dates: nothing happened in the future.
    assert not CaseEvent.objects.filter(at__gt=now).exists()
    assert not Participant.objects.filter(pledged_at__gt=now).exists()
    assert not Participant.objects.filter(arrived_at__gt=now).exists()
    assert audit_verify()[1] is None


def test_demo_texts_never_reach_the_audit_log(tmp_path: Path) -> None:
    run_demo(tmp_path)
    audit = json.dumps(
        [
            [row.action, row.object_type, row.object_ref, row.refs]
            for row in AuditEvent.objects.all()
        ],
        ensure_ascii=False,
    ).lower()
    secrets: list[str] = []
    secrets += [c.full_name for c in Client.objects.all()]
    secrets += [p.full_name for p in Participant.objects.all()]
    secrets += [c.what[:30] for c in Commitment.objects.all()]
    secrets += [r.content[:30] for r in CaseRecord.objects.all()]
    secrets += [p.note[:30] for p in CommitmentProgress.objects.all()]
    for minutes in Minutes.objects.all():
        secrets += [line[:30] for line in minutes.private_text.splitlines() if len(line) > 20]
    assert len(secrets) > 50
    for secret in secrets:
        assert secret.lower() not in audit, secret


def test_the_counsellor_sees_every_stage_on_working_pages(tmp_path: Path, settings: Any) -> None:
    settings.KKA_DEMO_PASSWORD = PASSWORD
    run_demo(tmp_path)
    for organisation, email in (
        ("sekolah", "konselor@smpn7.demo"),
        ("perusahaan", "konselor@nsl.demo"),
    ):
        org = Organisation.objects.get(setting=organisation)
        http = HttpClient()
        response = http.post("/akun/masuk/", {"username": email, "password": PASSWORD})
        assert response.status_code == 302
        assert http.get("/").status_code == 200
        cases = http.get("/kasus/").content.decode()
        for case in Case.objects.filter(organisation=org):
            assert case.title in cases
        for conference in Conference.objects.filter(case__organisation=org):
            for name in ("conferences:detail", "conferences:meeting"):
                page = http.get(reverse(name, kwargs={"code": conference.code}))
                assert page.status_code == 200, (name, conference.status)
        closed = one_conference(org, "closed")
        page = http.get(reverse("conferences:meeting", kwargs={"code": closed.code}))
        private = closed.minutes.private_text.splitlines()[0]
        assert private in page.content.decode().replace("&#x27;", "'")


def test_the_dpo_sees_an_open_request_and_a_break_glass_use(tmp_path: Path, settings: Any) -> None:
    from kka.privacy.models import BreakGlass, SubjectRequest

    settings.KKA_DEMO_PASSWORD = PASSWORD
    run_demo(tmp_path)
    for domain in ("smpn7.demo", "nsl.demo"):
        request = SubjectRequest.objects.get(organisation__memberships__user__email=f"dpo@{domain}")
        grant = BreakGlass.objects.get(organisation=request.organisation)
        assert grant.ended_at is not None
        http = HttpClient()
        http.post("/akun/masuk/", {"username": f"dpo@{domain}", "password": PASSWORD})
        page = http.get("/privasi/").content.decode()
        assert request.client.code in page
        assert "1 penggunaan belum ditinjau." in page
        assert request.client.full_name not in page
    assert audit_verify()[1] is None


def test_printed_participant_links_show_each_side_and_never_private_notes(
    tmp_path: Path,
) -> None:
    output, logins = run_demo(tmp_path)
    assert output == logins.read_text()
    links = re.findall(r"http://\S+/undangan/\?t=[\w-]+", output)
    assert len(links) == 6
    seen = {"invited": 0, "held": 0, "closed": 0}
    for link in links:
        http = HttpClient()
        response = http.get(link.split("8000", 1)[1])
        assert response.status_code == 302
        page = http.get("/undangan/").content.decode()
        token = link.rsplit("t=", 1)[1]
        participant = PortalLink.objects.get(token_hash=token_hash(token)).participant
        conference = participant.conference
        seen[conference.status] += 1
        for minutes in Minutes.objects.all():
            for line in minutes.private_text.splitlines():
                assert line[:40] not in page
        others = Commitment.objects.exclude(participant=participant)
        for commitment in others:
            assert commitment.what not in page
        if conference.status == "invited":
            assert participant.rsvp == "pending" and participant.pledged_at is None
            assert reverse("portal:rsvp") in page and reverse("portal:pledge") in page
        if conference.status == "held":
            assert participant.attendance == "present" and participant.pledged_at
            assert not participant.evaluations.exists()  # the laiseg is theirs to answer
            assert reverse("portal:laiseg") in page and 'name="understanding"' in page
        if conference.status == "closed":
            first = conference.minutes.shared_text.splitlines()[1]
            assert first[:40] in page
            own = Commitment.objects.filter(participant=participant)
            assert own.exists()
            for commitment in own:
                assert commitment.what in page
    assert seen == {"invited": 2, "held": 2, "closed": 2}


SNAPSHOT: tuple[type[Model], ...] = (
    Organisation,
    User,
    Membership,
    Client,
    Case,
    CaseEvent,
    CaseRecord,
    Consent,
    Conference,
    Participant,
    PortalLink,
    Minutes,
    MinutesResponse,
    Commitment,
    CommitmentProgress,
    Evaluation,
    FollowUp,
    AuditEvent,
)


def counts() -> dict[str, int]:
    return {model.__name__: model._default_manager.count() for model in SNAPSHOT}


def test_demo_runs_once_then_changes_nothing(tmp_path: Path) -> None:
    run_demo(tmp_path)
    before = counts()
    assert before["Conference"] == 8 and before["Commitment"] > 10
    with pytest.raises(CommandError):
        run_demo(tmp_path)
    output, _ = run_demo(tmp_path, "--if-empty")
    assert "not empty" in output
    assert counts() == before
    assert audit_verify()[1] is None


def test_demo_passwords_are_random_and_work(tmp_path: Path) -> None:
    _output, logins = run_demo(tmp_path)
    line = next(x for x in logins.read_text().splitlines() if "konselor@smpn7.demo" in x)
    password = line.split("|")[-1].strip()
    assert len(password) >= 12
    other = next(x for x in logins.read_text().splitlines() if "admin@smpn7.demo" in x)
    assert other.split("|")[-1].strip() != password
    http = HttpClient()
    response = http.post("/akun/masuk/", {"username": "konselor@smpn7.demo", "password": password})
    assert response.status_code == 302
    assert "Penurunan prestasi belajar" in http.get("/kasus/").content.decode()


def test_demo_password_can_be_fixed(tmp_path: Path, settings: Any) -> None:
    settings.KKA_DEMO_PASSWORD = PASSWORD
    run_demo(tmp_path)
    assert User.objects.get(email="dpo@nsl.demo").check_password(PASSWORD)


def test_demo_is_never_created_in_production(tmp_path: Path, settings: Any) -> None:
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="never"):
        run_demo(tmp_path)
    assert not Organisation.objects.exists()
