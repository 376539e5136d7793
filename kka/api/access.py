"""Small checks every API route shares: the code's shape, the token's scope and
organisation. The access functions of each area still decide who sees what."""

from __future__ import annotations

import re
from typing import Any

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from kka.api.errors import ApiError
from kka.api.tokens import may_write

# Public codes are short and use the code alphabet; anything else cannot exist.
_CODE = re.compile(r"^[0-9A-Za-z]{1,16}$")


def code_or_404(code: str) -> str:
    """The code unchanged, or 404 for a value that cannot be a code (e.g. with a NUL,
    which PostgreSQL would refuse to even compare)."""
    if not _CODE.match(code or ""):
        raise Http404
    return code


def require_write(request: HttpRequest) -> None:
    """403 ``read_only_token`` for a read-scope token on a route that changes data."""
    if not may_write(getattr(request, "auth", None)):
        raise ApiError(
            403,
            "read_only_token",
            _("Token ini hanya untuk membaca; perubahan memerlukan token tulis."),
        )


def in_token_organisation(request: HttpRequest, organisation_id: int) -> None:
    """A token acts in one organisation: objects of another answer 404 like strangers'."""
    organisation: Any = getattr(request, "organisation", None)
    if organisation is None or organisation.pk != organisation_id:
        raise Http404
