"""What each organisation role may do. The one place that maps roles to capabilities.

Case-level access (owner, co-counsellor, supervisor) is decided by the cases app's
access functions; roles here never grant sight of case content by themselves.
"""

from __future__ import annotations

from kka.accounts import memo
from kka.accounts.models import Membership, Role

# Roles that carry cases of their own (a coordinator is also a working counsellor).
COUNSELLING_ROLES = frozenset({Role.KONSELOR, Role.KOORDINATOR})


def role_in(user: object, organisation_id: int | None) -> str:
    """The user's role in an organisation ('' if none), for audit rows."""
    user_pk = getattr(user, "pk", None)
    if user_pk is None or organisation_id is None:
        return ""
    known = memo.active_memberships(user_pk)
    if known is not None:  # this request's own user (kka.accounts.memo)
        for active in known[1]:
            if active.organisation_id == organisation_id:
                return str(active.role)
    membership = (
        Membership.objects.filter(user_id=user_pk, organisation_id=organisation_id)
        .only("role")
        .first()
    )
    return membership.role if membership else ""


def may_manage_members(membership: Membership | None) -> bool:
    return membership is not None and membership.is_active and membership.role == Role.ADMIN


def may_edit_organisation(membership: Membership | None) -> bool:
    return may_manage_members(membership)


def may_counsel(membership: Membership | None) -> bool:
    return membership is not None and membership.is_active and membership.role in COUNSELLING_ROLES
