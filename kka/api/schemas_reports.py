"""Response shapes of the program report routes: aggregates only, never a name of a
client, a case code or a link to case content. A withheld figure (small-number rule) is
``{"value": null, "text": "< 5"}``: its number is not in the answer at all."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema


class PeriodOut(Schema):
    from_: dt.date = Field(..., alias="from", description="First day, inclusive")
    to: dt.date = Field(..., description="Last day, inclusive")
    kind: str = Field(..., description='"semester", "year" or "custom"')
    label: str


class FigureOut(Schema):
    value: int | float | None = Field(
        ..., description="The number as shown; null when withheld or not applicable"
    )
    text: str = Field(..., description='As shown: "12", "45%", "< 5", "—"')


class ColumnOut(Schema):
    slug: str
    label: str


class RowOut(Schema):
    slug: str
    label: str
    cells: list[FigureOut]


class TableOut(Schema):
    slug: str
    title: str
    row_heading: str
    columns: list[ColumnOut]
    rows: list[RowOut]
    total: RowOut | None


class DurationOut(Schema):
    slug: str
    label: str
    cases: FigureOut
    q1: FigureOut
    median: FigureOut
    q3: FigureOut


class ReportOut(Schema):
    title: str
    subject: str
    period: PeriodOut
    exact: bool = Field(..., description="True for a counsellor's own (exact) figures")
    threshold: int | None = Field(
        ..., description="Figures from fewer clients are withheld; null when exact"
    )
    tables: list[TableOut]
    durations: list[DurationOut]


class OrganisationOut(Schema):
    code: str
    name: str


class GroupOut(Schema):
    code: str
    name: str
    organisations: list[OrganisationOut]


class GroupList(Schema):
    items: list[GroupOut]


class MemberReportOut(Schema):
    organisation: OrganisationOut
    report: ReportOut


class GroupReportOut(Schema):
    group: GroupOut
    whole: ReportOut
    organisations: list[MemberReportOut]
