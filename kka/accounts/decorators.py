from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from kka.accounts.models import Membership

Predicate = Callable[[Membership | None], bool]


def organisation_capability(predicate: Predicate) -> Callable[..., Any]:
    """Log in first; then 404 (not 403) unless the active membership has the capability."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not predicate(getattr(request, "membership", None)):
                raise Http404
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
