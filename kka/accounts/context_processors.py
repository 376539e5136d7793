from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from kka.accounts import policy
from kka.privacy import policy as privacy_policy
from kka.reports import services as report_access


def organisation(request: HttpRequest) -> dict[str, Any]:
    membership = getattr(request, "membership", None)
    return {
        "active_membership": membership,
        "active_organisation": getattr(request, "organisation", None),
        "all_memberships": getattr(request, "memberships", []),
        "may_manage_members": policy.may_manage_members(membership),
        "may_counsel": policy.may_counsel(membership),
        "may_act_as_dpo": privacy_policy.may_act_as_dpo(membership),
        # Program reports (kka.reports): which report pages the nav offers.
        "may_read_organisation_report": report_access.may_read_organisation_report(membership),
        "may_read_own_report": report_access.may_read_own_report(membership),
        "may_read_group_reports": report_access.may_read_group_reports(membership),
        "mail_delivered": settings.MAIL_DELIVERED,
    }
