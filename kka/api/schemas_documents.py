"""Response shapes of the document routes."""

from __future__ import annotations

import datetime as dt

from ninja import Schema


class DocumentItem(Schema):
    code: str
    kind: str
    title: str
    edition: str
    format: str
    draft: bool
    finalised_at: dt.datetime | None
    created_at: dt.datetime
    size: int
    pages: int | None
    participant: str | None
    download_url: str


class DocumentList(Schema):
    items: list[DocumentItem]
    count: int
