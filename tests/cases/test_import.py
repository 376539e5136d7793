"""Client import from XLSX / CSV: preview before writing, idempotent, private, all-or-nothing."""

from __future__ import annotations

import base64
import datetime as dt
import io
import random
from typing import Any

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.db import connection
from django.test import Client as HttpClient
from openpyxl import Workbook

from kka.accounts.models import Organisation, User
from kka.audit.models import AuditEvent
from kka.cases import imports
from kka.cases.models import Client, ClientNameToken, Guardian, ImportBatch
from kka.cases.services import client_create
from tests.personas import World

pytestmark = pytest.mark.django_db

IMPORT_URL = "/konseli/impor/"
MARKER = "Zulkarnaenmarkah"
HEADER = ["No", "Nama Peserta Didik", "JK", "Tanggal Lahir", "NISN", "Rombel", "HP", "Nama Ibu"]
ROWS: list[list[Any]] = [
    [1, f"Ani {MARKER}", "P", dt.datetime(2011, 3, 4), "0012345671", "7A", "0812", "Ibu Ani"],
    [2, "Budi Santoso", "laki-laki", "17/08/2010", "0012345672", "7B", "", ""],
    [3, "Citra Dewi", "Perempuan", "2011-01-02", "", "7A", "", ""],  # no identifier
]


def xlsx(rows: list[list[Any]], *, title_rows: int = 0) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for n in range(title_rows):
        sheet.append([f"Judul laporan {n}"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def school_file() -> bytes:
    return xlsx([HEADER, *ROWS])


def preview_url(batch: ImportBatch) -> str:
    return f"{IMPORT_URL}{batch.code}/"


def logged_in(user: User) -> HttpClient:
    client = HttpClient()
    client.force_login(user)
    return client


def upload(http: HttpClient, name: str, data: bytes) -> Any:
    return http.post(IMPORT_URL, {"file": SimpleUploadedFile(name, data)})


def prepare(world: World, data: bytes, name: str = "siswa.xlsx") -> ImportBatch:
    return imports.import_prepare(
        actor=world.counsellor, organisation=world.org, filename=name, data=data
    )


def statuses(batch: ImportBatch) -> list[str]:
    return [row.status for row in imports.batch_rows(batch)]


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def raw_batch_columns(batch: ImportBatch) -> tuple[str, str]:
    table = connection.ops.quote_name(ImportBatch._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT payload, filename FROM {table} WHERE id = %s", [batch.pk])
        payload, filename = cursor.fetchone()
    return payload, filename


# --- the whole flow through the screens ------------------------------------------------


def test_upload_preview_confirm_then_reimport_creates_no_duplicates(world: World) -> None:
    http = logged_in(world.counsellor)
    page = http.get(IMPORT_URL)
    assert page.status_code == 200
    assert 'accept=".xlsx,.csv"' in page.content.decode()
    assert "Nama Peserta Didik" in page.content.decode()  # the help lists the columns

    response = upload(http, "kelas7.xlsx", school_file())
    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == preview_url(batch)
    preview = http.get(preview_url(batch))
    html = preview.content.decode()
    assert preview.status_code == 200
    assert f"Ani {MARKER}" in html and "Citra Dewi" in html  # the uploader sees the names
    assert 'data-label="Status"' in html
    assert Client.objects.count() == 0  # nothing written before confirmation
    assert ClientNameToken.objects.count() == 0

    confirmed = http.post(preview_url(batch))
    assert confirmed.status_code == 302
    assert confirmed["Location"] == "/konseli/"
    assert messages_of(confirmed) == ["3 konseli baru ditambahkan, 0 sudah terdaftar."]
    assert Client.objects.filter(organisation=world.org).count() == 3
    ani = next(c for c in Client.objects.all() if c.full_name == f"Ani {MARKER}")
    assert (ani.sex, ani.birth_date, ani.nisn, ani.group) == ("P", "2011-03-04", "0012345671", "7A")
    guardian = Guardian.objects.get(client=ani)
    assert (guardian.full_name, guardian.relationship) == ("Ibu Ani", "ibu")
    batch.refresh_from_db()
    assert batch.confirmed_at is not None
    assert batch.payload == ""

    # The same spreadsheet again: every row is recognised, nothing is added.
    upload(http, "kelas7.xlsx", school_file())
    second = ImportBatch.objects.latest("id")
    assert statuses(second) == [imports.EXISTING] * 3
    assert "Sudah terdaftar" in http.get(preview_url(second)).content.decode()
    again = http.post(preview_url(second))
    assert messages_of(again) == ["0 konseli baru ditambahkan, 3 sudah terdaftar."]
    assert Client.objects.count() == 3


def test_stored_upload_is_encrypted_and_cleared_after_confirmation(world: World) -> None:
    data = school_file()
    batch = prepare(world, data, name=f"{MARKER}.xlsx")

    payload, filename = raw_batch_columns(batch)
    assert MARKER not in payload and MARKER not in filename
    assert base64.b64encode(data).decode()[:40] not in payload
    assert base64.b64decode(ImportBatch.objects.get(pk=batch.pk).payload) == data

    imports.import_confirm(actor=world.counsellor, batch=batch)
    assert ImportBatch.objects.get(pk=batch.pk).payload == ""


def test_second_confirmation_is_refused(world: World) -> None:
    batch = prepare(world, school_file())
    result = imports.import_confirm(actor=world.counsellor, batch=batch)
    assert (result.created, result.existing, result.duplicates) == (3, 0, 0)

    with pytest.raises(ValidationError, match="sudah dikonfirmasi"):
        imports.import_confirm(actor=world.counsellor, batch=batch)
    response = logged_in(world.counsellor).post(preview_url(batch))
    assert response.status_code == 302
    assert messages_of(response) == ["Impor ini sudah dikonfirmasi sebelumnya."]
    assert Client.objects.count() == 3
    assert AuditEvent.objects.filter(action="client.imported").count() == 1


# --- malformed files ------------------------------------------------------------------------


def test_random_bytes_are_refused_and_nothing_is_written(world: World) -> None:
    noise = random.Random(7).randbytes(4000)
    with pytest.raises(ValidationError) as info:
        prepare(world, noise, name="siswa.csv")
    assert info.value.messages == ["Berkas tidak dapat dibaca. Gunakan XLSX atau CSV."]

    response = upload(logged_in(world.counsellor), "siswa.xlsx", b"PK\x03\x04" + noise)
    assert response.status_code == 200
    assert "Berkas tidak dapat dibaca. Gunakan XLSX atau CSV." in response.content.decode()
    assert ImportBatch.objects.count() == 0
    assert Client.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="client.").exists()


def test_xlsx_without_a_name_column_is_a_file_error(world: World) -> None:
    data = xlsx([["NISN", "Kelas"], ["0012345671", "7A"]])
    response = upload(logged_in(world.counsellor), "siswa.xlsx", data)
    assert "Kolom nama tidak ditemukan" in response.content.decode()
    assert ImportBatch.objects.count() == 0
    assert Client.objects.count() == 0


def test_bad_rows_get_one_clear_message_each_and_block_confirmation(world: World) -> None:
    data = xlsx(
        [
            ["Nama", "Tgl. Lahir", "NISN", "L/P"],
            ["Baik Sekali", "2010-05-06", "0012345679", "L"],
            ["", "2010-05-06", "", ""],
            ["Tanggal Salah", "31/02/2010", "", ""],
            ["NISN Salah", "", "12345", "X"],
        ]
    )
    http = logged_in(world.counsellor)
    upload(http, "siswa.xlsx", data)
    batch = ImportBatch.objects.get()
    errors = [row.errors for row in imports.batch_rows(batch)]
    assert errors == [
        [],
        ["Baris 3: nama wajib diisi."],
        ['Baris 4: tanggal lahir "31/02/2010" tidak valid.'],
        [
            'Baris 5: jenis kelamin "X" tidak dikenal. Gunakan L atau P.',
            "Baris 5: NISN harus 10 digit angka.",
        ],
    ]
    html = http.get(preview_url(batch)).content.decode()
    assert "Baris 5: NISN harus 10 digit angka." in html
    assert 'aria-describedby="confirm-help" disabled' in html

    refused = http.post(preview_url(batch))
    assert messages_of(refused) == ["3 baris masih perlu diperbaiki. Tidak ada data yang disimpan."]
    with pytest.raises(ValidationError):
        imports.import_confirm(actor=world.counsellor, batch=batch)
    assert Client.objects.count() == 0
    assert ImportBatch.objects.get().confirmed_at is None


def test_oversized_files_are_refused(world: World) -> None:
    too_big = b"Nama\n" + b"x" * imports.MAX_BYTES
    with pytest.raises(ValidationError, match="maksimal 5 MB"):
        prepare(world, too_big, name="besar.csv")
    too_many = "Nama\n" + "".join(f"Siswa {n}\n" for n in range(imports.MAX_ROWS + 1))
    with pytest.raises(ValidationError, match=r"lebih dari 5\.000 baris"):
        prepare(world, too_many.encode(), name="banyak.csv")
    exactly = "Nama\n" + "".join(f"Siswa {n}\n" for n in range(imports.MAX_ROWS))
    assert len(imports.parse_spreadsheet("pas.csv", exactly.encode())) == imports.MAX_ROWS
    assert ImportBatch.objects.count() == 0


def test_uploads_stay_in_memory_and_oversized_requests_are_not_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_temp_files(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the upload was written to a temporary file")

    monkeypatch.setattr(TemporaryFileUploadHandler, "new_file", no_temp_files)
    filler = "Jalan " + "x" * 480 + ",Kelas " + "y" * 90
    big = "Nama,Alamat,Kelas\n" + "".join(f"Siswa {n},{filler}\n" for n in range(4900))
    assert len(big) > settings.FILE_UPLOAD_MAX_MEMORY_SIZE  # Django would use a temp file
    http = logged_in(world.counsellor)
    response = upload(http, "besar.csv", big.encode())
    assert response.status_code == 302
    assert ImportBatch.objects.count() == 1

    huge = upload(http, "raksasa.csv", b"Nama\n" + b"x" * (imports.MAX_BYTES + 300_000))
    assert huge.status_code == 200
    assert "Berkas terlalu besar. Ukuran maksimal 5 MB." in huge.content.decode()
    assert ImportBatch.objects.count() == 1


# --- formats and values ------------------------------------------------------------------


def test_semicolon_csv_with_bom_and_indonesian_headers() -> None:
    text = (
        "NAMA LENGKAP;Jenis Kelamin;tgl lahir;NISN;Kelas;No. HP;Alamat\r\n"
        'Dewi Lestari;P;05-06-2010;0098765432;8C;0812 3456;"Jl. Melati 3; RT 2"\r\n'
    )
    rows = imports.parse_spreadsheet("siswa.csv", b"\xef\xbb\xbf" + text.encode())
    assert len(rows) == 1
    assert rows[0].number == 2
    assert rows[0].status == imports.NEW
    assert rows[0].values == {
        "full_name": "Dewi Lestari",
        "sex": "P",
        "birth_date": "2010-06-05",
        "nisn": "0098765432",
        "nik": "",
        "employee_number": "",
        "group": "8C",
        "address": "Jl. Melati 3; RT 2",
        "phone": "0812 3456",
    }


def test_hr_export_with_comma_csv_and_english_headers() -> None:
    text = "Name,Sex,Birth Date,Employee Number,Department,Phone\nRina,F,1990-01-31,EMP-7,Gudang,\n"
    [row] = imports.parse_spreadsheet("pegawai.csv", text.encode())
    assert (row.values["sex"], row.values["employee_number"], row.values["group"]) == (
        "P",
        "EMP-7",
        "Gudang",
    )


def test_dapodik_title_rows_and_number_cells(world: World) -> None:
    data = xlsx(
        [["Nama", "JK", "NISN", "HP"], ["Eko", "M", 12345678, 81234567890]],
        title_rows=3,
    )
    [row] = imports.parse_spreadsheet("dapodik.xlsx", data)
    assert row.number == 5  # the sheet's own row number
    assert row.values["nisn"] == "0012345678"  # leading zeros lost by the number cell
    assert row.values["phone"] == "081234567890"
    assert row.values["sex"] == "L"


def test_formula_looking_cells_stay_literal_text(world: World) -> None:
    workbook_rows: list[list[Any]] = [["Nama", "Kelas"], ["placeholder", "+7A"]]
    data = xlsx(workbook_rows)
    # Rewrite the name cell as a text cell that looks like a formula.
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook.active
    assert sheet is not None
    cell = sheet.cell(row=2, column=1)
    cell.value = "=SUM(1;2) Ani"
    cell.data_type = "s"
    sheet.append(["=1+2", "7B"])  # a real formula: never evaluated by KKA
    buffer = io.BytesIO()
    workbook.save(buffer)

    rows = imports.parse_spreadsheet("rumus.xlsx", buffer.getvalue())
    assert rows[0].values["full_name"] == "=SUM(1;2) Ani"
    assert rows[0].values["group"] == "+7A"
    assert rows[1].values["full_name"] != "3"
    assert rows[1].errors == ["Baris 3: nama wajib diisi."]

    csv_data = b'Nama,Kelas,HP\n"=HYPERLINK(""http://x"")",@kelas,-8\n'
    batch = prepare(world, csv_data, name="rumus.csv")
    imports.import_confirm(actor=world.counsellor, batch=batch)
    client = Client.objects.get()
    assert (client.full_name, client.group, client.phone) == (
        '=HYPERLINK("http://x")',
        "@kelas",
        "-8",
    )


def test_duplicates_inside_the_file_are_skipped(world: World) -> None:
    data = xlsx(
        [
            ["Nama", "Tanggal Lahir", "NISN"],
            ["Fajar", "2010-01-01", "0011111111"],
            ["Fajar Lain", "2010-01-01", "0011111111"],  # same NISN
            ["Gita", "2011-02-02", ""],
            ["gita", "02/02/2011", ""],  # same normalised name and birth date
            ["Gita", "2012-02-02", ""],  # another person
        ]
    )
    batch = prepare(world, data)
    assert statuses(batch) == [
        imports.NEW,
        imports.DUPLICATE,
        imports.NEW,
        imports.DUPLICATE,
        imports.NEW,
    ]
    result = imports.import_confirm(actor=world.counsellor, batch=batch)
    assert (result.created, result.duplicates) == (3, 2)
    assert Client.objects.count() == 3


def test_rows_without_identifier_match_only_same_name_and_birth_date(world: World) -> None:
    client_create(
        actor=world.counsellor,
        organisation=world.org,
        full_name="Hana  Pertiwi",
        birth_date=dt.date(2010, 4, 5),
    )
    client_create(
        actor=world.outsider, organisation=world.other_org, full_name="Indra", nisn="0022222222"
    )
    data = xlsx(
        [
            ["Nama", "Tanggal Lahir", "NISN"],
            ["HANA PERTIWI", "05/04/2010", ""],  # existing
            ["Hana Pertiwi", "2010-04-06", ""],  # other birth date: new
            ["Indra", "", "0022222222"],  # NISN of another organisation's client: new
        ]
    )
    assert statuses(prepare(world, data)) == [imports.EXISTING, imports.NEW, imports.NEW]


# --- who may see and do what ------------------------------------------------------------


def test_only_the_uploader_may_open_the_preview(world: World) -> None:
    batch = prepare(world, school_file())
    url = preview_url(batch)
    for user in (world.other_counsellor, world.coordinator, world.outsider, world.admin):
        http = logged_in(user)
        assert http.get(url).status_code == 404
        assert http.post(url).status_code == 404
    assert Client.objects.count() == 0
    with pytest.raises(PermissionDenied):
        imports.import_confirm(actor=world.other_counsellor, batch=batch)
    assert HttpClient().get(url).status_code == 302  # to the login page


def test_upload_still_requires_the_csrf_token(world: World) -> None:
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(world.counsellor)
    assert upload(http, "siswa.xlsx", school_file()).status_code == 403
    assert ImportBatch.objects.count() == 0


def test_non_counsellors_cannot_import(world: World) -> None:
    for user in (world.head, world.admin, world.dpo):
        assert logged_in(user).get(IMPORT_URL).status_code == 404
        assert upload(logged_in(user), "siswa.xlsx", school_file()).status_code == 404
    assert ImportBatch.objects.count() == 0


def test_a_batch_of_another_organisation_is_not_found(world: World) -> None:
    other_org: Organisation = world.other_org
    batch = imports.import_prepare(
        actor=world.outsider, organisation=other_org, filename="a.xlsx", data=school_file()
    )
    assert logged_in(world.counsellor).get(preview_url(batch)).status_code == 404


def test_audit_rows_hold_counts_but_no_names(world: World) -> None:
    http = logged_in(world.counsellor)
    upload(http, f"{MARKER}.xlsx", school_file())
    http.post(preview_url(ImportBatch.objects.get()))

    previewed = AuditEvent.objects.get(action="client.import_previewed")
    assert previewed.refs == {
        "rows": 3,
        "new": 3,
        "existing": 0,
        "duplicate_in_file": 0,
        "error": 0,
    }
    assert AuditEvent.objects.get(action="client.imported").refs["new"] == 3
    for event in AuditEvent.objects.values():
        assert MARKER not in repr(event)
        assert "Budi" not in repr(event)
