"""Build synthetic organisations, people, cases and KKAs in bulk (``kka seed``).

Deterministic: every choice comes from one ``random.Random`` seeded with the command's
``--seed`` (plus the number of organisations already in the database, so that seeding
twice continues rather than collides); "today" is a parameter. The same arguments on
an empty database give the same plaintext rows (codes, names, dates, texts). Only
ciphertext (Fernet is randomised), password salt, portal tokens and stored file names
differ between runs.

Fast: rows are built as model instances in Python and written with ``bulk_create``,
one transaction per batch of cases. Encrypted fields encrypt in ``get_prep_value``, so
bulk inserts store ciphertext exactly as the services do. Audit rows are chained in
Python (``kka.seed.audit``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import secrets
import time
import zoneinfo
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.db import connections, models, transaction

from kka.accounts.models import Membership, Organisation, Role, Setting, User
from kka.cases.models import (
    Case,
    CaseEvent,
    CaseMember,
    CaseRecord,
    Client,
    ClientNameToken,
    Consent,
    ConsentText,
    Guardian,
)
from kka.cases.services import DEFAULT_CONSENT_TEXT
from kka.conferences.models import (
    Commitment,
    CommitmentProgress,
    Conference,
    Disclosure,
    Evaluation,
    FollowUp,
    LetterCounter,
    LetterNumber,
    Minutes,
    Participant,
    PortalLink,
)
from kka.conferences.services import token_hash
from kka.documents.models import Document
from kka.lib import blind_index, private_files
from kka.lib.codes import ALPHABET
from kka.lib.crypto import encrypt_bytes
from kka.lib.letters import format_number
from kka.seed import names as N
from kka.seed import writer
from kka.seed.audit import AuditBuffer

DEFAULT_TODAY = dt.date(2026, 12, 1)
# Accepted (bandit B105, until 2027-06-30): synthetic accounts; refused in production.
DEFAULT_PASSWORD = "kka-seed-2026"  # noqa: S105  # nosec B105
EMAIL_DOMAIN = "seed.kka.test"
HISTORY_DAYS = 3 * 365

SETTINGS: tuple[str, ...] = tuple(Setting.values)
BIDANG = ("pribadi", "sosial", "belajar", "karir")


@dataclass
class Options:
    organisations: int = 10
    cases: int = 1000
    seed: int = 1
    password: str = DEFAULT_PASSWORD
    today: dt.date = DEFAULT_TODAY
    batch_size: int = 500
    documents_every: int = 100  # one attendance-list PDF per this many held KKAs
    pipeline: bool = True  # write batch N (own connection) while building batch N+1


@dataclass
class Summary:
    counts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    logins: list[tuple[str, str]] = field(default_factory=list)  # (organisation code, email)
    first_organisation: int = 0


# --- small deterministic helpers ---------------------------------------------------------


class Codes:
    """Public codes from the seeded generator, unique within the run."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def __call__(self, length: int = 10) -> str:
        while True:
            code = "".join(self.rng.choices(ALPHABET, k=length))
            if code not in self.seen:
                self.seen.add(code)
                return code


class NameTokens:
    """Blind-index tokens per word, cached (HMAC per prefix is the costly part)."""

    def __init__(self) -> None:
        self.cache: dict[str, frozenset[str]] = {}

    def __call__(self, full_name: str) -> list[str]:
        tokens: set[str] = set()
        for word in blind_index.words(full_name):
            cached = self.cache.get(word)
            if cached is None:
                cached = frozenset(blind_index.name_tokens(word))
                self.cache[word] = cached
            tokens |= cached
        return sorted(tokens)


@dataclass
class Org:
    obj: Organisation
    zone: zoneinfo.ZoneInfo
    regions: tuple[str, ...]
    counsellors: list[User]
    coordinator: User
    head: User
    consent_text: ConsentText
    weight: float


def _person(
    rng: random.Random, regions: tuple[str, ...], sex: str | None = None
) -> tuple[str, str]:
    region = rng.choice(regions)
    sex = sex or rng.choice(("L", "P"))
    parts = [rng.choice(N.GIVEN[region][sex])]
    if rng.random() < 0.6:
        parts.append(rng.choice(N.MIDDLE[sex]))
    family = N.FAMILY[region]
    if family and rng.random() < 0.85:
        parts.append(rng.choice(family))
    elif not family and len(parts) == 1:
        parts.append(rng.choice(N.MIDDLE[sex]))
    return " ".join(parts), sex


def _phone(rng: random.Random) -> str:
    return "08" + "".join(rng.choices("0123456789", k=10))


def _at(zone: zoneinfo.ZoneInfo, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


# --- participants per setting --------------------------------------------------------------

# (role, category, institution key); "konseli" is the client in person.
PEOPLE: dict[str, tuple[tuple[str, str, str], ...]] = {
    "school": (
        ("Wali kelas", "staf_lembaga", "org"),
        ("Guru mata pelajaran", "staf_lembaga", "org"),
        ("Wakil kepala bidang kesiswaan", "staf_lembaga", "org"),
        ("Ibu", "keluarga", ""),
        ("Ayah", "keluarga", ""),
        ("Kakak", "keluarga", ""),
        ("Psikolog puskesmas", "profesional", "Puskesmas"),
        ("Konseli", "konseli", ""),
    ),
    "perusahaan": (
        ("Atasan langsung", "pemberi_kerja", "org"),
        ("Staf SDM", "staf_lembaga", "org"),
        ("Rekan kerja", "staf_lembaga", "org"),
        ("Suami / istri", "keluarga", ""),
        ("Dokter perusahaan", "profesional", "Klinik perusahaan"),
        ("Konseli", "konseli", ""),
    ),
    "keluarga": (
        ("Ayah", "keluarga", ""),
        ("Ibu", "keluarga", ""),
        ("Paman", "keluarga", ""),
        ("Tokoh agama", "masyarakat", ""),
        ("Pekerja sosial", "profesional", "Dinas Sosial"),
        ("Konseli", "konseli", ""),
    ),
    "masyarakat": (
        ("Kepala desa", "masyarakat", "org"),
        ("Ketua RT", "masyarakat", ""),
        ("Bidan desa", "profesional", "Poskesdes"),
        ("Orang tua", "keluarga", ""),
        ("Kader posyandu", "masyarakat", ""),
        ("Konseli", "konseli", ""),
    ),
    "lainnya": (
        ("Pendamping lembaga", "staf_lembaga", "org"),
        ("Orang tua", "keluarga", ""),
        ("Pekerja sosial", "profesional", "Dinas Sosial"),
        ("Tokoh masyarakat", "masyarakat", ""),
        ("Konseli", "konseli", ""),
    ),
}
SHARE_FIELD = {
    "staf_lembaga": "share_school_staff",
    "keluarga": "share_family",
    "pemberi_kerja": "share_employer",
    "masyarakat": "share_community",
    "profesional": "share_professionals",
}
INTAKE = {
    "school": ("guru", "orang_tua", "sendiri", "rekan", "asesmen"),
    "perusahaan": ("atasan", "sendiri", "rekan", "asesmen"),
    "keluarga": ("orang_tua", "sendiri", "lainnya"),
    "masyarakat": ("aparat", "sendiri", "orang_tua"),
    "lainnya": ("sendiri", "lainnya", "aparat"),
}
AGES = {  # (min, max) age in years at the case's opening
    "school": (12, 18),
    "perusahaan": (21, 56),
    "keluarga": (8, 60),
    "masyarakat": (14, 70),
    "lainnya": (15, 60),
}
HEAD_TITLES = {
    "sekolah": "Kepala Sekolah",
    "madrasah": "Kepala Madrasah",
    "perusahaan": "Manajer SDM",
    "keluarga": "Ketua Lembaga",
    "masyarakat": "Kepala Desa",
    "lainnya": "Direktur",
}


def _kind(setting: str) -> str:
    return "school" if setting in ("sekolah", "madrasah") else setting


def _org_name(rng: random.Random, setting: str, city: str) -> str:
    if setting == "sekolah":
        level = rng.choice(("SD", "SMP", "SMA", "SMK"))
        return f"{level} Negeri {rng.randint(1, 40)} {city}"
    if setting == "madrasah":
        level = rng.choice(("MI", "MTs", "MA"))
        return f"{level} Negeri {rng.randint(1, 12)} {city}"
    if setting == "perusahaan":
        first, second = rng.sample(N.COMPANY_WORDS, 2)
        return f"PT {first} {second} {rng.choice(N.COMPANY_TRADES)}"
    if setting == "keluarga":
        return f"Pusat Layanan Keluarga {rng.choice(N.VILLAGE_WORDS)}, {city}"
    if setting == "masyarakat":
        return f"Pemerintah Desa {rng.choice(N.VILLAGE_WORDS)}, {city}"
    return f"Lembaga Konseling {rng.choice(N.COMPANY_WORDS)} {city}"


def _bulk(model: type[models.Model], objs: list[Any], counts: Counter[str]) -> None:
    if objs:
        writer.insert(model, objs)
        counts[model.__name__] += len(objs)


# --- the generator -------------------------------------------------------------------------


class Generator:
    def __init__(self, options: Options, progress: Callable[[str], None]) -> None:
        self.o = options
        self.progress = progress
        self.offset = Organisation.objects.count()
        # Reproducible on purpose (same seed, same data); never used for secrets (portal
        # tokens come from ``secrets``).
        # Accepted (bandit B311, until 2027-06-30): reproducible on purpose, no secrets.
        self.rng = random.Random(f"kka-seed:{options.seed}:{self.offset}")  # noqa: S311  # nosec B311
        # Accepted (bandit B311, until 2027-06-30): reproducible on purpose, as above.
        codes_rng = random.Random(f"kka-seed-codes:{options.seed}:{self.offset}")  # noqa: S311  # nosec B311
        self.codes = Codes(codes_rng)
        self.tokens = NameTokens()
        self.audit = AuditBuffer()
        self.summary = Summary(first_organisation=self.offset + 1)
        self.orgs: list[Org] = []
        self.letter_seq: dict[tuple[int, int], int] = {}
        self.dirty_counters: set[tuple[int, int]] = set()
        self.pdf: bytes | None = None
        self.held_seen = 0
        self.case_index = 0

    # -- organisations and staff ----------------------------------------------------------

    def build_organisations(self) -> None:
        rng = self.rng
        password_hash = make_password(self.o.password)  # hashed once, shared by all
        created = dt.datetime.combine(
            self.o.today - dt.timedelta(days=HISTORY_DAYS + 30), dt.time(8), tzinfo=dt.UTC
        )
        with transaction.atomic():
            specs = []
            for i in range(self.o.organisations):
                number = self.offset + i + 1
                setting = SETTINGS[i % len(SETTINGS)]
                city, _province, zone, regions = rng.choice(N.CITIES)
                org = Organisation(
                    code=self.codes(8),
                    name=_org_name(rng, setting, city),
                    setting=setting,
                    address=f"{rng.choice(N.STREETS)} No. {rng.randint(1, 120)}, {city}",
                    city=city,
                    phone=_phone(rng),
                    email=f"lembaga@org{number}.{EMAIL_DOMAIN}",
                    time_zone=zone,
                    head_title=HEAD_TITLES[setting],
                    evaluation_scheme=rng.choice(("uca", "bmb3")),
                    plan_format=rng.choice(("satkung", "rpl")),
                    created_at=created,
                )
                specs.append((number, org, regions))
            _bulk(Organisation, [s[1] for s in specs], self.summary.counts)
            users: list[User] = []
            memberships: list[Membership] = []
            staff: list[tuple[Organisation, tuple[str, ...], list[User], User, User]] = []
            for number, org, regions in specs:
                domain = f"org{number}.{EMAIL_DOMAIN}"
                people: list[tuple[str, str]] = [
                    (f"koordinator@{domain}", Role.KOORDINATOR),
                    (f"pimpinan@{domain}", Role.PIMPINAN),
                ]
                people += [
                    (f"konselor{k}@{domain}", Role.KONSELOR)
                    for k in range(1, rng.randint(2, 5) + 1)
                ]
                org_users = []
                for email, role in people:
                    name, _sex = _person(rng, regions)
                    suffix = rng.choice((", S.Pd.", ", M.Pd.", ", S.Psi.", ", M.Psi.", ""))
                    if role == Role.PIMPINAN:
                        org.head_name = name
                    user = User(
                        email=email,
                        full_name=name + (suffix if role != Role.PIMPINAN else ""),
                        password=password_hash,
                        date_joined=created,
                    )
                    users.append(user)
                    org_users.append(user)
                    memberships.append(
                        Membership(
                            code=self.codes(10),
                            user=user,
                            organisation=org,
                            role=role,
                            created_at=created,
                        )
                    )
                staff.append((org, regions, org_users[2:], org_users[0], org_users[1]))
            _bulk(User, users, self.summary.counts)
            _bulk(Membership, memberships, self.summary.counts)
            Organisation.objects.bulk_update([s[1] for s in specs], ["head_name"])
            texts = [
                ConsentText(
                    organisation=org, version=1, body=DEFAULT_CONSENT_TEXT, created_at=created
                )
                for _n, org, _r in specs
            ]
            _bulk(ConsentText, texts, self.summary.counts)
            for (org, regions, counsellors, coordinator, head), text in zip(
                staff, texts, strict=True
            ):
                self.orgs.append(
                    Org(
                        obj=org,
                        zone=zoneinfo.ZoneInfo(org.time_zone),
                        regions=regions,
                        counsellors=counsellors,
                        coordinator=coordinator,
                        head=head,
                        consent_text=text,
                        weight=rng.uniform(0.5, 1.5),
                    )
                )
                self.audit.add(
                    "org.created",
                    at=created,
                    actor_id=None,
                    actor_role="",
                    organisation_id=org.pk,
                    object_type="organisation",
                    object_ref=org.code,
                )
                self.summary.logins.append((org.name, counsellors[0].email))
            for membership in memberships:
                self.audit.add(
                    "org.member_added",
                    at=created,
                    actor_id=None,
                    actor_role="",
                    organisation_id=membership.organisation_id,
                    object_type="membership",
                    object_ref=membership.code,
                    refs={
                        "affected_user": membership.user_id,
                        "role": membership.role,
                        "new_account": 1,
                    },
                )
            self.audit.flush()

    # -- cases ----------------------------------------------------------------------------

    def build_cases(self) -> None:
        """Build batch after batch; write each in its own transaction.

        With ``pipeline`` (and no transaction held by the caller) a writer thread, on its
        own database connection, writes batch N while this thread builds batch N+1, so
        the database's work overlaps Python's. Batches are still written one at a time,
        in order; building never touches the database.
        """
        total = self.o.cases
        weights = [org.weight for org in self.orgs]
        started = time.monotonic()
        done = 0
        pipeline = self.o.pipeline and not transaction.get_connection().in_atomic_block
        pool = ThreadPoolExecutor(max_workers=1) if pipeline else None
        pending: Future[int] | None = None

        def report(written: int) -> None:
            nonlocal done
            done += written
            elapsed = max(time.monotonic() - started, 1e-9)
            self.progress(
                f"seed: {done}/{total} cases, {elapsed:.1f} s, {done / elapsed:.0f} cases/s"
            )

        try:
            built = 0
            while built < total:
                size = min(self.o.batch_size, total - built)
                batch = Batch(self)
                for _ in range(size):
                    org = self.rng.choices(self.orgs, weights=weights)[0]
                    batch.case(org)
                built += size
                counters = {key: self.letter_seq[key] for key in sorted(self.dirty_counters)}
                self.dirty_counters.clear()
                rows = self.audit.take()
                if pool is None:
                    report(self._write(batch, counters, rows, size))
                    continue
                if pending is not None:
                    report(pending.result())
                pending = pool.submit(self._write, batch, counters, rows, size)
            if pending is not None:
                report(pending.result())
        finally:
            if pool is not None:
                pool.submit(connections.close_all)
                pool.shutdown(wait=True)

    def _write(
        self,
        batch: Batch,
        counters: dict[tuple[int, int], int],
        rows: list[dict[str, Any]],
        size: int,
    ) -> int:
        with transaction.atomic():
            batch.write()
            for (org_id, year), last in counters.items():
                LetterCounter.objects.update_or_create(
                    organisation_id=org_id, year=year, defaults={"last": last}
                )
            self.audit.flush(rows)
        return size

    def letter_number(self, org: Org, day: dt.date) -> tuple[int, int, str]:
        key = (org.obj.pk, day.year)
        seq = self.letter_seq.get(key, 0) + 1
        self.letter_seq[key] = seq
        self.dirty_counters.add(key)
        return day.year, seq, format_number(org.obj.letter_number_pattern, seq=seq, day=day)

    def pdf_bytes(self) -> bytes:
        """One real PDF (a neutral attendance list), rendered once and reused."""
        if self.pdf is None:
            from django.utils import translation

            from kka.documents import blocks, render

            doc = blocks.Doc(kind="daftar_hadir", title="Daftar hadir konferensi kasus")
            doc.add(
                blocks.Heading("Daftar hadir", level=1, centred=True),
                blocks.Heading("Konferensi kasus", level=2, centred=True),
                blocks.Paragraph("Dokumen contoh dari data sintetis (kka seed).", small=True),
            )
            with translation.override("id"):
                self.pdf = render.render_pdf(doc, self.orgs[0].obj)
        return self.pdf

    def run(self) -> Summary:
        started = time.monotonic()
        self.build_organisations()
        self.progress(f"seed: {len(self.orgs)} organisations with their staff")
        self.build_cases()
        self.summary.counts["AuditEvent"] = self.audit.written
        self.summary.seconds = time.monotonic() - started
        return self.summary


class Batch:
    """The rows of one batch of cases, written in dependency order."""

    ORDER: tuple[type[models.Model], ...] = (
        Client,
        ClientNameToken,
        Guardian,
        Case,
        Consent,
        CaseMember,
        CaseRecord,
        CaseEvent,
        Conference,
        Participant,
        PortalLink,
        LetterNumber,
        Disclosure,
        Minutes,
        Commitment,
        CommitmentProgress,
        Evaluation,
        FollowUp,
        Document,
    )

    def __init__(self, gen: Generator) -> None:
        self.g = gen
        self.rng = gen.rng
        self.code = gen.codes
        self.today = gen.o.today
        self.rows: dict[type[models.Model], list[Any]] = {m: [] for m in self.ORDER}
        self.files: list[str] = []

    def add(self, obj: models.Model) -> Any:
        self.rows[type(obj)].append(obj)
        return obj

    def write(self) -> None:
        counts = self.g.summary.counts
        for model in self.ORDER:
            _bulk(model, self.rows[model], counts)

    def audit(
        self,
        action: str,
        at: dt.datetime,
        actor: User | None,
        org: Org,
        obj_type: str,
        ref: str,
        **refs: Any,
    ) -> None:
        self.g.audit.add(
            action,
            at=at,
            actor_id=actor.pk if actor else None,
            actor_role=("koordinator" if actor is org.coordinator else "konselor") if actor else "",
            organisation_id=org.obj.pk,
            object_type=obj_type,
            object_ref=ref,
            refs=refs,
        )

    # -- one case -------------------------------------------------------------------------

    def case(self, org: Org) -> None:
        rng = self.rng
        self.g.case_index += 1
        index = self.g.case_index
        kind = _kind(org.obj.setting)
        zone = org.zone
        owner = rng.choice(org.counsellors)
        age_days = rng.randint(2, HISTORY_DAYS)
        opened_day = self.today - dt.timedelta(days=age_days)
        opened_at = _at(zone, opened_day, rng.randint(7, 15), rng.choice((0, 15, 30, 45)))

        # The client.
        low, high = AGES[kind]
        age = rng.randint(low, high)
        full_name, sex = _person(rng, org.regions)
        birth = opened_day - dt.timedelta(days=age * 365 + rng.randint(0, 364))
        minor = (opened_day - birth).days < 18 * 365
        client = self.add(
            Client(
                code=self.code(),
                organisation=org.obj,
                full_name=full_name,
                sex=sex,
                birth_date=birth.isoformat(),
                nisn=f"{birth.year % 100:02d}{index:08d}" if kind == "school" else "",
                employee_number=f"NIP-{index:07d}" if kind == "perusahaan" else "",
                group=(
                    f"{rng.choice(N.SCHOOL_GRADES[org.obj.setting])} {rng.choice('ABCDE')}"
                    if kind == "school"
                    else rng.choice(N.COMPANY_UNITS)
                    if kind == "perusahaan"
                    else ""
                ),
                address=f"{rng.choice(N.STREETS)} No. {rng.randint(1, 200)}, {org.obj.city}",
                phone=_phone(rng) if not minor or rng.random() < 0.5 else "",
                created_by=owner,
                created_at=opened_at - dt.timedelta(minutes=5),
            )
        )
        if client.nisn:
            client.nisn_token = blind_index.identifier_token("nisn", client.nisn)
        if client.employee_number:
            client.employee_number_token = blind_index.identifier_token(
                "employee", client.employee_number
            )
        for token in self.g.tokens(full_name):
            self.add(ClientNameToken(client=client, organisation=org.obj, token=token))
        family_name = full_name.split()[-1]
        guardian_name = ""
        if minor:
            guardian_name, gsex = _person(rng, org.regions)
            if len(guardian_name.split()) > 1 and rng.random() < 0.5:
                guardian_name = guardian_name.rsplit(" ", 1)[0] + " " + family_name
            self.add(
                Guardian(
                    code=self.code(),
                    client=client,
                    full_name=guardian_name,
                    relationship="ayah" if gsex == "L" else "ibu",
                    phone=_phone(rng),
                    address=client.address,
                )
            )
        self.audit("client.created", client.created_at, owner, org, "client", client.code)

        # The case and its timeline.
        bidang = rng.choice(BIDANG)
        status = self._case_status(age_days)
        case = self.add(
            Case(
                code=self.code(),
                organisation=org.obj,
                client=client,
                owner=owner,
                bidang=bidang,
                title=rng.choice(N.TITLES[bidang]),
                description=rng.choice(N.DESCRIPTIONS),
                intake_source=rng.choice(INTAKE[kind]),
                status=status,
                opened_at=opened_at,
            )
        )
        self.add(CaseEvent(case=case, at=opened_at, actor=owner, kind="case_opened"))
        self.audit("case.opened", opened_at, owner, org, "case", case.code, client=client.code)
        last_activity = opened_at
        if rng.random() < 0.2 and len(org.counsellors) > 1:
            other = rng.choice([c for c in org.counsellors if c is not owner])
            member_role, member = ("co_counsellor", other)
        elif rng.random() < 0.1:
            member_role, member = ("supervisor", org.coordinator)
        else:
            member = None
        if member is not None:
            at = opened_at + dt.timedelta(hours=1)
            cm = self.add(
                CaseMember(code=self.code(), case=case, user=member, role=member_role, added_at=at)
            )
            self.add(
                CaseEvent(
                    case=case,
                    at=at,
                    actor=owner,
                    kind="member_added",
                    ref=cm.code,
                    detail=member_role,
                )
            )
            self.audit(
                "case.member_added",
                at,
                owner,
                org,
                "case",
                case.code,
                affected_user=member.pk,
                role=member_role,
            )

        records = []
        for k in range(rng.randint(1, 3)):
            day = opened_day + dt.timedelta(days=min(k * rng.randint(1, 5), max(age_days - 1, 0)))
            at = _at(zone, day, 13, 15)
            record = self.add(
                CaseRecord(
                    code=self.code(),
                    case=case,
                    occurred_on=day,
                    source=rng.choice(
                        ("wawancara", "observasi", "laporan_guru", "kunjungan_rumah", "instrumen")
                    ),
                    content=rng.choice(N.RECORD_TEXTS),
                    may_bring_to_kka=rng.random() < 0.8,
                    created_by=owner,
                    created_at=at,
                )
            )
            records.append(record)
            self.add(
                CaseEvent(
                    case=case,
                    at=at,
                    actor=owner,
                    kind="record_added",
                    ref=record.code,
                    detail=record.source,
                )
            )
            self.audit("record.added", at, owner, org, "caserecord", record.code, case=case.code)
            last_activity = max(last_activity, at)

        # The KKAs: dates first, then who takes part.
        plans = self._conference_plan(status, opened_day, age_days)
        roles = PEOPLE[kind]
        chosen: list[list[tuple[str, str, str]]] = []
        for _plan in plans:
            size = min(len(roles), rng.randint(2, 5))
            chosen.append(rng.sample(roles, size))
        categories = sorted(
            {cat for people in chosen for _r, cat, _i in people if cat != "konseli"}
        )
        consent = None
        if plans:
            consent_at = opened_at + dt.timedelta(days=min(2, max(age_days - 1, 0)), hours=1)
            giver = rng.choice(("orang_tua", "wali")) if minor else "konseli"
            consent = self.add(
                Consent(
                    code=self.code(),
                    client=client,
                    kind="grant",
                    giver=giver,
                    giver_name=guardian_name if minor else full_name,
                    giver_relationship="Orang tua" if minor else "",
                    purpose_hold_kka=True,
                    purpose_documents=True,
                    consent_text=org.consent_text,
                    channel=rng.choice(("kertas", "lisan", "elektronik")),
                    given_at=consent_at,
                    recorded_by=owner,
                    recorded_at=consent_at,
                    **{SHARE_FIELD[cat]: True for cat in categories},
                )
            )
            self.add(
                CaseEvent(
                    case=case,
                    at=consent_at,
                    actor=owner,
                    kind="consent_recorded",
                    ref=consent.code,
                    detail=giver,
                )
            )
            self.audit(
                "consent.recorded",
                consent_at,
                owner,
                org,
                "consent",
                consent.code,
                client=client.code,
                giver=giver,
            )

        conferences: list[Conference] = []
        for seq, ((day, conf_status), people) in enumerate(
            zip(plans, chosen, strict=True), start=1
        ):
            conference, end = self._conference(
                org, case, client, owner, consent, seq, day, conf_status, people, records
            )
            conferences.append(conference)
            last_activity = max(last_activity, end)

        # Closing (or referring) the case.
        if status in ("closed", "referred"):
            base = max([c.ends_at for c in conferences if c.ends_at] or [opened_at])
            closed_at = min(base + dt.timedelta(days=rng.randint(3, 40)), _at(zone, self.today, 8))
            closed_at = max(closed_at, base + dt.timedelta(hours=1))
            if status == "referred":
                self._referral(
                    org, case, owner, consent, conferences[-1] if conferences else None, closed_at
                )
            case.closed_at = closed_at if status == "closed" else None
            case.outcome = (
                rng.choice(("resolved", "improved", "unchanged", "other"))
                if status == "closed"
                else ""
            )
            if case.outcome:
                case.outcome_note = "Catatan hasil penanganan."
            old = "in_handling"
            self.add(
                CaseEvent(
                    case=case,
                    at=closed_at,
                    actor=owner,
                    kind="status_changed",
                    detail=f"{old}>{status}",
                )
            )
            self.audit(
                "case.status_changed",
                closed_at,
                owner,
                org,
                "case",
                case.code,
                old=old,
                new=status,
                outcome=case.outcome,
            )
            last_activity = max(last_activity, closed_at)
        elif status == "in_handling":
            at = opened_at + dt.timedelta(days=1)
            self.add(
                CaseEvent(
                    case=case, at=at, actor=owner, kind="status_changed", detail="open>in_handling"
                )
            )
            self.audit(
                "case.status_changed",
                at,
                owner,
                org,
                "case",
                case.code,
                old="open",
                new=status,
                outcome="",
            )
        case.last_activity_at = last_activity

    def _case_status(self, age_days: int) -> str:
        r = self.rng.random()
        if age_days < 30:
            return "open" if r < 0.5 else "in_handling"
        if age_days < 120:
            return (
                "open"
                if r < 0.2
                else "in_handling"
                if r < 0.65
                else "closed"
                if r < 0.93
                else "referred"
            )
        return (
            "open"
            if r < 0.04
            else "in_handling"
            if r < 0.2
            else "closed"
            if r < 0.9
            else "referred"
        )

    def _conference_plan(
        self, status: str, opened_day: dt.date, age_days: int
    ) -> list[tuple[dt.date, str]]:
        """(day, status) for each KKA of the case, in order."""
        rng = self.rng
        if status == "open":
            count = 0 if rng.random() < 0.3 else 1
        else:
            count = rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
        if status in ("closed", "referred") and age_days < 12 * count:
            count = 1
        plans: list[tuple[dt.date, str]] = []
        day = opened_day + dt.timedelta(days=rng.randint(3, 14))
        for k in range(count):
            last = k == count - 1
            if status in ("closed", "referred"):
                latest = self.today - dt.timedelta(days=4 * (count - k))
                day = min(day, latest)
                day = max(day, opened_day + dt.timedelta(days=k))
                plans.append((day, "cancelled" if not last and rng.random() < 0.05 else "closed"))
            elif day >= self.today - dt.timedelta(days=1):
                plans.append((day, rng.choice(("draft", "planned", "invited"))))
                break
            elif last and status == "open":
                plans.append(
                    (
                        max(day, self.today + dt.timedelta(days=rng.randint(1, 14))),
                        rng.choice(("draft", "planned", "invited")),
                    )
                )
            elif last:
                plans.append((day, rng.choice(("held", "closed", "closed"))))
            else:
                plans.append((day, "closed"))
            day = day + dt.timedelta(days=rng.randint(14, 60))
        return plans

    def _conference(
        self,
        org: Org,
        case: Case,
        client: Client,
        owner: User,
        consent: Consent | None,
        seq: int,
        day: dt.date,
        status: str,
        people: list[tuple[str, str, str]],
        records: list[CaseRecord],
    ) -> tuple[Conference, dt.datetime]:
        rng = self.rng
        zone = org.zone
        starts = _at(zone, day, rng.choice((8, 9, 10, 13, 14)), rng.choice((0, 30)))
        ends = starts + dt.timedelta(minutes=rng.choice((60, 75, 90, 120)))
        created = min(
            starts - dt.timedelta(days=rng.randint(3, 10)), starts - dt.timedelta(hours=2)
        )
        created = max(created, case.opened_at + dt.timedelta(hours=2))
        if created >= starts:
            created = starts - dt.timedelta(hours=1)
        held = status in ("held", "closed")
        invited = held or status == "invited"
        planned = invited or status in ("planned", "cancelled")
        conference = self.add(
            Conference(
                code=self.code(),
                case=case,
                sequence=seq,
                status=status,
                topic=case.title,
                bidang=case.bidang,
                functions=["pemahaman", "pengentasan"],
                aim="Memperoleh pemahaman yang menyeluruh dan membangun komitmen penanganan.",
                expected_results="Kesepahaman tentang masalah dan peran setiap pihak.",
                subject="Konseli berinisial "
                + "".join(p[0] + "." for p in client.full_name.split()),
                summary=case.description,
                place=rng.choice(N.PLACES) if planned else "",
                starts_at=starts if planned or rng.random() < 0.5 else None,
                ends_at=ends if planned else None,
                organiser=f"{owner.full_name}, {org.obj.name}",
                use_of_results="Hasil pertemuan digunakan semata-mata untuk kepentingan konseli.",
                evaluation_plan=(
                    "Laiseg di akhir pertemuan; laijapen dua minggu; laijapang dua bulan."
                ),
                client_participation="part"
                if any(c == "konseli" for _r, c, _i in people)
                else "absent",
                briefing="Ringkasan singkat untuk peserta tanpa identitas lengkap."
                if invited
                else "",
                created_by=owner,
                created_at=created,
                updated_at=ends if held else created,
            )
        )
        if conference.starts_at is None:
            conference.ends_at = None
        ev = self.add
        ev(
            CaseEvent(
                case=case,
                at=created,
                actor=owner,
                kind="conference_created",
                ref=conference.code,
                detail=str(seq),
            )
        )
        self.audit(
            "conference.created", created, owner, org, "conference", conference.code, case=case.code
        )
        if planned:
            self.audit(
                "conference.plan_updated",
                created + dt.timedelta(minutes=5),
                owner,
                org,
                "conference",
                conference.code,
                fields="briefing,ends_at,place,starts_at",
            )
        end = created

        participants: list[Participant] = []
        for position, (role, category, institution) in enumerate(people):
            if category == "konseli":
                name = client.full_name
            else:
                name, _sex = _person(rng, org.regions)
            p = ev(
                Participant(
                    code=self.code(),
                    conference=conference,
                    full_name=name,
                    role=role,
                    category=category,
                    institution=org.obj.name if institution == "org" else institution,
                    email=f"peserta{self.g.case_index}.{seq}.{position}@{EMAIL_DOMAIN}"
                    if rng.random() < 0.4
                    else "",
                    phone=_phone(rng) if rng.random() < 0.8 else "",
                    disclosure=rng.choice(("invitation", "briefing", "briefing", "shared_minutes")),
                    invitation_text=(
                        "Dengan hormat, kami mengundang Bapak/Ibu untuk hadir dalam "
                        "pertemuan terbatas."
                    ),
                    position=position,
                    added_at=created + dt.timedelta(minutes=10),
                )
            )
            participants.append(p)
            self.audit(
                "participant.added",
                p.added_at,
                owner,
                org,
                "participant",
                p.code,
                conference=conference.code,
                category=category,
            )
        if planned:
            at = created + dt.timedelta(minutes=30)
            self.audit(
                "conference.status_changed",
                at,
                owner,
                org,
                "conference",
                conference.code,
                old="draft",
                new="planned",
            )
        if status == "cancelled":
            at = created + dt.timedelta(days=1)
            self.audit(
                "conference.status_changed",
                at,
                owner,
                org,
                "conference",
                conference.code,
                old="planned",
                new="cancelled",
            )
            end = at

        if invited:
            invited_at = min(created + dt.timedelta(days=1), starts - dt.timedelta(hours=1))
            end = max(end, invited_at)
            for p in participants:
                channel = (
                    "email"
                    if p.email and rng.random() < 0.5
                    else "whatsapp"
                    if p.phone
                    else "letter"
                )
                year, seq_no, number = self.g.letter_number(org, invited_at.astimezone(zone).date())
                ev(
                    LetterNumber(
                        organisation=org.obj,
                        year=year,
                        seq=seq_no,
                        number=number,
                        kind="undangan",
                        conference=conference,
                        participant=p,
                        issued_by=owner,
                        issued_at=invited_at,
                    )
                )
                p.letter_number = number
                p.invited_at = invited_at
                self.audit(
                    "letter.number_issued",
                    invited_at,
                    owner,
                    org,
                    "letternumber",
                    f"{year}/{seq_no}",
                    kind="undangan",
                    conference=conference.code,
                )
                if channel != "email" or rng.random() < 0.5:
                    ev(
                        PortalLink(
                            participant=p,
                            token_hash=token_hash(secrets.token_urlsafe(32)),
                            created_at=invited_at,
                        )
                    )
                ev(
                    Disclosure(
                        participant=p,
                        kind=f"invitation_{channel}",
                        consent=consent,
                        at=invited_at,
                        actor=owner,
                    )
                )
                self.audit(
                    "invitation.sent",
                    invited_at,
                    owner,
                    org,
                    "participant",
                    p.code,
                    conference=conference.code,
                    channel=channel,
                )
                answered = invited_at + dt.timedelta(hours=rng.randint(2, 48))
                if answered < starts and rng.random() < 0.85:
                    end = max(end, answered)
                    p.rsvp = rng.choices(("hadir", "tidak_hadir", "diwakilkan"), weights=(8, 1, 1))[
                        0
                    ]
                    p.rsvp_at = answered
                    p.first_opened_at = answered - dt.timedelta(minutes=3)
                    self.audit(
                        "portal.rsvp",
                        answered,
                        None,
                        org,
                        "participant",
                        p.code,
                        conference=conference.code,
                        answer=p.rsvp,
                    )
                    if p.rsvp == "hadir" and rng.random() < 0.6:
                        p.pledged_at = answered + dt.timedelta(minutes=2)
                        p.pledge_name = p.full_name
                        p.pledge_channel = "online"
                        self.audit(
                            "pledge.taken",
                            p.pledged_at,
                            None,
                            org,
                            "participant",
                            p.code,
                            conference=conference.code,
                            channel="online",
                        )
            at = invited_at
            ev(
                CaseEvent(
                    case=case,
                    at=at,
                    actor=owner,
                    kind="conference_status",
                    ref=conference.code,
                    detail="planned>invited",
                )
            )

        if held:
            self.audit(
                "conference.status_changed",
                starts,
                owner,
                org,
                "conference",
                conference.code,
                old="invited",
                new="held",
            )
            present = []
            for p in participants:
                p.attendance = rng.choices(
                    ("present", "absent", "represented", "left_early"), weights=(14, 2, 1, 1)
                )[0]
                if p.attendance in ("present", "left_early"):
                    present.append(p)
                    p.arrived_at = starts + dt.timedelta(minutes=rng.randint(0, 10))
                    if p.attendance == "left_early":
                        p.left_at = starts + dt.timedelta(minutes=45)
                    if p.pledged_at is None:
                        p.pledged_at = starts + dt.timedelta(minutes=5)
                        p.pledge_name = p.full_name
                        p.pledge_channel = rng.choice(("device", "paper"))
                        self.audit(
                            "pledge.taken",
                            p.pledged_at,
                            owner,
                            org,
                            "participant",
                            p.code,
                            conference=conference.code,
                            channel=p.pledge_channel,
                        )
                self.audit(
                    "attendance.recorded",
                    starts + dt.timedelta(minutes=8),
                    owner,
                    org,
                    "conference",
                    conference.code,
                    participant=p.code,
                    attendance=p.attendance,
                )
            closed = status == "closed"
            finalised_at = ends + dt.timedelta(hours=20) if closed else None
            ev(
                Minutes(
                    conference=conference,
                    shared_text=rng.choice(N.MINUTES_SHARED),
                    private_text=rng.choice(N.MINUTES_PRIVATE),
                    data_wanted="Keadaan konseli di rumah dan di lembaga.",
                    data_obtained="Keterangan dari setiap peserta tentang perubahan yang terlihat.",
                    data_needs=rng.choice(("met", "partly", "not_met")) if closed else "",
                    conclusions=rng.choice(N.CONCLUSIONS),
                    directions=rng.choice(N.DIRECTIONS),
                    version=2,
                    updated_at=ends + dt.timedelta(minutes=90),
                    updated_by=owner,
                    finalised_at=finalised_at,
                    finalised_by=owner if closed else None,
                )
            )
            if finalised_at:
                self.audit(
                    "minutes.finalised",
                    finalised_at,
                    owner,
                    org,
                    "conference",
                    conference.code,
                    version=2,
                )
            end = max(end, ends + dt.timedelta(minutes=90))
            self._commitments(org, conference, owner, participants, day, ends, closed)
            self._evaluations(org, conference, owner, present, day, ends, closed)
            if closed:
                close_at = ends + dt.timedelta(hours=20, minutes=5)
                self.audit(
                    "conference.status_changed",
                    close_at,
                    owner,
                    org,
                    "conference",
                    conference.code,
                    old="held",
                    new="closed",
                )
                ev(
                    CaseEvent(
                        case=case,
                        at=close_at,
                        actor=owner,
                        kind="conference_status",
                        ref=conference.code,
                        detail="held>closed",
                    )
                )
                end = max(end, close_at)
                if rng.random() < 0.6:
                    fu = ev(
                        FollowUp(
                            code=self.code(),
                            case=case,
                            conference=conference,
                            kind=rng.choice(
                                ("individual_counselling", "home_visit", "consultation", "next_kka")
                            ),
                            status=rng.choice(
                                ("done", "done", "in_progress", "planned", "cancelled")
                            ),
                            planned_on=day + dt.timedelta(days=rng.randint(7, 30)),
                            note="Tindak lanjut sesuai kesepakatan pertemuan.",
                            created_by=owner,
                            created_at=close_at + dt.timedelta(minutes=10),
                            updated_at=close_at + dt.timedelta(minutes=10),
                        )
                    )
                    self.audit(
                        "followup.added",
                        fu.created_at,
                        owner,
                        org,
                        "followup",
                        fu.code,
                        case=case.code,
                        conference=conference.code,
                        kind=fu.kind,
                        referral_to="",
                    )
            self.g.held_seen += 1
            if self.g.o.documents_every and self.g.held_seen % self.g.o.documents_every == 1:
                self._document(org, case, conference, owner, ends + dt.timedelta(minutes=30))
        return conference, end

    def _commitments(
        self,
        org: Org,
        conference: Conference,
        owner: User,
        participants: list[Participant],
        day: dt.date,
        ends: dt.datetime,
        closed: bool,
    ) -> None:
        rng = self.rng
        others = [p for p in participants if p.category != "konseli"]
        for _ in range(rng.randint(1, 4)):
            party = rng.choice(others) if others and rng.random() < 0.7 else None
            due = day + dt.timedelta(days=rng.randint(7, 35))
            if due < self.today:
                status = rng.choices(
                    ("done", "not_done", "in_progress", "dropped", "planned"),
                    weights=(12, 3, 3, 1, 1),
                )[0]
            else:
                status = rng.choice(("planned", "in_progress", "done"))
            created = ends - dt.timedelta(minutes=10)
            c = self.add(
                Commitment(
                    code=self.code(),
                    conference=conference,
                    organisation=org.obj,
                    participant=party,
                    counsellor=None if party else owner,
                    what=rng.choice(N.COMMITMENTS),
                    due_on=due,
                    check_method=rng.choice(N.CHECKS),
                    status=status,
                    created_by=owner,
                    created_at=created,
                    updated_at=created,
                )
            )
            self.audit(
                "commitment.added",
                created,
                owner,
                org,
                "commitment",
                c.code,
                conference=conference.code,
                who="participant" if party else "counsellor",
                participant=party.code if party else "",
            )
            if status != "planned" and rng.random() < 0.5:
                by_participant = party is not None and rng.random() < 0.4
                at = min(ends + dt.timedelta(days=rng.randint(2, 10)), _at(org.zone, self.today, 7))
                at = max(at, ends + dt.timedelta(hours=1))
                progress = self.add(
                    CommitmentProgress(
                        commitment=c,
                        note=rng.choice(N.PROGRESS),
                        at=at,
                        by_user=None if by_participant else owner,
                        by_participant=party if by_participant else None,
                    )
                )
                self.audit(
                    "commitment.progress_added",
                    progress.at,
                    None if by_participant else owner,
                    org,
                    "commitment",
                    c.code,
                    conference=conference.code,
                    by="participant" if by_participant else "counsellor",
                )
            if status != "planned":
                at = ends + dt.timedelta(days=1)
                c.updated_at = at
                self.audit(
                    "commitment.status_changed",
                    at,
                    owner,
                    org,
                    "commitment",
                    c.code,
                    conference=conference.code,
                    old="planned",
                    new=status,
                )

    def _evaluations(
        self,
        org: Org,
        conference: Conference,
        owner: User,
        present: list[Participant],
        day: dt.date,
        ends: dt.datetime,
        closed: bool,
    ) -> None:
        rng = self.rng
        scheme = org.obj.evaluation_scheme
        keys = (
            ("understanding", "comfort", "action")
            if scheme == "uca"
            else ("berpikir", "merasa", "bersikap", "bertindak", "bertanggung_jawab")
        )
        for p in present:
            if rng.random() < 0.5:
                continue
            via_portal = rng.random() < 0.3
            at = ends - dt.timedelta(minutes=5) if not via_portal else ends + dt.timedelta(hours=3)
            e = self.add(
                Evaluation(
                    code=self.code(),
                    conference=conference,
                    kind="laiseg",
                    participant=p,
                    scheme=scheme,
                    answers=json.dumps(
                        {k: rng.choice(N.UCA_ANSWERS) for k in keys}, ensure_ascii=False
                    ),
                    done_at=at,
                    recorded_by=None if via_portal else owner,
                    created_at=at,
                )
            )
            self.audit(
                "evaluation.recorded",
                at,
                None if via_portal else owner,
                org,
                "evaluation",
                e.code,
                conference=conference.code,
                kind="laiseg",
                scheme=scheme,
                channel="portal" if via_portal else "staff",
                participant=p.code,
            )
        if not closed:
            return
        at = ends + dt.timedelta(hours=2)
        e = self.add(
            Evaluation(
                code=self.code(),
                conference=conference,
                kind="proses",
                answers=json.dumps(
                    {
                        k: rng.choice(N.PROCESS_ANSWERS)
                        for k in ("participation", "atmosphere", "adherence")
                    },
                    ensure_ascii=False,
                ),
                done_at=at,
                recorded_by=owner,
                created_at=at,
            )
        )
        self.audit(
            "evaluation.recorded",
            at,
            owner,
            org,
            "evaluation",
            e.code,
            conference=conference.code,
            kind="proses",
            channel="staff",
        )
        for kind, days in (("laijapen", 14), ("laijapang", 60)):
            due = day + dt.timedelta(days=days)
            sched_at = ends + dt.timedelta(hours=2, minutes=5)
            done = due < self.today and rng.random() < 0.7
            done_at = _at(org.zone, due, 10) if done else None
            e = self.add(
                Evaluation(
                    code=self.code(),
                    conference=conference,
                    kind=kind,
                    due_on=due,
                    client_situation="Keadaan konseli membaik sejak pertemuan." if done else "",
                    analysis="Tujuan sebagian besar tercapai." if done else "",
                    data_needs_met=rng.choice(("met", "partly")) if done else "",
                    done_at=done_at,
                    recorded_by=owner if done else None,
                    created_at=sched_at,
                )
            )
            self.audit(
                "evaluation.scheduled",
                sched_at,
                owner,
                org,
                "evaluation",
                e.code,
                conference=conference.code,
                kind=kind,
                due_on=due.isoformat(),
            )
            if done_at:
                self.audit(
                    "evaluation.recorded",
                    done_at,
                    owner,
                    org,
                    "evaluation",
                    e.code,
                    conference=conference.code,
                    kind=kind,
                    channel="staff",
                )

    def _referral(
        self,
        org: Org,
        case: Case,
        owner: User,
        consent: Consent | None,
        conference: Conference | None,
        at: dt.datetime,
    ) -> None:
        rng = self.rng
        if consent is None:
            return
        consent.share_professionals = True
        target = rng.choice(("psikolog", "psikiater", "dokter", "pekerja_sosial", "konselor_lain"))
        fu = self.add(
            FollowUp(
                code=self.code(),
                case=case,
                conference=conference,
                kind="referral",
                referral_to=target,
                referral_to_name=f"Layanan {target.replace('_', ' ')} {org.obj.city}",
                reason="Penanganan membutuhkan keahlian di luar kewenangan konselor.",
                consent=consent,
                status=rng.choice(("planned", "in_progress", "done")),
                planned_on=at.date(),
                created_by=owner,
                created_at=at - dt.timedelta(hours=1),
                updated_at=at - dt.timedelta(hours=1),
            )
        )
        self.audit(
            "followup.added",
            fu.created_at,
            owner,
            org,
            "followup",
            fu.code,
            case=case.code,
            conference=conference.code if conference else "",
            kind="referral",
            referral_to=target,
        )

    def _document(
        self, org: Org, case: Case, conference: Conference, owner: User, at: dt.datetime
    ) -> None:
        """A registered attendance list whose stored file opens as a real PDF."""
        data = self.g.pdf_bytes()
        stored_name = hashlib.sha256(f"{conference.code}:daftar_hadir".encode()).hexdigest()[:40]
        stored_name = private_files.storage().save(
            stored_name + ".pdf.enc", ContentFile(encrypt_bytes(data))
        )
        sha = hashlib.sha256(data).hexdigest()
        document = self.add(
            Document(
                code=self.code(),
                organisation=org.obj,
                kind="daftar_hadir",
                format="pdf",
                case=case,
                conference=conference,
                stored_name=stored_name,
                sha256=sha,
                content_hash=sha,
                size=len(data),
                pages=1,
                finalised_at=at,
                created_by=owner,
                created_at=at,
            )
        )
        self.audit(
            "document.produced",
            at,
            owner,
            org,
            "document",
            document.code,
            kind="daftar_hadir",
            edition="",
            format="pdf",
            conference=conference.code,
            participant="",
            number="",
            template="",
            template_fallback="",
            finalised="yes",
        )


def seed(options: Options, *, progress: Callable[[str], None] = lambda _line: None) -> Summary:
    """Create the synthetic data. The caller checks production mode and migrations."""
    return Generator(options, progress).run()
