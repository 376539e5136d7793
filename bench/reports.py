"""Benchmark: program reports (issue #10, item 8) over 100,000 cases on PostgreSQL.

    .venv/bin/python bench/reports.py [--runs 10] [--warmup 2] [--reuse] [--no-write]
                                      [--explain] [--cases 100000] [--organisations 10]
    make bench-reports

Builds (or, with ``--reuse``, keeps) a PostgreSQL dataset seeded with ``kka seed
--organisations 10 --cases 100000 --seed 10 --today 2026-12-01`` in the database
``kka_bench_reports`` on 127.0.0.1:5432 (user postgres; override the server with
KKA_BENCH_PG_URL), data directory var/bench/reports-pg/. A marker file there records the
seed arguments and the number of cases found afterwards; a dataset whose marker does not
match is rebuilt. A kept dataset is migrated (new indexes reach it), then vacuumed and
analysed as autovacuum would have done.

Then, in a fresh process, it times (warm-up runs, then ``--runs`` timed runs: median,
p95, and the SQL queries of one run):

- ``figures.compute()`` + ``protect.present()`` with every organisation as one scope
  (what a pengawas group's "whole" report computes) for the school year 2026/2027 and
  for the longest period a report allows (three years, nearly all cases);
- ``services.organisation_report()`` for the organisation holding the most cases;
- the pages, through django.test.Client (all middleware, session, audit row): the
  organisation report and its PDF export as that organisation's koordinator, the group
  page (whole + each organisation) as a pengawas of an office supervising all of them
  (created here if missing, the group with ``kka groups``), the counsellor's own report
  as the counsellor with the most cases there. A page whose URL does not exist yet is
  left out of the table.

``--explain`` prints ``EXPLAIN (ANALYZE, BUFFERS)`` of every query ``figures.compute()``
sends for the whole-dataset school-year report (and ``--explain-scope organisation`` for
the largest organisation), so anyone can check the plans; the summary (scans, the index
used, rows scanned vs returned, time) goes into the doc as well.

Prints a table and writes it, with the date, the machine and the dataset's shape, into
the "Program reports" section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess  # nosec B404 - fixed argument lists, no shell, until 2027-06-30
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

from common import PG_BASE, count_cases, kka, machine_description, pg_url, psql, write_section  # noqa: E402

VAR = Path(os.environ.get("KKA_BENCH_VAR") or ROOT / "var" / "bench")
SECTION = "Program reports"
TARGET_MS = 2000.0
TRANSACTION_CONTROL = (
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "SELECT PG_ADVISORY_XACT_LOCK",
)

# (key, label) in the order of the table.
MEASURES = [
    ("whole_year", "compute + present, all organisations as one scope, school year"),
    ("whole_3y", "compute + present, all organisations as one scope, three years"),
    ("org_year", "`organisation_report()`, largest organisation, school year"),
    ("page_organisation", "organisation report page `/laporan/`, school year"),
    ("export_pdf", "PDF export `/laporan/unduh/pdf/`, school year"),
    ("export_xlsx", "XLSX export `/laporan/unduh/xlsx/`, school year"),
    ("page_group", "group page `/laporan/kelompok/<code>/` (whole + 10), school year"),
    ("api_organisation", "API `/api/v1/reports/organisation`, school year"),
    ("page_own", "counsellor's own report `/laporan/saya/`, school year"),
]
# Median and p95 (ms) measured on 2026-12-07 on the same dataset and machine before the
# report's indexes and query changes (see NOTES), for the comparison table.
BEFORE = {
    "whole_year": (4329.1, 4577.3),
    "whole_3y": (11240.6, 11993.1),
    "org_year": (1615.5, 1798.3),
    "page_organisation": (1576.6, 1715.0),
    "export_pdf": (2949.3, 3094.2),
    "export_xlsx": (1843.0, 1918.0),
    "page_group": (18584.1, 19764.0),
    "api_organisation": (1784.9, 1836.2),
    "page_own": (703.8, 732.3),
}
# Which rows the 2-second target of issue #10 applies to.
TARGETED = {"whole_year", "org_year", "page_organisation", "api_organisation"}


def dataset_names(cases: int) -> tuple[str, Path]:
    """Database name and data directory: the 100k dataset has the plain names."""
    if cases == 100_000:
        return "kka_bench_reports", VAR / "reports-pg"
    label = f"{cases // 1000}k" if cases % 1000 == 0 else str(cases)
    return f"kka_bench_reports_{label}", VAR / f"reports-pg-{label}"


def dataset_env(args: argparse.Namespace) -> tuple[dict[str, str], Path]:
    database, data_dir = dataset_names(args.cases)
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "KKA_ENV"}}
    env.update(
        KKA_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="kka.settings",
        KKA_API_RATE_PER_MINUTE="1000000",
        KKA_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
        DATABASE_URL=pg_url(database),
    )
    env.pop("REDIS_URL", None)
    return env, data_dir


def marker_wanted(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "database": "postgresql",
        "cases": args.cases,
        "organisations": args.organisations,
        "seed": args.seed,
        "today": args.today,
        "generator": "seed",
    }


def ensure_dataset(args: argparse.Namespace) -> dict[str, str]:
    env, data_dir = dataset_env(args)
    database, _dir = dataset_names(args.cases)
    marker_path = data_dir / "bench-seed.json"
    wanted = marker_wanted(args)
    if args.reuse and marker_path.exists():
        marker = json.loads(marker_path.read_text())
        if {k: marker.get(k) for k in wanted} == wanted:
            try:
                found = count_cases(env)
            except subprocess.CalledProcessError:
                found = -1
            if found == marker.get("found_cases"):
                print(f"[reports] reusing the seeded dataset {database} ({found} cases)")
                kka(env, "migrate", "-v0")  # new indexes reach a kept dataset too
                psql("VACUUM (ANALYZE)", env["DATABASE_URL"])
                return env
        print("[reports] marker does not match: rebuilding")
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    psql(f"CREATE DATABASE {database}")
    started = time.perf_counter()
    kka(env, "migrate", "-v0")
    kka(
        env,
        "seed",
        "--organisations",
        str(args.organisations),
        "--cases",
        str(args.cases),
        "--seed",
        str(args.seed),
        "--today",
        args.today,
        "--batch-size",
        "1000",
    )
    # What autovacuum does soon after a bulk load: statistics for the planner, and the
    # visibility map that lets index-only scans skip the table (this server may run with
    # autovacuum off; a live one does not).
    psql("VACUUM (ANALYZE)", env["DATABASE_URL"])
    seconds = time.perf_counter() - started
    found = count_cases(env)
    marker_path.write_text(
        json.dumps({**wanted, "found_cases": found, "seed_seconds": round(seconds, 1)}, indent=1)
    )
    print(f"[reports] seeded {found} cases in {seconds:.0f} s")
    return env


def run_worker(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    out = VAR / "reports-worker.json"
    out.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        str(out),
        "--runs",
        str(args.runs),
        "--warmup",
        str(args.warmup),
        "--today",
        args.today,
        "--explain-scope",
        args.explain_scope,
    ]
    if args.explain:
        cmd.append("--explain")
    subprocess.run(cmd, env=env, cwd=ROOT, check=True)  # noqa: S603  # nosec B603 - our own script, until 2027-06-30
    result: dict[str, Any] = json.loads(out.read_text())
    return result


# --- the doc --------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def table(result: dict[str, Any]) -> str:
    lines = [
        "| what | computations | queries | median ms | p95 ms | min ms | under 2 s? |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for key, label in MEASURES:
        row = result["measures"].get(key)
        if row is None:
            continue
        if "error" in row:
            lines.append(f"| {label} | - | - | - | - | - | error: {row['error']} |")
            continue
        if "missing" in row:
            lines.append(f"| {label} | - | - | - | - | - | not measured: {row['missing']} |")
            continue
        if key in TARGETED:
            ok = "yes" if row["p95_ms"] < TARGET_MS else "**no**"
        else:
            ok = "(yes)" if row["p95_ms"] < TARGET_MS else "(no)"
        lines.append(
            f"| {label} | {row.get('computations', 1)} | {row['queries']} "
            f"| {_ms(row['median_ms'])} | {_ms(row['p95_ms'])} | {_ms(row['min_ms'])} | {ok} |"
        )
    return "\n".join(lines)


def comparison(result: dict[str, Any]) -> str:
    lines = [
        "| what | before: median | before: p95 | now: median | now: p95 | faster |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, label in MEASURES:
        row = result["measures"].get(key) or {}
        if key not in BEFORE or "median_ms" not in row:
            continue
        median, p95 = BEFORE[key]
        lines.append(
            f"| {label} | {_ms(median)} | {_ms(p95)} | {_ms(row['median_ms'])} "
            f"| {_ms(row['p95_ms'])} | {median / row['median_ms']:.1f} x |"
        )
    return "\n".join(lines)


def shape(result: dict[str, Any]) -> str:
    s = result["shape"]
    lines = [
        f"- {s['cases']:,} cases in {s['organisations']} organisations (the largest holds "
        f"{s['largest_cases']:,}); cases opened {s['first_opened']} to {s['last_opened']}; "
        f"{s['conferences']:,} KKAs, {s['held']:,} of them held or closed; "
        f"{s['commitments']:,} commitments, {s['evaluations']:,} evaluations, "
        f"{s['followups']:,} follow-ups.",
    ]
    for p in s["periods"]:
        lines.append(
            f"- {p['name']} ({p['start']} to {p['end']}): {p['opened']:,} cases opened "
            f"({p['opened_share']:.1f} % of all), {p['closed']:,} closed, {p['held']:,} KKAs "
            f"held; the largest organisation opened {p['largest_opened']:,} cases in it."
        )
    lines.append(
        "- Cases opened per half year: "
        + ", ".join(f"{h['half']} {h['opened']:,}" for h in s["halves"])
        + "."
    )
    return "\n".join(lines)


def plans_table(result: dict[str, Any]) -> str:
    plans = result.get("plans") or []
    if not plans:
        return "(run with `--explain` to see the plans)"
    lines = [
        "| # | query | scans (table: access path, rows out / rows filtered away, over all loops) "
        "| rows returned | shared buffers hit + read | ms |",
        "|---:|---|---|---:|---:|---:|",
    ]
    for number, plan in enumerate(plans, 1):
        scans = "; ".join(
            f"{s['relation']}: {s['access']} {s['rows']:,}"
            + (f" / -{s['removed']:,}" if s["removed"] else "")
            + (f" ({s['loops']:,} loops)" if s["loops"] > 1 else "")
            for s in plan["scans"]
        )
        lines.append(
            f"| {number} | {plan['label']} | {scans} | {plan['rows']:,} "
            f"| {plan['hit']:,} + {plan['read']:,} | {plan['ms']:.1f} |"
        )
    return "\n".join(lines)


def render(result: dict[str, Any], args: argparse.Namespace, machine: str, notes: str) -> str:
    plan_scope = result.get("plans_scope", "")
    return f"""Measured by `make bench-reports` (`.venv/bin/python bench/reports.py --reuse \
--explain`) on {result["measured_on"]}.
Machine: {machine}.
Data: `kka seed --organisations {args.organisations} --cases {args.cases} --seed {args.seed} \
--today {args.today}` into PostgreSQL, then `VACUUM (ANALYZE)`:

{shape(result)}

Each row: {result["warmup"]} warm-up runs, then {result["runs"]} timed runs in one fresh
process; times in milliseconds; "queries" counts every SQL statement of one run (pages:
with the session, memberships and the audit row). Pages go through django.test.Client with
all middleware; the organisation pages as the koordinator of the largest organisation, the
group page as a pengawas of an office supervising all {args.organisations} organisations
(group threshold 5), the own report as the counsellor with the most cases there.

{table(result)}

Target (issue #10, item 8): a school year's organisation report over 100,000 cases in
under 2 s on PostgreSQL. The rows marked yes/no are that report (computed over all
100,000 cases as one scope, which is the largest a report gets, and for the largest
organisation); rows in parentheses are measured for comparison.

#### Before and after the indexes

{comparison(result)}

#### Query plans

`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` of every query `figures.compute()` sends for
{plan_scope} (`bench/reports.py --reuse --explain` prints the full plans):

{plans_table(result)}

Every table is now read from an index alone (Index Only Scan, no heap fetches) except for
two primary-key look-ups (each commitment's participant category, each referral's case),
and what a scan reads is what the report keeps: the period's 13,910 opened / 7,569 closed cases and
17,639 held KKAs through their date ranges (the KKA scan drops 4,904 entries of the
envelope that are not held or fall outside their organisation's own zone; the evaluation
scan drops the 17,639 process evaluations the report does not count). The one full read
is the case side of the joins: with every organisation in scope it is every case, taken
from the narrow covering index (8 MB) instead of the 44 MB table; for one organisation it
is that organisation's index range. "loops" on a parallel scan are its processes.

{notes}"""


NOTES = """\
#### What was slow, what changed

Measured first on the same dataset (2026-12-07, same machine, 5 timed runs each) before
the indexes and the two query changes below: see the "before" columns of the comparison
above.

What the plans showed before (all organisations, school year):

- **Cases** (6 queries): no index on the period's columns, so each query read all
  100,000 cases (Seq Scan, 44 MB heap) to keep 13,910 opened or 7,569 closed ones
  (40-75 ms each; 5-12 ms for one organisation once indexed).
- **KKAs** (8 of 21 queries: KKAs, participants, commitments, evaluations, their client
  totals, the trend): organisations in several time zones make the period an OR of
  (organisations, range) pairs, which PostgreSQL cannot use as an index condition, so
  every one of them read the whole KKA table (Parallel Seq Scan of 144,084 rows, 281 MB
  of wide rows, to keep 17,639) and hashed all 100,000 cases for the join: 180-720 ms
  each.
- **Participants, commitments, evaluations**: 17,639 index probes each into wide heaps
  (484, 147 and 388 MB) for 52,917 / 35,278 / 52,917 rows.
- **Days to the first KKA**: a correlated subquery PostgreSQL evaluated four times per
  case (the filter and each of three percentiles): 1.1 s for the school year, 0.9 s of
  it JIT compilation (the subplans pushed the cost estimate over `jit_above_cost`);
  2.4 s over three years.
- **Follow-ups**: a sequential scan of 88,296 rows per query to keep 10,965.

Changes:

- Indexes (migrations `cases/0003_reports_indexes`, `conferences/0007_reports_indexes`).
  On PostgreSQL their INCLUDE columns let the report read them alone (Index Only Scan,
  `Heap Fetches: 0` on a vacuumed table); SQLite gets the same indexes without them.
  Sizes at 100,000 cases: `cases_org_opened_idx` (organisation, opened_at) 8.4 MB,
  `cases_org_closed_idx` (organisation, closed_at) 7.4 MB, `conf_starts_cover_idx`
  (starts_at; replaces the plain starts_at index) 8.1 MB,
  `conf_participant_conf_cover` 32 MB, `conf_commitment_conf_cover` 19 MB,
  `conf_evaluation_conf_cover` 33 MB (each on the KKA), `conf_followup_created_cover`
  (created_at) 5.2 MB.
- `kka/reports/figures.py`, `_during`: with organisations in more than one zone, the OR
  of per-zone ranges is ANDed with its envelope (the earliest start to the latest end),
  a plain range the planner uses as the index condition. Same rows.
- `kka/reports/figures.py`, days to the first KKA on PostgreSQL: `MIN(starts_at)
  FILTER (held)` over a join grouped by case instead of the correlated subquery (SQLite,
  which lists the days per case, keeps the subquery). Same results, checked on this
  dataset for both periods and both scopes; the year's query went from 1.1 s to 55 ms,
  three years' from 2.4 s to 0.3 s.

What still costs: the aggregation itself. With the rows read from indexes, the biggest
queries spend their time sorting for `COUNT(DISTINCT client)` (one per column) and
evaluating each row's local-day expressions: evaluations 290 ms and commitments 250 ms for
the school year; over three years (460,000 evaluation rows) the sorts spill to disk with
PostgreSQL's default `work_mem` of 4 MB and one query takes 1.9 s. The commitments query
also looks up each commitment's participant category by primary key (42,648 probes). The
group page computes the whole group and then each organisation again (11 computations),
so it takes about the whole report plus ten organisation reports.

The bench runs `VACUUM (ANALYZE)` after seeding and after migrating a kept dataset: what
autovacuum does on a live server (this one runs with autovacuum off); without the
visibility map index-only scans would visit the table. The "before" numbers did not
depend on it (the same queries took the same time after a `VACUUM`).
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per row")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per row first")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--organisations", type=int, default=10)
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--today", default="2026-12-01", help="the day the seeded data ends")
    parser.add_argument("--reuse", action="store_true", help="keep a matching seeded dataset")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--explain", action="store_true", help="print the plans of compute()")
    parser.add_argument(
        "--explain-scope",
        choices=("whole", "organisation"),
        default="whole",
        help="whose report --explain shows (default: all organisations, school year)",
    )
    parser.add_argument(
        "--from-results",
        action="store_true",
        help="measure nothing: rewrite the section from var/bench/reports-results.json",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args)

    VAR.mkdir(parents=True, exist_ok=True)
    results_path = VAR / "reports-results.json"
    if args.from_results:
        result = json.loads(results_path.read_text())
    else:
        env = ensure_dataset(args)
        print("[reports] measuring …", flush=True)
        result = run_worker(args, env)
        results_path.write_text(json.dumps(result, indent=1))
    body = render(result, args, machine_description(pg_url=PG_BASE), NOTES)
    print(body)
    if not args.no_write:
        write_section(SECTION, body)
        print("written to docs/performance.md")
    return 0


# --- the worker: one dataset, in its own process ------------------------------------------


def _measure(call: Any, runs: int, warmup: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        call()
    with CaptureQueriesContext(connection) as captured:
        call()
    queries = [
        q
        for q in captured.captured_queries
        if not q["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL)
    ]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = statistics.quantiles(times, n=20, method="inclusive")[18] if runs >= 2 else times[0]
    return {
        "queries": len(queries),
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(p95, 1),
        "min_ms": round(times[0], 1),
    }


def _periods(today: dt.date) -> dict[str, Any]:
    from kka.reports import periods

    year = periods.school_year(today)
    # The longest period a report allows: the 36 whole months before today's month.
    end = today.replace(day=1) - dt.timedelta(days=1)
    start = end.replace(day=1)
    for _ in range(35):
        start = (start - dt.timedelta(days=1)).replace(day=1)
    longest = periods.classify(start, end)
    assert (longest.end - longest.start).days <= periods.MAX_DAYS
    return {"year": year, "longest": longest}


def _shape(today: dt.date, chosen: dict[str, Any], largest_id: int) -> dict[str, Any]:
    import zoneinfo

    from django.db.models import Count, Max, Min, Q
    from django.db.models.functions import ExtractMonth, ExtractYear

    from kka.cases.models import Case
    from kka.conferences.models import Commitment, Conference, Evaluation, FollowUp
    from kka.reports.figures import HELD

    zone = zoneinfo.ZoneInfo("Asia/Jakarta")
    total = Case.objects.count()
    span = Case.objects.aggregate(first=Min("opened_at"), last=Max("opened_at"))
    out: dict[str, Any] = {
        "cases": total,
        "organisations": Case.objects.values("organisation_id").distinct().count(),
        "largest_cases": Case.objects.filter(organisation_id=largest_id).count(),
        "first_opened": span["first"].astimezone(zone).date().isoformat(),
        "last_opened": span["last"].astimezone(zone).date().isoformat(),
        "conferences": Conference.objects.count(),
        "held": Conference.objects.filter(status__in=HELD).count(),
        "commitments": Commitment.objects.count(),
        "evaluations": Evaluation.objects.count(),
        "followups": FollowUp.objects.count(),
        "periods": [],
    }
    names = {"year": "school year 2026/2027", "longest": "three years"}
    for key, period in chosen.items():
        lower = dt.datetime.combine(period.start, dt.time(), tzinfo=zone)
        upper = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(), tzinfo=zone)
        opened = Case.objects.filter(opened_at__gte=lower, opened_at__lt=upper)
        n = opened.count()
        out["periods"].append(
            {
                "name": names.get(key, key),
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
                "opened": n,
                "opened_share": 100.0 * n / total if total else 0.0,
                "closed": Case.objects.filter(closed_at__gte=lower, closed_at__lt=upper).count(),
                "held": Conference.objects.filter(
                    status__in=HELD, starts_at__gte=lower, starts_at__lt=upper
                ).count(),
                "largest_opened": opened.filter(organisation_id=largest_id).count(),
            }
        )
    halves = (
        Case.objects.annotate(
            y=ExtractYear("opened_at", tzinfo=zone), m=ExtractMonth("opened_at", tzinfo=zone)
        )
        .values("y")
        .annotate(h1=Count("id", filter=Q(m__lte=6)), h2=Count("id", filter=Q(m__gt=6)))
        .order_by("y")
    )
    out["halves"] = []
    for row in halves:
        for half, n in (("1", row["h1"]), ("2", row["h2"])):
            if n:
                out["halves"].append({"half": f"{row['y']}-H{half}", "opened": n})
    return out


def _group_setup(organisation_ids: list[int]) -> tuple[Any, Any]:
    """The office, its pengawas and a group of every seeded organisation (made once)."""
    import io

    from django.core.management import call_command

    from kka.accounts.models import (
        Membership,
        Organisation,
        OrganisationGroup,
        Role,
        Setting,
        User,
    )

    office = Organisation.objects.filter(name="Dinas Pendidikan (bench)").first()
    if office is None:
        office = Organisation.objects.create(
            name="Dinas Pendidikan (bench)", setting=Setting.LAINNYA, city="Bench"
        )
    user = User.objects.filter(email="pengawas@bench.kka.test").first()
    if user is None:
        user = User.objects.create_user("pengawas@bench.kka.test", None, full_name="Pengawas Bench")
    Membership.objects.get_or_create(
        user=user, organisation=office, defaults={"role": Role.PENGAWAS}
    )
    group = OrganisationGroup.objects.filter(
        supervisor=office, name="Semua lembaga (bench)"
    ).first()
    if group is None:
        name = ["--name", "Semua lembaga (bench)"]
        call_command("groups", "create", *name, "--supervisor", office.code, stdout=io.StringIO())
        group = OrganisationGroup.objects.get(supervisor=office, name="Semua lembaga (bench)")
    members = set(group.organisations.values_list("pk", flat=True))
    missing = [
        o for o in Organisation.objects.filter(pk__in=organisation_ids) if o.pk not in members
    ]
    if missing:
        call_command("groups", "add", group.code, *[o.code for o in missing], stdout=io.StringIO())
    return user, group


def _subjects() -> dict[str, Any]:
    from django.db.models import Count

    from kka.accounts.models import Membership, Organisation, Role, User
    from kka.cases.models import Case

    counts = list(
        Case.objects.values("organisation_id")
        .annotate(n=Count("id"))
        .order_by("-n", "organisation_id")
    )
    if not counts:
        raise SystemExit("the dataset holds no cases")
    organisation = Organisation.objects.get(pk=counts[0]["organisation_id"])
    coordinator = (
        Membership.objects.filter(organisation=organisation, role=Role.KOORDINATOR, is_active=True)
        .select_related("user")
        .first()
    )
    counsellors = Membership.objects.filter(
        organisation=organisation, role=Role.KONSELOR, is_active=True
    ).values_list("user_id", flat=True)
    owner = (
        Case.objects.filter(organisation=organisation, owner_id__in=list(counsellors))
        .values("owner_id")
        .annotate(n=Count("id"))
        .order_by("-n", "owner_id")
        .first()
    )
    if coordinator is None or owner is None:
        raise SystemExit("the largest organisation has no koordinator or counsellor")
    return {
        "organisation_ids": [c["organisation_id"] for c in counts],
        "organisation": organisation,
        "coordinator": coordinator.user,
        "counsellor": User.objects.get(pk=owner["owner_id"]),
        "counsellor_cases": owner["n"],
    }


def _url(name: str, *args: Any) -> str | None:
    from django.urls import NoReverseMatch, reverse

    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def _api_url() -> str | None:
    from django.urls import Resolver404, resolve

    try:
        resolve("/api/v1/reports/organisation")
    except Resolver404:
        return None
    return "/api/v1/reports/organisation"


class _Recorder:
    """An execute wrapper that keeps (sql, params) of every query, for EXPLAIN."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.calls.append((sql, params))
        return execute(sql, params, many, context)


def _top_level(sql: str) -> str:
    """The query without anything inside parentheses (subqueries, function arguments)."""
    out, depth = [], 0
    for char in sql:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


def _label(sql: str) -> str:
    """A short name for a query: its main table and what it groups by."""
    top = _top_level(sql)
    main = re.search(r'\bFROM "([a-z_]+)"', top)
    table_name = main.group(1) if main else "?"
    if table_name == "accounts_organisation":
        return "organisation time zones (one row per organisation)"
    if "percentile_cont" in sql:
        to = "first KKA" if "conferences_conference" in sql else "closure"
        what = f"quartiles, days to {to}"
        table_name = "cases_case"
    elif "GROUP BY" not in top:
        counts = re.findall(r"COUNT\((DISTINCT )?", sql)
        only_clients = bool(counts) and all(counts)
        what = "distinct clients of the total row" if only_clients else "totals"
    elif '"_month"' in top:
        what = "by month"
    else:
        first = re.match(r'SELECT (?:"[a-z_]+"\.)?"([a-z_]+)"', top)
        alias = re.match(r'SELECT .*? AS "([a-z_]+)"', top)
        name = first.group(1) if first else alias.group(1) if alias else "?"
        what = f"by {name.lstrip('_')}"
    moment = re.search(r'"([a-z_]+_at)" >= ', sql)
    by = f" [{moment.group(1)}]" if moment else ""
    return f"{table_name.split('_', 1)[-1]} {what}{by}"


def _bitmap_indexes(node: dict[str, Any]) -> list[str]:
    found = [node["Index Name"]] if node.get("Node Type") == "Bitmap Index Scan" else []
    for child in node.get("Plans", []):
        found += _bitmap_indexes(child)
    return found


def _walk(node: dict[str, Any], scans: list[dict[str, Any]]) -> None:
    """Every scan of a table in the plan: how (with which index) and how many rows it
    returned and filtered away (over all loops)."""
    kind = node.get("Node Type", "")
    if "Scan" in kind and "Relation Name" in node:
        access = kind
        if node.get("Index Name"):
            access = f"{kind} on `{node['Index Name']}`"
        elif kind == "Bitmap Heap Scan":
            access = f"{kind} via " + " + ".join(f"`{i}`" for i in _bitmap_indexes(node))
        loops = int(node.get("Actual Loops", 1))
        scans.append(
            {
                "relation": node["Relation Name"],
                "access": access,
                "rows": int(node.get("Actual Rows", 0)) * loops,
                "removed": (
                    int(node.get("Rows Removed by Filter", 0))
                    + int(node.get("Rows Removed by Index Recheck", 0))
                )
                * loops,
                "loops": loops,
            }
        )
        if kind == "Bitmap Heap Scan":
            return  # its children are the bitmap index scans named above
    for child in node.get("Plans", []):
        _walk(child, scans)


def explain_compute(scope: Any, period: Any, today: dt.date, show: bool) -> list[dict[str, Any]]:
    """Run compute() once recording its queries, then EXPLAIN ANALYZE each of them."""
    from django.db import connection

    from kka.reports import figures

    recorder = _Recorder()
    with connection.execute_wrapper(recorder):
        figures.compute(scope, period.start, period.end, today)
    summary = []
    with connection.cursor() as cursor:
        for number, (sql, params) in enumerate(recorder.calls, 1):
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
            raw = cursor.fetchone()[0]
            doc = raw if isinstance(raw, list) else json.loads(raw)
            top = doc[0]
            plan = top["Plan"]
            scans: list[dict[str, Any]] = []
            _walk(plan, scans)
            summary.append(
                {
                    "label": _label(sql),
                    "rows": int(plan.get("Actual Rows", 0)),
                    "ms": float(top.get("Execution Time", 0.0)),
                    "hit": int(plan.get("Shared Hit Blocks", 0)),
                    "read": int(plan.get("Shared Read Blocks", 0)),
                    "scans": scans,
                }
            )
            if show:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                text = "\n".join(row[0] for row in cursor.fetchall())
                # The query with its values, ready to paste into psql.
                print(f"\n--- query {number}: {_label(sql)}")
                print(connection.ops.compose_sql(sql, params) + ";\n")  # type: ignore[attr-defined]
                print(text)
    return summary


def worker(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment

    setup_test_environment()
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    from kka.reports import figures, protect, services

    if connection.vendor != "postgresql":
        raise SystemExit("bench/reports.py measures PostgreSQL only")
    today = dt.date.fromisoformat(args.today)
    chosen = _periods(today)
    year, longest = chosen["year"], chosen["longest"]
    subjects = _subjects()
    organisation = subjects["organisation"]
    pengawas, group = _group_setup(subjects["organisation_ids"])
    whole = figures.Scope(tuple(subjects["organisation_ids"]), organisation.time_zone)
    query = {"from": year.start.isoformat(), "to": year.end.isoformat()}

    def present_whole(period: Any) -> Any:
        def call() -> Any:
            raw = figures.compute(whole, period.start, period.end, today)
            return protect.present(
                raw,
                title=services.report_title(period),
                subject="bench",
                period=period,
                threshold=protect.DEFAULT_THRESHOLD,
                exact=False,
            )

        return call

    def org_report() -> Any:
        return services.organisation_report(
            actor=subjects["coordinator"],
            organisation=organisation,
            period=year,
            today=today,
            audit=False,
        )

    coordinator = Client()
    coordinator.force_login(subjects["coordinator"])
    office = Client()
    office.force_login(pengawas)
    counsellor = Client()
    counsellor.force_login(subjects["counsellor"])

    def page(client: Any, url: str, kind: str = "text/html") -> Any:
        def call() -> Any:
            response = client.get(url, query)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: status {response.status_code}")
            if kind not in response.get("Content-Type", ""):
                raise RuntimeError(f"{url}: {response.get('Content-Type')}")
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)
            return response

        return call

    calls: dict[str, tuple[Any, int] | str] = {
        "whole_year": (present_whole(year), 1),
        "whole_3y": (present_whole(longest), 1),
        "org_year": (org_report, 1),
    }
    urls = {
        "page_organisation": (_url("reports:organisation"), coordinator, "text/html", 1),
        "export_pdf": (_url("reports:organisation_export", "pdf"), coordinator, "pdf", 1),
        "export_xlsx": (_url("reports:organisation_export", "xlsx"), coordinator, "sheet", 1),
        "page_group": (
            _url("reports:group", group.code),
            office,
            "text/html",
            1 + len(subjects["organisation_ids"]),
        ),
        "page_own": (_url("reports:own"), counsellor, "text/html", 1),
    }
    for key, (url, client, kind, computations) in urls.items():
        calls[key] = (page(client, url, kind), computations) if url else "no such URL yet"
    api_url = _api_url()
    if api_url:
        from kka.api.tokens import token_create

        _token, secret = token_create(
            user=subjects["coordinator"],
            organisation=organisation,
            name="bench reports",
            days=1,
            via="cli",
        )
        api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
        calls["api_organisation"] = (page(api, api_url, "json"), 1)
    else:
        calls["api_organisation"] = "no such URL yet"

    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    measures: dict[str, Any] = {}
    only = {k for k in os.environ.get("KKA_BENCH_ONLY", "").split(",") if k}
    with override_settings(DEBUG=False, STORAGES=storages):
        for key, entry in calls.items():
            if only and key not in only:
                continue
            if isinstance(entry, str):
                measures[key] = {"missing": entry}
            else:
                call, computations = entry
                try:
                    measures[key] = {
                        **_measure(call, args.runs, args.warmup),
                        "computations": computations,
                    }
                except Exception as exc:  # one broken page must not stop the run
                    measures[key] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
            print(f"  {key}: {measures[key]}", flush=True)

    if args.explain_scope == "whole":
        plan_scope, plan_name = (
            whole,
            f"all {len(subjects['organisation_ids'])} organisations as one scope, "
            f"school year {year.school_years}",
        )
    else:
        plan_scope = figures.Scope((organisation.pk,), organisation.time_zone)
        plan_name = f"the largest organisation, school year {year.school_years}"
    plans = explain_compute(plan_scope, year, today, show=args.explain)
    result = {
        "measures": measures,
        "plans": plans,
        "plans_scope": plan_name,
        "shape": _shape(today, chosen, organisation.pk),
        "runs": args.runs,
        "warmup": args.warmup,
        "counsellor_cases": subjects["counsellor_cases"],
        "measured_on": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    Path(args.worker).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
