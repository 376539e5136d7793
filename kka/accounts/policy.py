"""What each organisation role may do. The one place that maps roles to capabilities.

Case-level access (owner, co-counsellor, supervisor) is decided by the cases app's
access functions; roles here never grant sight of case content by themselves.
"""

from __future__ import annotations

from kka.accounts.models import Membership, Role

# Roles that carry cases of their own (a coordinator is also a working counsellor).
COUNSELLING_ROLES = frozenset({Role.KONSELOR, Role.KOORDINATOR})


def may_manage_members(membership: Membership | None) -> bool:
    return membership is not None and membership.is_active and membership.role == Role.ADMIN


def may_edit_organisation(membership: Membership | None) -> bool:
    return may_manage_members(membership)


def may_counsel(membership: Membership | None) -> bool:
    return membership is not None and membership.is_active and membership.role in COUNSELLING_ROLES
