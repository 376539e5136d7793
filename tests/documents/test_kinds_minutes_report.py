"""Notulen (shared and counsellor-only), laporan pelaksanaan, surat pernyataan komitmen
and surat pernyataan kerahasiaan, built from a closed demo KKA and rendered with the
real tools (WeasyPrint, python-docx, qpdf, pdftotext, pdffonts, LibreOffice); plus the
report page where the counsellor edits and finalises the laporan's narrative."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client as HttpClient
from django.urls import reverse

from kka.audit.models import AuditEvent
from kka.cases import services as case_services
from kka.cases.models import CaseRole
from kka.conferences import followup, meeting, report
from kka.conferences.models import (
    Commitment,
    CommitmentStatus,
    Conference,
    Minutes,
    Participant,
    Report,
)
from kka.documents import registry, render
from kka.documents.kinds import pernyataan_kerahasiaan
from kka.documents.registry import Subject
from tests.conferences.test_followup import held
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
from tests.personas import PASSWORD, make_user

pytestmark = pytest.mark.django_db

# (kind, edition, whose copy: None for the KKA, else the index of a participant)
VARIANTS = [
    ("notulen", "", None),
    ("notulen", "rahasia", None),
    ("laporan", "", None),
    ("komitmen", "", 0),
    ("pernyataan_kerahasiaan", "", 0),
]
IDS = ["notulen", "notulen-rahasia", "laporan", "komitmen", "pernyataan"]
# Fields printed in paragraphs or label/value rows (tables interleave in pdftotext -layout,
# so table cells are checked in the DOCX text instead).
PRINTED = {
    "notulen": [
        "hari_tanggal",
        "waktu_mulai",
        "waktu_selesai",
        "tempat",
        "pemimpin",
        "peserta_hadir",
        "peserta_tidak_hadir",
        "subjek",
        "ringkasan_kasus",
        "notulen_bersama",
        "data_diinginkan",
        "data_diperoleh",
        "kebutuhan_data",
        "kesimpulan",
        "arah_penanganan",
        "tindak_lanjut",
        "pertemuan_berikutnya",
        "adendum_bersama",
        "status_notulen",
        "nama_pimpinan",
        "nip_pimpinan",
        "tanggal_surat",
    ],
    "laporan": [
        "kka_ke",
        "bidang_bimbingan",
        "subjek",
        "status_laporan",
        "jenis_kegiatan",
        "waktu",
        "sasaran",
        "hasil_yang_dicapai",
        "analisis_hasil",
        "rencana_tindak_lanjut",
        "faktor_pendukung_penghambat",
        "nama_pimpinan",
        "nip_pimpinan",
        "tanggal_surat",
    ],
    "komitmen": [
        "nama_peserta",
        "peran_peserta",
        "hari_tanggal_kka",
        "tujuan_komitmen",
        "nama_konselor",
        "tanggal_surat",
    ],
    "pernyataan_kerahasiaan": [
        "nama_peserta",
        "peran_peserta",
        "hari_tanggal_kka",
        "tempat_kka",
        "janji_1",
        "janji_2",
        "janji_3",
        "janji_4",
        "berlaku_setelah_pertemuan",
        "batas_kerahasiaan",
        "pernyataan_tercatat",
        "nama_konselor",
        "tanggal_surat",
    ],
}
NOTULEN_HEADINGS = [
    "NOTULEN KONFERENSI KASUS",
    "A. Identitas pertemuan",
    "B. Kehadiran peserta",
    "C. Ringkasan kasus",
    "D. Jalannya pertemuan",
    "E. Data yang ingin diperoleh dan yang diperoleh",
    "F. Kesimpulan",
    "G. Arah penanganan",
    "H. Kesepakatan peran dan komitmen para pihak",
    "I. Keputusan tindak lanjut atau alih tangan kasus",
    "J. Pertemuan berikutnya",
    "K. Adendum",
]
LAPORAN_HEADINGS = [
    "LAPORAN PELAKSANAAN KONFERENSI KASUS",
    "A. Jenis kegiatan",
    "B. Waktu",
    "C. Sasaran",
    "D. Hasil yang dicapai",
    "E. Analisis hasil penilaian proses dan hasil",
    "F. Rencana tindak lanjut",
    "G. Faktor pendukung dan penghambat",
]
# The running "RAHASIA" mark (not the word inside "SMP UJI KERAHASIAAN").
MARK = re.compile(r"^\s*RAHASIA\b", re.MULTILINE)
NARRATIVE = "Dukungan kepala sekolah sangat membantu NARASI-UJI-5T7"


def flat(text: str) -> str:
    """Without any whitespace: a value wrapped or hyphenated at a line end still matches."""
    return "".join(text.split())


def body(pdf: bytes) -> str:
    """The PDF's text without the running header (RAHASIA, for whom) and footer (number,
    date, hash, page), so a paragraph split over two pages reads on."""
    lines = []
    for page in pdf_pages_text(pdf):
        for line in page.splitlines():
            if re.search(r"Halaman \d+ dari \d+", line) or "Dibuat untuk:" in line:
                continue
            lines.append(line)
    return "\n".join(lines)


def subject(kka: FullKka, kind: str, edition: str = "", who: int | None = None, **options: Any):
    participant = kka.participants[who] if who is not None else None
    return Subject(
        organisation=kka.world.org,
        viewer=kka.world.counsellor,
        case=kka.case,
        conference=kka.conference,
        participant=participant,
        edition=edition,
        options=options,
    )


def produce(
    kka: FullKka, kind: str, fmt: str, edition: str = "", who: int | None = None
) -> tuple[dict[str, str], bytes]:
    """fields → build → render, as the documents service does after its access check."""
    spec = registry.get(kind)
    target = subject(kka, kind, edition, who)
    values = spec.fields(target)
    doc = spec.build(target, values)
    renderer = render.render_pdf if fmt == "pdf" else render.render_docx
    return values, renderer(doc, kka.world.org)


def private_lines(kka: FullKka) -> list[str]:
    minutes = Minutes.objects.get(conference=kka.conference)
    return [flat(line) for line in minutes.private_text.splitlines() if len(line.strip()) > 20]


def assert_no_secrets(kka: FullKka, text: str) -> None:
    assert PRIVATE_CANARY not in text
    assert DESCRIPTION_CANARY not in text
    assert kka.case.client.full_name not in text
    for line in private_lines(kka):
        assert line not in flat(text)


# --- every kind, PDF --------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "edition", "who"), VARIANTS, ids=IDS)
def test_pdf_passes_qpdf_embeds_fonts_and_shows_every_field(
    full_kka: FullKka, kind: str, edition: str, who: int | None
) -> None:
    values, pdf = produce(full_kka, kind, "pdf", edition, who)
    qpdf_check(pdf)
    assert pdf_fonts_all_embedded(pdf)
    text = body(pdf)
    assert "Jl. Pendidikan No. 7" in squash(text)  # the letterhead
    for name in PRINTED[kind]:
        assert values[name], name
        assert flat(values[name]) in flat(text), name
    if kind == "notulen":
        for heading in NOTULEN_HEADINGS:
            assert heading in squash(text)
        party = full_kka.participants[0]
        assert f"{party.full_name} ({party.role})" in squash(text)  # a commitment's party
    if kind == "laporan":
        for heading in LAPORAN_HEADINGS:
            assert heading in squash(text)


@pytest.mark.parametrize(("kind", "edition", "who"), VARIANTS, ids=IDS)
def test_docx_holds_the_same_fields_and_converts_with_libreoffice(
    full_kka: FullKka, kind: str, edition: str, who: int | None
) -> None:
    values, docx = produce(full_kka, kind, "docx", edition, who)
    text = docx_text(docx)
    for name in PRINTED[kind]:
        assert flat(values[name]) in flat(text), name
    if kind in ("notulen", "komitmen"):
        # The commitments table: each cell exactly as recorded.
        commitments = Commitment.objects.filter(conference=full_kka.conference)
        if kind == "komitmen":
            commitments = commitments.filter(participant=full_kka.participants[who or 0])
        assert commitments
        for commitment in commitments:
            assert commitment.what in text
            assert commitment.check_method in text
    converted = libreoffice_to_pdf(docx)
    qpdf_check(converted)
    converted_text = body(converted)
    for name in ("tanggal_surat", "nama_konselor"):
        assert flat(values[name]) in flat(converted_text), name
    if kind == "laporan":
        for heading in LAPORAN_HEADINGS:
            assert flat(heading) in flat(converted_text)


# --- confidentiality ---------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "edition", "who"), VARIANTS[:4], ids=IDS[:4])
def test_confidential_kinds_carry_rahasia_and_the_recipient_on_every_page(
    full_kka: FullKka, kind: str, edition: str, who: int | None
) -> None:
    assert registry.get(kind).confidential
    _values, pdf = produce(full_kka, kind, "pdf", edition, who)
    recipient = (
        full_kka.participants[who].full_name
        if who is not None
        else full_kka.world.counsellor.full_name
    )
    pages = pdf_pages_text(pdf)
    assert pages
    for page in pages:
        assert MARK.search(page), page[:200]
        assert f"Dibuat untuk: {recipient}" in squash(page)
    _values, docx = produce(full_kka, kind, "docx", edition, who)
    assert MARK.search(docx_text(docx))
    assert recipient in docx_text(docx)


def test_shared_notulen_has_no_private_text_nor_the_case_description(full_kka: FullKka) -> None:
    values, pdf = produce(full_kka, "notulen", "pdf")
    _values, docx = produce(full_kka, "notulen", "docx")
    assert "catatan_pribadi" not in values and "adendum_pribadi" not in values
    assert_no_secrets(full_kka, repr(values))
    assert_no_secrets(full_kka, pdf_text(pdf))
    assert_no_secrets(full_kka, docx_text(docx))
    # The follow-up notes are the counsellor's: only the rahasia edition has them.
    assert "nenek tentang pengaturan pagi hari" not in squash(pdf_text(pdf))


def test_rahasia_notulen_adds_the_private_notes_and_private_addenda(full_kka: FullKka) -> None:
    _values, pdf = produce(full_kka, "notulen", "pdf", "rahasia")
    text = body(pdf)
    assert PRIVATE_CANARY in text
    for line in private_lines(full_kka):
        assert line in flat(text)
    assert "L. Catatan pribadi konselor (rahasia)" in squash(text)
    assert "Edisi rahasia (khusus konselor)" in squash(text)
    # Still never the case description nor the client's name.
    assert DESCRIPTION_CANARY not in text
    assert full_kka.case.client.full_name not in text
    _values, docx = produce(full_kka, "notulen", "docx", "rahasia")
    assert PRIVATE_CANARY in docx_text(docx)


def test_laporan_komitmen_and_pernyataan_hold_no_private_text(full_kka: FullKka) -> None:
    for kind, who in (("laporan", None), ("komitmen", 0), ("pernyataan_kerahasiaan", 1)):
        values, pdf = produce(full_kka, kind, "pdf", who=who)
        assert_no_secrets(full_kka, repr(values))
        assert_no_secrets(full_kka, pdf_text(pdf))


def test_pernyataan_is_not_marked_confidential_and_names_no_client(full_kka: FullKka) -> None:
    assert not registry.get("pernyataan_kerahasiaan").confidential
    assert registry.get("pernyataan_kerahasiaan").outside
    _values, pdf = produce(full_kka, "pernyataan_kerahasiaan", "pdf", who=1)
    text = pdf_text(pdf)
    assert not MARK.search(text)
    assert "berinisial" not in text
    assert full_kka.case.client.initials not in text


def test_client_name_in_the_summary_is_replaced_by_initials(full_kka: FullKka) -> None:
    client = full_kka.case.client
    first = client.full_name.split()[0]
    Conference.objects.filter(pk=full_kka.conference.pk).update(
        summary=f"{client.full_name} sering absen; {first.upper()} mengasuh adiknya."
    )
    full_kka.conference.refresh_from_db()
    values, pdf = produce(full_kka, "notulen", "pdf")
    assert values["ringkasan_kasus"] == (
        f"{client.initials} sering absen; {client.initials} mengasuh adiknya."
    )
    assert first.lower() not in pdf_text(pdf).lower()


# --- drafts ------------------------------------------------------------------------------------


def test_draft_minutes_print_draf_and_cannot_be_produced_as_final(full_kka: FullKka) -> None:
    setup = held(full_kka.world)
    meeting.minutes_save(
        actor=full_kka.world.counsellor,
        conference=setup.conference,
        base_version=0,
        values={"shared_text": "Teks notulen yang masih draf", "private_text": PRIVATE_CANARY},
    )
    spec = registry.get("notulen")
    target = Subject(
        organisation=full_kka.world.org,
        viewer=full_kka.world.counsellor,
        case=setup.case,
        conference=setup.conference,
    )
    values = spec.fields(target)
    assert values["judul"] == "Notulen Konferensi Kasus (DRAF)"
    pdf = render.render_pdf(spec.build(target, values), full_kka.world.org)
    text = pdf_text(pdf)
    assert "NOTULEN KONFERENSI KASUS (DRAF)" in text
    assert "Teks notulen yang masih draf" in text
    assert PRIVATE_CANARY not in text
    target.options = {"finalise": True}
    with pytest.raises(ValidationError, match="belum difinalkan"):
        spec.fields(target)
    # Finalised minutes (the demo KKA) may be produced as final, without "DRAF".
    final = spec.fields(subject(full_kka, "notulen", finalise=True))
    assert "DRAF" not in final["judul"]


# --- the laporan and its narrative ------------------------------------------------------------


def test_laporan_is_filled_from_the_record(full_kka: FullKka) -> None:
    texts = report.report_defaults(full_kka.conference)
    assert set(texts) == set(report.COMPONENT_NAMES)
    assert "Konferensi kasus" in texts["jenis_kegiatan"]
    assert "09.00 s.d. 10.30 WIB" in texts["waktu"] and "Ruang BK" in texts["waktu"]
    assert "Konseli berinisial S.R." in texts["sasaran"]
    assert "Hadir 3 dari 3 orang." in texts["sasaran"]
    commitment = Commitment.objects.filter(conference=full_kka.conference).first()
    assert commitment is not None and commitment.what.split(" (")[0] in texts["hasil"]
    assert "Penilaian segera (laiseg) dari 3 peserta" in texts["hasil"]
    assert "Penilaian proses:" in texts["analisis"]
    assert "Penilaian jangka pendek (laijapen), jadwal" in texts["tindak_lanjut"]
    assert "Kunjungan rumah" in texts["tindak_lanjut"]
    assert "Faktor pendukung:" in texts["faktor"] and "Faktor penghambat:" in texts["faktor"]
    assert_no_secrets(full_kka, repr(texts))


def test_laporan_shows_the_counsellors_narrative_and_finalising_freezes_it(
    full_kka: FullKka,
) -> None:
    owner = full_kka.world.counsellor
    conference = full_kka.conference
    defaults = report.report_defaults(conference)
    report.report_save(
        actor=owner,
        conference=conference,
        values={"faktor": NARRATIVE, "waktu": defaults["waktu"] + "\r\n"},
    )
    saved = Report.objects.get(conference=conference)
    assert saved.faktor == NARRATIVE
    assert saved.waktu == ""  # unchanged from the default: keeps following the record
    values, pdf = produce(full_kka, "laporan", "pdf")
    text = body(pdf)
    assert NARRATIVE in squash(text)
    assert "LAPORAN PELAKSANAAN KONFERENSI KASUS (DRAF)" in squash(text)
    assert flat(defaults["hasil"]) in flat(text)
    for heading in LAPORAN_HEADINGS:
        assert heading in squash(text)
    with pytest.raises(ValidationError):
        registry.get("laporan").fields(subject(full_kka, "laporan", finalise=True))

    report.report_finalise(actor=owner, conference=conference)
    frozen = report.report_texts(conference)
    # The record changes afterwards; the final report does not.
    commitment = Commitment.objects.filter(conference=conference).exclude(status="done").first()
    assert commitment is not None
    followup.commitment_set_status(actor=owner, commitment=commitment, status="done")
    assert report.report_texts(conference) == frozen
    assert report.report_defaults(conference)["hasil"] != frozen["hasil"]
    values = registry.get("laporan").fields(subject(full_kka, "laporan", finalise=True))
    assert "DRAF" not in values["judul"]
    assert values["faktor_pendukung_penghambat"] == NARRATIVE
    with pytest.raises(ValidationError, match="sudah difinalkan"):
        report.report_save(actor=owner, conference=conference, values={"faktor": "lain"})
    with pytest.raises(ValidationError):
        report.report_finalise(actor=owner, conference=conference)
    rows = repr(list(AuditEvent.objects.filter(action__startswith="report.").values()))
    assert "report.saved" in rows and "report.finalised" in rows
    assert "NARASI-UJI" not in repr(list(AuditEvent.objects.values()))


def test_report_is_written_only_after_the_meeting(full_kka: FullKka) -> None:
    setup = held(full_kka.world, status="planned")
    with pytest.raises(ValidationError, match="setelah KKA terlaksana"):
        report.report_save(
            actor=full_kka.world.counsellor, conference=setup.conference, values={"faktor": "x"}
        )
    assert not Report.objects.filter(conference=setup.conference).exists()


def test_report_save_refuses_unknown_components_and_overlong_text(full_kka: FullKka) -> None:
    owner = full_kka.world.counsellor
    with pytest.raises(ValueError):
        report.report_save(actor=owner, conference=full_kka.conference, values={"x": "y"})
    with pytest.raises(ValidationError, match="paling panjang"):
        report.report_save(
            actor=owner,
            conference=full_kka.conference,
            values={"hasil": "a" * (report.COMPONENT_MAX + 1)},
        )


# --- the report page ---------------------------------------------------------------------------


def _http(user: Any) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


def test_report_page_prefills_saves_and_finalises(full_kka: FullKka) -> None:
    owner = full_kka.world.counsellor
    conference = full_kka.conference
    url = reverse("conferences:report", kwargs={"code": conference.code})
    http = _http(owner)
    page = http.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Sasaran layanan: Konseli berinisial S.R." in body
    for name in report.COMPONENT_NAMES:
        assert f'name="{name}"' in body
    produce_url = reverse("documents:produce", args=["laporan", conference.code])
    assert f'action="{produce_url}"' in body
    assert PRIVATE_CANARY not in body and DESCRIPTION_CANARY not in body

    response = http.post(url, {"hasil": NARRATIVE, "action": "save"})
    assert response.status_code == 302
    assert Report.objects.get(conference=conference).hasil == NARRATIVE
    assert NARRATIVE in http.get(url).content.decode()

    response = http.post(url, {"action": "finalise"}, follow=True)
    assert "Laporan difinalkan" in response.content.decode()
    saved = Report.objects.get(conference=conference)
    assert saved.finalised_at is not None and saved.finalised_by == owner
    assert saved.hasil == NARRATIVE and saved.faktor  # defaults frozen in
    read_only = http.get(url).content.decode()
    assert "<textarea" not in read_only
    assert NARRATIVE in read_only

    response = http.post(url, {"hasil": "Diubah setelah final", "action": "save"}, follow=True)
    assert response.redirect_chain and response.redirect_chain[0][1] == 302
    assert "sudah difinalkan" in response.content.decode()
    assert Report.objects.get(conference=conference).hasil == NARRATIVE
    assert "NARASI-UJI" not in repr(list(AuditEvent.objects.values()))


def test_text_left_as_shown_keeps_following_the_record(full_kka: FullKka) -> None:
    """The page pre-filled a component; the record changed before the counsellor saved:
    the untouched component is not frozen at the old text."""
    owner = full_kka.world.counsellor
    conference = full_kka.conference
    shown = report.report_defaults(conference)
    commitment = Commitment.objects.filter(conference=conference).exclude(status="done").first()
    assert commitment is not None
    followup.commitment_set_status(actor=owner, commitment=commitment, status="done")
    assert report.report_defaults(conference)["hasil"] != shown["hasil"]
    url = reverse("conferences:report", kwargs={"code": conference.code})
    posted = {name: text.replace("\n", "\r\n") for name, text in shown.items()}
    posted |= {f"default_{name}": text for name, text in shown.items()}
    posted["faktor"] = NARRATIVE
    assert _http(owner).post(url, {**posted, "action": "save"}).status_code == 302
    saved = Report.objects.get(conference=conference)
    assert saved.hasil == "" and saved.faktor == NARRATIVE
    assert report.report_texts(conference)["hasil"] == report.report_defaults(conference)["hasil"]
    rows = AuditEvent.objects.filter(action="report.saved")
    assert [row.refs["components"] for row in rows] == ["faktor"]


def test_supervisor_reads_the_report_but_may_not_change_it(full_kka: FullKka) -> None:
    owner = full_kka.world.counsellor
    supervisor = make_user(organisation=full_kka.world.org, full_name="Supervisor Laporan")
    case_services.case_member_add(
        actor=owner, case=full_kka.case, user=supervisor, role=CaseRole.SUPERVISOR
    )
    url = reverse("conferences:report", kwargs={"code": full_kka.conference.code})
    http = _http(supervisor)
    page = http.get(url)
    assert page.status_code == 200 and "<textarea" not in page.content.decode()
    assert reverse("documents:produce", args=["laporan", full_kka.conference.code]) not in (
        page.content.decode()
    )
    assert http.post(url, {"hasil": "Tidak boleh", "action": "save"}).status_code == 403
    assert http.post(url, {"action": "finalise"}).status_code == 403
    assert not Report.objects.filter(conference=full_kka.conference).exists()
    assert _http(full_kka.world.outsider).get(url).status_code == 404
    assert _http(full_kka.world.head).post(url, {"action": "finalise"}).status_code == 404


def test_report_page_before_the_meeting_refuses_with_a_message(full_kka: FullKka) -> None:
    setup = held(full_kka.world, status="planned")
    url = reverse("conferences:report", kwargs={"code": setup.conference.code})
    http = _http(full_kka.world.counsellor)
    assert "<textarea" not in http.get(url).content.decode()
    response = http.post(url, {"hasil": "Terlalu cepat"}, follow=True)
    assert "setelah KKA terlaksana" in response.content.decode()
    assert not Report.objects.filter(conference=setup.conference).exists()


# --- komitmen and pernyataan kerahasiaan ------------------------------------------------------


def test_komitmen_lists_only_this_participants_commitments(full_kka: FullKka) -> None:
    mother, teacher = full_kka.participants[0], full_kka.participants[1]
    values, docx = produce(full_kka, "komitmen", "docx", who=0)
    text = docx_text(docx)
    for commitment in Commitment.objects.filter(participant=mother):
        assert commitment.what in text
    for commitment in Commitment.objects.filter(participant=teacher):
        assert commitment.what not in text
    assert values["jumlah_komitmen"] == str(Commitment.objects.filter(participant=mother).count())
    assert "sanksi" not in text.lower() and "hukuman" not in text.lower()


def test_komitmen_refuses_a_participant_without_commitments(full_kka: FullKka) -> None:
    guest = Participant.objects.create(
        conference=full_kka.conference,
        full_name="Tamu Tanpa Komitmen",
        role="guru mata pelajaran",
        category="staf_lembaga",
    )
    target = Subject(
        organisation=full_kka.world.org,
        viewer=full_kka.world.counsellor,
        case=full_kka.case,
        conference=full_kka.conference,
        participant=guest,
    )
    with pytest.raises(ValidationError, match="Tamu Tanpa Komitmen tidak mempunyai komitmen"):
        registry.get("komitmen").fields(target)
    # A dropped commitment does not count.
    Commitment.objects.create(
        conference=full_kka.conference,
        participant=guest,
        what="Dibatalkan",
        status=CommitmentStatus.DROPPED,
        created_by=full_kka.world.counsellor,
    )
    with pytest.raises(ValidationError):
        registry.get("komitmen").fields(target)


def test_pernyataan_says_how_and_when_the_pledge_was_taken(full_kka: FullKka) -> None:
    spec = registry.get("pernyataan_kerahasiaan")
    online = spec.fields(subject(full_kka, "pernyataan_kerahasiaan", who=0))
    paper = spec.fields(subject(full_kka, "pernyataan_kerahasiaan", who=2))
    assert online["pernyataan_tercatat"].startswith("Telah dinyatakan secara daring pada ")
    assert paper["pernyataan_tercatat"].startswith("Telah dinyatakan di kertas pada ")
    assert "WIB" in online["pernyataan_tercatat"]
    guest = Participant.objects.create(
        conference=full_kka.conference, full_name="Tamu Baru", role="guru", category="staf_lembaga"
    )
    target = subject(full_kka, "pernyataan_kerahasiaan")
    target.participant = guest
    values = spec.fields(target)
    assert values["pernyataan_tercatat"] == ""
    text = pdf_text(render.render_pdf(spec.build(target, values), full_kka.world.org))
    assert "Telah dinyatakan" not in text
    assert "Tamu Baru" in text


def test_pernyataan_undertaking_is_the_portal_pledge_word_for_word() -> None:
    template = Path(__file__).resolve().parents[2] / "kka" / "templates" / "portal" / "home.html"
    portal = squash(template.read_text(encoding="utf-8"))
    for point in pernyataan_kerahasiaan.UNDERTAKING:
        assert squash(point) in portal
    assert squash(pernyataan_kerahasiaan.AFTER_THE_MEETING) in portal
    assert squash(pernyataan_kerahasiaan.LIMITS) in portal


# --- buttons in the flow ----------------------------------------------------------------------


def test_meeting_and_conference_pages_offer_the_documents(full_kka: FullKka) -> None:
    http = _http(full_kka.world.counsellor)
    code = full_kka.conference.code
    report_url = reverse("conferences:report", kwargs={"code": code})
    meeting_page = http.get(reverse("conferences:meeting", kwargs={"code": code})).content.decode()
    detail_page = http.get(reverse("conferences:detail", kwargs={"code": code})).content.decode()
    notulen_url = reverse("documents:produce", args=["notulen", code])
    for page in (meeting_page, detail_page):
        assert f'href="{report_url}"' in page
        assert f'action="{notulen_url}"' in page
        assert 'name="edition" value="rahasia"' in page
    mother = full_kka.participants[0]
    pledge_url = reverse("documents:produce", args=["pernyataan_kerahasiaan", mother.code])
    commitment_url = reverse("documents:produce", args=["komitmen", mother.code])
    assert f'action="{pledge_url}"' in meeting_page
    assert f'action="{pledge_url}"' in detail_page
    assert f'action="{commitment_url}" class="inline commitment-letter"' in detail_page
    # In the participants table, no commitment letter for a participant without any.
    guest = Participant.objects.create(
        conference=full_kka.conference, full_name="Tamu", role="guru", category="staf_lembaga"
    )
    detail_page = http.get(reverse("conferences:detail", kwargs={"code": code})).content.decode()
    guest_commitments = reverse("documents:produce", args=["komitmen", guest.code])
    guest_pledge = reverse("documents:produce", args=["pernyataan_kerahasiaan", guest.code])
    assert f'action="{guest_commitments}" class="inline commitment-letter"' not in detail_page
    assert f'action="{guest_pledge}" class="inline pledge-letter"' in detail_page


def test_the_buttons_produce_the_documents_through_the_documents_service(
    full_kka: FullKka,
) -> None:
    """The real flow: POST to documents:produce, then download (owner); a supervisor may
    not produce."""
    http = _http(full_kka.world.counsellor)
    code = full_kka.conference.code
    response = http.post(
        reverse("documents:produce", args=["notulen", code]), {"fmt": "pdf", "edition": "rahasia"}
    )
    assert response.status_code == 302
    # The rahasia edition asks for a fresh step-up (password here: no second factor).
    asked = http.get(response["Location"])
    assert asked.status_code == 302 and asked["Location"].startswith("/akun/verifikasi/")
    http.post("/akun/verifikasi/", {"password": PASSWORD})
    assert PRIVATE_CANARY in pdf_text(http.get(response["Location"]).content)
    response = http.post(reverse("documents:produce", args=["notulen", code]), {"fmt": "pdf"})
    shared = pdf_text(http.get(response["Location"]).content)
    assert PRIVATE_CANARY not in shared and "NOTULEN KONFERENSI KASUS" in shared
    guest = Participant.objects.create(
        conference=full_kka.conference, full_name="Tamu", role="guru", category="staf_lembaga"
    )
    response = http.post(
        reverse("documents:produce", args=["komitmen", guest.code]), {"fmt": "pdf"}, follow=True
    )
    assert "tidak mempunyai komitmen" in response.content.decode()
    supervisor = make_user(organisation=full_kka.world.org)
    case_services.case_member_add(
        actor=full_kka.world.counsellor,
        case=full_kka.case,
        user=supervisor,
        role=CaseRole.SUPERVISOR,
    )
    denied = _http(supervisor).post(
        reverse("documents:produce", args=["laporan", code]), {"fmt": "pdf"}
    )
    assert denied.status_code == 403
