"""Lists answer ``{"items": [...], "count": N}`` with ``?limit=&offset=`` and stable order.

The query parameters and their bounds (limit 1-200, offset 0-1,000,000; 422 outside)
are declared in each router's schema (``ListParams``)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def page_of(queryset: QuerySet[Any], limit: int, offset: int) -> tuple[list[Any], int]:
    """The rows of one page and the total count. The queryset must be ordered."""
    limit = max(1, min(limit, MAX_LIMIT))
    offset = max(0, offset)
    return list(queryset[offset : offset + limit]), queryset.count()
