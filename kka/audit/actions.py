"""The registered audit action codes, namespaced by area.

Writing an audit row with a code missing here is a programming error. Codes are
stable once released: reports and the DPO's queries depend on them.
"""

from __future__ import annotations

ACTIONS: dict[str, str] = {
    # accounts
    "auth.login": "User logged in",
    "auth.login_failed": "Login failed",
    "auth.logout": "User logged out",
    "auth.password_changed": "User changed their password",
    "auth.password_reset_requested": "Password reset requested",
    "auth.password_reset_done": "Password set through a reset link",
    "auth.organisation_switched": "User switched active organisation",
    "org.updated": "Organisation settings changed",
    "org.member_added": "Member added to organisation",
    "org.member_role_changed": "Member's role changed",
    "org.member_deactivated": "Member deactivated",
    "org.member_reactivated": "Member reactivated",
    "org.created": "Organisation created",
    "system.demo_created": "Demo data created",
}


class UnknownAction(ValueError):
    pass


def check_action(code: str) -> str:
    if code not in ACTIONS:
        raise UnknownAction(code)
    return code
