"""Request and response shapes of the case routes (codes only, never database ids)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema

from kka.api.pagination import DEFAULT_LIMIT, MAX_LIMIT

# The largest offset accepted: far beyond any real list, small enough for every database.
MAX_OFFSET = 1_000_000

CaseStatusCode = Literal["open", "in_handling", "referred", "closed"]
CaseOutcomeCode = Literal["resolved", "improved", "referred", "unchanged", "other"]
IntakeSourceCode = Literal[
    "sendiri", "guru", "orang_tua", "atasan", "rekan", "aparat", "asesmen", "lainnya"
]


# PostgreSQL text cannot hold NUL: the schema says so, and such input answers 422.
NO_NUL = r"^[^\x00]*$"


class ListParams(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class CaseFilters(ListParams):
    status: CaseStatusCode | None = None
    bidang: str | None = Field(None, max_length=60, pattern=NO_NUL)
    opened_from: dt.date | None = None
    opened_to: dt.date | None = None


class ClientOut(Schema):
    """Minimal identity: no identifiers, address, phone or birth date."""

    code: str
    full_name: str
    initials: str
    sex: str
    is_minor: bool


class CaseItem(Schema):
    code: str
    title: str
    bidang: str
    status: str
    outcome: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    last_activity_at: dt.datetime
    client_code: str
    owner: str
    my_role: str


class CaseList(Schema):
    items: list[CaseItem]
    count: int


class MemberOut(Schema):
    name: str
    role: str


class CaseDetail(CaseItem):
    intake_source: str
    description: str
    outcome_note: str
    client: ClientOut
    members: list[MemberOut]
    conferences: list[str]


class CaseOpenIn(Schema):
    client_code: str = Field(..., min_length=1, max_length=12, pattern=NO_NUL)
    bidang: str = Field(..., min_length=1, max_length=60, pattern=NO_NUL)
    title: str = Field(..., min_length=1, max_length=120, pattern=NO_NUL)
    intake_source: IntakeSourceCode
    description: str = Field("", max_length=20_000, pattern=NO_NUL)


class CaseStatusIn(Schema):
    status: CaseStatusCode
    outcome: CaseOutcomeCode | Literal[""] = ""
    outcome_note: str = Field("", max_length=5_000, pattern=NO_NUL)
