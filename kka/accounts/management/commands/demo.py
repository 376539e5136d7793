"""``kka demo``: demo organisations with one user per role (never in production): a school
and a company with every working role, and an education office whose pengawas reads the
school's aggregate program reports through an organisation group."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from kka.accounts.management.commands.groups import group_change, group_create
from kka.accounts.models import Organisation, Role, Setting, TimeZoneChoice, User
from kka.accounts.services import member_add, organisation_create
from kka.audit.services import audit_log
from kka.conferences import demo as demo_cases
from kka.privacy import demo as demo_privacy

DEMO_ORGANISATIONS: list[dict[str, Any]] = [
    {
        "key": "sekolah",
        "name": "SMP Negeri 7 Sukamaju",
        "setting": Setting.SEKOLAH,
        "time_zone": TimeZoneChoice.WIB,
        "city": "Bandung",
        "address": "Jl. Pendidikan No. 7, Sukamaju, Bandung",
        "head_title": "Kepala Sekolah",
        "head_name": "Dra. Sri Wahyuni, M.Pd.",
        "head_staff_number": "196805121993032004",
        "domain": "smpn7.demo",
        "people": {
            Role.KONSELOR: "Rina Kartika, S.Pd.",
            Role.KOORDINATOR: "Ahmad Fauzi, M.Pd.",
            Role.PIMPINAN: "Dra. Sri Wahyuni, M.Pd.",
            Role.ADMIN: "Dedi Supriadi",
            Role.DPO: "Maya Lestari, S.H.",
        },
    },
    {
        "key": "perusahaan",
        "name": "PT Nusantara Sejahtera Logistik",
        "setting": Setting.PERUSAHAAN,
        "time_zone": TimeZoneChoice.WITA,
        "city": "Makassar",
        "address": "Jl. Urip Sumoharjo No. 21, Makassar",
        "head_title": "Manajer HRD",
        "head_name": "Andi Muhammad Rizal",
        "head_staff_number": "NSL-0007",
        "domain": "nsl.demo",
        "people": {
            Role.KONSELOR: "Nurul Hidayah, M.Psi.",
            Role.KOORDINATOR: "Yusuf Pratama, S.Psi.",
            Role.PIMPINAN: "Andi Muhammad Rizal",
            Role.ADMIN: "Fitri Handayani",
            Role.DPO: "Hendra Gunawan, S.H.",
        },
    },
]


# An education office whose pengawas reads the demo schools' aggregate program reports
# (never case content) through an organisation group (kka groups).
DEMO_OFFICE: dict[str, Any] = {
    "name": "Dinas Pendidikan Kota Contoh",
    "setting": Setting.LAINNYA,
    "time_zone": TimeZoneChoice.WIB,
    "city": "Kota Contoh",
    "address": "Jl. Merdeka No. 1, Kota Contoh",
    "head_title": "Kepala Dinas Pendidikan",
    "head_name": "Dr. Bambang Sutrisno, M.Si.",
    "head_staff_number": "197003151995031002",
    "domain": "disdik.demo",
    "people": {Role.PENGAWAS: "Dra. Lilis Suryani, M.Pd."},
    "group": "Sekolah binaan Dinas Pendidikan Kota Contoh",
}


class Command(BaseCommand):
    help = "Create demo organisations and users (one per role) in an empty database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--logins-file",
            default=str(settings.DATA_DIR / "demo-logins.txt"),
            help="where to write the demo logins (mode 0600)",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing (and succeed) when the database already holds organisations",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("Demo data is never created in production mode.")
        if Organisation.objects.exists():
            if options["if_empty"]:
                self.stdout.write("Database not empty: demo data left as it is.")
                return
            raise CommandError("The database already holds organisations; demo data not created.")
        fixed = settings.KKA_DEMO_PASSWORD
        logins: list[tuple[str, str, str, str]] = []
        links: list[tuple[str, str, str]] = []
        schools: list[Organisation] = []
        with transaction.atomic():
            for spec in DEMO_ORGANISATIONS:
                organisation = organisation_create(
                    actor=None,
                    name=spec["name"],
                    setting=spec["setting"],
                    time_zone=spec["time_zone"],
                    city=spec["city"],
                    address=spec["address"],
                    head_title=spec["head_title"],
                    head_name=spec["head_name"],
                    head_staff_number=spec["head_staff_number"],
                )
                for role, full_name in spec["people"].items():
                    email = f"{role}@{spec['domain']}"
                    password = fixed or secrets.token_urlsafe(12)
                    member_add(
                        actor=None,
                        organisation=organisation,
                        email=email,
                        full_name=full_name,
                        role=role,
                        password=password,
                    )
                    logins.append((organisation.name, str(Role(role).label), email, password))
                counsellor = User.objects.get(email=f"{Role.KONSELOR}@{spec['domain']}")
                if spec["setting"] == Setting.SEKOLAH:
                    built = demo_cases.build_school(organisation, counsellor)
                else:
                    built = demo_cases.build_company(organisation, counsellor)
                links += [(organisation.name, label, link) for label, link in built]
                coordinator = User.objects.get(email=f"{Role.KOORDINATOR}@{spec['domain']}")
                demo_privacy.build_privacy(organisation, counsellor, coordinator)
                if spec["setting"] == Setting.SEKOLAH:
                    schools.append(organisation)
            logins += self._office(fixed, schools)
            audit_log(action="system.demo_created")
        lines = [f"{org} | {role:<27} | {email:<24} | {pw}" for org, role, email, pw in logins]
        text = "Demo logins (development only):\n" + "\n".join(lines) + "\n"
        # A participant has no account: the private link (as sent in an invitation) is
        # how a new user sees the participant's side of the same cases.
        text += "\nParticipant links (private; open in another browser or a private window):\n"
        text += "\n".join(f"{org} | {label}\n    {link}" for org, label, link in links) + "\n"
        path = options["logins_file"]
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        self.stdout.write(text)

    def _office(self, fixed: str, schools: list[Organisation]) -> list[tuple[str, str, str, str]]:
        """The education office, its pengawas, and the group of the demo schools."""
        spec = DEMO_OFFICE
        office = organisation_create(
            actor=None,
            **{
                key: spec[key]
                for key in (
                    "name",
                    "setting",
                    "time_zone",
                    "city",
                    "address",
                    "head_title",
                    "head_name",
                    "head_staff_number",
                )
            },
        )
        logins = []
        for role, full_name in spec["people"].items():
            email = f"{role}@{spec['domain']}"
            password = fixed or secrets.token_urlsafe(12)
            member_add(
                actor=None,
                organisation=office,
                email=email,
                full_name=full_name,
                role=role,
                password=password,
            )
            logins.append((office.name, str(Role(role).label), email, password))
        group = group_create(name=spec["group"], supervisor=office)
        for school in schools:
            group_change(group=group, organisation=school, add=True)
        return logins
