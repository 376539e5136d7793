"""The ``kka`` console script: Django's management commands with KKA's settings.

``kka run``, ``kka demo``, ``kka audit verify``, ``kka keys new`` and every Django
command (``kka migrate``, ``kka createsuperuser``, ``kka check --deploy`` …).
"""

from __future__ import annotations

import os
import sys

# Commands that must work even when the configuration is wrong, to diagnose it.
DIAGNOSTIC_COMMANDS = {"check", "help", "--help", "-h", "version", "--version", "keys"}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kka.settings")
    import django
    from django.core.management import execute_from_command_line

    django.setup()
    command = argv[1] if len(argv) > 1 else "help"
    if command not in DIAGNOSTIC_COMMANDS:
        from kka.checks import refuse_to_start_on_errors

        refuse_to_start_on_errors()
    argv[0] = "kka"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
