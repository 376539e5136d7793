"""Holding the KKA: attendance with pledges and two-layer minutes that lose nothing.

Minutes are saved with an optimistic version: a save names the version it was
based on; if someone saved in between, the save is refused with
:class:`MinutesConflict`, carrying the current text, and the refused text is kept
as a :class:`MinutesDraft`. Finalised minutes are read-only; corrections are
addenda.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kka.accounts.models import User
from kka.accounts.policy import role_in
from kka.audit.services import audit_log
from kka.conferences.models import (
    Attendance,
    Conference,
    ConferenceStatus,
    Minutes,
    MinutesAddendum,
    MinutesDraft,
    Participant,
)

MINUTES_FIELDS = (
    "shared_text",
    "private_text",
    "data_wanted",
    "data_obtained",
    "data_needs",
    "conclusions",
    "directions",
)
MEETING_STATUSES = {ConferenceStatus.INVITED, ConferenceStatus.PLANNED, ConferenceStatus.HELD}


@dataclass
class MinutesConflict(Exception):
    """Someone saved first. Both texts are here; nothing was overwritten."""

    current_version: int
    current: dict[str, str]
    yours: dict[str, str]


def _audit(action: str, *, actor: User, conference: Conference, **refs: Any) -> None:
    organisation_id = conference.case.organisation_id
    audit_log(
        action=action,
        actor=actor,
        actor_role=role_in(actor, organisation_id),
        organisation=organisation_id,
        object_type="conference",
        object_ref=conference.code,
        refs=refs,
    )


def minutes_for(conference: Conference) -> Minutes:
    minutes, _created = Minutes.objects.get_or_create(conference=conference)
    return minutes


def minutes_save(
    *, actor: User, conference: Conference, base_version: int, values: dict[str, str]
) -> Minutes:
    """Save a draft of the minutes if nobody saved since ``base_version``.

    On a conflict the refused text is committed as a draft first, then
    :class:`MinutesConflict` is raised; the stored minutes are unchanged.
    """
    unknown = set(values) - set(MINUTES_FIELDS)
    if unknown:
        raise ValueError(f"not minutes fields: {sorted(unknown)}")
    conflict: MinutesConflict | None = None
    with transaction.atomic():
        minutes_for(conference)
        minutes = Minutes.objects.select_for_update().get(conference=conference)
        if minutes.finalised_at is not None:
            raise ValidationError(
                _("Notulen sudah difinalkan dan tidak dapat diubah. Tambahkan adendum.")
            )
        if minutes.version != base_version:
            MinutesDraft.objects.create(
                minutes=minutes,
                base_version=base_version,
                content=json.dumps(values),
                author=actor,
            )
            conflict = MinutesConflict(
                current_version=minutes.version,
                current={name: getattr(minutes, name) for name in MINUTES_FIELDS},
                yours=dict(values),
            )
        else:
            for name, value in values.items():
                setattr(minutes, name, value)
            minutes.version += 1
            minutes.updated_at = timezone.now()
            minutes.updated_by = actor
            minutes.full_clean()
            minutes.save()
    if conflict is not None:
        raise conflict
    return minutes


@transaction.atomic
def minutes_finalise(*, actor: User, conference: Conference) -> Minutes:
    minutes_for(conference)
    minutes = Minutes.objects.select_for_update().get(conference=conference)
    if minutes.finalised_at is not None:
        raise ValidationError(_("Notulen sudah difinalkan."))
    minutes.finalised_at = timezone.now()
    minutes.finalised_by = actor
    minutes.save(update_fields=["finalised_at", "finalised_by"])
    _audit("minutes.finalised", actor=actor, conference=conference, version=minutes.version)
    return minutes


@transaction.atomic
def minutes_addendum_add(
    *, actor: User, conference: Conference, layer: str, text: str, reason: str
) -> MinutesAddendum:
    minutes = minutes_for(conference)
    if minutes.finalised_at is None:
        raise ValidationError(_("Adendum hanya untuk notulen yang sudah difinalkan."))
    if not text.strip() or not reason.strip():
        raise ValidationError(_("Isi adendum dan alasannya wajib diisi."))
    addendum = MinutesAddendum(
        minutes=minutes, layer=layer, text=text.strip(), reason=reason.strip(), author=actor
    )
    addendum.full_clean()
    addendum.save()
    _audit(
        "minutes.addendum_added",
        actor=actor,
        conference=conference,
        addendum=addendum.code,
        layer=layer,
    )
    return addendum


@transaction.atomic
def attendance_set(*, actor: User, participant: Participant, attendance: str) -> Participant:
    """Nobody is marked present (or represented) without a confidentiality pledge."""
    if attendance not in Attendance.values:
        raise ValidationError(_("Status kehadiran tidak dikenal."))
    if (
        attendance in (Attendance.PRESENT, Attendance.REPRESENTED)
        and participant.pledged_at is None
    ):
        raise ValidationError(
            _("%(name)s belum menyatakan komitmen kerahasiaan.") % {"name": participant.full_name}
        )
    now = timezone.now()
    participant.attendance = attendance
    if attendance == Attendance.PRESENT and participant.arrived_at is None:
        participant.arrived_at = now
    if attendance == Attendance.LEFT_EARLY:
        participant.left_at = now
    participant.save(update_fields=["attendance", "arrived_at", "left_at"])
    _audit(
        "attendance.recorded",
        actor=actor,
        conference=participant.conference,
        participant=participant.code,
        attendance=attendance,
    )
    return participant
