"""Holding the KKA: attendance with pledges and two-layer minutes that lose nothing.

Minutes are saved with an optimistic version: a save names the version it was
based on; if someone saved in between, the save is refused with
:class:`MinutesConflict`, carrying the current text, and the refused text is kept
as a :class:`MinutesDraft`. Finalised minutes are read-only; corrections are
addenda.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kka.accounts.models import User
from kka.accounts.policy import role_in
from kka.audit.services import audit_log
from kka.conferences.models import (
    DISCLOSURE_RANK,
    Attendance,
    Conference,
    ConferenceStatus,
    DisclosureLevel,
    Minutes,
    MinutesAddendum,
    MinutesDraft,
    MinutesResponse,
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


# --- participants' answers to the shared minutes (through their private link) -----------

COMMENT_MAX = 2000
_RANK = {str(level): rank for level, rank in DISCLOSURE_RANK.items()}


def may_read_shared_minutes(participant: Participant) -> bool:
    """The participant's level lets them read (and answer) the shared layer, once they
    have pledged confidentiality. Whether the minutes are final is checked apart."""
    return (
        participant.removed_at is None
        and participant.pledged_at is not None
        and _RANK.get(participant.disclosure, 0) >= _RANK[DisclosureLevel.SHARED_MINUTES]
    )


def shared_minutes_for(participant: Participant) -> Minutes | None:
    """The finalised minutes this participant may read through their link, or None."""
    if not may_read_shared_minutes(participant):
        return None
    minutes = Minutes.objects.filter(conference_id=participant.conference_id).first()
    if minutes is None or minutes.finalised_at is None:
        return None
    return minutes


def _answerable_minutes(participant: Participant) -> tuple[Participant, Minutes]:
    """Lock the participant (a double tap on "Setuju" is serialised) and return the
    minutes they may answer; anything else is ``PermissionDenied``."""
    locked = (
        Participant.objects.select_for_update(of=("self",))
        .select_related("conference__case")
        .get(pk=participant.pk)
    )
    minutes = shared_minutes_for(locked)
    if minutes is None:
        raise PermissionDenied
    return locked, minutes


def _portal_audit(action: str, participant: Participant, response: MinutesResponse) -> None:
    conference = participant.conference
    audit_log(
        action=action,
        organisation=conference.case.organisation_id,
        object_type="participant",
        object_ref=participant.code,
        refs={"conference": conference.code, "response": response.code},
    )


def minutes_agreed_at(participant: Participant) -> dt.datetime | None:
    response = (
        MinutesResponse.objects.filter(participant=participant, kind=MinutesResponse.Kind.AGREE)
        .only("at")
        .first()
    )
    return response.at if response is not None else None


@transaction.atomic
def minutes_agree(*, participant: Participant) -> MinutesResponse:
    """The participant says "setuju" to the shared minutes. Once: agreeing again
    changes nothing and returns the first agreement (a double tap is not an error)."""
    participant, minutes = _answerable_minutes(participant)
    existing = MinutesResponse.objects.filter(
        minutes=minutes, participant=participant, kind=MinutesResponse.Kind.AGREE
    ).first()
    if existing is not None:
        return existing
    response = MinutesResponse(
        minutes=minutes, participant=participant, kind=MinutesResponse.Kind.AGREE
    )
    response.full_clean()
    response.save()
    _portal_audit("portal.minutes_agreed", participant, response)
    return response


@transaction.atomic
def minutes_comment(*, participant: Participant, text: str) -> MinutesResponse:
    """A comment on the shared minutes, read by the counsellor only. As many as the
    participant likes; none is ever edited."""
    participant, minutes = _answerable_minutes(participant)
    comment = text.strip()
    if not comment:
        raise ValidationError({"comment": _("Tuliskan komentar Anda.")})
    if len(comment) > COMMENT_MAX:
        raise ValidationError(
            {
                "comment": _("Komentar paling panjang %(max)s karakter; Anda menulis %(n)s.")
                % {"max": COMMENT_MAX, "n": len(comment)}
            }
        )
    response = MinutesResponse(
        minutes=minutes,
        participant=participant,
        kind=MinutesResponse.Kind.COMMENT,
        comment=comment,
    )
    response.full_clean()
    response.save()
    _portal_audit("portal.minutes_commented", participant, response)
    return response


def own_minutes_comments(participant: Participant) -> list[MinutesResponse]:
    """This participant's own comments (the portal never shows anyone else's)."""
    return list(
        MinutesResponse.objects.filter(
            participant=participant, kind=MinutesResponse.Kind.COMMENT
        ).order_by("at", "id")
    )


@dataclass
class ParticipantResponses:
    """What one participant answered to the shared minutes (the counsellor's view)."""

    participant: Participant
    may_read: bool
    agreed_at: dt.datetime | None = None
    comments: list[MinutesResponse] = field(default_factory=list)
    # Agreed before the newest addendum to the shared layer: they have not seen it.
    agreed_before_addendum: bool = False


_LOOK_UP: Any = object()


def minutes_responses(
    conference: Conference,
    *,
    minutes: Any = _LOOK_UP,
    participants: list[Participant] | None = None,
    addenda: list[MinutesAddendum] | None = None,
) -> list[ParticipantResponses]:
    """Per participant with shared-minutes access (or who answered before losing it):
    agreed or not yet, and their comments. ``conference`` comes from an access check.

    A page that already read the conference's minutes (None: there are none), all its
    participants (removed ones too) or the minutes' addenda passes them in."""
    if minutes is _LOOK_UP:
        minutes = Minutes.objects.filter(conference=conference).first()
    if minutes is None:
        return []
    responses = list(MinutesResponse.objects.filter(minutes=minutes).order_by("at", "id"))
    answered = {r.participant_id for r in responses}
    shared_levels = {
        level for level, rank in _RANK.items() if rank >= _RANK[DisclosureLevel.SHARED_MINUTES]
    }
    if participants is None:
        participants = list(conference.participants.order_by("position", "id"))
    participants = [
        p
        for p in participants
        if p.pk in answered or (p.removed_at is None and p.disclosure in shared_levels)
    ]
    if addenda is None:
        newest_addendum = (
            minutes.addenda.filter(layer="shared")
            .order_by("-at")
            .values_list("at", flat=True)
            .first()
        )
    else:
        newest_addendum = max((a.at for a in addenda if a.layer == "shared"), default=None)
    rows: dict[int, ParticipantResponses] = {
        p.pk: ParticipantResponses(participant=p, may_read=may_read_shared_minutes(p))
        for p in participants
    }
    for response in responses:
        row = rows.get(response.participant_id)
        if row is None:
            continue
        if response.kind == MinutesResponse.Kind.AGREE:
            row.agreed_at = response.at
            row.agreed_before_addendum = (
                newest_addendum is not None and response.at < newest_addendum
            )
        else:
            row.comments.append(response)
    return list(rows.values())
