"""API routes: cases, and a case's client (minimal identity only).

The same selectors, access functions and services as the web pages (kka.cases.views),
and the same audit rows (with ``via: api``). A case the caller may not see, or one of
another organisation than the token's, answers 404 exactly like a code that does not exist.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Query, Router
from ninja.responses import Status, codes_4xx

from kka.accounts import policy
from kka.accounts.models import Membership, User
from kka.api.access import code_or_404, in_token_organisation, require_write
from kka.api.errors import ApiError, ErrorBody
from kka.api.pagination import page_of
from kka.api.schemas_cases import (
    CaseDetail,
    CaseFilters,
    CaseItem,
    CaseList,
    CaseOpenIn,
    CaseStatusIn,
    ClientOut,
    MemberOut,
)
from kka.cases import access, selectors, services
from kka.cases.models import Case, CaseMember, Client

router = Router(tags=["cases"])

VIA = "api"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _validation_detail(exc: ValidationError) -> list[dict[str, Any]]:
    """Field names only (never the messages' values)."""
    if hasattr(exc, "error_dict"):
        return [{"loc": ["body", name], "type": "invalid"} for name in exc.error_dict]
    return [{"loc": ["body"], "type": "invalid"}]


def _invalid(exc: ValidationError) -> ApiError:
    return ApiError(422, "invalid", " ".join(exc.messages), _validation_detail(exc))


def client_out(client: Client) -> ClientOut:
    return ClientOut(
        code=client.code,
        full_name=client.full_name,
        initials=client.initials,
        sex=client.sex,
        is_minor=selectors.client_is_minor(client),
    )


def _item(case: Case, role: str) -> dict[str, Any]:
    return {
        "code": case.code,
        "title": case.title,
        "bidang": case.bidang,
        "status": case.status,
        "outcome": case.outcome,
        "opened_at": case.opened_at,
        "closed_at": case.closed_at,
        "last_activity_at": case.last_activity_at,
        "client_code": case.client.code,
        "owner": case.owner.full_name,
        "my_role": role,
    }


def _detail(case: Case, role: str) -> CaseDetail:
    members = case.members.select_related("user").order_by("role", "id")  # type: ignore[attr-defined]
    return CaseDetail(
        **_item(case, role),
        intake_source=case.intake_source,
        description=case.description,
        outcome_note=case.outcome_note,
        client=client_out(case.client),
        members=[MemberOut(name=m.user.full_name, role=m.role) for m in members],
        conferences=list(
            case.conferences.order_by("sequence").values_list("code", flat=True)  # type: ignore[attr-defined]
        ),
    )


def _roles(user: User, cases: list[Case]) -> dict[int, str]:
    """The caller's role on each listed case (visible_cases admits owners and members)."""
    roles = dict(
        CaseMember.objects.filter(case__in=cases, user_id=user.pk).values_list("case_id", "role")
    )
    return {c.pk: access.OWNER if c.owner_id == user.pk else roles.get(c.pk, "") for c in cases}


def _local_start(day: dt.date, time_zone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=zoneinfo.ZoneInfo(time_zone))


def _case_in_organisation(
    request: HttpRequest, code: str, *, write: bool = False
) -> tuple[Case, str]:
    case, role = access.access_case_with_role(request.user, code_or_404(code), write=write)
    in_token_organisation(request, case.organisation_id)
    return case, role


@router.get(
    "",
    response={200: CaseList, codes_4xx: ErrorBody},
    url_name="case_list",
    summary="Kasus yang boleh dilihat pemanggil",
)
def case_list(request: HttpRequest, filters: Query[CaseFilters]) -> dict[str, Any]:
    """The caller's cases in the token's organisation, in the web list's order (newest
    activity first, then newest opened). Filters: status, bidang, opened_from/opened_to (days in
    the organisation's time zone, both inclusive)."""
    organisation = request.organisation  # type: ignore[attr-defined]
    if not policy.may_counsel(getattr(request, "membership", None)):
        raise Http404  # like the web list: only counselling roles have one
    qs: QuerySet[Case] = selectors.case_list(
        viewer=request.user,
        organisation=organisation,
        status=filters.status or "",
        bidang=filters.bidang or "",
    )
    if filters.opened_from is not None:
        qs = qs.filter(opened_at__gte=_local_start(filters.opened_from, organisation.time_zone))
    if filters.opened_to is not None:
        end = filters.opened_to + dt.timedelta(days=1)
        qs = qs.filter(opened_at__lt=_local_start(end, organisation.time_zone))
    rows, count = page_of(qs, filters.limit, filters.offset)
    roles = _roles(_user(request), rows)
    services.audit_read(
        actor=_user(request),
        action="case.list_viewed",
        obj=organisation,
        organisation_id=organisation.pk,
        shown=",".join(c.code for c in rows),
        via=VIA,
    )
    return {"items": [_item(c, roles[c.pk]) for c in rows], "count": count}


@router.get(
    "/{code}",
    response={200: CaseDetail, codes_4xx: ErrorBody},
    url_name="case_detail",
    summary="Satu kasus",
)
def case_detail(request: HttpRequest, code: str) -> CaseDetail:
    case, role = _case_in_organisation(request, code)
    services.audit_read(
        actor=_user(request),
        action="case.viewed",
        obj=case,
        organisation_id=case.organisation_id,
        via=VIA,
    )
    return _detail(case, role)


@router.get(
    "/{code}/client",
    response={200: ClientOut, codes_4xx: ErrorBody},
    url_name="case_client",
    summary="Identitas minimal konseli sebuah kasus",
)
def case_client(request: HttpRequest, code: str) -> ClientOut:
    case, _role = _case_in_organisation(request, code)
    services.audit_read(
        actor=_user(request),
        action="client.viewed",
        obj=case.client,
        organisation_id=case.organisation_id,
        case=case.code,
        via=VIA,
    )
    return client_out(case.client)


@router.post(
    "",
    response={201: CaseDetail, codes_4xx: ErrorBody},
    url_name="case_open",
    summary="Membuka kasus untuk seorang konseli",
)
def case_open(request: HttpRequest, payload: CaseOpenIn) -> Status[CaseDetail]:
    require_write(request)
    client = access.access_client(request.user, code_or_404(payload.client_code), write=True)
    in_token_organisation(request, client.organisation_id)
    membership = Membership.objects.filter(
        user_id=_user(request).pk, organisation_id=client.organisation_id, is_active=True
    ).first()
    if not policy.may_counsel(membership):
        raise Http404
    try:
        case = services.case_open(
            actor=_user(request),
            client=client,
            bidang=payload.bidang,
            title=payload.title,
            intake_source=payload.intake_source,
            description=payload.description,
        )
    except ValidationError as exc:
        raise _invalid(exc) from None
    case = Case.objects.select_related("client", "owner", "organisation").get(pk=case.pk)
    return Status(201, _detail(case, access.OWNER))


@router.post(
    "/{code}/status",
    response={200: CaseDetail, codes_4xx: ErrorBody},
    url_name="case_status",
    summary="Mengubah status kasus",
)
def case_status(request: HttpRequest, code: str, payload: CaseStatusIn) -> CaseDetail:
    """Moves allowed as in the web: open → in_handling/referred/closed, …; closing needs an
    outcome (422 otherwise); a move that is not allowed answers 409 ``invalid_transition``."""
    require_write(request)
    case, role = _case_in_organisation(request, code, write=True)
    try:
        services.case_change_status(
            actor=_user(request),
            case=case,
            status=payload.status,
            outcome=payload.outcome,
            outcome_note=payload.outcome_note,
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            raise _invalid(exc) from None
        raise ApiError(409, "invalid_transition", " ".join(exc.messages)) from None
    case = Case.objects.select_related("client", "owner", "organisation").get(pk=case.pk)
    return _detail(case, role)


def case_item(case: Case, role: str) -> CaseItem:
    """For other routers that embed a case."""
    return CaseItem(**_item(case, role))


__all__ = ["case_item", "client_out", "router"]
