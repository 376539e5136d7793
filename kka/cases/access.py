"""The only way to read confidential case data.

Each function answers ``Http404`` when the user may not see the object — exactly as
if it did not exist — and ``PermissionDenied`` only when they may see it but not
change it. Conditions are written one per line so coverage shows each branch.

Who sees a case: its owner, its co-counsellors and its supervisors, while they hold
an active membership with a counselling role in the case's organisation. Nobody
else: not another counsellor, the coordinator, the head, the admin or the DPO.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from kka.accounts import memo
from kka.accounts.models import Membership
from kka.accounts.policy import COUNSELLING_ROLES
from kka.cases.models import (
    Attachment,
    Case,
    CaseMember,
    CaseRecord,
    CaseRole,
    Client,
    Consent,
    ProblemAspect,
    ProblemResource,
)
from kka.privacy import restriction
from kka.privacy.restriction import refuse_if_restricted

OWNER = "owner"
CO_COUNSELLOR = CaseRole.CO_COUNSELLOR.value
SUPERVISOR = CaseRole.SUPERVISOR.value
# A coordinator's time-limited emergency read access (kka.privacy.breakglass).
BREAK_GLASS = "break_glass"
WRITER_ROLES = frozenset({OWNER, CO_COUNSELLOR})


def _counsels_in(user: Any, organisation_id: int) -> bool:
    known = memo.active_memberships(user.pk)
    if known is not None:  # this request's own user: its memberships were read at its start
        user_active, memberships = known
        return user_active and any(
            m.organisation_id == organisation_id and m.role in COUNSELLING_ROLES
            for m in memberships
        )
    return Membership.objects.filter(
        user_id=user.pk,
        organisation_id=organisation_id,
        is_active=True,
        role__in=COUNSELLING_ROLES,
        user__is_active=True,
    ).exists()


def case_role(user: Any, case: Case) -> str | None:
    """The user's role on the case, or None. Re-read on every call (no caching), except
    the user's organisation memberships, read once per request (kka.accounts.memo)."""
    if user is None or not user.is_authenticated:
        return None
    if not _counsels_in(user, case.organisation_id):
        return None
    if case.owner_id == user.pk:
        return OWNER
    member = CaseMember.objects.filter(case=case, user_id=user.pk).only("role").first()
    if member is not None:
        return member.role
    from kka.privacy import breakglass  # the privacy app builds on this module

    if breakglass.reading_grant(user, case) is None:
        return None
    return BREAK_GLASS


def _check(role: str | None, *, write: bool) -> None:
    if role is None:
        raise Http404
    if write and role not in WRITER_ROLES:
        raise PermissionDenied


def _refuse_when_restricted(user: Any, client: Client, *, write: bool) -> None:
    """A restricted client (UU PDP restriction of processing): reads yes, changes no."""
    if not write:
        return
    refuse_if_restricted(client=client, actor=user)


def access_case(user: Any, code: str, *, write: bool = False) -> Case:
    case = Case.objects.select_related("client", "owner", "organisation").filter(code=code).first()
    if case is None:
        raise Http404
    _check(case_role(user, case), write=write)
    _refuse_when_restricted(user, case.client, write=write)
    return case


def access_case_with_role(user: Any, code: str, *, write: bool = False) -> tuple[Case, str]:
    case = (
        Case.objects.select_related("client__organisation", "owner", "organisation")
        .annotate(restricted_since=restriction.started_at_subquery("client_id"))
        .filter(code=code)
        .first()
    )
    if case is None:
        raise Http404
    restriction.remember_state(case.client, case.restricted_since)  # type: ignore[attr-defined]
    role = case_role(user, case)
    _check(role, write=write)
    _refuse_when_restricted(user, case.client, write=write)
    assert role is not None
    return case, role


def visible_cases(user: Any) -> QuerySet[Case]:
    """Every case the user may see, in any organisation (scoped selector base)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Case.objects.none()
    counselling_orgs = Membership.objects.filter(
        user_id=user.pk, is_active=True, role__in=COUNSELLING_ROLES
    ).values("organisation_id")
    on_case = CaseMember.objects.filter(case=OuterRef("pk"), user_id=user.pk)
    return Case.objects.filter(organisation_id__in=counselling_orgs).filter(
        Q(owner_id=user.pk) | Exists(on_case)
    )


def _client_visible(user: Any, client: Client) -> bool:
    if user is None or not user.is_authenticated:
        return False
    if not _counsels_in(user, client.organisation_id):
        return False
    if client.created_by_id == user.pk:
        return True
    return visible_cases(user).filter(client=client).exists()


def _client_writable(user: Any, client: Client) -> bool:
    if client.created_by_id == user.pk:
        return True
    on_case = CaseMember.objects.filter(
        case=OuterRef("pk"), user_id=user.pk, role=CaseRole.CO_COUNSELLOR
    )
    return (
        visible_cases(user)
        .filter(client=client)
        .filter(Q(owner_id=user.pk) | Exists(on_case))
        .exists()
    )


def access_client(
    user: Any, code: str, *, write: bool = False, despite_restriction: bool = False
) -> Client:
    """``despite_restriction``: the data-subject-rights pages (kka.privacy.subject) act on
    a restricted client (correct it, lift the restriction); nothing else may."""
    client = Client.objects.select_related("organisation").filter(code=code).first()
    if client is None:
        raise Http404
    if not _client_visible(user, client):
        raise Http404
    if write and not _client_writable(user, client):
        raise PermissionDenied
    _refuse_when_restricted(user, client, write=write and not despite_restriction)
    return client


def visible_clients(user: Any) -> QuerySet[Client]:
    if user is None or not user.is_authenticated or not user.is_active:
        return Client.objects.none()
    counselling_orgs = Membership.objects.filter(
        user_id=user.pk, is_active=True, role__in=COUNSELLING_ROLES
    ).values("organisation_id")
    cases = visible_cases(user).filter(client=OuterRef("pk"))
    return Client.objects.filter(organisation_id__in=counselling_orgs).filter(
        Q(created_by_id=user.pk) | Exists(cases)
    )


def access_record(user: Any, case: Case, code: str, *, write: bool = False) -> CaseRecord:
    """A record of a case the caller already obtained through access_case."""
    _check(case_role(user, case), write=write)
    _refuse_when_restricted(user, case.client, write=write)
    record = CaseRecord.objects.filter(case=case, code=code).first()
    if record is None:
        raise Http404
    return record


def access_attachment(user: Any, case: Case, code: str) -> Attachment:
    _check(case_role(user, case), write=False)
    attachment = (
        Attachment.objects.select_related("record").filter(record__case=case, code=code).first()
    )
    if attachment is None:
        raise Http404
    return attachment


def access_aspect(user: Any, case: Case, code: str, *, write: bool = False) -> ProblemAspect:
    _check(case_role(user, case), write=write)
    _refuse_when_restricted(user, case.client, write=write)
    aspect = ProblemAspect.objects.filter(problem_map__case=case, code=code).first()
    if aspect is None:
        raise Http404
    return aspect


def access_resource(user: Any, case: Case, code: str, *, write: bool = False) -> ProblemResource:
    _check(case_role(user, case), write=write)
    _refuse_when_restricted(user, case.client, write=write)
    resource = ProblemResource.objects.filter(problem_map__case=case, code=code).first()
    if resource is None:
        raise Http404
    return resource


def access_consent(
    user: Any, client: Client, code: str, *, write: bool = False, despite_restriction: bool = False
) -> Consent:
    """A consent of a client the caller already obtained through access_client.

    ``despite_restriction``: withdrawing consent is the data subject's right and stays
    possible while processing is restricted."""
    if not _client_visible(user, client):
        raise Http404
    if write and not _client_writable(user, client):
        raise PermissionDenied
    _refuse_when_restricted(user, client, write=write and not despite_restriction)
    consent = Consent.objects.filter(client=client, code=code).first()
    if consent is None:
        raise Http404
    return consent


def access_client_attachment(user: Any, client: Client, code: str) -> Attachment:
    """A consent scan: an attachment referenced by one of the client's consents."""
    if not _client_visible(user, client):
        raise Http404
    attachment = Attachment.objects.filter(
        code=code, pk__in=Consent.objects.filter(client=client).values("scan_id")
    ).first()
    if attachment is None:
        raise Http404
    return attachment
