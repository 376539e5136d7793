"""The DPO's page: what needs the DPO's attention, and where each register lives.

Each register contributes one section: a module with ``dpo_section(organisation)``
returning the context for its template partial.
"""

from __future__ import annotations

import importlib

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kka.accounts.decorators import organisation_capability
from kka.privacy import policy

SECTIONS = (
    ("kka.privacy.subject", "privacy/_dpo_requests.html"),
    ("kka.privacy.erasure", "privacy/_dpo_erasure.html"),
    ("kka.privacy.breakglass", "privacy/_dpo_breakglass.html"),
    ("kka.privacy.incidents", "privacy/_dpo_incidents.html"),
    ("kka.privacy.retention", "privacy/_dpo_retention.html"),
)


@organisation_capability(policy.may_act_as_dpo)
def dpo_home(request: HttpRequest) -> HttpResponse:
    organisation = request.organisation  # type: ignore[attr-defined]
    sections = []
    for module_name, template in SECTIONS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        section = getattr(module, "dpo_section", None)
        if section is not None:
            sections.append({"template": template, "data": section(organisation)})
    return render(request, "privacy/dpo_home.html", {"sections": sections})
