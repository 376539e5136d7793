"""Evaluation forms: laiseg (immediate, per participant), laijapen and laijapang (later,
per KKA) and the process evaluation, each with what was recorded or, where nothing
is recorded yet, dotted lines and boxes to fill in by hand.

``penilaian`` is about one evaluation row; ``penilaian_segera_kosong`` is the blank
laiseg form of a KKA, one page per participant (for those who answer on paper).
Laiseg forms go to participants, so they name the KKA by its number and date only:
never the client, the topic or the problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kka.conferences.followup import ANSWER_KEYS
from kka.conferences.forms import LAISEG_QUESTIONS, PROCESS_QUESTIONS
from kka.conferences.models import (
    Attendance,
    CommitmentResult,
    Conference,
    ConferenceStatus,
    DataNeeds,
    Evaluation,
    EvaluationKind,
    EvaluationScheme,
    Minutes,
    Participant,
)
from kka.documents import common
from kka.documents.blocks import (
    Block,
    Doc,
    Fields,
    Heading,
    PageBreak,
    Paragraph,
    Signature,
    Signatures,
    Spacer,
    Table,
)
from kka.documents.registry import Kind, Subject, register
from kka.lib import dates

CODE = "penilaian"
BLANK_CODE = "penilaian_segera_kosong"
DOTS = "." * 110
NAME_LINE = "(" + "." * 40 + ")"
EMPTY = "-"
BOX = "\u2610"  # ☐
# The Indonesian name of each answer key, as used in an organisation's own template.
ANSWER_FIELD = {
    "understanding": "pemahaman",
    "comfort": "perasaan",
    "action": "rencana_tindakan",
    "berpikir": "berpikir",
    "merasa": "merasa",
    "bersikap": "bersikap",
    "bertindak": "bertindak",
    "bertanggung_jawab": "bertanggung_jawab",
    "participation": "partisipasi",
    "atmosphere": "suasana",
    "adherence": "kesesuaian_rencana",
}
TITLES = {
    EvaluationKind.LAISEG: "Formulir Penilaian Segera (Laiseg)",
    EvaluationKind.LAIJAPEN: "Formulir Penilaian Jangka Pendek (Laijapen)",
    EvaluationKind.LAIJAPANG: "Formulir Penilaian Jangka Panjang (Laijapang)",
    EvaluationKind.PROCESS: "Formulir Evaluasi Proses Konferensi Kasus",
}


def _indonesian(function: Callable[..., Any]) -> Callable[..., Any]:
    """Documents are always in Indonesian, whatever the producer's UI language."""

    def wrapper(*args: Any) -> Any:
        with translation.override("id"):
            return function(*args)

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


def _lines(count: int) -> tuple[Paragraph, ...]:
    return tuple(Paragraph(DOTS, align="left") for _ in range(count))


def _boxes(labels: list[str]) -> str:
    return "   ".join(f"{BOX} {label}" for label in labels)


def _conference_day(conference: Conference) -> str:
    if conference.starts_at is None:
        return EMPTY
    zone = conference.case.organisation.time_zone
    return dates.long_date(dates.local(conference.starts_at, zone).date())


def _scheme_of(organisation: Any) -> str:
    scheme = organisation.evaluation_scheme
    return scheme if scheme in ANSWER_KEYS else EvaluationScheme.UCA


def _questions(scheme: str) -> tuple[tuple[str, Any, Any], ...]:
    return LAISEG_QUESTIONS.get(scheme, LAISEG_QUESTIONS[EvaluationScheme.UCA])


def _minutes(conference: Conference) -> Minutes | None:
    return Minutes.objects.filter(conference=conference).first()


def _kka_identity(conference: Conference) -> dict[str, str]:
    return {
        "nomor_kka": str(conference.sequence),
        "kode_kasus": conference.case.code,
        "tanggal_kka": _conference_day(conference),
    }


# --- one evaluation (laiseg, laijapen, laijapang, process) ------------------------------------


def _evaluation(subject: Subject) -> Evaluation:
    evaluation = subject.evaluation
    if evaluation is None or evaluation.kind not in TITLES:
        raise ValidationError(_("Formulir penilaian memerlukan penilaian KKA."))
    return evaluation


def _party(commitment: Any) -> str:
    if commitment.participant is not None:
        return commitment.participant.role
    return "Konselor"


def _commitment_rows(evaluation: Evaluation) -> list[tuple[str, str, str, str]]:
    """(commitment, party role, result, note) for every commitment of the KKA."""
    results = evaluation.commitment_results_dict
    labels = {value: str(label) for value, label in CommitmentResult.choices}
    rows = []
    commitments = evaluation.conference.commitments.select_related(  # type: ignore[attr-defined]
        "participant"
    ).order_by("due_on", "id")
    for commitment in commitments:
        recorded = results.get(commitment.code)
        if recorded is None:
            result = "\n".join(f"{BOX} {label}" for label in labels.values())
            note = ""
        else:
            result = labels.get(recorded.get("result", ""), EMPTY)
            note = recorded.get("note", "")
        rows.append((" ".join(commitment.what.split()), _party(commitment), result, note))
    return rows


@_indonesian
def fields(subject: Subject) -> dict[str, str]:
    evaluation = _evaluation(subject)
    conference = evaluation.conference
    organisation = subject.organisation
    recorded = evaluation.done_at is not None
    participant = evaluation.participant
    values = {
        **_kka_identity(conference),
        "jenis_penilaian": TITLES[EvaluationKind(evaluation.kind)],
        "jadwal_penilaian": dates.long_date(evaluation.due_on) if evaluation.due_on else EMPTY,
        "dicatat_pada": (
            dates.long_datetime(evaluation.done_at, organisation.time_zone)
            if evaluation.done_at is not None
            else ""
        ),
        "dicatat_oleh": (
            evaluation.recorded_by.full_name
            if evaluation.recorded_by is not None
            else ("peserta lewat tautan pribadi" if recorded else "")
        ),
        "nama_peserta": participant.full_name if participant is not None else "",
        "peran_peserta": participant.role if participant is not None else "",
        "skema": "",
        "keadaan_konseli": evaluation.client_situation,
        "hasil_komitmen": "",
        "analisis": evaluation.analysis,
        "kebutuhan_data": (
            str(DataNeeds(evaluation.data_needs_met).label) if evaluation.data_needs_met else ""
        ),
        "tujuan_kegiatan": "",
        "hasil_yang_ingin_dicapai": "",
        "nama_konselor": subject.viewer.full_name,
        "dibuat_untuk": subject.viewer.full_name,
    }
    for name in ANSWER_FIELD.values():
        values[f"jawaban_{name}"] = ""
    answers = evaluation.answers_dict
    if evaluation.kind == EvaluationKind.LAISEG:
        scheme = evaluation.scheme or _scheme_of(organisation)
        values["skema"] = str(EvaluationScheme(scheme).label)
        if participant is None:
            values["nama_peserta"] = (
                evaluation.recorded_by.full_name if evaluation.recorded_by else ""
            )
            values["peran_peserta"] = "Konselor"
        for key, _name, _question in _questions(scheme):
            values[f"jawaban_{ANSWER_FIELD[key]}"] = answers.get(key, "")
    elif evaluation.kind == EvaluationKind.PROCESS:
        for key, _name, _question in PROCESS_QUESTIONS:
            values[f"jawaban_{ANSWER_FIELD[key]}"] = answers.get(key, "")
    else:
        values["tujuan_kegiatan"] = conference.aim
        values["hasil_yang_ingin_dicapai"] = conference.expected_results
        values["hasil_komitmen"] = "\n".join(
            f"{n}. {what} ({who}): {result}" + (f" — {note}" if note else "")
            for n, (what, who, result, note) in enumerate(_commitment_rows(evaluation), 1)
            if result and not result.startswith(BOX)
        )
    return values


def _answer_blocks(number: int, name: Any, question: Any, answer: str) -> list[Block]:
    blocks: list[Block] = [
        Paragraph(f"{number}. {name}", bold=True, align="left"),
        Paragraph(str(question), italic=True, align="left"),
    ]
    if answer.strip():
        blocks.append(Paragraph(answer))
    else:
        blocks.extend(_lines(3))
    return blocks


def _laiseg_page(
    *,
    conference: Conference,
    scheme: str,
    name: str,
    role: str,
    answers: dict[str, str],
    place_date: str,
) -> list[Block]:
    identity = _kka_identity(conference)
    blocks: list[Block] = [
        Heading(TITLES[EvaluationKind.LAISEG], level=1, centred=True),
        Fields(
            rows=(
                ("", "Konferensi kasus", f"KKA {identity['nomor_kka']} ({identity['kode_kasus']})"),
                ("", "Tanggal", identity["tanggal_kka"]),
                ("", "Nama peserta", name or DOTS[:50]),
                ("", "Peran / hubungan", role or DOTS[:50]),
                ("", "Skema penilaian", str(EvaluationScheme(scheme).label)),
            )
        ),
        Paragraph(
            "Jawablah dengan singkat dan jujur. Jawaban Anda hanya dibaca konselor dan "
            "digunakan untuk menilai hasil pertemuan.",
            small=True,
        ),
    ]
    for number, (key, label, question) in enumerate(_questions(scheme), 1):
        blocks += _answer_blocks(number, label, question, answers.get(key, ""))
    blocks += [
        Spacer(),
        Signatures(
            place_date=place_date,
            blocks=(Signature(lines_above=("Peserta,",), name=name or NAME_LINE),),
        ),
    ]
    return blocks


def _later_blocks(subject: Subject, evaluation: Evaluation, values: dict[str, str]) -> list[Block]:
    organisation = subject.organisation
    conference = evaluation.conference
    recorded = evaluation.done_at is not None
    minutes = _minutes(conference)
    recorded_line = (
        f"{values['dicatat_pada']} oleh {values['dicatat_oleh']}"
        if recorded
        else "Belum dicatat (diisi tangan)"
    )
    blocks: list[Block] = [
        Heading(values["jenis_penilaian"], level=1, centred=True),
        Fields(
            rows=(
                ("", "Konferensi kasus", f"KKA {values['nomor_kka']} ({values['kode_kasus']})"),
                ("", "Tanggal KKA", values["tanggal_kka"]),
                ("", "Jadwal penilaian", values["jadwal_penilaian"]),
                ("", "Dicatat", recorded_line),
            )
        ),
        Heading("A. Tujuan dan data KKA", level=3),
        Fields(
            rows=(
                ("", "Tujuan kegiatan", values["tujuan_kegiatan"] or EMPTY),
                ("", "Hasil yang ingin dicapai", values["hasil_yang_ingin_dicapai"] or EMPTY),
                (
                    "",
                    "Data yang ingin diperoleh",
                    (minutes.data_wanted if minutes else "") or EMPTY,
                ),
                ("", "Arah penanganan", (minutes.directions if minutes else "") or EMPTY),
            )
        ),
        Heading("B. Keadaan konseli saat ini", level=3),
    ]
    if values["keadaan_konseli"].strip():
        blocks.append(Paragraph(values["keadaan_konseli"]))
    else:
        blocks.extend(_lines(4))
    blocks.append(Heading("C. Hasil setiap komitmen", level=3))
    rows = _commitment_rows(evaluation)
    if rows:
        blocks.append(
            Table(
                columns=("No", "Komitmen", "Pihak", "Hasil", "Catatan"),
                rows=tuple((str(n), *row) for n, row in enumerate(rows, 1)),
                widths=(1, 6, 3, 4, 5),
                tall_rows=not recorded,
            )
        )
    else:
        blocks.append(Paragraph("KKA ini tidak mencatat komitmen."))
    blocks.append(Heading("D. Analisis: tujuan dibandingkan hasil", level=3))
    if values["analisis"].strip():
        blocks.append(Paragraph(values["analisis"]))
    else:
        blocks.extend(_lines(4))
    blocks.append(Heading("E. Kebutuhan data", level=3))
    choices = [str(label) for value, label in DataNeeds.choices if value]
    blocks.append(Paragraph(values["kebutuhan_data"] or _boxes(choices), align="left"))
    blocks += [Spacer(), common.signatures(organisation, subject.viewer)]
    return blocks


def _process_blocks(
    subject: Subject, evaluation: Evaluation, values: dict[str, str]
) -> list[Block]:
    blocks: list[Block] = [
        Heading(values["jenis_penilaian"], level=1, centred=True),
        Fields(
            rows=(
                ("", "Konferensi kasus", f"KKA {values['nomor_kka']} ({values['kode_kasus']})"),
                ("", "Tanggal KKA", values["tanggal_kka"]),
            )
        ),
    ]
    for number, (key, label, question) in enumerate(PROCESS_QUESTIONS, 1):
        blocks += _answer_blocks(number, label, question, values[f"jawaban_{ANSWER_FIELD[key]}"])
    blocks += [
        Spacer(),
        common.signatures(subject.organisation, subject.viewer, with_head=False),
    ]
    return blocks


@_indonesian
def build(subject: Subject, values: dict[str, str]) -> Doc:
    evaluation = _evaluation(subject)
    conference = evaluation.conference
    doc = Doc(
        kind=CODE,
        title=values["jenis_penilaian"],
        confidential=True,
        produced_for=values["dibuat_untuk"],
        date_text=common.date_text(subject.organisation),
    )
    if evaluation.kind == EvaluationKind.LAISEG:
        scheme = evaluation.scheme or _scheme_of(subject.organisation)
        answers = {
            key: values[f"jawaban_{ANSWER_FIELD[key]}"] for key, _n, _q in _questions(scheme)
        }
        doc.add(
            *_laiseg_page(
                conference=conference,
                scheme=scheme,
                name=values["nama_peserta"],
                role=values["peran_peserta"],
                answers=answers,
                place_date=common.place_date(subject.organisation, _done_day(evaluation)),
            )
        )
    elif evaluation.kind == EvaluationKind.PROCESS:
        doc.add(*_process_blocks(subject, evaluation, values))
    else:
        doc.add(*_later_blocks(subject, evaluation, values))
    return doc


def _done_day(evaluation: Evaluation) -> dt.date | None:
    if evaluation.done_at is None:
        return None
    zone = evaluation.conference.case.organisation.time_zone
    return dates.local(evaluation.done_at, zone).date()


# --- the blank laiseg form of a KKA ----------------------------------------------------------


def _blank_participants(conference: Conference) -> list[Participant]:
    """Everyone still on the KKA; after the meeting, not those recorded absent."""
    participants = conference.participants.filter(  # type: ignore[attr-defined]
        removed_at__isnull=True
    ).order_by("position", "id")
    if conference.status in (ConferenceStatus.HELD, ConferenceStatus.CLOSED):
        participants = participants.exclude(attendance=Attendance.ABSENT)
    return list(participants)


@_indonesian
def blank_fields(subject: Subject) -> dict[str, str]:
    conference = subject.conference
    if conference is None:
        raise ValidationError(_("Formulir penilaian segera memerlukan KKA."))
    scheme = _scheme_of(subject.organisation)
    questions = _questions(scheme)
    return {
        **_kka_identity(conference),
        "skema": str(EvaluationScheme(scheme).label),
        "daftar_peserta": "\n".join(
            f"{p.full_name} ({p.role})" for p in _blank_participants(conference)
        ),
        "pertanyaan": "\n".join(
            f"{n}. {label}: {question}" for n, (_k, label, question) in enumerate(questions, 1)
        ),
        "nama_konselor": subject.viewer.full_name,
        "dibuat_untuk": subject.viewer.full_name,
    }


@_indonesian
def blank_build(subject: Subject, values: dict[str, str]) -> Doc:
    conference = subject.conference
    organisation = subject.organisation
    scheme = _scheme_of(organisation)
    doc = Doc(
        kind=BLANK_CODE,
        title="Formulir penilaian segera (kosong)",
        confidential=True,
        produced_for=values["dibuat_untuk"],
        date_text=common.date_text(organisation),
    )
    place = f"{organisation.city}, " if organisation.city else ""
    place_date = place + "." * 30
    # One page per participant, and a last unnamed one for a walk-in.
    people: list[tuple[str, str]] = [(p.full_name, p.role) for p in _blank_participants(conference)]
    people.append(("", ""))
    for index, (name, role) in enumerate(people):
        if index:
            doc.add(PageBreak())
        doc.add(
            *_laiseg_page(
                conference=conference,
                scheme=scheme,
                name=name,
                role=role,
                answers={},
                place_date=place_date,
            )
        )
    return doc


# --- registration ------------------------------------------------------------------------------

_IDENTITY_HELP: dict[str, Any] = {
    "nomor_kka": gettext_lazy("Nomor urut KKA pada kasus ini"),
    "kode_kasus": gettext_lazy("Nomor kasus di KKA"),
    "tanggal_kka": gettext_lazy("Hari dan tanggal KKA"),
    "nama_konselor": gettext_lazy("Nama konselor yang membuat formulir"),
    "dibuat_untuk": gettext_lazy("Untuk siapa salinan ini dibuat (dicetak sebagai tanda RAHASIA)"),
}
FIELD_HELP: dict[str, Any] = {
    **_IDENTITY_HELP,
    "jenis_penilaian": gettext_lazy(
        "Judul formulir: laiseg, laijapen, laijapang atau evaluasi proses"
    ),
    "jadwal_penilaian": gettext_lazy("Tanggal penilaian dijadwalkan (laijapen/laijapang)"),
    "dicatat_pada": gettext_lazy("Waktu penilaian dicatat; kosong bila belum"),
    "dicatat_oleh": gettext_lazy("Siapa yang mencatat penilaian; kosong bila belum"),
    "nama_peserta": gettext_lazy("Nama peserta yang menjawab (laiseg)"),
    "peran_peserta": gettext_lazy("Peran peserta (laiseg)"),
    "skema": gettext_lazy("Skema penilaian segera: UCA atau BMB3"),
    "keadaan_konseli": gettext_lazy("Keadaan konseli saat ini (laijapen/laijapang)"),
    "hasil_komitmen": gettext_lazy("Hasil setiap komitmen yang sudah dinilai, satu per baris"),
    "analisis": gettext_lazy("Analisis: tujuan dibandingkan hasil"),
    "kebutuhan_data": gettext_lazy("Apakah kebutuhan data terpenuhi"),
    "tujuan_kegiatan": gettext_lazy("Tujuan kegiatan (butir E rencana)"),
    "hasil_yang_ingin_dicapai": gettext_lazy("Hasil yang ingin dicapai (butir F rencana)"),
    "jawaban_pemahaman": gettext_lazy("Laiseg UCA: pemahaman baru"),
    "jawaban_perasaan": gettext_lazy("Laiseg UCA: perasaan"),
    "jawaban_rencana_tindakan": gettext_lazy("Laiseg UCA: rencana tindakan"),
    "jawaban_berpikir": gettext_lazy("Laiseg BMB3: berpikir"),
    "jawaban_merasa": gettext_lazy("Laiseg BMB3: merasa"),
    "jawaban_bersikap": gettext_lazy("Laiseg BMB3: bersikap"),
    "jawaban_bertindak": gettext_lazy("Laiseg BMB3: bertindak"),
    "jawaban_bertanggung_jawab": gettext_lazy("Laiseg BMB3: bertanggung jawab"),
    "jawaban_partisipasi": gettext_lazy("Evaluasi proses: partisipasi"),
    "jawaban_suasana": gettext_lazy("Evaluasi proses: suasana"),
    "jawaban_kesesuaian_rencana": gettext_lazy("Evaluasi proses: kesesuaian dengan rencana"),
}
BLANK_FIELD_HELP: dict[str, Any] = {
    **_IDENTITY_HELP,
    "skema": gettext_lazy("Skema penilaian segera lembaga: UCA atau BMB3"),
    "daftar_peserta": gettext_lazy("Peserta yang mendapat formulir, satu per baris"),
    "pertanyaan": gettext_lazy("Pertanyaan penilaian segera, satu per baris"),
}

KIND = register(
    Kind(
        code=CODE,
        title=gettext_lazy("Formulir penilaian (laiseg, laijapen, laijapang)"),
        scope="evaluation",
        fields=fields,
        build=build,
        field_help=FIELD_HELP,
        confidential=True,
    )
)
BLANK_KIND = register(
    Kind(
        code=BLANK_CODE,
        title=gettext_lazy("Formulir penilaian segera kosong (per peserta)"),
        scope="conference",
        fields=blank_fields,
        build=blank_build,
        field_help=BLANK_FIELD_HELP,
        confidential=True,
    )
)
