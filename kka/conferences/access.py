"""Reading conferences and participants: through the case's access rules only.

A conference is visible exactly when its case is (owner, co-counsellors,
supervisors); writes need the owner or a co-counsellor. The coordinator may open
the approval view of a plan waiting for approval, which shows no client identity.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from kka.accounts.models import Membership, Role
from kka.cases import access as case_access
from kka.conferences.models import ApprovalState, Conference, Participant
from kka.privacy import restriction
from kka.privacy.restriction import refuse_if_restricted


def access_conference(user: Any, code: str, *, write: bool = False) -> tuple[Conference, str]:
    conference = (
        Conference.objects.select_related(
            "case__client__organisation", "case__organisation", "case__owner"
        )
        .annotate(restricted_since=restriction.started_at_subquery("case__client_id"))
        .filter(code=code)
        .first()
    )
    if conference is None:
        raise Http404
    restriction.remember_state(conference.case.client, conference.restricted_since)  # type: ignore[attr-defined]
    role = case_access.case_role(user, conference.case)
    if role is None:
        raise Http404
    if write and role not in case_access.WRITER_ROLES:
        raise PermissionDenied
    if write:
        refuse_if_restricted(client=conference.case.client, actor=user)
    return conference, role


def access_participant(
    user: Any, conference: Conference, code: str, *, write: bool = False
) -> Participant:
    role = case_access.case_role(user, conference.case)
    if role is None:
        raise Http404
    if write and role not in case_access.WRITER_ROLES:
        raise PermissionDenied
    if write:
        refuse_if_restricted(client=conference.case.client, actor=user)
    participant = Participant.objects.filter(conference=conference, code=code).first()
    if participant is None:
        raise Http404
    return participant


def may_approve(user: Any, conference: Conference) -> bool:
    """A supervisor on the case, or an active coordinator of its organisation."""
    if case_access.case_role(user, conference.case) == case_access.SUPERVISOR:
        return True
    return Membership.objects.filter(
        user_id=user.pk,
        organisation_id=conference.case.organisation_id,
        role=Role.KOORDINATOR,
        is_active=True,
        user__is_active=True,
    ).exists()


def access_conference_for_approval(user: Any, code: str) -> Conference:
    conference = Conference.objects.select_related("case__organisation").filter(code=code).first()
    if conference is None or not user.is_authenticated:
        raise Http404
    if conference.approval not in (
        ApprovalState.PENDING,
        ApprovalState.APPROVED,
        ApprovalState.SENT_BACK,
    ):
        raise Http404
    if not may_approve(user, conference):
        raise Http404
    return conference


def conferences_awaiting_approval(user: Any, organisation: Any) -> QuerySet[Conference]:
    qs = Conference.objects.filter(
        case__organisation=organisation, approval=ApprovalState.PENDING
    ).select_related("case")
    is_coordinator = Membership.objects.filter(
        user_id=user.pk, organisation=organisation, role=Role.KOORDINATOR, is_active=True
    ).exists()
    if is_coordinator:
        return qs
    return qs.filter(case__members__user_id=user.pk, case__members__role="supervisor")
