"""Client import from a spreadsheet (XLSX or CSV, e.g. a Dapodik or HR export).

``import_prepare`` checks the upload and stores the file itself, encrypted, in an
``ImportBatch``: no client data is written before confirmation. The preview re-reads
the stored file (``batch_rows``); ``import_confirm`` re-reads it once more inside one
transaction, creates only the new rows and then empties the stored file.

Matching a row against the organisation's clients (status ``existing``):

* a row with a NISN, employee number or NIK matches a client holding the same keyed
  identifier token (any one of the three is enough);
* a row with none of them matches only a client whose normalised full name and birth
  date are identical (an empty birth date equals an empty one). Candidates are found
  through the whole-word name token of the row's first name word
  (``ClientNameToken``) and then compared on their decrypted values. A name alone is
  too weak to merge people, and without this rule re-importing a file without
  identifiers would create everyone twice.

Inside the file, a row repeating an earlier row's identifier, or its normalised name
and birth date, is ``duplicate_in_file`` and skipped. Cell values are only ever read
as text or dates: a cell such as ``=1+2`` stays that literal text and nothing is
evaluated (for an XLSX formula cell, the value the spreadsheet program saved is read).
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kka.accounts.models import Membership, Organisation, User
from kka.accounts.policy import COUNSELLING_ROLES
from kka.audit.services import audit_log
from kka.cases.models import Client, ClientNameToken, ImportBatch
from kka.cases.services import clients_import_bulk
from kka.lib.blind_index import identifier_token, normalise, token, words

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024  # refuse "zip bombs" before openpyxl opens them
MAX_COLUMNS = 100
HEADER_SEARCH_ROWS = 10  # Dapodik exports put a few title rows above the header
QUERY_CHUNK = 500

NEW = "new"
EXISTING = "existing"
DUPLICATE = "duplicate_in_file"
ERROR = "error"
STATUS_LABELS = {
    NEW: gettext_lazy("Baru"),
    EXISTING: gettext_lazy("Sudah terdaftar"),
    DUPLICATE: gettext_lazy("Ganda dalam berkas"),
    ERROR: gettext_lazy("Perlu diperbaiki"),
}

RELATIONS = ("ayah", "ibu", "wali")
_PHONE_WORDS = ("HP", "No. HP", "Nomor HP", "Telepon", "Telp", "No. Telp", "WhatsApp", "No. WA")

# Field -> header names, as shown in the help text; matched after ``normalise``.
COLUMNS: dict[str, tuple[str, ...]] = {
    "full_name": (
        "Nama",
        "Nama Lengkap",
        "Nama Peserta Didik",
        "Nama Siswa",
        "Nama Pegawai",
        "Nama Karyawan",
        "Name",
        "Full Name",
    ),
    "sex": ("JK", "Jenis Kelamin", "L/P", "Sex", "Gender"),
    "birth_date": ("Tanggal Lahir", "Tgl. Lahir", "Birth Date", "Date of Birth"),
    "nisn": ("NISN",),
    "nik": ("NIK", "Nomor Induk Kependudukan"),
    "employee_number": (
        "NIP",
        "Nomor Pegawai",
        "No. Pegawai",
        "Nomor Induk Pegawai",
        "NIK Karyawan",
        "Nomor Karyawan",
        "Employee Number",
        "Employee ID",
    ),
    "group": (
        "Kelas",
        "Rombel",
        "Rombel Saat Ini",
        "Rombongan Belajar",
        "Bagian",
        "Departemen",
        "Divisi",
        "Class",
        "Department",
    ),
    "address": ("Alamat", "Address"),
    "phone": (*_PHONE_WORDS, "No. Telepon", "Phone"),
    **{f"{rel}_name": (f"Nama {rel.title()}",) for rel in RELATIONS},
    **{f"{rel}_phone": tuple(f"{w} {rel.title()}" for w in _PHONE_WORDS) for rel in RELATIONS},
}
COLUMNS["wali_name"] += ("Nama Orang Tua/Wali",)
_HEADER_FIELD = {normalise(alias): name for name, aliases in COLUMNS.items() for alias in aliases}
EXAMPLE_HEADER = "Nama;JK;Tanggal Lahir;NISN;NIK;Kelas;Alamat;HP;Nama Ibu;HP Ibu"
_HELP = (  # label -> fields, for the upload page
    (gettext_lazy("Nama lengkap"), ("full_name",)),
    (gettext_lazy("Jenis kelamin"), ("sex",)),
    (gettext_lazy("Tanggal lahir"), ("birth_date",)),
    (gettext_lazy("NISN"), ("nisn",)),
    (gettext_lazy("NIK"), ("nik",)),
    (gettext_lazy("Nomor pegawai"), ("employee_number",)),
    (gettext_lazy("Kelas / bagian"), ("group",)),
    (gettext_lazy("Alamat"), ("address",)),
    (gettext_lazy("Telepon / WhatsApp"), ("phone",)),
    (gettext_lazy("Nama orang tua / wali"), tuple(f"{rel}_name" for rel in RELATIONS)),
    (
        gettext_lazy("Telepon / WhatsApp orang tua / wali"),
        tuple(f"{rel}_phone" for rel in RELATIONS),
    ),
)

_IDENTIFIERS = (  # value field, token kind, Client token column
    ("nisn", "nisn", "nisn_token"),
    ("employee_number", "employee", "employee_number_token"),
    ("nik", "nik", "nik_token"),
)
GUARDIAN_NAME_MAX = 150
PHONE_MAX = 40
_LIMITS = {  # field -> (label, the manual form's maximum length)
    "full_name": (gettext_lazy("nama lengkap"), 150),
    "employee_number": (gettext_lazy("nomor pegawai"), 40),
    "group": (gettext_lazy("kelas / bagian"), 100),
    "phone": (gettext_lazy("telepon"), PHONE_MAX),
    "address": (gettext_lazy("alamat"), 500),
}
_SEX = {
    "L": {"l", "lk", "laki laki", "laki", "pria", "m", "male"},
    "P": {"p", "pr", "perempuan", "wanita", "f", "female"},
}
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d %H:%M:%S")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _unreadable() -> ValidationError:
    return ValidationError(_("Berkas tidak dapat dibaca. Gunakan XLSX atau CSV."))


def _too_many_rows() -> ValidationError:
    return ValidationError(
        _("Berkas berisi lebih dari %(max)s baris. Bagi menjadi beberapa berkas.")
        % {"max": f"{MAX_ROWS:,}".replace(",", ".")}
    )


@dataclass
class ImportRow:
    """One spreadsheet row: its number as in the sheet, cleaned values, errors, status."""

    number: int
    values: dict[str, str]
    guardians: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    status: str = NEW

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])

    @property
    def birth_date_value(self) -> dt.date | None:
        value = self.values.get("birth_date")
        return dt.date.fromisoformat(value) if value else None

    def identifier_keys(self) -> list[tuple[str, str]]:
        return [
            (column, identifier_token(kind, self.values[name]))
            for name, kind, column in _IDENTIFIERS
            if self.values.get(name)
        ]

    def person_key(self) -> tuple[str, str]:
        return ("person", f"{normalise(self.values['full_name'])}|{self.values['birth_date']}")


@dataclass(frozen=True)
class ImportResult:
    created: int
    existing: int
    duplicates: int

    @property
    def skipped(self) -> int:
        return self.existing + self.duplicates


# --- reading -------------------------------------------------------------------------


def _xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_UNZIPPED_BYTES:
            raise _unreadable()
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        sheet = workbook.active
        if sheet is None:
            raise _unreadable()
        for row in sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True):
            yield list(row)
    finally:
        workbook.close()


def _csv_rows(data: bytes) -> Iterator[list[Any]]:
    text = data.decode("utf-8-sig")
    if _CONTROL.search(text):
        raise _unreadable()
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max(",;\t", key=first.count)
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        yield row[:MAX_COLUMNS]


def _read(data: bytes) -> list[tuple[int, list[Any]]]:
    """Non-empty rows with their sheet row numbers (stops early on oversized files)."""
    rows: list[tuple[int, list[Any]]] = []
    limit = MAX_ROWS + HEADER_SEARCH_ROWS
    reader = _xlsx_rows(data) if data.startswith(b"PK\x03\x04") else _csv_rows(data)
    try:
        for number, cells in enumerate(reader, start=1):
            if any(_text(cell) for cell in cells):
                rows.append((number, cells))
                if len(rows) > limit:
                    break
    except ValidationError:
        raise
    except Exception as exc:  # any decoding, zip, XML or CSV failure
        raise _unreadable() from exc
    return rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        value = value.isoformat()
    text = " ".join(str(value).split())
    return "" if text == "-" else text  # Dapodik writes "-" for "none"


def _find_header(rows: list[tuple[int, list[Any]]]) -> tuple[int, dict[str, list[int]]]:
    for index, (_number, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        mapping: dict[str, list[int]] = {}
        for column, cell in enumerate(cells):
            name = _HEADER_FIELD.get(normalise(_text(cell)))
            if name:
                mapping.setdefault(name, []).append(column)
        if "full_name" in mapping:
            return index, mapping
    raise ValidationError(_('Kolom nama tidak ditemukan. Baris judul harus memuat kolom "Nama".'))


# --- cleaning one row -------------------------------------------------------------------


def _cell(cells: list[Any], mapping: dict[str, list[int]], name: str) -> Any:
    """The first non-empty cell of the columns for ``name`` (e.g. "Telepon" then "HP")."""
    columns = mapping.get(name, [])
    if name == "full_name":
        columns = columns[:1]  # never take a second "Nama" column for the client
    for column in columns:
        if column < len(cells) and _text(cells[column]):
            return cells[column]
    return None


def _identifier(raw: Any, *, pad_to: int = 0) -> str:
    text = _text(raw).lstrip("'").replace(" ", "")
    if pad_to and isinstance(raw, int | float) and text.isdigit():
        text = text.zfill(pad_to)  # a number cell lost the NISN's leading zeros
    return text


def _phone(raw: Any) -> str:
    text = _text(raw).lstrip("'")
    if isinstance(raw, int | float) and text.startswith("8"):
        text = "0" + text  # a number cell lost the leading 0 of "08..."
    return text


def _date(raw: Any) -> dt.date | None:
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = _text(raw)
    if not text:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def _too_long(number: int, label: Any, limit: int) -> str:
    return _("Baris %(row)s: %(column)s terlalu panjang (maksimal %(max)s karakter).") % {
        "row": number,
        "column": label,
        "max": limit,
    }


def _build_row(number: int, cells: list[Any], mapping: dict[str, list[int]]) -> ImportRow:
    row = ImportRow(number=number, values={})
    values, errors = row.values, row.errors

    def get(name: str) -> Any:
        return _cell(cells, mapping, name)

    def error(message: str, **params: Any) -> None:
        errors.append(message % {"row": number, **params})

    values["full_name"] = _text(get("full_name"))
    if not values["full_name"]:
        error(_("Baris %(row)s: nama wajib diisi."))
    elif not words(values["full_name"]):
        error(_("Baris %(row)s: nama harus memuat huruf atau angka."))

    sex = normalise(_text(get("sex")))
    values["sex"] = next((code for code, names in _SEX.items() if sex in names), "")
    if sex and not values["sex"]:
        error(
            _('Baris %(row)s: jenis kelamin "%(value)s" tidak dikenal. Gunakan L atau P.'),
            value=_text(get("sex")),
        )

    values["birth_date"] = ""
    try:
        birth = _date(get("birth_date"))
        if birth and (birth > timezone.localdate() or birth.year < 1900):
            raise ValueError(birth)
    except ValueError:
        error(
            _('Baris %(row)s: tanggal lahir "%(value)s" tidak valid.'),
            value=_text(get("birth_date")),
        )
    else:
        values["birth_date"] = birth.isoformat() if birth else ""

    values["nisn"] = _identifier(get("nisn"), pad_to=10)
    if values["nisn"] and not re.fullmatch(r"\d{10}", values["nisn"]):
        error(_("Baris %(row)s: NISN harus 10 digit angka."))
    values["nik"] = _identifier(get("nik"))
    if values["nik"] and not re.fullmatch(r"\d{16}", values["nik"]):
        error(_("Baris %(row)s: NIK harus 16 digit angka."))
    values["employee_number"] = _text(get("employee_number")).lstrip("'")
    values["group"] = _text(get("group"))
    values["address"] = _text(get("address"))
    values["phone"] = _phone(get("phone"))
    for name, (label, limit) in _LIMITS.items():
        if len(values[name]) > limit:
            errors.append(_too_long(number, label, limit))

    for relation in RELATIONS:
        name = _text(get(f"{relation}_name"))
        if not name:
            continue
        phone = _phone(get(f"{relation}_phone"))
        if len(name) > GUARDIAN_NAME_MAX:
            errors.append(_too_long(number, f"{_('nama')} {relation}", GUARDIAN_NAME_MAX))
        if len(phone) > PHONE_MAX:
            errors.append(_too_long(number, f"{_('telepon')} {relation}", PHONE_MAX))
        row.guardians.append({"full_name": name, "relationship": relation, "phone": phone})

    if errors:
        row.status = ERROR
    return row


# --- matching ------------------------------------------------------------------------


def _chunks(items: Iterable[str]) -> Iterator[list[str]]:
    items = sorted(set(items))
    for start in range(0, len(items), QUERY_CHUNK):
        yield items[start : start + QUERY_CHUNK]


def _existing_keys(rows: list[ImportRow], organisation: Organisation) -> set[tuple[str, str]]:
    clients = Client.objects.filter(organisation=organisation)
    found: set[tuple[str, str]] = set()
    for _name, _kind, column in _IDENTIFIERS:
        wanted = [value for row in rows for col, value in row.identifier_keys() if col == column]
        for chunk in _chunks(wanted):
            tokens = clients.filter(**{f"{column}__in": chunk}).values_list(column, flat=True)
            found.update((column, value) for value in tokens)
    first_words = [
        token(words(row.values["full_name"])[0], purpose="name")
        for row in rows
        if not row.identifier_keys()
    ]
    for chunk in _chunks(first_words):
        ids = ClientNameToken.objects.filter(organisation=organisation, token__in=chunk).values(
            "client_id"
        )
        for client in clients.filter(pk__in=ids).only("full_name", "birth_date"):
            key = f"{normalise(client.full_name)}|{client.birth_date or ''}"
            found.add(("person", key))
    return found


def _classify(rows: list[ImportRow], organisation: Organisation | None) -> None:
    valid = [row for row in rows if not row.errors]
    existing = _existing_keys(valid, organisation) if organisation is not None else set()
    seen: set[tuple[str, str]] = set()
    for row in valid:
        lookup = row.identifier_keys() or [row.person_key()]
        if any(key in existing for key in lookup):
            row.status = EXISTING
        elif any(key in seen for key in lookup):
            row.status = DUPLICATE
        else:
            row.status = NEW
        seen.update([*lookup, row.person_key()])


def parse_spreadsheet(
    filename: str, data: bytes, *, organisation: Organisation | None = None
) -> list[ImportRow]:
    """Rows of an XLSX or CSV file; raises ValidationError for file-level problems.

    Without ``organisation`` no row can be ``existing``. ``filename`` is not used to
    decide the format: the content is (an XLSX is a ZIP archive, anything else must
    be UTF-8 CSV).
    """
    if len(data) > MAX_BYTES:
        raise ValidationError(_("Berkas terlalu besar. Ukuran maksimal 5 MB."))
    if not data:
        raise ValidationError(_("Berkas kosong."))
    raw = _read(data)
    header, mapping = _find_header(raw)
    body = raw[header + 1 :]
    if len(body) > MAX_ROWS:
        raise _too_many_rows()
    if not body:
        raise ValidationError(_("Berkas tidak memuat data konseli di bawah baris judul."))
    rows = [_build_row(number, cells, mapping) for number, cells in body]
    _classify(rows, organisation)
    return rows


def column_help() -> list[tuple[str, str]]:
    """(label, accepted header names) for each recognised column."""
    result = []
    for label, names in _HELP:
        if names[0].endswith("_phone"):
            aliases = [COLUMNS[name][i] for i in (0, 3) for name in names]  # HP …, Telepon …
        else:
            aliases = [alias for name in names for alias in COLUMNS[name]]
        result.append((str(label), ", ".join(aliases)))
    return result


def count_statuses(rows: Iterable[ImportRow]) -> dict[str, int]:
    counts = dict.fromkeys((NEW, EXISTING, DUPLICATE, ERROR), 0)
    for row in rows:
        counts[row.status] += 1
    return counts


# --- services ------------------------------------------------------------------------


def _audit(action: str, *, actor: User, batch: ImportBatch, **refs: int) -> None:
    membership = Membership.objects.filter(
        user=actor, organisation_id=batch.organisation_id
    ).first()
    audit_log(
        action=action,
        actor=actor,
        actor_role=membership.role if membership else "",
        organisation=batch.organisation_id,
        object_type="importbatch",
        object_ref=batch.code,
        refs=refs,
    )


def _require_counsellor(actor: User, organisation_id: int) -> None:
    if not Membership.objects.filter(
        user=actor, organisation_id=organisation_id, is_active=True, role__in=COUNSELLING_ROLES
    ).exists():
        raise PermissionDenied


def batch_rows(batch: ImportBatch) -> list[ImportRow]:
    """The stored file, parsed and matched again (for the preview)."""
    try:
        data = base64.b64decode(batch.payload or "", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _unreadable() from exc
    return parse_spreadsheet(batch.filename, data, organisation=batch.organisation)


def import_prepare(
    *, actor: User, organisation: Organisation, filename: str, data: bytes
) -> ImportBatch:
    """Check the file and keep it encrypted until confirmation. Writes no client data."""
    _require_counsellor(actor, organisation.pk)
    rows = parse_spreadsheet(filename, data, organisation=organisation)  # outside the lock
    counts = count_statuses(rows)
    with transaction.atomic():
        batch = ImportBatch.objects.create(
            organisation=organisation,
            created_by=actor,
            filename=(filename or "berkas")[-200:],
            payload=base64.b64encode(data).decode("ascii"),
        )
        _audit("client.import_previewed", actor=actor, batch=batch, rows=len(rows), **counts)
    return batch


def already_confirmed_message() -> str:
    return _("Impor ini sudah dikonfirmasi sebelumnya.")


@transaction.atomic
def import_confirm(*, actor: User, batch: ImportBatch) -> ImportResult:
    """Create the new rows' clients; all or nothing, and only once per batch."""
    batch = ImportBatch.objects.select_for_update().select_related("organisation").get(pk=batch.pk)
    if batch.created_by_id != actor.pk:
        raise PermissionDenied
    _require_counsellor(actor, batch.organisation_id)
    if batch.confirmed_at is not None or not batch.payload:
        raise ValidationError(already_confirmed_message())
    rows = batch_rows(batch)
    counts = count_statuses(rows)
    if counts[ERROR]:
        raise ValidationError(
            _("%(n)s baris masih perlu diperbaiki. Tidak ada data yang disimpan.")
            % {"n": counts[ERROR]}
        )
    clients_import_bulk(
        actor=actor,
        organisation=batch.organisation,
        people=[(row.values, row.guardians) for row in rows if row.status == NEW],
    )
    batch.confirmed_at = timezone.now()
    batch.payload = ""
    batch.save(update_fields=["confirmed_at", "payload"])
    _audit("client.imported", actor=actor, batch=batch, rows=len(rows), **counts)
    return ImportResult(
        created=counts[NEW], existing=counts[EXISTING], duplicates=counts[DUPLICATE]
    )
