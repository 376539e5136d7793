"""The document kinds KKA produces, and what each needs.

A kind module in ``kka.documents.kinds`` calls :func:`register` at import time with
a :class:`Kind`. A kind has two pure functions:

- ``fields(subject) -> dict[str, str]``: the flat, named values the document shows
  (all strings, already formatted in Indonesian: dates "Senin, 30 November 2026",
  times with WIB/WITA/WIT). These are also what an organisation's own DOCX template
  may use (``{{ nama_peserta }}``), so names are stable snake_case Indonesian and
  every one is described in ``field_help``.
- ``build(subject, fields) -> Doc``: the blocks of the built-in layout.

Neither function checks access, writes anything or numbers anything: the services in
``kka.documents.services`` do that (access check → number if ``numbered`` → fields →
build → render → store → register → audit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kka.documents.blocks import Doc

if TYPE_CHECKING:
    from kka.accounts.models import Organisation, User
    from kka.cases.models import Case

# What a document is about. ``scope`` of a kind says which of these are set.
SCOPES = (
    "conference",  # one KKA (SATKUNG, daftar hadir, notulen, laporan, all invitations)
    "participant",  # one participant of a KKA (undangan, pernyataan kerahasiaan, komitmen)
    "followup",  # a referral (surat alih tangan kasus)
    "evaluation",  # a laiseg/laijapen/laijapang form
    "client",  # consent form (blank, to sign)
    "consent",  # the proof of one recorded consent (subject.consent and subject.client set)
)


@dataclass
class Subject:
    """Everything a kind may read. Built by the services after the access check."""

    organisation: Organisation
    viewer: User  # who is producing it (the counsellor)
    case: Case | None = None
    conference: Any = None  # kka.conferences.models.Conference
    participant: Any = None  # kka.conferences.models.Participant (the recipient)
    followup: Any = None  # kka.conferences.models.FollowUp
    evaluation: Any = None  # kka.conferences.models.Evaluation
    consent: Any = None  # kka.cases.models.Consent
    client: Any = None  # kka.cases.models.Client
    number: str = ""  # the letter number, when the kind is numbered
    edition: str = ""  # e.g. "rahasia" for the counsellor-only notulen
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Kind:
    code: str  # "daftar_hadir"
    title: Any  # lazy Indonesian title, e.g. _("Daftar hadir")
    scope: str  # one of SCOPES
    fields: Callable[[Subject], dict[str, str]]
    build: Callable[[Subject, dict[str, str]], Doc]
    field_help: dict[str, Any]  # field name -> lazy Indonesian description
    confidential: bool = False  # RAHASIA + recipient on every page
    numbered: bool = False  # takes a number from the organisation's letter pattern
    editions: tuple[str, ...] = ("",)  # e.g. ("", "rahasia") for notulen
    outside: bool = False  # given to an outside participant: recorded as a disclosure


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    if kind.scope not in SCOPES:
        raise ValueError(f"unknown scope {kind.scope!r}")
    if kind.code in KINDS:
        raise ValueError(f"kind {kind.code!r} registered twice")
    KINDS[kind.code] = kind
    return kind


def get(code: str) -> Kind:
    load_all()
    return KINDS[code]


def load_all() -> dict[str, Kind]:
    """Import every module of ``kka.documents.kinds`` (they register themselves)."""
    import importlib
    import pkgutil

    from kka.documents import kinds

    for module in pkgutil.iter_modules(kinds.__path__):
        importlib.import_module(f"kka.documents.kinds.{module.name}")
    return KINDS
