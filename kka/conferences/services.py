"""Planning a KKA: the plan, its status, participants, the consent gate, approval,
letter numbers, private links and invitations.

Every function is one transaction with its audit row (codes only). Mail is sent
after commit; nothing about the case goes into an invitation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kka.accounts.models import Organisation, User
from kka.accounts.policy import role_in
from kka.audit.services import audit_log, audit_log_many
from kka.cases import selectors as case_selectors
from kka.cases.models import Case, CaseEvent, CaseRecord, ProblemResource
from kka.conferences.models import (
    CLIENT_CATEGORY,
    OPEN_COMMITMENT_STATUSES,
    ApprovalState,
    Commitment,
    Conference,
    ConferenceStatus,
    Disclosure,
    LetterCounter,
    LetterNumber,
    Participant,
    PortalLink,
    Rsvp,
)
from kka.lib import dates
from kka.lib.letters import format_number

STATUS_MOVES: dict[str, set[str]] = {
    ConferenceStatus.DRAFT: {ConferenceStatus.PLANNED, ConferenceStatus.CANCELLED},
    ConferenceStatus.PLANNED: {
        ConferenceStatus.DRAFT,
        ConferenceStatus.INVITED,
        ConferenceStatus.CANCELLED,
    },
    ConferenceStatus.INVITED: {ConferenceStatus.HELD, ConferenceStatus.CANCELLED},
    ConferenceStatus.HELD: {ConferenceStatus.CLOSED},
    ConferenceStatus.CLOSED: set(),
    ConferenceStatus.CANCELLED: set(),
}
EDITABLE_STATUSES = {ConferenceStatus.DRAFT, ConferenceStatus.PLANNED, ConferenceStatus.INVITED}
PLAN_FIELDS = (
    "topic",
    "bidang",
    "functions",
    "aim",
    "expected_results",
    "subject",
    "summary",
    "place",
    "starts_at",
    "ends_at",
    "organiser",
    "materials_note",
    "use_of_results",
    "evaluation_plan",
    "related_activities",
    "special_notes",
    "client_participation",
    "briefing",
)
# Portal links stop working this long after the conference is closed.
PORTAL_GRACE = dt.timedelta(days=30)


def _audit(
    action: str, *, actor: User | None, conference: Conference, obj: Any = None, **refs: Any
) -> None:
    target = obj or conference
    audit_log(
        action=action,
        actor=actor,
        actor_role=role_in(actor, conference.case.organisation_id) if actor else "",
        organisation=conference.case.organisation_id,
        object_type=type(target).__name__.lower(),
        object_ref=target.code,
        refs={"conference": conference.code, **refs} if obj is not None else refs,
    )


def _event(conference: Conference, *, actor: User | None, kind: str, detail: str = "") -> None:
    now = timezone.now()
    CaseEvent.objects.create(
        case=conference.case, actor=actor, kind=kind, ref=conference.code, detail=detail, at=now
    )
    Case.objects.filter(pk=conference.case_id).update(last_activity_at=now)


# --- the plan --------------------------------------------------------------------


def pseudonym(case: Case) -> str:
    """How the plan names the client by default: initials only."""
    return _("Konseli berinisial %(initials)s") % {"initials": case.client.initials or "—"}


@transaction.atomic
def conference_create(*, actor: User, case: Case) -> Conference:
    """A new KKA for the case, its plan pre-filled from what the case already knows."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    last = Conference.objects.filter(case=case).aggregate(n=Max("sequence"))["n"] or 0
    problem_map = getattr(case, "problem_map", None) if hasattr(case, "problem_map") else None
    summary = problem_map.core_problem if problem_map else ""
    conference = Conference(
        case=case,
        sequence=last + 1,
        topic=case.title,
        bidang=case.bidang,
        functions=["pemahaman", "pengentasan"],
        aim=_(
            "Memperoleh pemahaman yang lebih jelas dan menyeluruh tentang masalah konseli, "
            "mendapatkan data tambahan, dan membangun komitmen pihak terkait untuk menangani "
            "masalah secara terpadu."
        ),
        expected_results=_(
            "Kesepahaman tentang masalah, arah penanganan, dan komitmen peran setiap pihak."
        ),
        subject=pseudonym(case),
        summary=summary,
        organiser=f"{actor.full_name}, {case.organisation.name}",
        use_of_results=_(
            "Hasil pertemuan digunakan semata-mata untuk kepentingan penanganan dan "
            "perkembangan konseli, dan dijaga kerahasiaannya."
        ),
        evaluation_plan=_(
            "Penilaian segera (laiseg) di akhir pertemuan; penilaian jangka pendek (laijapen) "
            "sekitar dua minggu kemudian; penilaian jangka panjang (laijapang) sekitar dua "
            "bulan kemudian. Tindak lanjut sesuai hasil penilaian."
        ),
        created_by=actor,
    )
    conference.full_clean()
    conference.save()
    _event(conference, actor=actor, kind="conference_created", detail=str(conference.sequence))
    _audit("conference.created", actor=actor, conference=conference, case=case.code)
    return conference


def _check_editable(conference: Conference) -> None:
    if conference.status not in EDITABLE_STATUSES:
        raise ValidationError(
            _('Rencana KKA berstatus "%(status)s" tidak dapat diubah.')
            % {"status": ConferenceStatus(conference.status).label}
        )


@transaction.atomic
def conference_update_plan(
    *,
    actor: User,
    conference: Conference,
    records: Iterable[CaseRecord] | None = None,
    **fields: Any,
) -> Conference:
    conference = (
        Conference.objects.select_for_update(of=("self",))
        .select_related("case")
        .get(pk=conference.pk)
    )
    _check_editable(conference)
    unknown = set(fields) - set(PLAN_FIELDS)
    if unknown:
        raise ValueError(f"not plan fields: {sorted(unknown)}")
    if "bidang" in fields and fields["bidang"] not in dict(
        case_selectors.bidang_choices(conference.case.organisation)
    ):
        raise ValidationError({"bidang": _("Bidang tidak dikenal.")})
    changed = [name for name, value in fields.items() if getattr(conference, name) != value]
    time_changed = bool({"starts_at", "ends_at", "place"} & set(changed))
    for name in changed:
        setattr(conference, name, fields[name])
    if conference.starts_at and conference.ends_at and conference.ends_at <= conference.starts_at:
        raise ValidationError({"ends_at": _("Waktu selesai harus setelah waktu mulai.")})
    conference.full_clean()
    if changed:
        conference.updated_at = timezone.now()
        conference.save()
    if records is not None:
        allowed = [r for r in records if r.case_id == conference.case_id and r.may_bring_to_kka]
        before = set(conference.records.values_list("pk", flat=True))
        conference.records.set(allowed)
        if before != {r.pk for r in allowed}:
            changed.append("records")
    if changed:
        _audit(
            "conference.plan_updated",
            actor=actor,
            conference=conference,
            fields=",".join(sorted(changed)),
        )
    if time_changed and conference.status == ConferenceStatus.INVITED:
        conference.ics_sequence += 1
        conference.save(update_fields=["ics_sequence"])
        _event(conference, actor=actor, kind="conference_rescheduled")
        _enqueue_calendar_updates(conference)
    return conference


@transaction.atomic
def conference_set_status(*, actor: User, conference: Conference, status: str) -> Conference:
    conference = (
        Conference.objects.select_for_update(of=("self",))
        .select_related("case")
        .get(pk=conference.pk)
    )
    if status not in STATUS_MOVES.get(conference.status, set()):
        new = ConferenceStatus(status).label if status in ConferenceStatus.values else status
        raise ValidationError(
            _('Status KKA tidak dapat diubah dari "%(old)s" menjadi "%(new)s".')
            % {"old": ConferenceStatus(conference.status).label, "new": new}
        )
    old = conference.status
    conference.status = status
    # updated_at also dates the closing, from which the portal's grace period runs.
    conference.updated_at = timezone.now()
    conference.save(update_fields=["status", "updated_at"])
    _event(conference, actor=actor, kind="conference_status", detail=f"{old}>{status}")
    _audit("conference.status_changed", actor=actor, conference=conference, old=old, new=status)
    if status == ConferenceStatus.CANCELLED and old == ConferenceStatus.INVITED:
        conference.ics_sequence += 1
        conference.save(update_fields=["ics_sequence"])
        _enqueue_calendar_updates(conference)
    return conference


# --- participants ------------------------------------------------------------------


PARTICIPANT_FIELDS = (
    "full_name",
    "role",
    "category",
    "institution",
    "email",
    "phone",
    "language",
    "disclosure",
)


@transaction.atomic
def participant_add(
    *,
    actor: User,
    conference: Conference,
    resource: ProblemResource | None = None,
    **fields: Any,
) -> Participant:
    _check_editable(conference)
    if resource is not None:
        if resource.problem_map.case_id != conference.case_id:
            raise ValidationError(_("Sumber bantuan itu bukan dari kasus ini."))
        fields.setdefault("full_name", resource.name)
        fields.setdefault("role", resource.role)
        fields.setdefault("category", resource.category)
    participant = Participant(
        conference=conference,
        resource=resource,
        position=conference.participants.count(),
        **{k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()},
    )
    participant.invitation_text = invitation_default_text(participant)
    participant.full_clean()
    participant.save()
    _reset_approval_for(participant, actor=actor)
    _audit(
        "participant.added",
        actor=actor,
        conference=conference,
        obj=participant,
        category=participant.category,
    )
    return participant


@transaction.atomic
def participant_update(*, actor: User, participant: Participant, **fields: Any) -> Participant:
    _check_editable(participant.conference)
    unknown = set(fields) - set(PARTICIPANT_FIELDS) - {"invitation_text"}
    if unknown:
        raise ValueError(f"not participant fields: {sorted(unknown)}")
    for name, value in fields.items():
        setattr(participant, name, value.strip() if isinstance(value, str) else value)
    participant.full_clean()
    participant.save()
    _reset_approval_for(participant, actor=actor)
    _audit("participant.updated", actor=actor, conference=participant.conference, obj=participant)
    return participant


def _reset_approval_for(participant: Participant, *, actor: User) -> None:
    """An approved plan that gains an outside invitee must be approved again."""
    conference = participant.conference
    if (
        conference.approval == ApprovalState.APPROVED
        and participant.category != "staf_lembaga"
        and needs_approval(conference)
    ):
        conference.approval = ApprovalState.NOT_REQUIRED
        conference.save(update_fields=["approval"])
        _event(conference, actor=actor, kind="conference_approval_reset")
        _audit("conference.approval_reset", actor=actor, conference=conference)


@transaction.atomic
def participant_remove(*, actor: User, participant: Participant) -> None:
    conference = participant.conference
    _check_editable(conference)
    PortalLink.objects.filter(participant=participant, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    _audit("participant.removed", actor=actor, conference=conference, obj=participant)
    if (
        participant.invited_at
        or participant.disclosures.exists()
        or Commitment.objects.filter(participant=participant).exists()
        or participant.evaluations.exists()
    ):
        # Who was told what stays on record; the person stops being a participant.
        participant.removed_at = timezone.now()
        participant.save(update_fields=["removed_at"])
    else:
        participant.delete()


# --- consent gate and approval -------------------------------------------------------------


_LOOK_UP: Any = object()


def consent_problem(
    conference: Conference, participant: Participant, *, consent: Any = _LOOK_UP
) -> str | None:
    """Why this participant may not be invited under the client's consent, or None.

    ``consent``: the client's current consent when the caller already has it (a page
    listing many participants reads it once)."""
    client = conference.case.client
    if consent is _LOOK_UP:
        consent = case_selectors.current_consent(client)
    minor = case_selectors.client_is_minor(client)
    if consent is None:
        if minor:
            return _(
                "Belum ada persetujuan orang tua/wali yang berlaku untuk konseli ini "
                "(konseli masih anak)."
            )
        return _("Belum ada persetujuan konseli yang berlaku.")
    if not consent.purpose_hold_kka:
        return _("Persetujuan yang berlaku tidak mencakup penyelenggaraan konferensi kasus.")
    if participant.category == CLIENT_CATEGORY:
        return None
    if not consent.allows_sharing_with(participant.category):
        return _("Persetujuan yang berlaku tidak mencakup berbagi keterangan dengan %(cat)s.") % {
            "cat": str(participant.get_category_display()).lower()
        }
    return None


def needs_approval(conference: Conference) -> bool:
    """The organisation asks for approval and someone from outside is invited."""
    organisation: Organisation = conference.case.organisation
    if not organisation.require_plan_approval:
        return False
    return (
        conference.participants.filter(removed_at__isnull=True)
        .exclude(category="staf_lembaga")
        .exists()
    )


@transaction.atomic
def conference_request_approval(*, actor: User, conference: Conference) -> Conference:
    if not needs_approval(conference):
        raise ValidationError(_("Rencana ini tidak memerlukan persetujuan."))
    conference.approval = ApprovalState.PENDING
    conference.approval_comment = ""
    conference.save(update_fields=["approval", "approval_comment"])
    _audit("conference.approval_requested", actor=actor, conference=conference)
    return conference


@transaction.atomic
def conference_decide_approval(
    *, actor: User, conference: Conference, approve: bool, comment: str = ""
) -> Conference:
    if conference.approval != ApprovalState.PENDING:
        raise ValidationError(_("Rencana ini tidak sedang menunggu persetujuan."))
    if not approve and not comment.strip():
        raise ValidationError({"comment": _("Tuliskan alasan pengembalian.")})
    conference.approval = ApprovalState.APPROVED if approve else ApprovalState.SENT_BACK
    conference.approval_comment = comment.strip()
    conference.approved_by = actor
    conference.save(update_fields=["approval", "approval_comment", "approved_by"])
    _event(
        conference, actor=actor, kind="conference_approved" if approve else "conference_sent_back"
    )
    _audit(
        "conference.approved" if approve else "conference.sent_back",
        actor=actor,
        conference=conference,
    )
    return conference


# --- letter numbers --------------------------------------------------------------------


@transaction.atomic
def letter_number_issue(
    *,
    actor: User,
    organisation: Organisation,
    kind: str,
    conference: Conference | None = None,
    participant: Participant | None = None,
) -> LetterNumber:
    """The next number of the organisation's year: sequential, no gaps, no duplicates.

    The counter row is locked for the rest of the transaction (SQLite: the whole
    database, by BEGIN IMMEDIATE; PostgreSQL: SELECT … FOR UPDATE), so concurrent
    requests queue and each takes the next number.
    """
    today = dates.local(timezone.now(), organisation.time_zone).date()
    counter = (
        LetterCounter.objects.select_for_update()
        .filter(organisation=organisation, year=today.year)
        .first()
    )
    if counter is None:
        try:
            with transaction.atomic():
                LetterCounter.objects.create(organisation=organisation, year=today.year)
        except IntegrityError:
            pass  # another request created it first
        counter = LetterCounter.objects.select_for_update().get(
            organisation=organisation, year=today.year
        )
    counter.last += 1
    counter.save(update_fields=["last"])
    number = LetterNumber.objects.create(
        organisation=organisation,
        year=today.year,
        seq=counter.last,
        number=format_number(organisation.letter_number_pattern, seq=counter.last, day=today),
        kind=kind,
        conference=conference,
        participant=participant,
        issued_by=actor,
    )
    audit_log(
        action="letter.number_issued",
        actor=actor,
        organisation=organisation,
        object_type="letternumber",
        object_ref=f"{number.year}/{number.seq}",
        refs={"kind": kind, "conference": conference.code if conference else ""},
    )
    return number


# --- private links -----------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@transaction.atomic
def portal_link_create(*, participant: Participant) -> str:
    """A new private link; the token (256 bits from the CSPRNG) is returned once."""
    token = secrets.token_urlsafe(32)
    PortalLink.objects.create(participant=participant, token_hash=token_hash(token))
    return token


@transaction.atomic
def portal_links_revoke(*, actor: User, participant: Participant) -> int:
    count = PortalLink.objects.filter(participant=participant, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    _audit(
        "participant.link_revoked", actor=actor, conference=participant.conference, obj=participant
    )
    return count


def portal_url(token: str) -> str:
    base = getattr(settings, "KKA_BASE_URL", "").rstrip("/")
    return f"{base}/undangan/?t={token}"


# --- invitations ----------------------------------------------------------------------


HONORIFICS = ("bapak", "ibu", "bpk", "pak", "bu", "sdr", "saudara", "saudari", "mr", "mrs", "ms")


def _salutation(participant: Participant) -> str:
    name = participant.full_name.strip()
    first = name.split(" ", 1)[0].rstrip(".,").lower()
    if first in HONORIFICS:
        return name
    if participant.category == CLIENT_CATEGORY:
        return _("Ananda %(name)s") % {"name": name.split(" ", 1)[0]}
    return _("Bapak/Ibu %(name)s") % {"name": name}


def invitation_purpose(participant: Participant) -> str:
    """Why the participant is invited, neutrally, in the active language (the mail's
    text and the letter's "Keperluan" both use it)."""
    organisation = participant.conference.case.organisation
    if participant.category == "keluarga":
        return _("membahas perkembangan putra/putri atau anggota keluarga Bapak/Ibu")
    if participant.category == CLIENT_CATEGORY:
        return _("membicarakan perkembangan Anda bersama pihak yang dapat membantu")
    return _("koordinasi pendampingan seorang %(who)s di %(org)s") % {
        "who": _("peserta didik")
        if organisation.setting in ("sekolah", "madrasah")
        else _("anggota"),
        "org": organisation.name,
    }


def invitation_default_text(participant: Participant) -> str:
    """Neutral wording: never the problem, the records, or the client's full name."""
    with translation.override(participant.language or "id"):
        purpose = invitation_purpose(participant)
        return _(
            "Dengan hormat, kami mengundang %(salutation)s untuk hadir dalam pertemuan "
            "terbatas guna %(purpose)s. Pertemuan ini bersifat rahasia. Mohon konfirmasi "
            "kehadiran melalui tautan pribadi yang kami kirimkan."
        ) % {"salutation": _salutation(participant), "purpose": purpose}


def readiness(
    conference: Conference,
    *,
    participants: list[Participant] | None = None,
    consent: Any = _LOOK_UP,
) -> list[str]:
    """What is still missing before invitations can go out / the meeting can start.

    ``participants`` (not removed) and ``consent``: when the page already read them."""
    missing: list[str] = []
    if conference.starts_at is None:
        missing.append(_("Waktu pertemuan belum ditentukan."))
    if not conference.place:
        missing.append(_("Tempat pertemuan belum ditentukan."))
    if participants is None:
        participants = list(conference.participants.filter(removed_at__isnull=True))
    if not participants:
        missing.append(_("Belum ada peserta."))
    if consent is _LOOK_UP:
        consent = case_selectors.current_consent(conference.case.client)
    for participant in participants:
        problem = consent_problem(conference, participant, consent=consent)
        if problem:
            missing.append(f"{participant.full_name}: {problem}")
    if needs_approval(conference) and conference.approval != ApprovalState.APPROVED:
        missing.append(_("Rencana belum disetujui supervisor atau koordinator BK."))
    return missing


def _send_check(conference: Conference, participant: Participant) -> None:
    if participant.removed_at is not None:
        raise ValidationError(_("Peserta dihapus dari KKA."))
    if conference.status not in (ConferenceStatus.PLANNED, ConferenceStatus.INVITED):
        raise ValidationError(_("Undangan hanya dapat dikirim untuk KKA yang sudah direncanakan."))
    if conference.starts_at is None or not conference.place:
        raise ValidationError(_("Tentukan waktu dan tempat pertemuan sebelum mengirim undangan."))
    problem = consent_problem(conference, participant)
    if problem:
        raise ValidationError(problem, code="consent")
    if needs_approval(conference) and conference.approval != ApprovalState.APPROVED:
        raise ValidationError(
            _("Rencana perlu disetujui supervisor atau koordinator BK sebelum undangan dikirim."),
            code="approval",
        )


def _disclose(*, actor: User | None, participant: Participant, kind: str) -> None:
    consent = case_selectors.current_consent(participant.conference.case.client)
    Disclosure.objects.create(participant=participant, kind=kind, consent=consent, actor=actor)


@transaction.atomic
def invitation_send(*, actor: User, participant: Participant, channel: str) -> dict[str, str]:
    """Send (or prepare) one invitation. Returns what the counsellor needs next.

    channel ``email`` mails the text, the private link and an .ics after commit;
    ``whatsapp`` returns a wa.me link with the same neutral text; ``letter`` only
    issues the letter number (the printable letter comes with the documents).
    """
    participant = (
        Participant.objects.select_for_update(of=("self",))
        .select_related("conference__case__organisation", "conference__case__client")
        .get(pk=participant.pk)
    )
    conference = participant.conference
    _send_check(conference, participant)
    if channel == "email" and not participant.email:
        raise ValidationError(_("Peserta ini belum memiliki alamat email."))
    if channel == "whatsapp" and not participant.phone:
        raise ValidationError(_("Peserta ini belum memiliki nomor WhatsApp."))
    if channel not in ("email", "whatsapp", "letter"):
        raise ValueError(channel)
    organisation = conference.case.organisation
    if not participant.letter_number:
        number = letter_number_issue(
            actor=actor,
            organisation=organisation,
            kind="undangan",
            conference=conference,
            participant=participant,
        )
        participant.letter_number = number.number
    # A mailed invitation gets its private link in the mail task (kka.jobs.tasks): the
    # token never travels through the task queue.
    token = portal_link_create(participant=participant) if channel != "email" else ""
    participant.invited_at = participant.invited_at or timezone.now()
    participant.save(update_fields=["letter_number", "invited_at"])
    if conference.status == ConferenceStatus.PLANNED:
        conference.status = ConferenceStatus.INVITED
        conference.save(update_fields=["status"])
        _event(conference, actor=actor, kind="conference_status", detail="planned>invited")
    _disclose(actor=actor, participant=participant, kind=f"invitation_{channel}")
    _audit("invitation.sent", actor=actor, conference=conference, obj=participant, channel=channel)
    result = {"link": portal_url(token) if token else "", "number": participant.letter_number}
    if channel == "email":
        from kka.jobs import tasks
        from kka.jobs.enqueue import enqueue

        # Sent after the commit, by a worker or (without Redis) in-process; the job's
        # key is recorded in this transaction, so a redelivered task sends once.
        enqueue(
            tasks.send_invitation,
            key=f"invitation:{participant.code}:{secrets.token_hex(6)}",
            record=True,
            participant_id=participant.pk,
            actor_id=actor.pk,
        )
    if channel == "whatsapp":
        result["whatsapp"] = whatsapp_url(participant, token)
    return result


def whatsapp_number(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return digits


def invitation_message(participant: Participant, link: str) -> str:
    conference = participant.conference
    zone = conference.case.organisation.time_zone
    with translation.override(participant.language or "id"):
        when = dates.long_datetime(conference.starts_at, zone) if conference.starts_at else ""
        return _(
            "%(text)s\n\nWaktu: %(when)s\nTempat: %(place)s\nNomor: %(number)s\n\n"
            "Tautan pribadi (jangan diteruskan): %(link)s"
        ) % {
            "text": participant.invitation_text,
            "when": when,
            "place": conference.place,
            "number": participant.letter_number,
            "link": link,
        }


def whatsapp_url(participant: Participant, token: str) -> str:
    text = invitation_message(participant, portal_url(token))
    return f"https://wa.me/{whatsapp_number(participant.phone)}?text={quote(text)}"


def _ics_for(participant: Participant, *, method: str) -> bytes:
    from kka.lib.calendar import build_ics

    conference = participant.conference
    organisation = conference.case.organisation
    assert conference.starts_at is not None
    with translation.override(participant.language or "id"):
        summary = _("Pertemuan terbatas di %(org)s") % {"org": organisation.name}
        return build_ics(
            uid=f"kka-{conference.code}@{organisation.code.lower()}.kka",
            sequence=conference.ics_sequence,
            method=method,
            starts_at=conference.starts_at,
            ends_at=conference.ends_at,
            zone_name=organisation.time_zone,
            summary=summary,
            location=conference.place,
            description=participant.invitation_text,
            organiser_email=organisation.email
            or settings.DEFAULT_FROM_EMAIL.split("<")[-1].rstrip(">"),
            organiser_name=organisation.name,
            attendee_email=participant.email,
            attendee_name=participant.full_name,
        )


def send_invitation_email(
    *,
    participant_id: int,
    token: str,
    actor_id: int | None = None,
    before_send: Callable[[], None] | None = None,
) -> None:
    """The invitation mail: the neutral text, the private link, the .ics and the
    official letter as PDF (produced as a finalised document, its sending recorded).

    Every write comes first and the mail last (``before_send`` runs just before it: the
    caller's last writes), so a failed write never leaves a mail whose link and letter
    were rolled back; only a failed commit after the send can (it is then sent again)."""
    from kka.lib.mail import send_templated

    participant = Participant.objects.select_related("conference__case__organisation").get(
        pk=participant_id
    )
    conference = participant.conference
    organisation = conference.case.organisation
    zone = organisation.time_zone
    with translation.override(participant.language or "id"):
        when = dates.long_datetime(conference.starts_at, zone) if conference.starts_at else ""
    attachments = [
        (
            "undangan.ics",
            _ics_for(participant, method="REQUEST"),
            "text/calendar; method=REQUEST",
        )
    ]
    # Who sent it (the case's counsellor when not known, e.g. when called directly).
    sender = User.objects.filter(pk=actor_id).first() if actor_id else None
    sender = sender or conference.case.owner
    letter = _invitation_letter(participant, actor=sender)
    if letter is not None:
        from kka.documents import services as document_services

        attachments.insert(0, letter[:3])
        document_services.record_access(
            document=letter[3], channel="email", user=sender, participant=participant
        )
    if before_send is not None:
        before_send()
    send_templated(
        to=participant.email,
        template="conferences/emails/invitation",
        language=participant.language or "id",
        context={
            "participant": participant,
            "organisation": organisation,
            "conference": conference,
            "when": when,
            "link": portal_url(token),
        },
        attachments=attachments,
    )


def _invitation_letter(
    participant: Participant, *, actor: User
) -> tuple[str, bytes, str, Any] | None:
    """The participant's invitation letter as a finalised PDF (its existing number; a
    letter already sent is attached again as it was). None, logged by code only, if it
    could not be produced: the invitation itself must still go out."""
    from kka.documents import services as document_services

    try:
        document = document_services.produce(
            actor=actor, kind="undangan", fmt="pdf", participant=participant, finalise=True
        )
        data = document_services.document_bytes(document)
    except Exception as error:  # the mail goes out without the letter
        import logging

        logging.getLogger(__name__).error(
            "invitation letter not produced for participant %s (%s)",
            participant.code,
            type(error).__name__,
        )
        return None
    return (document_services.filename(document), data, "application/pdf", document)


def _enqueue_calendar_updates(conference: Conference) -> None:
    """One mail task per invited participant after the commit; the key names the
    participant and the calendar SEQUENCE, so each update is sent once."""
    from kka.jobs import tasks
    from kka.jobs.enqueue import enqueue

    for participant in conference.participants.filter(
        invited_at__isnull=False, removed_at__isnull=True
    ).only("id", "code"):
        enqueue(
            tasks.send_calendar_update,
            key=f"calendar:{participant.code}:{conference.ics_sequence}",
            record=True,
            participant_id=participant.pk,
        )


def send_calendar_updates(*, conference_id: int) -> None:
    """After a reschedule or cancellation: an update (same UID, higher SEQUENCE)."""
    conference = Conference.objects.get(pk=conference_id)
    for participant in conference.participants.filter(
        invited_at__isnull=False, removed_at__isnull=True
    ):
        send_calendar_update(participant_id=participant.pk)


def send_calendar_update(*, participant_id: int) -> bool:
    """The update of one invited participant (False when there is nothing to send)."""
    from kka.lib.mail import send_templated

    participant = Participant.objects.select_related("conference__case__organisation").get(
        pk=participant_id
    )
    conference = participant.conference
    organisation = conference.case.organisation
    cancelled = conference.status == ConferenceStatus.CANCELLED
    if participant.invited_at is None or participant.removed_at is not None:
        return False
    if not participant.email or conference.starts_at is None:
        return False
    with translation.override(participant.language or "id"):
        when = dates.long_datetime(conference.starts_at, organisation.time_zone)
    method = "CANCEL" if cancelled else "REQUEST"
    send_templated(
        to=participant.email,
        template="conferences/emails/cancelled" if cancelled else "conferences/emails/changed",
        language=participant.language or "id",
        context={
            "participant": participant,
            "organisation": organisation,
            "conference": conference,
            "when": when,
        },
        attachments=[
            (
                "undangan.ics",
                _ics_for(participant, method=method),
                f"text/calendar; method={method}",
            )
        ],
    )
    return True


# --- the participant's side (portal) ---------------------------------------------------------


def portal_participant(token: str) -> tuple[Participant, PortalLink] | None:
    """The participant a token belongs to, if the link still works; otherwise None."""
    link = (
        PortalLink.objects.select_related("participant__conference__case__client__organisation")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if link is None:
        return None
    return (link.participant, link) if link_is_valid(link) else None


def link_is_valid(link: PortalLink) -> bool:
    if link.revoked_at is not None:
        return False
    participant = link.participant
    if participant.removed_at is not None:
        return False
    conference = participant.conference
    if conference.status == ConferenceStatus.CANCELLED:
        return False
    if conference.status == ConferenceStatus.CLOSED:
        closed_at = conference.updated_at
        # After the grace period the link only serves a participant who still has an
        # open commitment to report on.
        if timezone.now() > closed_at + PORTAL_GRACE and not (
            participant.commitments.filter(  # type: ignore[attr-defined]
                status__in=OPEN_COMMITMENT_STATUSES
            ).exists()
        ):
            return False
    # A withdrawn consent cuts every link it no longer covers, on the next request.
    consent = case_selectors.current_consent(conference.case.client)
    # Kept for this request's disclosure rows (portal_page_shown): read once per page.
    participant._kka_portal_consent = consent  # type: ignore[attr-defined]
    return consent_problem(conference, participant, consent=consent) is None


@transaction.atomic
def portal_opened(*, participant: Participant) -> None:
    if participant.first_opened_at is None:
        participant.first_opened_at = timezone.now()
        participant.save(update_fields=["first_opened_at"])
    audit_log(
        action="portal.opened",
        organisation=participant.conference.case.organisation_id,
        object_type="participant",
        object_ref=participant.code,
        refs={"conference": participant.conference.code},
    )


@transaction.atomic
def portal_rsvp(*, participant: Participant, answer: str, note: str = "") -> Participant:
    if answer not in (Rsvp.YES, Rsvp.NO, Rsvp.DELEGATE):
        raise ValidationError(_("Pilih jawaban kehadiran."))
    participant.rsvp = answer
    participant.rsvp_note = note.strip()[:1000]
    participant.rsvp_at = timezone.now()
    participant.save(update_fields=["rsvp", "rsvp_note", "rsvp_at"])
    audit_log(
        action="portal.rsvp",
        organisation=participant.conference.case.organisation_id,
        object_type="participant",
        object_ref=participant.code,
        refs={"conference": participant.conference.code, "answer": answer},
    )
    return participant


@transaction.atomic
def pledge_take(
    *,
    participant: Participant,
    typed_name: str,
    agreed: bool,
    ip: str | None,
    channel: str,
    actor: User | None = None,
) -> Participant:
    """The confidentiality pledge: typed full name and explicit agreement."""
    typed = " ".join(typed_name.split())
    if not agreed:
        raise ValidationError(_("Centang pernyataan persetujuan untuk melanjutkan."))
    if len(typed) < 3:
        raise ValidationError(_("Tuliskan nama lengkap Anda."))
    participant.pledged_at = timezone.now()
    participant.pledge_name = typed
    participant.pledge_ip = ip
    participant.pledge_channel = channel
    participant.save(update_fields=["pledged_at", "pledge_name", "pledge_ip", "pledge_channel"])
    audit_log(
        action="pledge.taken",
        actor=actor,
        organisation=participant.conference.case.organisation_id,
        object_type="participant",
        object_ref=participant.code,
        refs={"conference": participant.conference.code, "channel": channel},
    )
    return participant


@transaction.atomic
def briefing_shown(*, participant: Participant) -> None:
    _disclose(actor=None, participant=participant, kind="briefing_view")
    audit_log(
        action="portal.briefing_viewed",
        organisation=participant.conference.case.organisation_id,
        object_type="participant",
        object_ref=participant.code,
        refs={"conference": participant.conference.code},
    )


@transaction.atomic
def shared_minutes_shown(*, participant: Participant) -> None:
    """The shared layer of finalised minutes was shown to a participant (never the private one)."""
    _disclose(actor=None, participant=participant, kind="shared_minutes_view")
    audit_log(
        action="portal.minutes_viewed",
        organisation=participant.conference.case.organisation_id,
        object_type="participant",
        object_ref=participant.code,
        refs={"conference": participant.conference.code},
    )


@transaction.atomic
def portal_page_shown(*, participant: Participant, briefing: bool, shared_minutes: bool) -> None:
    """The portal page showed the briefing and/or the shared layer of the finalised
    minutes: what :func:`briefing_shown` and :func:`shared_minutes_shown` record, with
    the consent read once and the rows written together (one page view, fewer queries)."""
    kinds = [
        (kind, action)
        for shown, kind, action in (
            (briefing, "briefing_view", "portal.briefing_viewed"),
            (shared_minutes, "shared_minutes_view", "portal.minutes_viewed"),
        )
        if shown
    ]
    if not kinds:
        return
    conference = participant.conference
    # The consent the link check of this request read (link_is_valid), else read now.
    consent = getattr(participant, "_kka_portal_consent", _LOOK_UP)
    if consent is _LOOK_UP:
        consent = case_selectors.current_consent(conference.case.client)
    Disclosure.objects.bulk_create(
        [
            Disclosure(participant=participant, kind=kind, consent=consent, actor=None)
            for kind, _action in kinds
        ]
    )
    audit_log_many(
        [
            {
                "action": action,
                "organisation": conference.case.organisation_id,
                "object_type": "participant",
                "object_ref": participant.code,
                "refs": {"conference": conference.code},
            }
            for _kind, action in kinds
        ]
    )


# --- voiding a letter number -----------------------------------------------------------


@transaction.atomic
def letter_number_void(*, actor: User, number: LetterNumber, reason: str) -> LetterNumber:
    """Void an issued number (a letter not sent, or sent by mistake). The number stays
    in the register with the reason, and is never issued again: no gaps, no reuse."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Tuliskan alasan pembatalan nomor surat."), code="reason")
    if len(reason) > 200:
        raise ValidationError(
            _("Alasan pembatalan paling panjang 200 karakter."), code="reason_length"
        )
    number = LetterNumber.objects.select_for_update().get(pk=number.pk)
    if number.voided_at is not None:
        raise ValidationError(_("Nomor surat ini sudah dibatalkan."), code="already_voided")
    number.voided_at = timezone.now()
    number.void_reason = reason
    number.save(update_fields=["voided_at", "void_reason"])
    audit_log(
        action="letter.number_voided",
        actor=actor,
        actor_role=role_in(actor, number.organisation_id),
        organisation=number.organisation_id,
        object_type="letternumber",
        object_ref=f"{number.year}/{number.seq}",
        refs={
            "kind": number.kind,
            "conference": number.conference.code if number.conference else "",
        },
    )
    return number
