"""A demo KKA to show and time documents with (``kka documents preview``, bench/).

Builds the school's closed KKA from the demo stories (finalised minutes, commitments,
evaluations, follow-up) in the current database, and produces every registered kind
through the real pipeline (access check, numbering, fields, build, render, store).
Meant for a throwaway data directory: the command runs it inside a transaction that
is rolled back.
"""

from __future__ import annotations

import logging
import secrets
import shutil

# Accepted (bandit B404, until 2027-05-31): runs pdftoppm with fixed arguments.
import subprocess  # nosec B404
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from kka.accounts.models import Organisation, Role, Setting, TimeZoneChoice, User
from kka.accounts.services import member_add, organisation_create
from kka.cases import services as case_services
from kka.cases.models import Consent
from kka.conferences import demo, followup
from kka.conferences.models import Conference, ConferenceStatus, FollowUpKind

REFERRAL_PURPOSES = [
    "purpose_hold_kka",
    "share_school_staff",
    "share_family",
    "share_professionals",
    "purpose_documents",
]


@dataclass
class DemoKka:
    organisation: Organisation
    counsellor: User
    conference: Conference


def build_demo_kka() -> DemoKka:
    """The closed KKA of the demo school (SMP Negeri 7 Sukamaju, Bandung)."""
    organisation = organisation_create(
        actor=None,
        name="SMP Negeri 7 Sukamaju",
        setting=Setting.SEKOLAH,
        time_zone=TimeZoneChoice.WIB,
        city="Bandung",
        address="Jl. Pendidikan No. 7, Sukamaju, Bandung 40123",
        phone="022-1234567",
        email="bk@smpn7.demo",
        letterhead_upper="PEMERINTAH KOTA BANDUNG\nDINAS PENDIDIKAN",
        head_title="Kepala Sekolah",
        head_name="Dra. Sri Wahyuni, M.Pd.",
        head_staff_number="196805121993032004",
    )
    member = member_add(
        actor=None,
        organisation=organisation,
        email="konselor@smpn7.demo",
        full_name="Rina Kartika, S.Pd.",
        role=Role.KONSELOR,
        password=secrets.token_urlsafe(24),  # nobody logs in to the preview data
    )
    counsellor = member.user
    counsellor.staff_number = "198703152010012011"
    counsellor.save(update_fields=["staff_number"])
    today = demo.Clock(organisation).today
    story = next(s for s in demo.school_stories(today) if s.stage == ConferenceStatus.CLOSED)
    built = demo.build_story(organisation, counsellor, story)
    assert built.conference is not None
    _add_referral(counsellor, built.conference)
    return DemoKka(organisation, counsellor, built.conference)


def _add_referral(counsellor: User, conference: Conference) -> None:
    """A referral to a psychologist (for the surat alih tangan kasus), under a new
    consent of the parent that covers outside professionals."""
    case = conference.case
    guardian = case.client.guardians.order_by("id").first()
    case_services.consent_record(
        actor=counsellor,
        client=case.client,
        giver="orang_tua",
        giver_name=guardian.full_name if guardian else "Orang tua",
        giver_relationship=guardian.relationship if guardian else "ayah",
        channel="lisan",
        purposes=REFERRAL_PURPOSES,
    )
    followup.followup_add(
        actor=counsellor,
        case=case,
        kind=FollowUpKind.REFERRAL,
        conference=conference,
        referral_to="psikolog",
        referral_to_name="Dra. Maria Ulfa, M.Psi., Psikolog",
        reason="Pemeriksaan psikologis lanjutan atas kecemasan yang menetap.",
    )


def subjects(kka: DemoKka, scope: str) -> Iterator[dict[str, Any]]:
    """Candidate subjects of a scope, most telling first (the first that works wins)."""
    conference = kka.conference
    case = conference.case
    if scope == "conference":
        yield {"conference": conference}
    elif scope == "participant":
        for participant in conference.participants.filter(removed_at__isnull=True).order_by(
            "position", "id"
        ):
            yield {"participant": participant}
    elif scope == "followup":
        for followup in case.followups.order_by("-kind", "id"):
            yield {"followup": followup}
    elif scope == "evaluation":
        for evaluation in conference.evaluations.order_by("kind", "id"):
            yield {"evaluation": evaluation}
    elif scope == "client":
        yield {"client": case.client}
    elif scope == "consent":
        for consent in Consent.objects.filter(client=case.client).order_by("-id"):
            yield {"consent": consent}


@dataclass
class Produced:
    kind: str
    edition: str
    data: bytes | None
    problem: str = ""


def produce_all(kka: DemoKka, *, fmt: str = "pdf", editions: bool = False) -> list[Produced]:
    """Every registered kind (and, with ``editions``, every edition) as ``fmt``."""
    from kka.documents import registry, services

    results = []
    for code, kind in sorted(registry.load_all().items()):
        for edition in kind.editions if editions else kind.editions[:1]:
            problem = "no subject"
            data = None
            for subject in subjects(kka, kind.scope):
                try:
                    document = services.produce(
                        actor=kka.counsellor, kind=code, fmt=fmt, edition=edition, **subject
                    )
                except (ValidationError, PermissionDenied, Http404, ValueError) as exc:
                    problem = f"{type(exc).__name__}: {exc}"[:160]
                    continue
                data = services.document_bytes(document)
                break
            results.append(Produced(code, edition, data, "" if data else problem))
    return results


def quiet_weasyprint() -> None:
    """WeasyPrint logs every layout step at INFO; keep only its warnings."""
    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logging.getLogger(name).setLevel(logging.WARNING)


def first_page_png(pdf: bytes, target: Path, *, dpi: int = 60) -> None:
    """Page 1 of ``pdf`` as ``target`` (pdftoppm from poppler-utils)."""
    tool = shutil.which("pdftoppm")
    if tool is None:
        raise RuntimeError("pdftoppm is missing: apt-get install poppler-utils")
    with tempfile.TemporaryDirectory() as workdir:
        source = Path(workdir) / "in.pdf"
        source.write_bytes(pdf)
        stem = Path(workdir) / "page"
        # Our own tool path and arguments; nothing comes from outside.
        # Accepted (bandit B603, until 2027-05-31): fixed tool and arguments.
        subprocess.run(  # noqa: S603  # nosec B603
            [tool, "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", source, stem],
            check=True,
            capture_output=True,
            timeout=120,
        )
        _small_png(stem.with_suffix(".png"), target)


def _small_png(source: Path, target: Path) -> None:
    """16 shades of grey, 4 bits a pixel: a page of text stays legible at a quarter of
    the size, so the previews can live in the repository."""
    from PIL import Image

    with Image.open(source) as image:
        image.convert("L").quantize(16).save(target, "PNG", optimize=True, bits=4)
