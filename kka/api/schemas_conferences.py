"""Request and response shapes of the conference routes (``/api/v1/conferences``).

Everything is addressed by public code. Participants are shown with name and role
(what the web conference page shows), never their contact details; evaluation answers
and commitment texts only to the case team, exactly as on the web pages.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Schema
from pydantic import Field, field_validator

from kka.api.pagination import DEFAULT_LIMIT, MAX_LIMIT

# The largest offset accepted: far beyond any real list, small enough for every database.
MAX_OFFSET = 1_000_000

ConferenceStatusCode = Literal["draft", "planned", "invited", "held", "closed", "cancelled"]
FunctionCode = Literal["pemahaman", "pencegahan", "pengentasan", "pemeliharaan", "advokasi"]
ClientParticipationCode = Literal["absent", "part", "throughout"]
CategoryCode = Literal[
    "staf_lembaga", "keluarga", "pemberi_kerja", "masyarakat", "profesional", "konseli"
]
DisclosureCode = Literal["invitation", "briefing", "shared_minutes"]
LanguageCode = Literal["id", "en"]
CommitmentStatusCode = Literal["planned", "in_progress", "done", "not_done", "dropped"]


# Dates and times accepted: wide enough for any plan, narrow enough that converting to
# UTC or adding a day can never overflow.
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2200, 12, 31)


class InSchema(Schema):
    """Request input: text PostgreSQL cannot store (NUL, lone surrogates) and dates out
    of range are invalid input (422) rather than a failure later."""

    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        if isinstance(value, str):
            if "\x00" in value:
                raise ValueError("nul")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("not utf-8") from None
        if isinstance(value, dt.datetime):
            if not EARLIEST <= value.date() <= LATEST:
                raise ValueError("out of range")
        elif isinstance(value, dt.date) and not EARLIEST <= value <= LATEST:
            raise ValueError("out of range")
        return value


class ListParams(InSchema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


class ConferenceFilters(ListParams):
    """``from``/``to``: days of the planned start in the organisation's zone, inclusive."""

    status: ConferenceStatusCode | None = None
    case: str | None = Field(None, max_length=16)
    bidang: str | None = Field(None, max_length=60)
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None = None


# --- conferences ------------------------------------------------------------------------


class ConferenceItem(Schema):
    code: str
    case: str
    sequence: int
    status: str
    status_label: str
    approval: str
    bidang: str
    bidang_label: str
    topic: str
    place: str
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ConferenceDetail(ConferenceItem):
    functions: list[str]
    aim: str
    expected_results: str
    subject: str
    summary: str
    organiser: str
    materials_note: str
    use_of_results: str
    evaluation_plan: str
    related_activities: str
    special_notes: str
    client_participation: str
    briefing: str
    next_statuses: list[str]
    participant_count: int


class ConferenceList(Schema):
    items: list[ConferenceItem]
    count: int


class PlanIn(InSchema):
    """The plan fields the web plan form edits (all optional: only those sent change)."""

    topic: str | None = Field(None, max_length=200)
    bidang: str | None = Field(None, max_length=60)
    functions: list[FunctionCode] | None = None
    aim: str | None = Field(None, max_length=10000)
    expected_results: str | None = Field(None, max_length=10000)
    subject: str | None = Field(None, max_length=200)
    summary: str | None = Field(None, max_length=10000)
    place: str | None = Field(None, max_length=200)
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    organiser: str | None = Field(None, max_length=200)
    materials_note: str | None = Field(None, max_length=10000)
    use_of_results: str | None = Field(None, max_length=10000)
    evaluation_plan: str | None = Field(None, max_length=10000)
    related_activities: str | None = Field(None, max_length=10000)
    special_notes: str | None = Field(None, max_length=10000)
    client_participation: ClientParticipationCode | None = None
    briefing: str | None = Field(None, max_length=10000)


class ConferenceCreateIn(PlanIn):
    case_code: str = Field(..., min_length=1, max_length=12)


class ScheduleIn(InSchema):
    """Date-times with an offset, or local wall-clock times in the organisation's zone."""

    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    place: str | None = Field(None, max_length=200)


class StatusIn(InSchema):
    status: ConferenceStatusCode


# --- participants -----------------------------------------------------------------------


class Problem(Schema):
    code: str
    message: str


class InvitationState(Schema):
    state: str  # not_invited | invited | opened
    invited_at: dt.datetime | None
    first_opened_at: dt.datetime | None
    letter_number: str


class ParticipantItem(Schema):
    code: str
    name: str
    role: str
    category: str
    category_label: str
    institution: str
    disclosure: str
    language: str
    invitation: InvitationState
    rsvp: str
    pledged: bool
    attendance: str
    attended: bool | None
    walk_in: bool
    consent_problem: Problem | None


class ParticipantList(Schema):
    items: list[ParticipantItem]
    count: int


class ParticipantIn(InSchema):
    """A new participant: by hand (name, role, category) or from the problem map's
    resources (``resource``: its code)."""

    resource: str | None = Field(None, max_length=12)
    full_name: str | None = Field(None, max_length=150)
    role: str | None = Field(None, max_length=100)
    category: CategoryCode | None = None
    institution: str = Field("", max_length=150)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=40)
    disclosure: DisclosureCode = "invitation"
    language: LanguageCode = "id"
    walk_in: bool = False


class InvitationIn(InSchema):
    """Only ``email`` through the API: the private link goes to the participant and is
    never part of an answer."""

    channel: Literal["email"] = "email"


# --- commitments ------------------------------------------------------------------------


class ProgressItem(Schema):
    at: dt.datetime
    note: str
    by: str  # counsellor | participant
    by_name: str


class CommitmentItem(Schema):
    code: str
    who: str  # participant | counsellor
    participant: str | None
    who_name: str
    who_role: str
    what: str
    due_on: dt.date | None
    check_method: str
    status: str
    status_label: str
    progress: list[ProgressItem]
    created_at: dt.datetime
    updated_at: dt.datetime


class CommitmentList(Schema):
    items: list[CommitmentItem]
    count: int


class CommitmentIn(InSchema):
    """``who``: a participant's code, or ``me`` for the calling counsellor."""

    who: str = Field(..., min_length=1, max_length=12)
    what: str = Field(..., min_length=1, max_length=4000)
    due_on: dt.date | None = None
    check_method: str = Field("", max_length=4000)


class ProgressIn(InSchema):
    """A progress note, a new status, or both (at least one)."""

    note: str = Field("", max_length=4000)
    status: CommitmentStatusCode | None = None


# --- evaluations ------------------------------------------------------------------------


class EvaluationItem(Schema):
    code: str
    kind: str
    kind_label: str
    participant: str | None
    scheme: str
    answers: dict[str, str]
    client_situation: str
    commitment_results: dict[str, dict[str, Any]]
    analysis: str
    data_needs_met: str
    due_on: dt.date | None
    done: bool
    done_at: dt.datetime | None
    created_at: dt.datetime


class EvaluationList(Schema):
    items: list[EvaluationItem]
    count: int
