"""Benchmark: how long producing a document takes (not a test; nothing is asserted).

    .venv/bin/python bench/documents.py [--runs 20] [--no-write]
    make bench

Builds the demo school's closed KKA in a throwaway SQLite data directory (never your
own data, whatever KKA_DATA_DIR or DATABASE_URL say), then times, N runs each after
two warm-up runs:

- the laporan PDF and the daftar hadir PDF through ``documents.services.produce``
  (access check, fields, build, render, encrypt and store, register row, audit row);
- the same two documents' ``render_pdf`` alone (WeasyPrint's share);
- a blank WeasyPrint page, the floor any PDF costs.

Prints median, p90 and min, and writes them with the machine and date into the
"Dokumen" section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import cpu_model  # noqa: E402

PERFORMANCE_DOC = ROOT / "docs" / "performance.md"
SECTION = "## Dokumen"


def _setup(data_dir: str) -> None:
    os.environ["KKA_DATA_DIR"] = data_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.pop("KKA_ENV", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "kka.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _time(action: Callable[[], Any], runs: int) -> list[float]:
    for _ in range(2):
        action()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def _measure(runs: int) -> list[tuple[str, list[float]]]:
    from kka.documents.management import preview

    preview.quiet_weasyprint()  # before WeasyPrint is imported and logs its CSS parsing

    from django.db import transaction
    from weasyprint import HTML

    from kka.documents import registry, render, services
    from kka.documents.registry import Subject

    kka = preview.build_demo_kka()
    conference = kka.conference
    rows: list[tuple[str, list[float]]] = []

    def built(code: str) -> Any:
        kind = registry.get(code)
        subject = Subject(
            organisation=kka.organisation,
            viewer=kka.counsellor,
            case=conference.case,
            conference=conference,
        )
        return kind.build(subject, kind.fields(subject))

    available = registry.load_all()
    for code, label in (("laporan", "laporan"), ("daftar_hadir", "daftar hadir")):
        if code not in available:
            print(f"kind {code!r} is not registered yet: skipped", file=sys.stderr)
            continue

        def produce(code: str = code) -> None:
            with transaction.atomic():
                services.produce(actor=kka.counsellor, kind=code, fmt="pdf", conference=conference)

        doc = built(code)
        rows.append((f"{label} PDF, produce() end to end", _time(produce, runs)))
        rows.append(
            (
                f"{label} PDF, render_pdf() only",
                _time(lambda doc=doc: render.render_pdf(doc, kka.organisation), runs),
            )
        )
    blank = "<!doctype html><html><body><p></p></body></html>"
    rows.append(("blank WeasyPrint page", _time(lambda: HTML(string=blank).write_pdf(), runs)))
    return rows


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def _table(rows: list[tuple[str, list[float]]]) -> str:
    lines = ["| what | median | p90 | min |", "|---|---:|---:|---:|"]
    for label, times in rows:
        p90 = statistics.quantiles(times, n=10)[8] if len(times) >= 2 else times[0]
        lines.append(
            f"| {label} | {_ms(statistics.median(times))} | {_ms(p90)} | {_ms(min(times))} |"
        )
    return "\n".join(lines)


def _section(rows: list[tuple[str, list[float]]], runs: int) -> str:
    import weasyprint

    machine = (
        f"{cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, WeasyPrint {weasyprint.__version__}"
    )
    return f"""{SECTION}

Measured by `make bench` (`bench/documents.py`) on {dt.date.today().isoformat()}:
{runs} runs after two warm-up runs, the demo school's closed KKA, SQLite.
Machine: {machine}.

{_table(rows)}

- *produce() end to end*: access check, the kind's fields and blocks, WeasyPrint,
  encryption and storage of the file, the register row and the audit row: what a
  counsellor waits for after pressing the button.
- *render_pdf() only*: the same document's layout and PDF writing by WeasyPrint.
- *blank WeasyPrint page*: the floor every PDF pays (fonts, one empty page).

The numbers move with the machine's load; compare rows of one run, not runs of
different days.
"""


def _write(section: str) -> None:
    if PERFORMANCE_DOC.exists():
        text = PERFORMANCE_DOC.read_text()
    else:
        text = "# Performance\n\nMeasurements of KKA, with the command that made them.\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    PERFORMANCE_DOC.write_text(text.rstrip("\n") + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per row (default 20)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    data_dir = tempfile.mkdtemp(prefix="kka-bench-")
    try:
        _setup(data_dir)
        rows = _measure(max(2, args.runs))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    section = _section(rows, max(2, args.runs))
    print(section)
    if not args.no_write:
        _write(section)
        print(f"written to {PERFORMANCE_DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
