"""``kka audit verify``: check the audit log's hash chain."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kka.audit.services import audit_verify


class Command(BaseCommand):
    help = "Audit log tools. 'verify' checks the hash chain and names the first bad row."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("verify", help="verify the audit log's hash chain")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "verify":
            count, problem = audit_verify()
            if problem is not None:
                raise CommandError(
                    f"Audit chain BROKEN at {problem} ({count} rows verified before it)",
                    returncode=1,
                )
            self.stdout.write(f"Audit chain intact: {count} rows verified.")
