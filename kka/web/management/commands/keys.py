"""``kka keys new``: print a new field-encryption key."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from kka.lib.crypto import new_field_key


class Command(BaseCommand):
    help = "Field-encryption keys. 'new' prints a fresh key for KKA_FIELD_KEYS."
    requires_system_checks = []  # type: ignore[assignment]

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("new", help="print a new key")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "new":
            self.stdout.write(new_field_key())
