"""The referral letter, the evaluation forms and the consent documents, produced from a
closed demo KKA in PDF and DOCX and checked with real tools (qpdf, pdftotext,
pdffonts, LibreOffice)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.urls import reverse

from kka.audit.models import AuditEvent
from kka.cases import services as case_services
from kka.cases.forms import PURPOSE_CHOICES
from kka.cases.models import Consent, ConsentText
from kka.conferences import followup
from kka.conferences.forms import LAISEG_QUESTIONS
from kka.conferences.models import (
    Evaluation,
    EvaluationKind,
    FollowUp,
    FollowUpKind,
    LetterNumber,
    Minutes,
)
from kka.documents import common, services
from kka.documents.models import Document
from kka.documents.registry import Subject, get
from tests.conferences.test_planning import give_consent
from tests.documents.conftest import DESCRIPTION_CANARY, PRIVATE_CANARY, FullKka
from tests.documents.util import (
    docx_text,
    libreoffice_to_pdf,
    pdf_fonts_all_embedded,
    pdf_pages_text,
    pdf_text,
    qpdf_check,
    squash,
)

pytestmark = pytest.mark.django_db

# The word on its own: the demo school is called "SMP Uji Kerahasiaan".
MARK = re.compile(r"\bRAHASIA\b")
DOTTED = re.compile(r"\.{40,}")
BOX = "\u2610"
TICKED = "\u2611"
PSYCHOLOGIST = "Klinik Psikologi Harapan, Bandung"
REASON = "Kecemasan berat menjelang berangkat sekolah; perlu asesmen psikologis."


@dataclass
class Scene:
    full: FullKka
    referral: FollowUp
    home_visit: FollowUp
    laiseg: Evaluation
    laijapen: Evaluation
    consent: Consent

    @property
    def counsellor(self) -> Any:
        return self.full.world.counsellor

    @property
    def org(self) -> Any:
        return self.full.world.org


@pytest.fixture
def scene(full_kka: FullKka) -> Scene:
    counsellor = full_kka.world.counsellor
    case = full_kka.case
    # The demo school's consent covers school staff and family, not outside
    # professionals: a referral to a psychologist needs a new consent that does.
    assert followup.referral_consent_problem(case, "psikolog")
    consent = give_consent(counsellor, case.client)
    assert consent.share_professionals
    referral = followup.followup_add(
        actor=counsellor,
        case=case,
        kind=FollowUpKind.REFERRAL,
        conference=full_kka.conference,
        referral_to="psikolog",
        referral_to_name=PSYCHOLOGIST,
        reason=REASON,
    )
    home_visit = FollowUp.objects.get(conference=full_kka.conference, kind="home_visit")
    laiseg = (
        Evaluation.objects.filter(conference=full_kka.conference, kind=EvaluationKind.LAISEG)
        .exclude(participant=None)
        .select_related("participant")
        .first()
    )
    assert laiseg is not None and laiseg.answers_dict
    laijapen = Evaluation.objects.get(conference=full_kka.conference, kind=EvaluationKind.LAIJAPEN)
    assert laijapen.done_at is None
    return Scene(full_kka, referral, home_visit, laiseg, laijapen, consent)


def produce(scene: Scene, kind: str, fmt: str, **scope: Any) -> tuple[Document, bytes]:
    document = services.produce(actor=scene.counsellor, kind=kind, fmt=fmt, **scope)
    return document, services.document_bytes(document)


def text_of(fmt: str, data: bytes) -> str:
    return squash(pdf_text(data) if fmt == "pdf" else docx_text(data))


def first_words(text: str, count: int = 2) -> str:
    """The start of a table cell: pdftotext -layout puts wrapped cells side by side."""
    return " ".join(text.split()[:count])


# --- what each kind must show --------------------------------------------------------------


def referral_expected(scene: Scene, document: Document) -> list[str]:
    client = scene.full.case.client
    birth = client.birth_date_value
    assert birth is not None
    minutes = Minutes.objects.get(conference=scene.full.conference)
    return [
        document.number,
        "Alih tangan kasus",
        "Yth. Bapak/Ibu Psikolog",
        PSYCHOLOGIST,
        client.full_name,
        common.plain_date(birth),
        client.group,
        scene.full.case.code,
        REASON,
        "Konferensi kasus (KKA 1)",
        minutes.directions.splitlines()[0],
        scene.consent.code,
        "Budi Santoso",
        "berbagi keterangan dengan profesional luar",
        scene.counsellor.full_name,
        scene.counsellor.email,
        scene.org.phone,
        "Mengetahui,",
        scene.org.head_name,
        scene.org.head_staff_number,
    ]


def laiseg_expected(scene: Scene) -> list[str]:
    participant = scene.laiseg.participant
    assert participant is not None
    answers = scene.laiseg.answers_dict
    questions = LAISEG_QUESTIONS[scene.laiseg.scheme]
    return [
        "FORMULIR PENILAIAN SEGERA (LAISEG)",
        "KKA 1",
        participant.full_name,
        participant.role,
        *(str(question) for _key, _label, question in questions),
        *(answers[key] for key, _label, _question in questions if answers.get(key)),
    ]


def laijapen_expected(scene: Scene, fmt: str) -> list[str]:
    commitments = list(scene.full.conference.commitments.all())
    assert commitments
    whats = [c.what if fmt == "docx" else first_words(c.what) for c in commitments]
    return [
        "FORMULIR PENILAIAN JANGKA PENDEK (LAIJAPEN)",
        "Keadaan konseli saat ini",
        "Hasil setiap komitmen",
        f"{BOX} Terlaksana",
        f"{BOX} Sebagian terpenuhi",
        "Analisis: tujuan dibandingkan hasil",
        *whats,
    ]


def blank_laiseg_expected(scene: Scene) -> list[str]:
    names = [p.full_name for p in scene.full.participants if p.removed_at is None]
    return ["FORMULIR PENILAIAN SEGERA (LAISEG)", *names, "Rencana tindakan"]


def consent_form_expected(scene: Scene) -> list[str]:
    client = scene.full.case.client
    text = ConsentText.objects.filter(organisation=scene.org).order_by("-version").first()
    assert text is not None
    return [
        "FORMULIR PERSETUJUAN KONFERENSI KASUS",
        client.full_name,
        client.code,
        f"(versi {text.version})",
        " ".join(text.body.split()[:8]),
        *(f"{BOX} {label}" for _name, label in PURPOSE_CHOICES),
        "Pemberi persetujuan,",
    ]


def consent_proof_expected(scene: Scene) -> list[str]:
    consent = scene.consent
    return [
        "BUKTI PERSETUJUAN",
        consent.code,
        scene.full.case.client.full_name,
        consent.giver_name,
        "Orang tua (ayah)",
        "Lisan (dicatat konselor)",
        "Berlaku",
        *(f"{TICKED} {label}" for _name, label in PURPOSE_CHOICES),
    ]


KINDS = {
    "alih_tangan": lambda s: {"followup": s.referral},
    "penilaian": lambda s: {"evaluation": s.laiseg},
    "penilaian_segera_kosong": lambda s: {"conference": s.full.conference},
    "persetujuan_kosong": lambda s: {"client": s.full.case.client},
    "bukti_persetujuan": lambda s: {"consent": s.consent},
}


def expected(scene: Scene, kind: str, fmt: str, document: Document) -> list[str]:
    if kind == "alih_tangan":
        return referral_expected(scene, document)
    if kind == "penilaian":
        return laiseg_expected(scene)
    if kind == "penilaian_segera_kosong":
        return blank_laiseg_expected(scene)
    if kind == "persetujuan_kosong":
        return consent_form_expected(scene)
    return consent_proof_expected(scene)


def produced_for(scene: Scene, kind: str) -> str:
    return f"Psikolog, {PSYCHOLOGIST}" if kind == "alih_tangan" else scene.counsellor.full_name


# --- every kind, both formats ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["pdf", "docx"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_shows_its_fields_and_the_letterhead(scene: Scene, kind: str, fmt: str) -> None:
    document, data = produce(scene, kind, fmt, **KINDS[kind](scene))

    assert document.kind == kind and document.format == fmt
    text = text_of(fmt, data)
    for value in expected(scene, kind, fmt, document):
        assert squash(value) in text, value
    assert scene.org.name.upper() in text.upper()
    assert scene.org.address in text
    if fmt == "pdf":
        qpdf_check(data)
        pdf_fonts_all_embedded(data)


@pytest.mark.parametrize("fmt", ["pdf", "docx"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_confidential_kinds_carry_rahasia_and_recipient_on_every_page(
    scene: Scene, kind: str, fmt: str
) -> None:
    assert get(kind).confidential
    _document, data = produce(scene, kind, fmt, **KINDS[kind](scene))

    recipient = produced_for(scene, kind)
    if fmt == "pdf":
        pages = pdf_pages_text(data)
        if kind == "penilaian_segera_kosong":
            assert len(pages) >= 2
        for page in pages:
            assert MARK.search(page), page[:200]
            assert recipient in squash(page), page[:200]
    else:
        # The DOCX header repeats on every page.
        import io

        import docx as python_docx

        header = "\n".join(
            p.text
            for section in python_docx.Document(io.BytesIO(data)).sections
            for p in section.header.paragraphs
        )
        assert MARK.search(header)
        assert recipient in squash(header)


@pytest.mark.parametrize("kind", list(KINDS))
def test_docx_of_every_kind_converts_with_libreoffice(scene: Scene, kind: str) -> None:
    document, data = produce(scene, kind, "docx", **KINDS[kind](scene))

    converted = squash(pdf_text(libreoffice_to_pdf(data)))
    for value in expected(scene, kind, "pdf", document):
        assert squash(value) in converted, value


# --- the referral letter ----------------------------------------------------------------------


def test_referral_letter_takes_its_number_from_the_letter_register(scene: Scene) -> None:
    before = set(LetterNumber.objects.values_list("pk", flat=True))

    document, data = produce(scene, "alih_tangan", "pdf", followup=scene.referral)

    issued = LetterNumber.objects.exclude(pk__in=before)
    (number,) = issued
    assert document.letter_number == number
    assert document.number == number.number and number.number
    assert number.organisation_id == scene.org.pk
    assert number.voided_at is None
    pages = pdf_pages_text(data)
    assert f"Nomor : {number.number}" in squash(pages[0])
    for page in pages:  # the footer of every page
        assert number.number in page


def test_referral_letter_names_only_what_the_professional_needs(scene: Scene) -> None:
    client = scene.full.case.client
    client.address = "Jl. Kenanga Rahasia 12"
    client.nisn = "0091234567"
    client.phone = "0812-7777-1234"
    client.save()
    followup.followup_set_status(actor=scene.counsellor, followup=scene.home_visit, status="done")

    _document, data = produce(scene, "alih_tangan", "pdf", followup=scene.referral)

    text = pdf_text(data)
    assert client.full_name in text
    assert "Kunjungan rumah (selesai)" in text  # what was done, by kind and status only
    for secret in (
        DESCRIPTION_CANARY,
        PRIVATE_CANARY,
        "Jl. Kenanga Rahasia 12",
        "0091234567",
        "0812-7777-1234",
        "berbincang dengan ibu dan nenek",  # the home visit's note
    ):
        assert secret not in text, secret
    # The audit row of the production holds codes only.
    dump = " ".join(str(row) for row in AuditEvent.objects.values()).casefold()
    for secret in (client.full_name, REASON, PSYCHOLOGIST, "Budi Santoso"):
        assert secret.casefold() not in dump, secret


def test_a_follow_up_that_is_not_a_referral_gets_no_referral_letter(scene: Scene) -> None:
    numbers = LetterNumber.objects.count()
    documents = Document.objects.count()
    kind = get("alih_tangan")
    subject = Subject(
        organisation=scene.org,
        viewer=scene.counsellor,
        case=scene.full.case,
        followup=scene.home_visit,
    )

    with pytest.raises(ValidationError) as refused:
        kind.fields(subject)
    assert "hanya untuk tindak lanjut alih tangan" in " ".join(refused.value.messages)
    with pytest.raises(ValidationError):
        produce(scene, "alih_tangan", "pdf", followup=scene.home_visit)

    assert LetterNumber.objects.count() == numbers
    assert Document.objects.count() == documents


def test_a_cancelled_referral_gets_no_letter(scene: Scene) -> None:
    followup.followup_set_status(
        actor=scene.counsellor, followup=scene.referral, status="cancelled"
    )
    scene.referral.refresh_from_db()

    with pytest.raises(ValidationError) as refused:
        produce(scene, "alih_tangan", "pdf", followup=scene.referral)

    assert "dibatalkan" in " ".join(refused.value.messages)
    assert not Document.objects.filter(kind="alih_tangan").exists()


def test_referral_letter_is_refused_once_the_consent_is_withdrawn(scene: Scene) -> None:
    case_services.consent_withdraw(actor=scene.counsellor, consent=scene.consent)
    numbers = LetterNumber.objects.count()

    with pytest.raises(ValidationError) as refused:
        produce(scene, "alih_tangan", "pdf", followup=scene.referral)

    assert "persetujuan" in " ".join(refused.value.messages)
    assert LetterNumber.objects.count() == numbers


def test_a_referral_inside_the_school_works_under_the_demo_consent(full_kka: FullKka) -> None:
    # The demo consent shares with school staff: enough for the school's TPPK.
    referral = followup.followup_add(
        actor=full_kka.world.counsellor,
        case=full_kka.case,
        kind=FollowUpKind.REFERRAL,
        referral_to="tppk",
        reason="Dugaan perundungan; ditangani TPPK sekolah.",
    )
    kind = get("alih_tangan")
    subject = Subject(
        organisation=full_kka.world.org,
        viewer=full_kka.world.counsellor,
        case=full_kka.case,
        followup=referral,
        number="012/BK/XI/2026",
    )

    values = kind.fields(subject)
    doc = kind.build(subject, values)

    assert values["tujuan_jabatan"].startswith("TPPK")
    assert "berbagi keterangan dengan staf sekolah / lembaga" in values["persetujuan_cakupan"]
    assert "profesional luar" not in values["persetujuan_cakupan"]
    assert doc.confidential and doc.number == "012/BK/XI/2026"
    assert set(values) <= set(kind.field_help)


# --- evaluation forms -------------------------------------------------------------------------


def test_a_later_evaluation_not_recorded_yet_is_a_form_to_fill_by_hand(scene: Scene) -> None:
    _document, data = produce(scene, "penilaian", "pdf", evaluation=scene.laijapen)

    text = pdf_text(data)
    for value in laijapen_expected(scene, "pdf"):
        assert squash(value) in squash(text), value
    assert len(DOTTED.findall(text)) >= 8  # situation and analysis: lines to write on
    assert text.count(f"{BOX} Terlaksana") == scene.full.conference.commitments.count()


def test_a_recorded_later_evaluation_shows_its_results(scene: Scene) -> None:
    commitments = list(scene.full.conference.commitments.order_by("due_on", "id"))
    results = {c.code: {"result": "done", "note": ""} for c in commitments}
    results[commitments[0].code] = {"result": "partly", "note": "Baru satu minggu berjalan."}
    followup.later_evaluation_record(
        actor=scene.counsellor,
        evaluation=scene.laijapen,
        client_situation="Konseli hadir tepat waktu empat hari dari lima.",
        commitment_results=results,
        analysis="Tujuan kehadiran hampir tercapai; pengasuh pagi sudah ada.",
        data_needs_met="met",
    )
    scene.laijapen.refresh_from_db()

    _document, data = produce(scene, "penilaian", "docx", evaluation=scene.laijapen)

    text = squash(docx_text(data))
    assert "Konseli hadir tepat waktu empat hari dari lima." in text
    assert "Tujuan kehadiran hampir tercapai; pengasuh pagi sudah ada." in text
    assert "Sebagian terlaksana" in text and "Baru satu minggu berjalan." in text
    assert text.count("Terlaksana") >= len(commitments) - 1
    assert "Terpenuhi" in text
    assert BOX not in text
    assert "Belum dicatat" not in text


def test_the_laiseg_form_never_names_the_client_or_the_problem(scene: Scene) -> None:
    for kind, scope in (
        ("penilaian", {"evaluation": scene.laiseg}),
        ("penilaian_segera_kosong", {"conference": scene.full.conference}),
    ):
        _document, data = produce(scene, kind, "pdf", **scope)
        text = pdf_text(data)
        for secret in (
            scene.full.case.client.full_name,
            scene.full.case.title,
            DESCRIPTION_CANARY,
            PRIVATE_CANARY,
        ):
            assert secret not in text, (kind, secret)


def test_the_blank_laiseg_form_has_a_page_per_participant_with_lines(scene: Scene) -> None:
    present = list(
        scene.full.conference.participants.filter(removed_at__isnull=True)
        .exclude(attendance="absent")
        .order_by("position", "id")
    )

    _document, data = produce(
        scene, "penilaian_segera_kosong", "pdf", conference=scene.full.conference
    )

    pages = pdf_pages_text(data)
    # One page per participant and one unnamed page for a walk-in.
    assert len(pages) == len(present) + 1
    for page, participant in zip(pages, present, strict=False):
        assert participant.full_name in page
        assert len(DOTTED.findall(page)) >= 3 * 3  # three questions, three lines each
        assert "1. Pemahaman baru" in page and "3. Rencana tindakan" in page
    assert "Nama peserta" in pages[-1] and DOTTED.search(pages[-1])


def test_an_organisation_using_bmb3_gets_five_questions(scene: Scene) -> None:
    scene.org.evaluation_scheme = "bmb3"
    scene.org.save()

    _document, data = produce(
        scene, "penilaian_segera_kosong", "docx", conference=scene.full.conference
    )

    text = docx_text(data)
    questions = LAISEG_QUESTIONS["bmb3"]
    assert len(questions) == 5
    pages = len(scene.full.participants) + 1
    for number, (_key, label, question) in enumerate(questions, 1):
        assert text.count(f"{number}. {label}") >= pages - 1
        assert str(question) in text
    assert "Pemahaman baru" not in text


def test_the_process_evaluation_form_shows_its_answers(scene: Scene) -> None:
    process = Evaluation.objects.get(conference=scene.full.conference, kind=EvaluationKind.PROCESS)

    _document, data = produce(scene, "penilaian", "pdf", evaluation=process)

    text = squash(pdf_text(data))
    assert "FORMULIR EVALUASI PROSES KONFERENSI KASUS" in text
    for answer in process.answers_dict.values():
        assert squash(answer) in text


# --- consent documents ------------------------------------------------------------------------


def test_blank_consent_form_shows_the_current_text_version(scene: Scene) -> None:
    case_services.consent_text_update(
        actor=scene.counsellor, organisation=scene.org, body="Teks persetujuan versi baru uji."
    )

    _document, data = produce(scene, "persetujuan_kosong", "pdf", client=scene.full.case.client)

    text = squash(pdf_text(data))
    assert "(versi 2)" in text and "Teks persetujuan versi baru uji." in text
    assert text.count(BOX) >= len(PURPOSE_CHOICES) + 3  # purposes and who gives it
    assert DOTTED.search(text)  # the giver's name is written by hand
    assert "orang tua atau wali" in text  # the client is a minor


def test_consent_proof_says_when_a_consent_was_withdrawn(scene: Scene) -> None:
    withdrawal = case_services.consent_withdraw(actor=scene.counsellor, consent=scene.consent)

    _document, data = produce(scene, "bukti_persetujuan", "pdf", consent=scene.consent)
    _document, proof = produce(scene, "bukti_persetujuan", "pdf", consent=withdrawal)

    assert "Ditarik pada" in squash(pdf_text(data))
    assert withdrawal.code in squash(pdf_text(data))
    assert "BUKTI PERSETUJUAN — PENARIKAN" in pdf_text(proof)


def test_the_consent_proof_route_shows_the_same_layout_to_a_reader(scene: Scene) -> None:
    supervisor = scene.full.world.other_counsellor
    case_services.case_member_add(
        actor=scene.counsellor, case=scene.full.case, user=supervisor, role="supervisor"
    )
    http = HttpClient()
    http.force_login(supervisor)
    client = scene.full.case.client
    documents = Document.objects.count()

    response = http.get(
        reverse("cases:consent_proof", kwargs={"code": client.code, "consent": scene.consent.code})
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    qpdf_check(response.content)
    pages = pdf_pages_text(response.content)
    text = squash("\n".join(pages))
    for value in consent_proof_expected(scene):
        assert squash(value) in text, value
    for page in pages:
        assert MARK.search(page) and supervisor.full_name in squash(page)
    # Reading registers no document; the export is audited.
    assert Document.objects.count() == documents
    (row,) = AuditEvent.objects.filter(action="consent.proof_exported")
    assert row.actor_id == supervisor.pk and row.object_ref == scene.consent.code
    # Producing it is for the case's counsellors: the supervisor may not.
    refused = http.post(
        reverse("documents:produce", args=["bukti_persetujuan", scene.consent.code]),
        {"fmt": "pdf"},
    )
    assert refused.status_code == 403


# --- buttons on the pages ---------------------------------------------------------------------


def test_pages_offer_these_documents_to_the_case_counsellor(scene: Scene) -> None:
    http = HttpClient()
    http.force_login(scene.counsellor)
    client = scene.full.case.client

    def produce_url(kind: str, code: str) -> str:
        return reverse("documents:produce", args=[kind, code])

    client_page = http.get(reverse("cases:client_detail", kwargs={"code": client.code}))
    case_page = http.get(reverse("cases:case_detail", kwargs={"code": scene.full.case.code}))
    evaluation_page = http.get(
        reverse(
            "conferences:later_evaluation",
            kwargs={"code": scene.full.conference.code, "evaluation": scene.laijapen.code},
        )
    )

    assert produce_url("persetujuan_kosong", client.code) in client_page.content.decode()
    for consent in Consent.objects.filter(client=client):
        assert produce_url("bukti_persetujuan", consent.code) in client_page.content.decode()
    assert produce_url("alih_tangan", scene.referral.code) in case_page.content.decode()
    assert produce_url("alih_tangan", scene.home_visit.code) not in case_page.content.decode()
    assert produce_url("penilaian", scene.laijapen.code) in evaluation_page.content.decode()
    assert "Cetak formulir" in evaluation_page.content.decode()

    response = http.post(produce_url("alih_tangan", scene.referral.code), {"fmt": "docx"})
    document = Document.objects.get(kind="alih_tangan", followup=scene.referral)
    assert response.status_code == 302
    assert response["Location"] == reverse("documents:download", kwargs={"code": document.code})
    download = http.get(response["Location"])
    assert download.status_code == 200
    assert scene.referral.reason in docx_text(download.content)
    assert client.full_name not in response["Location"] + download["Content-Disposition"]


def test_producing_the_letter_of_a_home_visit_says_why_not(scene: Scene) -> None:
    http = HttpClient()
    http.force_login(scene.counsellor)

    response = http.post(
        reverse("documents:produce", args=["alih_tangan", scene.home_visit.code]),
        {"fmt": "pdf"},
        follow=True,
    )

    assert response.status_code == 200
    assert "hanya untuk tindak lanjut alih tangan" in response.content.decode()
    assert not Document.objects.filter(kind="alih_tangan").exists()
