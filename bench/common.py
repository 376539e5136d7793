"""Helpers shared by the benchmarks in bench/: the machine's description and the
performance doc (docs/performance.md), one "## title" section per benchmark.

    from bench.common import machine_description, write_section   # or, from bench/x.py:
    from common import machine_description, write_section
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import re
import shutil
import sqlite3
import subprocess  # nosec B404 - fixed argument lists, no shell, until 2027-06-30
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# KKA_BENCH_DOC: write into another checkout's doc (a "before" run from an older copy).
PERFORMANCE_DOC = Path(os.environ.get("KKA_BENCH_DOC") or ROOT / "docs" / "performance.md")
DEFAULT_PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"
_DOC_HEAD = "# Performance\n\nMeasurements of KKA, with the command that made them.\n"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / (1024 * 1024)
    except (OSError, ValueError, IndexError):
        pass
    return None


def postgresql_version(url: str | None = None) -> str | None:
    """The server's version ("15.8"), or the client's when no server answers."""
    url = url or os.environ.get("KKA_BENCH_PG_URL") or DEFAULT_PG_URL
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            if row:
                return str(row[0]).split(" ")[0]
    except Exception as exc:  # no server is a fact to report, not an error
        print(f"PostgreSQL version: {type(exc).__name__}", file=sys.stderr)
    psql = shutil.which("psql")
    if psql:
        try:
            out = subprocess.run(  # noqa: S603  # nosec B603 - fixed argv, until 2027-06-30
                [psql, "--version"], capture_output=True, text=True, timeout=5, check=False
            ).stdout
            match = re.search(r"(\d+(?:\.\d+)*)", out)
            if match:
                return f"{match.group(1)} (client)"
        except (OSError, subprocess.SubprocessError):
            pass
    return None


def machine_description(*, pg_url: str | None = None) -> str:
    """One line: CPU, cores, RAM, OS, Python, PostgreSQL and SQLite versions."""
    parts = [cpu_model(), f"{os.cpu_count()} cores"]
    ram = ram_gib()
    if ram is not None:
        parts.append(f"{ram:.1f} GiB RAM")
    parts.append(f"{platform.system()} {platform.release()}")
    parts.append(f"Python {platform.python_version()}")
    pg = postgresql_version(pg_url)
    parts.append(f"PostgreSQL {pg}" if pg else "PostgreSQL not reachable")
    parts.append(f"SQLite {sqlite3.sqlite_version}")
    return ", ".join(parts)


@contextlib.contextmanager
def _doc_lock() -> Iterator[None]:
    # Several benchmarks may finish at the same time: one writer at a time.
    lock_path = PERFORMANCE_DOC.parent / ".performance.md.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    with contextlib.suppress(OSError):
        lock_path.unlink()


def replace_section(text: str, title: str, body: str) -> str:
    """``text`` with its "## title" section (up to the next "## " or the end) replaced
    by ``body``, or with the section appended when there is none."""
    heading = f"## {title}"
    section = f"{heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^{re.escape(heading)}[ \t]*\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    return text.rstrip("\n") + "\n"


def write_section(title: str, body: str) -> None:
    """Replace (or append) the "## title" section of docs/performance.md with ``body``
    (Markdown without the heading line)."""
    with _doc_lock():
        text = PERFORMANCE_DOC.read_text() if PERFORMANCE_DOC.exists() else _DOC_HEAD
        new = replace_section(text, title, body)
        tmp = PERFORMANCE_DOC.with_suffix(".md.tmp")
        tmp.write_text(new)
        os.replace(tmp, PERFORMANCE_DOC)


if __name__ == "__main__":
    print(machine_description())
    sys.exit(0)


# --- shared by the dataset-building benchmarks (pages, reports) ------------------------

PG_BASE = os.environ.get("KKA_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def pg_url(database: str) -> str:
    """The benchmark server's address with another database name."""
    return re.sub(r"/[^/]*$", f"/{database}", PG_BASE)


def kka(env: dict[str, str], *args: str) -> None:
    cmd = [str(ROOT / ".venv" / "bin" / "kka"), *args]
    subprocess.run(cmd, env=env, cwd=ROOT, check=True)  # noqa: S603  # nosec B603 - fixed argv, until 2027-06-30


def psql(sql: str, url: str = PG_BASE) -> None:
    psql_bin = shutil.which("psql") or "psql"
    subprocess.run(  # noqa: S603  # nosec B603 - fixed argv, until 2027-06-30
        [psql_bin, url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
        check=True,
        capture_output=True,
    )


def count_cases(env: dict[str, str]) -> int:
    """Cases in the dataset ``env`` points at (asked in a fresh process)."""
    code = "from kka.cases.models import Case; print(Case.objects.count())"
    out = subprocess.run(  # noqa: S603  # nosec B603 - fixed code, until 2027-06-30
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.strip().splitlines()[-1])
