"""``kka privacy <subcommand>``: data-protection tools for the DPO and the operator.

Each subcommand lives in its own module, which provides ``configure(parser)`` and
``run(options, stdout)``: retention (kka.privacy.retention), affected
(kka.privacy.incidents), ropa (kka.privacy.ropa).
"""

from __future__ import annotations

import importlib
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

SUBCOMMANDS = {
    "retention": ("kka.privacy.retention", "list records due for destruction; destroy them"),
    "affected": ("kka.privacy.incidents", "clients and data categories an account reached"),
    "ropa": ("kka.privacy.ropa", "print the record of processing activities"),
}


def _module(name: str) -> Any:
    return importlib.import_module(SUBCOMMANDS[name][0])


class Command(BaseCommand):
    help = "Data protection: retention, affected clients of an incident, the ROPA."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        for name, (module_name, help_text) in SUBCOMMANDS.items():
            subparser = sub.add_parser(name, help=help_text)
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError:
                continue
            configure = getattr(module, "configure", None)
            if configure is not None:
                configure(subparser)

    def handle(self, *args: Any, **options: Any) -> None:
        _module(options["subcommand"]).run(options, self.stdout)
