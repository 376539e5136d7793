"""``kka documents preview --out DIR``: page 1 of every document kind as PNG.

Builds the demo school's closed KKA, produces every registered kind as PDF through
the real pipeline and renders page 1 of each with ``pdftoppm -r 60``. Everything it
writes to the database is rolled back; run it on a throwaway data directory anyway
(``make doc-previews`` does), since produced files are stored encrypted there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from kka.documents.management import preview


class Command(BaseCommand):
    help = "Document tools. 'preview' renders page 1 of every kind for the demo KKA to PNG."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        show = sub.add_parser("preview", help="PNG of page 1 of every document kind")
        show.add_argument("--out", default="docs/previews", help="directory for the PNG files")
        show.add_argument("--dpi", type=int, default=60, help="resolution (default 60)")
        show.add_argument(
            "--editions", action="store_true", help="also every edition (e.g. notulen rahasia)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "preview":
            self.preview(Path(options["out"]), dpi=options["dpi"], editions=options["editions"])

    def preview(self, out: Path, *, dpi: int, editions: bool) -> None:
        if settings.PRODUCTION:
            raise CommandError("Previews build demo data: never in production.")
        preview.quiet_weasyprint()
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.png"):
            old.unlink()
        failed = []
        with transaction.atomic():
            kka = preview.build_demo_kka()
            results = preview.produce_all(kka, fmt="pdf", editions=editions)
            transaction.set_rollback(True)
        total = 0
        for result in results:
            name = result.kind + (f"-{result.edition}" if result.edition else "")
            if result.data is None:
                failed.append(name)
                self.stderr.write(f"{name}: not produced ({result.problem})")
                continue
            target = out / f"{name}.png"
            preview.first_page_png(result.data, target, dpi=dpi)
            total += target.stat().st_size
            self.stdout.write(f"{target}  {target.stat().st_size // 1024} KB")
        self.stdout.write(f"{len(results) - len(failed)} previews, {total // 1024} KB in {out}")
        if failed:
            raise CommandError(f"not produced: {', '.join(failed)}", returncode=1)
