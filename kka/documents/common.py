"""Small shared pieces for document kinds: the date line, signature blocks by setting,
dates and times in the organisation's zone. Documents are always in Indonesian."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from kka.documents.blocks import Signature, Signatures
from kka.lib import dates

# The counter-signature ("Mengetahui, ...") when the organisation has not named its
# head's title.
DEFAULT_HEAD_TITLE = {
    "sekolah": "Kepala Sekolah",
    "madrasah": "Kepala Madrasah",
    "perusahaan": "Manajer HRD",
    "keluarga": "Kepala Keluarga",
    "masyarakat": "Kepala Desa",
    "lainnya": "Pimpinan Lembaga",
}
COUNSELLOR_TITLE = {
    "sekolah": "Guru Bimbingan dan Konseling",
    "madrasah": "Guru Bimbingan dan Konseling",
    "perusahaan": "Konselor",
    "keluarga": "Konselor",
    "masyarakat": "Konselor",
    "lainnya": "Konselor",
}


def today(organisation: Any) -> dt.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(organisation.time_zone)).date()


def date_text(organisation: Any, day: dt.date | None = None) -> str:
    """ "Senin, 30 November 2026" (organisation's zone when ``day`` is None)."""
    return dates.long_date(day or today(organisation))


def plain_date(day: dt.date) -> str:
    """ "30 November 2026" — the form used in the date line of letters."""
    long = dates.long_date(day)
    return long.split(", ", 1)[-1]


def moment_text(organisation: Any, moment: dt.datetime | None) -> str:
    """ "Senin, 30 November 2026 pukul 09.00 WIB", or "-" when not set."""
    if moment is None:
        return "-"
    return dates.long_datetime(moment, organisation.time_zone)


def time_text(organisation: Any, moment: dt.datetime | None) -> str:
    """ "09.00 WIB", or "-"."""
    if moment is None:
        return "-"
    local = dates.local(moment, organisation.time_zone)
    return f"{local:%H.%M} {dates.zone_abbreviation(organisation.time_zone)}"


def place_date(organisation: Any, day: dt.date | None = None) -> str:
    """ "Bandung, 30 November 2026" (city left out when the organisation has none)."""
    text = plain_date(day or today(organisation))
    return f"{organisation.city}, {text}" if organisation.city else text


def head_title(organisation: Any) -> str:
    return organisation.head_title or DEFAULT_HEAD_TITLE.get(organisation.setting, "Pimpinan")


def counsellor_signature(organisation: Any, counsellor: Any) -> Signature:
    return Signature(
        lines_above=(COUNSELLOR_TITLE.get(organisation.setting, "Konselor") + ",",),
        name=counsellor.full_name,
        id_label="NIP" if counsellor.staff_number else "",
        id_value=counsellor.staff_number,
    )


def head_signature(organisation: Any) -> Signature:
    return Signature(
        lines_above=(_("Mengetahui,"), head_title(organisation) + ","),
        name=organisation.head_name or "............................",
        id_label="NIP" if organisation.head_staff_number else "",
        id_value=organisation.head_staff_number,
    )


def signatures(
    organisation: Any, counsellor: Any, *, with_head: bool = True, day: dt.date | None = None
) -> Signatures:
    """The usual closing: date line, "Mengetahui, <head>" on the left and the
    counsellor on the right."""
    blocks = (head_signature(organisation), counsellor_signature(organisation, counsellor))
    return Signatures(
        place_date=place_date(organisation, day),
        blocks=blocks if with_head else blocks[1:],
    )
