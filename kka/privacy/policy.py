"""Who may do what in data protection. Organisation roles only; never case content."""

from __future__ import annotations

from kka.accounts.models import Membership, Role


def may_act_as_dpo(membership: Membership | None) -> bool:
    """The DPO page: request deadlines, break-glass uses, incidents, retention."""
    return membership is not None and membership.is_active and membership.role == Role.DPO


def may_break_glass(membership: Membership | None) -> bool:
    return membership is not None and membership.is_active and membership.role == Role.KOORDINATOR
