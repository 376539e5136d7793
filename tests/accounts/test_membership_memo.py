"""The request's memberships are read once and reused by the access checks
(kka.accounts.memo), and a change during the request is seen at once."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from kka.accounts import memo
from kka.accounts.models import Membership
from kka.accounts.policy import role_in
from kka.cases import access, selectors
from kka.cases.models import CaseMember, CaseRole, ClientNameToken
from tests.conferences.test_planning import make_case
from tests.personas import World

pytestmark = pytest.mark.django_db


def _memberships(user):  # type: ignore[no-untyped-def]
    return list(Membership.objects.filter(user=user, is_active=True).select_related("organisation"))


def test_the_checks_answer_from_the_request_memberships(world: World) -> None:
    case = make_case(world.counsellor, world.org, title="Kasus memo", full_name="Dimas Memo")
    token = memo.remember(world.counsellor, _memberships(world.counsellor))
    try:
        with CaptureQueriesContext(connection) as captured:
            assert access.case_role(world.counsellor, case) == access.OWNER
            assert role_in(world.counsellor, world.org.pk) == "konselor"
        assert not [q for q in captured.captured_queries if "accounts_membership" in q["sql"]]
    finally:
        memo.release(token)


def test_a_membership_changed_during_the_request_is_seen_at_once(world: World) -> None:
    case = make_case(world.counsellor, world.org, title="Kasus memo", full_name="Dimas Memo")
    token = memo.remember(world.counsellor, _memberships(world.counsellor))
    try:
        assert access.case_role(world.counsellor, case) == access.OWNER
        membership = Membership.objects.get(user=world.counsellor, organisation=world.org)
        membership.is_active = False
        membership.save()  # forgets the memo: the next check asks the database
        assert access.case_role(world.counsellor, case) is None
        with pytest.raises(Http404):
            access.access_case(world.counsellor, case.code)
    finally:
        memo.release(token)


def test_the_memo_serves_only_its_own_user(world: World) -> None:
    case = make_case(world.counsellor, world.org, title="Kasus memo", full_name="Dimas Memo")
    CaseMember.objects.create(case=case, user=world.other_counsellor, role=CaseRole.CO_COUNSELLOR)
    token = memo.remember(world.counsellor, _memberships(world.counsellor))
    try:
        assert access.case_role(world.other_counsellor, case) == CaseRole.CO_COUNSELLOR
        assert access.case_role(world.outsider, case) is None
    finally:
        memo.release(token)


def test_name_tokens_carry_the_client_organisation(world: World) -> None:
    mine = make_case(world.counsellor, world.org, title="Kasus A", full_name="Dimas Sama")
    theirs = make_case(world.outsider, world.other_org, title="Kasus B", full_name="Dimas Sama")
    for case in (mine, theirs):
        orgs = set(
            ClientNameToken.objects.filter(client=case.client).values_list(
                "organisation_id", flat=True
            )
        )
        assert orgs == {case.organisation_id}
    found = selectors._matching_clients("dimas sama", world.org)
    assert found is not None
    assert list(found.values_list("pk", flat=True)) == [mine.client_id]
