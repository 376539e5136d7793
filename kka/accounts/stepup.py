"""Step-up: sensitive actions ask for a fresh second factor (at most 5 minutes old).

Someone without a second factor (only possible when ``KKA_REQUIRE_2FA`` is off) proves
themselves again with their password instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from kka.accounts import two_factor


def step_up_url(request: HttpRequest) -> str:
    target = request.get_full_path() if request.method == "GET" else request.path
    return reverse("accounts:otp_verify") + "?" + urlencode({"next": target, "step_up": "1"})


def step_up_required(
    view: Callable[..., HttpResponse] | None = None, *, password_in_form: bool = False
) -> Any:
    """Require a verification at most ``KKA_STEP_UP_SECONDS`` old.

    ``password_in_form``: the view itself asks for the current password (password change),
    so someone without a second factor is not asked for it twice.
    """

    def decorator(inner: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(inner)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            fresh = two_factor.verified_recently(request)
            if password_in_form and two_factor.confirmed_device(request.user) is None:
                fresh = True
            if not fresh:
                return redirect(step_up_url(request))
            return inner(request, *args, **kwargs)

        return wrapped

    return decorator(view) if view is not None else decorator
