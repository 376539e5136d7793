"""The plan (SATKUNG and RPL) and the invitation letters (one, and all of a KKA's in one
file), produced for the demo KKA and checked with real tools: qpdf, pdftotext,
pdffonts, python-docx and LibreOffice.

The plan is confidential (RAHASIA and the counsellor's name on every page) and names
the client only by the plan's pseudonym; an invitation is neutral and carries none of
the case: no problem, no description, no private notes, no client name.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import tempfile
from typing import Any

import pytest
from django.test import Client as HttpClient
from django.urls import reverse

from kka.accounts.models import Role
from kka.audit.models import AuditEvent
from kka.conferences.models import Conference, LetterNumber, Participant
from kka.documents import registry, render
from kka.documents.blocks import Doc, Fields, LetterHead, PageBreak
from kka.documents.models import Document
from kka.documents.registry import Subject
from tests.documents.conftest import DESCRIPTION_CANARY, PRIVATE_CANARY, FullKka
from tests.documents.util import (
    docx_text,
    libreoffice_to_pdf,
    pdf_fonts_all_embedded,
    pdf_pages_text,
    qpdf_check,
    squash,
)
from tests.personas import make_user

pytestmark = pytest.mark.django_db

# SATKUNG fields A-Q as counsellors know them (DOMAIN.md §3).
SATKUNG_LABELS = [
    ("A", "Topik permasalahan"),
    ("B", "Bidang bimbingan"),
    ("C", "Jenis kegiatan pendukung"),
    ("D", "Fungsi kegiatan"),
    ("E", "Tujuan kegiatan"),
    ("F", "Hasil yang ingin dicapai"),
    ("G", "Subjek yang mengalami masalah"),
    ("H", "Gambaran ringkas masalah"),
    ("I", "Tempat penyelenggaraan"),
    ("J", "Waktu dan tanggal"),
    ("K", "Penyelenggara kegiatan"),
    ("L", "Pihak yang diikutsertakan dan perannya"),
    ("M", "Bahan dan keterangan yang dibawa ke dalam KKA"),
    ("N", "Penggunaan hasil pertemuan"),
    ("O", "Rencana penilaian dan tindak lanjut"),
    ("P", "Keterkaitan dengan layanan/kegiatan lain"),
    ("Q", "Catatan khusus"),
]
# The RPL components (DOMAIN.md §3), in order.
RPL_LABELS = [
    "Komponen layanan",
    "Bidang layanan",
    "Fungsi layanan",
    "Tujuan",
    "Topik / tema",
    "Sasaran layanan",
    "Metode dan teknik",
    "Waktu",
    "Tempat",
    "Media / alat",
    "Tanggal",
    "Sumber",
    "Tahap awal",
    "Tahap inti",
    "Tahap penutup",
    "Evaluasi proses",
    "Evaluasi hasil",
]
RELATED = "Konseling individual lanjutan setiap Senin"
SPECIAL = "Konseli tidak dihadirkan; ibu konseli hadir"


# --- helpers --------------------------------------------------------------------------------


# The page furniture every page repeats: the confidential header and the footer.
FURNITURE = re.compile(r"^(RAHASIA|Dibuat untuk: .*|.* · [0-9a-f]{12}|Halaman \d+ dari \d+)$")


def pdf_raw_text(pdf: bytes) -> str:
    """pdftotext in reading order (no -layout), without the page furniture: each table
    cell comes out whole, so a label that wraps in its column is not interleaved with
    the value beside it, and a row split over two pages reads on."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        result = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", handle.name, "-"], capture_output=True, check=True
        )
    lines = result.stdout.decode("utf-8").replace("\f", "\n").splitlines()
    return "\n".join(line for line in lines if not FURNITURE.match(line.strip()))


def bare(text: str) -> str:
    """No whitespace at all: a line may break anywhere (also after "/" or "-")."""
    return re.sub(r"\s+", "", text).casefold()


def subject_of(kka: FullKka, participant: Participant | None = None, **extra: Any) -> Subject:
    conference = Conference.objects.get(pk=kka.conference.pk)
    return Subject(
        organisation=kka.world.org,
        viewer=kka.world.counsellor,
        case=conference.case,
        conference=conference,
        participant=participant,
        **extra,
    )


def made(kind_code: str, subject: Subject) -> tuple[dict[str, str], Doc]:
    kind = registry.get(kind_code)
    values = kind.fields(subject)
    return values, kind.build(subject, values)


def field_rows(doc: Doc) -> list[tuple[str, str, str]]:
    return [row for block in doc.blocks if isinstance(block, Fields) for row in block.rows]


def invited(kka: FullKka) -> list[Participant]:
    people = list(
        Participant.objects.filter(
            conference=kka.conference, removed_at__isnull=True, invited_at__isnull=False
        ).order_by("position", "id")
    )
    assert len(people) == 3
    assert all(p.letter_number for p in people)
    return people


def fill_the_rest_of_the_plan(kka: FullKka) -> None:
    """The demo plan leaves P and Q empty; give them values to look for."""
    Conference.objects.filter(pk=kka.conference.pk).update(
        related_activities=RELATED, special_notes=SPECIAL
    )


def secrets_of(kka: FullKka) -> dict[str, str]:
    """What must never reach an invitation."""
    conference = Conference.objects.get(pk=kka.conference.pk)
    client = kka.case.client
    return {
        "description canary": DESCRIPTION_CANARY,
        "private canary": PRIVATE_CANARY,
        "client full name": client.full_name,
        "client surname": client.full_name.split()[-1],
        "case title": kka.case.title,
        "plan topic": conference.topic,
        "plan summary": conference.summary,
        "briefing": conference.briefing,
    }


def assert_clean(where: str, text: str, secrets: dict[str, str]) -> None:
    folded = bare(text)
    leaked = [name for name, value in secrets.items() if bare(value) in folded]
    assert leaked == [], f"{leaked} reached the {where}"


def assert_in(needle: str, haystack: str, where: str) -> None:
    assert bare(needle) in bare(haystack), f"{needle!r} not in {where}"


def assert_words_in(needle: str, haystack: str, where: str) -> None:
    """Every word of ``needle`` is in ``haystack``: for LibreOffice's PDFs, whose text
    order interleaves a wrapped label with the value beside it."""
    words = set(re.findall(r"\w+", haystack.casefold()))
    missing = set(re.findall(r"\w+", needle.casefold())) - words
    assert not missing, f"{sorted(missing)} of {needle!r} not in {where}"


def check_pdf(pdf: bytes) -> tuple[str, list[str]]:
    """qpdf passes, all fonts embedded; returns the reading-order text and the pages."""
    qpdf_check(pdf)
    assert pdf_fonts_all_embedded(pdf)
    return pdf_raw_text(pdf), pdf_pages_text(pdf)


def assert_confidential_pages(pages: list[str], name: str) -> None:
    assert pages
    for number, page in enumerate(pages, start=1):
        assert re.search(r"\bRAHASIA\b", page), f"page {number} has no RAHASIA"
        assert f"Dibuat untuk: {name}" in squash(page), f"page {number} has no recipient"


# --- SATKUNG ---------------------------------------------------------------------------------


def test_satkung_has_fields_a_to_q_in_order_in_pdf_and_docx(full_kka: FullKka) -> None:
    fill_the_rest_of_the_plan(full_kka)
    organisation = full_kka.world.org
    subject = subject_of(full_kka)
    values, doc = made("satkung", subject)

    rows = field_rows(doc)
    assert [(code, label) for code, label, _value in rows] == SATKUNG_LABELS
    assert all(value.strip() for _code, _label, value in rows)
    by_label = {label: value for _code, label, value in rows}
    assert by_label["Jenis kegiatan pendukung"] == "Konferensi kasus"
    assert by_label["Topik permasalahan"] == full_kka.case.title
    assert by_label["Subjek yang mengalami masalah"] == "Konseli berinisial S.R."
    assert by_label["Keterkaitan dengan layanan/kegiatan lain"] == RELATED
    assert by_label["Catatan khusus"] == SPECIAL
    assert by_label["Tempat penyelenggaraan"] == "Ruang BK"
    # L: every planned participant with their role; M: the records by date and source.
    for participant in full_kka.participants:
        assert f"{participant.full_name} — {participant.role}" in by_label[SATKUNG_LABELS[11][1]]
    assert "Keikutsertaan konseli: tidak hadir" in by_label[SATKUNG_LABELS[11][1]]
    assert by_label[SATKUNG_LABELS[12][1]].count("\n") == 2  # three records
    assert "Laporan guru / wali kelas" in by_label[SATKUNG_LABELS[12][1]]
    assert values["tempat"] == "Ruang BK"
    assert doc.confidential
    assert doc.produced_for == full_kka.world.counsellor.full_name

    pdf = render.render_pdf(doc, organisation)
    text, pages = check_pdf(pdf)
    assert_in(organisation.name, text, "the letterhead")
    assert_in(organisation.address, text, "the letterhead")
    assert_in("SATUAN KEGIATAN PENDUKUNG (SATKUNG)", text, "the PDF")
    for code, label, value in rows:
        assert_in(f"{code} {label} : {value}", text, f"the PDF (row {code})")
    for signer in (organisation.head_name, organisation.head_staff_number, "Mengetahui,"):
        assert_in(signer, text, "the signatures")
    assert_in(full_kka.world.counsellor.full_name, text, "the signatures")
    assert_confidential_pages(pages, full_kka.world.counsellor.full_name)
    # The plan names the client by initials only, and never carries the private notes.
    assert_clean(
        "SATKUNG",
        text,
        {
            "client full name": full_kka.case.client.full_name,
            "description canary": DESCRIPTION_CANARY,
            "private canary": PRIVATE_CANARY,
        },
    )

    docx = render.render_docx(doc, organisation)
    body = docx_text(docx)
    assert_in(organisation.name, body, "the DOCX letterhead")
    assert "RAHASIA" in body
    for code, label, value in rows:
        assert code in body
        assert label in body
        assert value in body, f"row {code} value not in the DOCX"
    converted = pdf_raw_text(libreoffice_to_pdf(docx))
    assert_in(organisation.name, converted, "LibreOffice's PDF")
    for _code, label, value in rows:
        assert_words_in(f"{label} {value}", converted, "LibreOffice's PDF")


def test_every_page_of_a_long_satkung_is_marked_rahasia(full_kka: FullKka) -> None:
    long_text = "\n".join(f"Langkah {n}: pemantauan kehadiran harian." for n in range(1, 60))
    Conference.objects.filter(pk=full_kka.conference.pk).update(special_notes=long_text)

    _values, doc = made("satkung", subject_of(full_kka))
    text, pages = check_pdf(render.render_pdf(doc, full_kka.world.org))

    assert len(pages) >= 3
    assert_confidential_pages(pages, full_kka.world.counsellor.full_name)
    assert_in("Langkah 59: pemantauan kehadiran harian.", text, "the PDF")


# --- RPL -------------------------------------------------------------------------------------


def test_rpl_has_every_component_from_the_same_record(full_kka: FullKka) -> None:
    fill_the_rest_of_the_plan(full_kka)
    organisation = full_kka.world.org
    values, doc = made("rpl", subject_of(full_kka))

    rows = field_rows(doc)
    labels = [label for _code, label, _value in rows]
    assert [label for label in labels if label in RPL_LABELS] == RPL_LABELS
    by_label = {label: value for _code, label, value in rows}
    assert all(by_label[label].strip() for label in RPL_LABELS)
    assert by_label["Komponen layanan"] == "Layanan dukungan sistem / kegiatan pendukung"
    assert by_label["Metode dan teknik"].startswith("Konferensi kasus: diskusi terbatas")
    assert by_label["Bidang layanan"] == "Pribadi"
    assert by_label["Fungsi layanan"] == "Pemahaman, Pengentasan"
    assert by_label["Topik / tema"] == full_kka.case.title
    assert by_label["Tempat"] == "Ruang BK"
    assert by_label["Waktu"] == "90 menit (09.00 s.d. 10.30 WIB)"
    conference = Conference.objects.get(pk=full_kka.conference.pk)
    assert conference.aim in by_label["Tujuan"]
    assert conference.expected_results in by_label["Tujuan"]
    assert conference.evaluation_plan in by_label["Evaluasi hasil"]
    assert "UCA" in by_label["Evaluasi hasil"]
    assert "Penstrukturan" in by_label["Tahap awal"]
    assert by_label["Teks penstrukturan"].startswith("Terima kasih atas kehadiran")
    assert "komitmen" in by_label["Tahap inti"]
    assert "Penilaian segera (laiseg)" in by_label["Tahap penutup"]
    for participant in full_kka.participants:
        assert participant.full_name in by_label["Sasaran layanan"]
    assert "Laporan orang tua" in by_label["Sumber"]
    assert values["tahun_ajaran"].count("/") == 1
    assert doc.confidential

    pdf = render.render_pdf(doc, organisation)
    text, pages = check_pdf(pdf)
    assert_in(organisation.name, text, "the letterhead")
    assert_in("RENCANA PELAKSANAAN LAYANAN (RPL)", text, "the PDF")
    for _code, label, value in rows:
        assert_in(label, text, "the PDF")
        assert_in(value, text, f"the PDF ({label})")
    assert_confidential_pages(pages, full_kka.world.counsellor.full_name)
    assert_clean(
        "RPL",
        text,
        {
            "client full name": full_kka.case.client.full_name,
            "description canary": DESCRIPTION_CANARY,
            "private canary": PRIVATE_CANARY,
        },
    )

    docx = render.render_docx(doc, organisation)
    body = docx_text(docx)
    assert_in(organisation.name, body, "the DOCX letterhead")
    for _code, label, value in rows:
        assert label in body
        assert value in body, f"{label} value not in the DOCX"
    converted = pdf_raw_text(libreoffice_to_pdf(docx))
    assert_in(organisation.name, converted, "LibreOffice's PDF")
    for label in RPL_LABELS:
        assert_words_in(f"{label} {by_label[label]}", converted, "LibreOffice's PDF")


def test_rpl_follows_the_organisations_own_structuring_and_scheme(full_kka: FullKka) -> None:
    organisation = full_kka.world.org
    organisation.structuring_text = "Aturan lembaga kami: semua rahasia."
    organisation.evaluation_scheme = "bmb3"
    organisation.save()

    values, _doc = made("rpl", subject_of(full_kka))

    assert values["teks_penstrukturan"] == "Aturan lembaga kami: semua rahasia."
    assert values["evaluasi_hasil"].startswith("Penilaian segera dengan skema BMB3")


# --- the invitation letter ----------------------------------------------------------------


def test_each_invitation_is_a_neutral_letter_with_its_own_number(full_kka: FullKka) -> None:
    organisation = full_kka.world.org
    secrets = secrets_of(full_kka)
    people = invited(full_kka)
    numbers_before = LetterNumber.objects.count()

    for participant in people:
        values, doc = made("undangan", subject_of(full_kka, participant))

        assert values["nomor_surat"] == participant.letter_number
        heads = [block for block in doc.blocks if isinstance(block, LetterHead)]
        assert len(heads) == 1
        assert heads[0].number == participant.letter_number
        assert heads[0].subject == "Undangan pertemuan"
        assert heads[0].addressee[0] == f"Yth. Bapak/Ibu {participant.full_name}"
        assert heads[0].addressee[-1] == "di tempat"
        assert doc.number == participant.letter_number
        assert not doc.confidential
        assert_clean(f"fields of {participant.role}'s invitation", str(values), secrets)

        pdf = render.render_pdf(doc, organisation)
        text, pages = check_pdf(pdf)
        assert len(pages) == 1
        for needle in (
            organisation.name,
            participant.letter_number,
            "Undangan pertemuan",
            participant.full_name,
            "Ruang BK",
            values["hari_tanggal"],
            "09.00 s.d. 10.30 WIB",
            "Pertemuan terbatas guna",
            "Mengetahui,",
            organisation.head_name,
            full_kka.world.counsellor.full_name,
        ):
            assert_in(needle, text, f"{participant.role}'s invitation")
        assert_clean(f"{participant.role}'s invitation PDF", text, secrets)
        assert "Dibuat untuk" not in text  # not a confidential document
        assert not re.search(r"\bRAHASIA\b", pages[0])

        docx = render.render_docx(doc, organisation)
        body = docx_text(docx)
        for needle in (participant.letter_number, participant.full_name, "Ruang BK"):
            assert needle in body
        assert_clean(f"{participant.role}'s invitation DOCX", body, secrets)

    # Producing the letters again took no new number.
    assert LetterNumber.objects.count() == numbers_before
    staff = people[1]
    assert staff.category == "staf_lembaga"
    _values, staff_doc = made("undangan", subject_of(full_kka, staff))
    staff_head = next(b for b in staff_doc.blocks if isinstance(b, LetterHead))
    assert staff_head.addressee == (f"Yth. Bapak/Ibu {staff.full_name}", staff.role, "di tempat")


def test_the_invitation_docx_converts_with_libreoffice(full_kka: FullKka) -> None:
    participant = invited(full_kka)[1]
    _values, doc = made("undangan", subject_of(full_kka, participant))

    converted = pdf_raw_text(libreoffice_to_pdf(render.render_docx(doc, full_kka.world.org)))

    for needle in (participant.letter_number, participant.full_name, "Ruang BK", "Perihal"):
        assert_words_in(needle, converted, "LibreOffice's PDF")
    assert_in(participant.letter_number, converted, "LibreOffice's PDF")
    assert_clean("converted invitation", converted, secrets_of(full_kka))


def test_a_family_member_and_the_client_get_no_role_line(full_kka: FullKka) -> None:
    mother = invited(full_kka)[0]
    assert mother.category == "keluarga"
    client = Participant.objects.create(
        conference=full_kka.conference,
        full_name=full_kka.case.client.full_name,
        role="konseli",
        category="konseli",
        letter_number="099/BK/XI/2026",
    )

    _values, mother_doc = made("undangan", subject_of(full_kka, mother))
    values, client_doc = made("undangan", subject_of(full_kka, client))

    mother_head = next(b for b in mother_doc.blocks if isinstance(b, LetterHead))
    assert mother_head.addressee == (f"Yth. Bapak/Ibu {mother.full_name}", "di tempat")
    first_name = full_kka.case.client.full_name.split()[0]
    client_head = next(b for b in client_doc.blocks if isinstance(b, LetterHead))
    assert client_head.addressee == (f"Yth. Ananda {first_name}", "di tempat")
    text = pdf_raw_text(render.render_pdf(client_doc, full_kka.world.org))
    assert_in(f"Ananda {first_name}", text, "the client's letter")
    assert_clean(
        "the client's own letter",
        text,
        {k: v for k, v in secrets_of(full_kka).items() if k != "plan summary"},
    )
    assert "kehadiran Ananda" in values["penutup"]
    # The plan lists the client taking part by the plan's initials, not by name.
    plan, _doc = made("satkung", subject_of(full_kka, None))
    assert ". Konseli berinisial S.R. — konseli\n" in plan["pihak_diikutsertakan"]
    assert full_kka.case.client.full_name not in str(plan)
    rpl, _doc = made("rpl", subject_of(full_kka, None))
    assert "Konseli berinisial S.R. — konseli" in rpl["sasaran"]
    assert full_kka.case.client.full_name not in str(rpl)


def test_a_custom_invitation_text_is_kept_and_an_english_default_is_printed_in_indonesian(
    full_kka: FullKka,
) -> None:
    staff = invited(full_kka)[1]
    Participant.objects.filter(pk=staff.pk).update(language="en")
    staff.refresh_from_db()
    from kka.conferences import services as conference_services

    english = conference_services.invitation_default_text(staff)
    Participant.objects.filter(pk=staff.pk).update(invitation_text=english)
    staff.refresh_from_db()

    values, _doc = made("undangan", subject_of(full_kka, staff))
    assert values["isi_undangan"].startswith("Dengan hormat, kami mengundang Bapak/Ibu")

    Participant.objects.filter(pk=staff.pk).update(invitation_text="Mohon hadir, Pak Hendro.")
    staff.refresh_from_db()
    values, _doc = made("undangan", subject_of(full_kka, staff))
    assert values["isi_undangan"] == "Mohon hadir, Pak Hendro."


# --- all invitations in one file -------------------------------------------------------------


def test_all_invitations_make_one_letter_per_invited_participant(full_kka: FullKka) -> None:
    organisation = full_kka.world.org
    people = invited(full_kka)
    # A removed participant gets no letter.
    Participant.objects.filter(pk=people[2].pk).update(removed_at=people[2].invited_at)
    people = people[:2]
    numbers_before = LetterNumber.objects.count()

    values, doc = made("undangan_semua", subject_of(full_kka))

    assert values["jumlah_surat"] == "2"
    heads = [block for block in doc.blocks if isinstance(block, LetterHead)]
    assert [h.number for h in heads] == [p.letter_number for p in people]
    assert sum(isinstance(block, PageBreak) for block in doc.blocks) == 1
    pdf = render.render_pdf(doc, organisation)
    _text, pages = check_pdf(pdf)
    # Each letter starts on its own page and its pages name only its addressee.
    starts = [i for i, page in enumerate(pages) if "Perihal" in page]
    assert len(starts) == len(people)
    for n, participant in enumerate(people):
        end = starts[n + 1] if n + 1 < len(starts) else len(pages)
        letter = squash("\n".join(pages[starts[n] : end]))
        assert participant.letter_number in letter
        assert participant.full_name in letter
        # Every letter carries the kop surat, not only the first page of the file.
        assert squash(organisation.name).upper() in squash(pages[starts[n]]).upper()
        others = [p for p in full_kka.participants if p.pk != participant.pk]
        assert not [p.full_name for p in others if p.full_name in letter]
        assert_clean("all invitations", letter, secrets_of(full_kka))
    body = docx_text(render.render_docx(doc, organisation))
    for participant in people:
        assert participant.letter_number in body
    assert body.upper().count(organisation.name.upper()) >= len(people)
    assert LetterNumber.objects.count() == numbers_before


def test_all_invitations_without_any_sent_say_so(full_kka: FullKka) -> None:
    Participant.objects.filter(conference=full_kka.conference).update(invited_at=None)

    values, doc = made("undangan_semua", subject_of(full_kka))

    assert values["jumlah_surat"] == "0"
    assert not [block for block in doc.blocks if isinstance(block, LetterHead)]
    text = pdf_raw_text(render.render_pdf(doc, full_kka.world.org))
    assert_in("Belum ada undangan yang dikirim", text, "the PDF")


def test_every_kind_is_registered_with_its_scope_and_help() -> None:
    kinds = registry.load_all()
    expected = {
        "satkung": ("conference", True, False, False),
        "rpl": ("conference", True, False, False),
        "undangan": ("participant", False, True, True),
        "undangan_semua": ("conference", False, False, False),
    }
    for code, (scope, confidential, numbered, outside) in expected.items():
        kind = kinds[code]
        assert (kind.scope, kind.confidential, kind.numbered, kind.outside) == (
            scope,
            confidential,
            numbered,
            outside,
        )


@pytest.mark.parametrize("code", ["satkung", "rpl", "undangan", "undangan_semua"])
def test_every_field_is_described_for_own_templates(full_kka: FullKka, code: str) -> None:
    participant = invited(full_kka)[1] if code == "undangan" else None
    kind = registry.get(code)
    values = kind.fields(subject_of(full_kka, participant))

    assert set(values) == set(kind.field_help)
    assert all(isinstance(value, str) for value in values.values())
    assert all(str(kind.field_help[name]) for name in values)


def test_a_subject_copy_for_one_letter_keeps_its_own_number(full_kka: FullKka) -> None:
    """undangan_semua passes each letter its participant's number, never the file's."""
    participant = invited(full_kka)[0]
    subject = dataclasses.replace(subject_of(full_kka), number="999/SALAH")
    from kka.documents.kinds import undangan_semua

    one = undangan_semua.letter_subject(subject, participant)

    assert one.number == participant.letter_number
    assert one.participant == participant


# --- through the pages: buttons, produce, download ---------------------------------------------


def produce_url(kind: str, code: str) -> str:
    return reverse("documents:produce", kwargs={"kind": kind, "code": code})


def post_and_download(http: HttpClient, kind: str, code: str, fmt: str = "pdf") -> bytes:
    response = http.post(produce_url(kind, code), {"fmt": fmt})
    assert response.status_code == 302, response.content[:300]
    download = http.get(response["Location"])
    assert download.status_code == 200
    return b"".join(download.streaming_content) if download.streaming else download.content


@pytest.mark.parametrize("plan_format", ["satkung", "rpl"])
def test_the_plan_buttons_produce_the_organisations_plan_format(
    full_kka: FullKka, plan_format: str
) -> None:
    organisation = full_kka.world.org
    organisation.plan_format = plan_format
    organisation.save()
    other = "rpl" if plan_format == "satkung" else "satkung"
    conference = full_kka.conference
    http = HttpClient()
    http.force_login(full_kka.world.counsellor)

    for page in (
        reverse("conferences:detail", kwargs={"code": conference.code}),
        reverse("conferences:plan", kwargs={"code": conference.code}),
    ):
        html = http.get(page).content.decode()
        assert f'action="{produce_url(plan_format, conference.code)}"' in html
        other_form = f'action="{produce_url(other, conference.code)}" class="row plan-document"'
        assert other_form not in html
        assert "Unduh rencana (PDF)" in html

    pdf = post_and_download(http, plan_format, conference.code)

    title = "SATUAN KEGIATAN PENDUKUNG" if plan_format == "satkung" else "RENCANA PELAKSANAAN"
    text = pdf_raw_text(pdf)
    assert_in(title, text, "the downloaded plan")
    document = Document.objects.get(kind=plan_format, conference=conference)
    assert document.produced_for == full_kka.world.counsellor.full_name
    assert document.number == ""  # the plan is not an official letter: no number
    assert not LetterNumber.objects.filter(kind=plan_format).exists()
    audit = AuditEvent.objects.filter(action="document.produced").get()
    assert audit.refs["kind"] == plan_format
    assert full_kka.case.client.full_name not in str(audit.refs)
    docx = post_and_download(http, plan_format, conference.code, fmt="docx")
    assert_in(title, docx_text(docx), "the downloaded DOCX")


def test_the_invitation_buttons_reuse_the_participants_number(full_kka: FullKka) -> None:
    conference = full_kka.conference
    people = invited(full_kka)
    http = HttpClient()
    http.force_login(full_kka.world.counsellor)
    numbers_before = LetterNumber.objects.count()

    html = http.get(reverse("conferences:detail", kwargs={"code": conference.code})).content
    page = html.decode()
    for participant in people:
        assert f'action="{produce_url("undangan", participant.code)}"' in page
    assert f'action="{produce_url("undangan_semua", conference.code)}"' in page

    first = post_and_download(http, "undangan", people[1].code)
    again = post_and_download(http, "undangan", people[1].code)
    everything = post_and_download(http, "undangan_semua", conference.code)

    for pdf in (first, again):
        text = pdf_raw_text(pdf)
        assert_in(people[1].letter_number, text, "the letter")
        assert_clean("the downloaded letter", text, secrets_of(full_kka))
    pages = pdf_pages_text(everything)
    assert sum("Perihal" in page for page in pages) == len(people)
    assert LetterNumber.objects.count() == numbers_before
    documents = Document.objects.filter(kind="undangan", participant=people[1])
    assert {d.number for d in documents} == {people[1].letter_number}
    assert {d.letter_number.number for d in documents if d.letter_number} == {
        people[1].letter_number
    }


def test_a_supervisor_sees_no_produce_buttons_and_may_not_produce(full_kka: FullKka) -> None:
    from kka.cases import services as case_services
    from kka.cases.models import CaseRole

    supervisor = make_user(organisation=full_kka.world.org, role=Role.KONSELOR)
    case_services.case_member_add(
        actor=full_kka.world.counsellor,
        case=full_kka.case,
        user=supervisor,
        role=CaseRole.SUPERVISOR,
    )
    conference = full_kka.conference
    participant = invited(full_kka)[0]
    http = HttpClient()
    http.force_login(supervisor)

    page = http.get(reverse("conferences:detail", kwargs={"code": conference.code})).content
    text = page.decode()

    assert "plan-document" not in text
    assert f'action="{produce_url("undangan", participant.code)}" class="inline' not in text
    assert "all-invitations" not in text
    assert http.post(produce_url("satkung", conference.code), {"fmt": "pdf"}).status_code == 403
    assert http.post(produce_url("undangan", participant.code), {"fmt": "pdf"}).status_code == 403
    outsider = HttpClient()
    outsider.force_login(full_kka.world.outsider)
    assert outsider.post(produce_url("rpl", conference.code), {"fmt": "pdf"}).status_code == 404
    assert not Document.objects.exists()
