"""The laporan pelaksanaan of a KKA: seven components (DOMAIN §2.6), pre-filled from
the record and edited by the counsellor before finalising.

``report_defaults`` writes each component from what KKA holds (plan, attendance,
shared minutes, commitments, laiseg, process evaluation, laijapen/laijapang,
follow-ups) — never the counsellor's private notes, private addenda or the case's
own description. A component the counsellor edited replaces its default; finalising
freezes all seven texts, after which the report is read-only.

The text written here is document text: always Indonesian (documents are never
translated), so it is plain strings; choice labels are read under
``translation.override("id")``.

Also here: small read helpers the notulen, laporan and komitmen documents share
(who a party is, attendance groups, pseudonymising the client's name).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kka.accounts.models import User
from kka.accounts.policy import role_in
from kka.audit.services import audit_log
from kka.cases import selectors as case_selectors
from kka.cases.models import Client
from kka.conferences.forms import LAISEG_QUESTIONS, PROCESS_QUESTIONS
from kka.conferences.models import (
    CLIENT_CATEGORY,
    FUNCTIONS,
    LATER_EVALUATION_KINDS,
    OPEN_COMMITMENT_STATUSES,
    Attendance,
    Commitment,
    CommitmentResult,
    CommitmentStatus,
    Conference,
    ConferenceStatus,
    DataNeeds,
    Evaluation,
    EvaluationKind,
    EvaluationScheme,
    FollowUp,
    FollowUpKind,
    Minutes,
    Participant,
    ReferralTo,
    Report,
)
from kka.lib import dates

# The seven components, in the order of the laporan (field name, lazy heading).
COMPONENTS: tuple[tuple[str, Any], ...] = (
    ("jenis_kegiatan", gettext_lazy("Jenis kegiatan")),
    ("waktu", gettext_lazy("Waktu")),
    ("sasaran", gettext_lazy("Sasaran")),
    ("hasil", gettext_lazy("Hasil yang dicapai")),
    ("analisis", gettext_lazy("Analisis hasil penilaian proses dan hasil")),
    ("tindak_lanjut", gettext_lazy("Rencana tindak lanjut")),
    ("faktor", gettext_lazy("Faktor pendukung dan penghambat")),
)
COMPONENT_NAMES = tuple(name for name, _label in COMPONENTS)
COMPONENT_MAX = 10_000
# The report is written after the meeting.
REPORT_STATUSES = {ConferenceStatus.HELD, ConferenceStatus.CLOSED}


# --- shared read helpers (document text: Indonesian) ----------------------------------------


def one_line(text: str) -> str:
    return " ".join((text or "").split())


def sentence(text: str) -> str:
    """``text`` ending in exactly one full stop ("S.R." stays "S.R.")."""
    text = text.rstrip()
    return text if text.endswith(".") else f"{text}."


def lower(label: Any) -> str:
    return str(label).lower()


def pseudonym(client: Client) -> str:
    return f"Konseli berinisial {client.initials or '—'}"


def pseudonymise(text: str, client: Client) -> str:
    """``text`` with the client's full name and each part of it (3 letters or more,
    whole words, any case) replaced by the initials."""
    initials = client.initials or "—"
    name = one_line(client.full_name or "")
    if not name or not text:
        return text
    result = re.sub(re.escape(name), initials, text, flags=re.IGNORECASE)
    for part in sorted(set(name.split()), key=len, reverse=True):
        if len(part) >= 3:
            result = re.sub(rf"\b{re.escape(part)}\b", initials, result, flags=re.IGNORECASE)
    return result


def party_name(participant: Participant, client: Client) -> str:
    """The participant's name; the client taking part is named by initials only."""
    if participant.category == CLIENT_CATEGORY:
        return pseudonym(client)
    return participant.full_name


def party_label(participant: Participant, client: Client) -> str:
    """ "Wulan Sari (Ibu)"; the client taking part is named by initials only."""
    if participant.category == CLIENT_CATEGORY:
        return pseudonym(client)
    return f"{participant.full_name} ({participant.role})"


def commitment_party(commitment: Commitment, client: Client) -> str:
    if commitment.participant is not None:
        return party_label(commitment.participant, client)
    name = commitment.counsellor.full_name if commitment.counsellor is not None else ""
    return f"{name} (konselor)"


def commitments(conference: Conference) -> list[Commitment]:
    return list(
        Commitment.objects.filter(conference=conference)
        .select_related("participant", "counsellor")
        .order_by("due_on", "id")
    )


def participants(conference: Conference) -> list[Participant]:
    return list(conference.participants.filter(removed_at__isnull=True).order_by("position", "id"))


def attendance_groups(conference: Conference) -> dict[str, list[Participant]]:
    """Participants by attendance (present, absent, represented, left early, unknown)."""
    groups: dict[str, list[Participant]] = {value: [] for value in Attendance.values}
    for participant in participants(conference):
        groups.setdefault(participant.attendance, []).append(participant)
    return groups


def date_text(value: Any) -> str:
    return dates.long_date(value) if value else "-"


def time_range(conference: Conference) -> str:
    """ "09.00 s.d. 10.30 WIB", or "-" when the start is not set."""
    zone = conference.case.organisation.time_zone
    if conference.starts_at is None:
        return "-"
    text = f"{dates.local(conference.starts_at, zone):%H.%M}"
    if conference.ends_at is not None:
        text += f" s.d. {dates.local(conference.ends_at, zone):%H.%M}"
    return f"{text} {dates.zone_abbreviation(zone)}"


def meeting_day_text(conference: Conference) -> str:
    if conference.starts_at is None:
        return "-"
    return dates.long_date(conference.starts_at, conference.case.organisation.time_zone)


def due_text(commitment: Commitment) -> str:
    return date_text(commitment.due_on) if commitment.due_on else "-"


def followups(conference: Conference) -> list[FollowUp]:
    return list(
        FollowUp.objects.filter(conference=conference)
        .select_related("next_conference__case__organisation")
        .order_by("created_at", "id")
    )


def followup_line(followup: FollowUp, *, with_note: bool) -> str:
    """ "Alih tangan kasus kepada Psikolog (Nama), rencana Senin, ..., direncanakan"."""
    head = str(FollowUpKind(followup.kind).label)
    if followup.referral_to:
        target = str(ReferralTo(followup.referral_to).label)
        if followup.referral_to_name:
            target = f"{target} ({followup.referral_to_name})"
        head = f"{head} kepada {target}"
    parts = [head]
    if followup.kind == FollowUpKind.NEXT_KKA and followup.next_conference is not None:
        nxt = followup.next_conference
        parts.append(f"KKA {nxt.sequence}, {meeting_day_text(nxt)}")
    if followup.planned_on:
        parts.append(f"rencana {date_text(followup.planned_on)}")
    parts.append(lower(followup.get_status_display()))
    line = ", ".join(parts)
    if with_note and followup.note:
        line += f": {one_line(followup.note)}"
    return line


# --- the defaults ----------------------------------------------------------------------------


def _lines(*items: str) -> str:
    return "\n".join(item for item in items if item)


def _bullets(items: list[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def _minutes(conference: Conference) -> Minutes | None:
    return Minutes.objects.filter(conference=conference).first()


def _jenis_kegiatan(conference: Conference) -> str:
    organisation = conference.case.organisation
    client = conference.case.client
    functions = dict(FUNCTIONS)
    labels = [lower(functions[f]) for f in conference.functions or [] if f in functions]
    bidang = case_selectors.bidang_label(organisation, conference.bidang).lower()
    return _lines(
        f"Konferensi kasus, kegiatan pendukung layanan bimbingan dan konseling, bidang {bidang}.",
        f"Fungsi kegiatan: {', '.join(labels)}." if labels else "",
        f"Topik: {pseudonymise(one_line(conference.topic), client)}" if conference.topic else "",
        f"Tujuan: {pseudonymise(one_line(conference.aim), client)}" if conference.aim else "",
    )


def _waktu(conference: Conference) -> str:
    if conference.starts_at is None:
        text = "Waktu belum tercatat."
        return sentence(f"{text} Tempat: {conference.place}") if conference.place else text
    text = f"{meeting_day_text(conference)}, pukul {time_range(conference)}"
    return sentence(f"{text}, di {conference.place}" if conference.place else text)


def _sasaran(conference: Conference) -> str:
    client = conference.case.client
    groups = attendance_groups(conference)
    everyone = participants(conference)
    present = groups[Attendance.PRESENT] + groups[Attendance.LEFT_EARLY]
    lines = [sentence(f"Sasaran layanan: {pseudonym(client)}")]
    if everyone:
        names = "; ".join(party_label(p, client) for p in everyone)
        lines.append(sentence(f"Pihak yang diikutsertakan ({len(everyone)} orang): {names}"))
        lines.append(f"Hadir {len(present)} dari {len(everyone)} orang.")
    else:
        lines.append("Belum ada pihak yang diikutsertakan.")
    lines.append(f"Keikutsertaan konseli: {lower(conference.get_client_participation_display())}.")
    return _lines(*lines)


def _laiseg_lines(conference: Conference) -> list[str]:
    client = conference.case.client
    lines: list[str] = []
    evaluations = (
        Evaluation.objects.filter(conference=conference, kind=EvaluationKind.LAISEG)
        .select_related("participant")
        .order_by("created_at", "id")
    )
    for evaluation in evaluations:
        questions = LAISEG_QUESTIONS.get(evaluation.scheme, LAISEG_QUESTIONS[EvaluationScheme.UCA])
        answers = evaluation.answers_dict
        parts = [
            f"{label}: {one_line(answers[key]).rstrip('.')}"
            for key, label, _question in questions
            if answers.get(key)
        ]
        if not parts:
            continue
        who = (
            party_label(evaluation.participant, client)
            if evaluation.participant is not None
            else "Konselor"
        )
        lines.append(f"{who}. " + "; ".join(parts) + ".")
    return lines


def _commitment_counts(items: list[Commitment]) -> str:
    counts: dict[str, int] = {}
    for item in items:
        counts[item.status] = counts.get(item.status, 0) + 1
    return ", ".join(
        f"{counts[status]} {lower(label)}"
        for status, label in CommitmentStatus.choices
        if counts.get(status)
    )


def _commitment_row(item: Commitment, client: Client, *, status: bool) -> str:
    due = f" (sampai {date_text(item.due_on)})" if item.due_on else ""
    row = f"{commitment_party(item, client)}: {one_line(item.what)}{due}"
    return f"{row}; {lower(item.get_status_display())}" if status else row


def _hasil(conference: Conference) -> str:
    client = conference.case.client
    minutes = _minutes(conference)
    items = commitments(conference)
    blocks: list[str] = []
    if minutes is not None and minutes.conclusions:
        blocks.append(f"Kesimpulan pertemuan: {minutes.conclusions}")
    if minutes is not None and minutes.data_obtained:
        blocks.append(f"Data yang diperoleh: {minutes.data_obtained}")
    if minutes is not None and minutes.data_needs:
        blocks.append(f"Kebutuhan data: {lower(DataNeeds(minutes.data_needs).label)}.")
    if items:
        rows = [_commitment_row(item, client, status=True) for item in items]
        blocks.append(
            f"Komitmen yang disepakati ({len(items)}): {_commitment_counts(items)}.\n"
            + _bullets(rows)
        )
    laiseg = _laiseg_lines(conference)
    if laiseg:
        blocks.append(f"Penilaian segera (laiseg) dari {len(laiseg)} peserta:\n" + _bullets(laiseg))
    return "\n\n".join(blocks) or "Hasil pertemuan belum tercatat."


def _later_lines(conference: Conference) -> list[str]:
    results = dict(CommitmentResult.choices)
    zone = conference.case.organisation.time_zone
    lines: list[str] = []
    evaluations = Evaluation.objects.filter(
        conference=conference, kind__in=LATER_EVALUATION_KINDS, done_at__isnull=False
    ).order_by("due_on", "id")
    for evaluation in evaluations:
        assert evaluation.done_at is not None  # filtered above; narrows the type
        parts = [f"{evaluation.get_kind_display()}, {dates.long_date(evaluation.done_at, zone)}."]
        if evaluation.client_situation:
            situation = pseudonymise(one_line(evaluation.client_situation), conference.case.client)
            parts.append(f"Keadaan konseli: {situation}")
        tally: dict[str, int] = {}
        for item in evaluation.commitment_results_dict.values():
            tally[item.get("result", "")] = tally.get(item.get("result", ""), 0) + 1
        counted = [f"{n} {lower(results[key])}" for key, n in tally.items() if key in results]
        if counted:
            parts.append(f"Hasil komitmen: {', '.join(counted)}.")
        if evaluation.analysis:
            parts.append(f"Analisis: {one_line(evaluation.analysis)}")
        if evaluation.data_needs_met:
            parts.append(f"Kebutuhan data: {lower(DataNeeds(evaluation.data_needs_met).label)}.")
        lines.append(" ".join(parts))
    return lines


def _analisis(conference: Conference) -> str:
    blocks: list[str] = []
    process = Evaluation.objects.filter(conference=conference, kind=EvaluationKind.PROCESS).first()
    if process is not None:
        answers = process.answers_dict
        rows = [
            f"{label}: {one_line(answers[key])}"
            for key, label, _question in PROCESS_QUESTIONS
            if answers.get(key)
        ]
        if rows:
            blocks.append("Penilaian proses:\n" + _bullets(rows))
    later = _later_lines(conference)
    if later:
        blocks.append("Penilaian hasil:\n" + _bullets(later))
    minutes = _minutes(conference)
    if minutes is not None and minutes.data_wanted:
        needs = minutes.data_needs
        state = lower(DataNeeds(needs).label) if needs else "belum dinilai"
        wanted = one_line(minutes.data_wanted).rstrip(".")
        blocks.append(
            f"Dibandingkan dengan data yang ingin diperoleh ({wanted}), kebutuhan data {state}."
        )
    return "\n\n".join(blocks) or "Penilaian proses dan hasil belum tercatat."


def _tindak_lanjut(conference: Conference) -> str:
    client = conference.case.client
    blocks: list[str] = []
    planned = [followup_line(f, with_note=True) for f in followups(conference)]
    if planned:
        blocks.append("Tindak lanjut yang direncanakan:\n" + _bullets(planned))
    minutes = _minutes(conference)
    if minutes is not None and minutes.directions:
        blocks.append(f"Arah penanganan:\n{minutes.directions}")
    still_open = [c for c in commitments(conference) if c.status in OPEN_COMMITMENT_STATUSES]
    if still_open:
        rows = [_commitment_row(item, client, status=False) for item in still_open]
        blocks.append("Komitmen yang masih dipantau:\n" + _bullets(rows))
    scheduled = [
        f"{e.get_kind_display()}, jadwal {date_text(e.due_on)}"
        for e in Evaluation.objects.filter(
            conference=conference, kind__in=LATER_EVALUATION_KINDS, done_at__isnull=True
        ).order_by("due_on", "id")
    ]
    if scheduled:
        blocks.append("Penilaian yang akan dilakukan:\n" + _bullets(scheduled))
    return "\n\n".join(blocks) or "Rencana tindak lanjut belum tercatat."


def _faktor(conference: Conference) -> str:
    groups = attendance_groups(conference)
    everyone = participants(conference)
    present = groups[Attendance.PRESENT] + groups[Attendance.LEFT_EARLY]
    items = commitments(conference)
    minutes = _minutes(conference)
    support: list[str] = []
    hinder: list[str] = []
    if everyone and len(present) == len(everyone):
        support.append("Semua pihak yang diundang hadir.")
    elif everyone:
        support.append(f"{len(present)} dari {len(everyone)} pihak yang diundang hadir.")
    attending = present + groups[Attendance.REPRESENTED]
    if attending and all(p.pledged_at is not None for p in attending):
        support.append("Semua peserta yang hadir menyatakan komitmen kerahasiaan.")
    if items:
        support.append(f"Setiap pihak menyepakati peran dan komitmennya ({len(items)} komitmen).")
    done = [c for c in items if c.status == CommitmentStatus.DONE]
    if done:
        support.append(f"{len(done)} komitmen sudah terlaksana.")
    if minutes is not None and minutes.data_needs == DataNeeds.MET:
        support.append("Kebutuhan data terpenuhi.")
    absent = groups[Attendance.ABSENT]
    if absent:
        hinder.append(f"Tidak hadir: {', '.join(p.role for p in absent)}.")
    left = groups[Attendance.LEFT_EARLY]
    if left:
        hinder.append(f"Meninggalkan pertemuan lebih awal: {', '.join(p.role for p in left)}.")
    if minutes is not None and minutes.data_needs in (DataNeeds.PARTLY, DataNeeds.NOT_MET):
        hinder.append(f"Kebutuhan data {lower(DataNeeds(minutes.data_needs).label)}.")
    not_done = [c for c in items if c.status == CommitmentStatus.NOT_DONE]
    if not_done:
        hinder.append(f"{len(not_done)} komitmen tidak terlaksana.")
    today = dates.local(timezone.now(), conference.case.organisation.time_zone).date()
    overdue = [
        c for c in items if c.status in OPEN_COMMITMENT_STATUSES and c.due_on and c.due_on < today
    ]
    if overdue:
        hinder.append(f"{len(overdue)} komitmen melewati batas waktu dan masih berjalan.")
    return (
        "Faktor pendukung:\n"
        + (_bullets(support) if support else "- belum tercatat")
        + "\n\nFaktor penghambat:\n"
        + (_bullets(hinder) if hinder else "- tidak ada hambatan yang tercatat")
    )


_DEFAULTS = {
    "jenis_kegiatan": _jenis_kegiatan,
    "waktu": _waktu,
    "sasaran": _sasaran,
    "hasil": _hasil,
    "analisis": _analisis,
    "tindak_lanjut": _tindak_lanjut,
    "faktor": _faktor,
}


def report_defaults(conference: Conference) -> dict[str, str]:
    """The text KKA writes for each component from the record, in Indonesian (the
    laporan is an Indonesian document whatever the page's language)."""
    with translation.override("id"):
        return {name: _DEFAULTS[name](conference) for name in COMPONENT_NAMES}


def report_for(conference: Conference) -> Report | None:
    """The saved narrative, or None (reading never creates a row)."""
    return Report.objects.filter(conference=conference).first()


def report_texts(conference: Conference) -> dict[str, str]:
    """What the laporan shows: the counsellor's text where they wrote one, the
    default elsewhere; a finalised report exactly as frozen."""
    report = report_for(conference)
    if report is not None and report.finalised_at is not None:
        return {name: getattr(report, name) for name in COMPONENT_NAMES}
    defaults = report_defaults(conference)
    if report is None:
        return defaults
    return {name: getattr(report, name) or defaults[name] for name in COMPONENT_NAMES}


def edited_components(report: Report | None) -> set[str]:
    """Components whose text the counsellor wrote (all of them once finalised)."""
    if report is None:
        return set()
    return {name for name in COMPONENT_NAMES if getattr(report, name)}


# --- writes ----------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()


def same_text(a: str, b: str) -> bool:
    """Equal but for line endings and trailing spaces (what a textarea changes)."""
    return _normalise(a or "") == _normalise(b or "")


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


def _locked_report(conference: Conference) -> Report:
    Report.objects.get_or_create(conference=conference)
    return Report.objects.select_for_update().get(conference=conference)


def _check_open(conference: Conference, report: Report) -> None:
    if conference.status not in REPORT_STATUSES:
        raise ValidationError(_("Laporan ditulis setelah KKA terlaksana."))
    if report.finalised_at is not None:
        raise ValidationError(_("Laporan sudah difinalkan dan tidak dapat diubah."))


@transaction.atomic
def report_save(*, actor: User, conference: Conference, values: dict[str, str]) -> Report:
    """Save the counsellor's narrative. A component left empty, or identical to the
    default, is stored empty: the laporan keeps following the record there."""
    unknown = set(values) - set(COMPONENT_NAMES)
    if unknown:
        raise ValueError(f"not report components: {sorted(unknown)}")
    report = _locked_report(conference)
    _check_open(conference, report)
    defaults = report_defaults(conference)
    labels = dict(COMPONENTS)
    changed: list[str] = []
    for name, value in values.items():
        text = _normalise(value or "")
        if len(text) > COMPONENT_MAX:
            raise ValidationError(
                _("%(component)s: paling panjang %(max)s karakter.")
                % {"component": labels[name], "max": COMPONENT_MAX}
            )
        if text == _normalise(defaults[name]):
            text = ""
        if getattr(report, name) != text:
            setattr(report, name, text)
            changed.append(name)
    if changed:
        report.updated_at = timezone.now()
        report.updated_by = actor
        report.full_clean()
        report.save()
        _audit("report.saved", actor=actor, conference=conference, components=",".join(changed))
    return report


@transaction.atomic
def report_finalise(*, actor: User, conference: Conference) -> Report:
    """Freeze all seven texts (defaults included); the report is read-only afterwards."""
    report = _locked_report(conference)
    _check_open(conference, report)
    texts = report_texts(conference)
    for name in COMPONENT_NAMES:
        setattr(report, name, texts[name])
    now = timezone.now()
    report.updated_at = now
    report.updated_by = actor
    report.finalised_at = now
    report.finalised_by = actor
    report.full_clean()
    report.save()
    _audit("report.finalised", actor=actor, conference=conference)
    return report
