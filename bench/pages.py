"""Benchmark: server time and SQL queries of KKA's key pages (not a test; nothing is asserted).

    .venv/bin/python bench/pages.py [--sizes 1k,100k] [--databases sqlite,postgresql]
                                    [--runs 50] [--reuse] [--before] [--no-write]
    make bench-pages

For each database and size, builds a dataset with ``kka seed --organisations N --cases M
--seed S`` (never your own data: SQLite in var/bench/pages-sqlite-<size>/, PostgreSQL in
the databases kka_bench_<size> on 127.0.0.1:5432, user postgres; override the server with
KKA_BENCH_PG_URL), then, in a fresh process per dataset, requests each key page with
django.test.Client as the counsellor of the organisation holding the most cases: warm-up
requests, then ``--runs`` timed requests (median, p95) and one more under
CaptureQueriesContext (number of SQL queries). A bare view returning HttpResponse, through
the same middleware, is the framework's floor.

``--reuse`` keeps a dataset seeded earlier with the same arguments (a marker file in the
dataset's data directory records them, with the number of cases found afterwards; a
dataset whose marker does not match is rebuilt). Results of each dataset are kept in
var/bench/pages-results.json, so an interrupted run can go on with ``--reuse``.
``--before`` writes the table as the "Before fixes" part of the section instead.

Prints a table and writes it, with the date, the machine and the targets of issue #9,
into the "Pages" section of docs/performance.md.
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

from common import PERFORMANCE_DOC, PG_BASE, count_cases, kka, machine_description, pg_url, psql  # noqa: E402

# KKA_BENCH_VAR: datasets and results of another checkout (a "before" run from a copy).
VAR = Path(os.environ.get("KKA_BENCH_VAR") or ROOT / "var" / "bench")
SECTION = "Pages"
BEFORE_HEADING = "### Before fixes"
SIZES = {"1k": 1_000, "100k": 100_000}
DATABASES = ("sqlite", "postgresql")
MAX_QUERIES = 15
# Transaction control and the audit chain's lock: how each database serialises writers
# (SQLite: BEGIN IMMEDIATE; PostgreSQL: pg_advisory_xact_lock), not data round trips.
TRANSACTION_CONTROL = (
    "BEGIN",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT",
    "RELEASE",
    "SELECT PG_ADVISORY_XACT_LOCK",
)
MAX_P95_MS = 100.0
GROWTH = 1.5

# (key, label) in the order of the table; "bare" is the framework's floor.
PAGES = [
    ("dashboard", "dashboard `/`"),
    ("case_list_filter", "case list, filter `/kasus/?status=…&bidang=…`"),
    ("case_list_search", "case list, name search `/kasus/?q=…`"),
    ("case_detail", "case page `/kasus/<code>/`"),
    ("conference", "KKA page `/kka/<code>/`"),
    ("meeting", "meeting mode `/kka/<code>/pertemuan/`"),
    ("portal", "participant portal `/undangan/`"),
    ("api_cases", "API case list `/api/v1/cases`"),
    ("bare", "bare Django view (floor)"),
]


def size_label(cases: int) -> str:
    for label, n in SIZES.items():
        if n == cases:
            return label
    return f"{cases // 1000}k" if cases % 1000 == 0 else str(cases)


def parse_size(text: str) -> int:
    text = text.strip().lower()
    if text in SIZES:
        return SIZES[text]
    if text.endswith("k"):
        return int(text[:-1]) * 1000
    return int(text)


# --- the parent: datasets, one worker process per dataset, the table --------------------


def dataset_env(db: str, cases: int) -> tuple[dict[str, str], Path]:
    label = size_label(cases)
    data_dir = VAR / f"pages-{db}-{label}"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "KKA_ENV"}}
    env.update(
        KKA_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="kka.settings",
        KKA_API_RATE_PER_MINUTE="1000000",  # the benchmark is one token asking many times
        KKA_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    env.pop("REDIS_URL", None)  # in-process cache and tasks, like the single-server mode
    if db == "postgresql":
        env["DATABASE_URL"] = pg_url(f"kka_bench_{label}")
    return env, data_dir


def organisations_for(args: argparse.Namespace, cases: int) -> int:
    """A province grows by organisations, not by one school's caseload: by default the
    number of organisations grows with the cases (about 50 cases each, at least 20), so a
    counsellor's own pages hold about as much at 100k as at 1k and the comparison shows
    what the total amount of data costs."""
    return args.organisations or max(20, cases // 50)


def marker_wanted(args: argparse.Namespace, db: str, cases: int) -> dict[str, Any]:
    return {
        "database": db,
        "cases": cases,
        "organisations": organisations_for(args, cases),
        "seed": args.seed,
        "generator": "demo" if args.demo else "seed",
    }


def ensure_dataset(args: argparse.Namespace, db: str, cases: int) -> dict[str, str]:
    env, data_dir = dataset_env(db, cases)
    marker_path = data_dir / "bench-seed.json"
    wanted = marker_wanted(args, db, cases)
    if args.reuse and marker_path.exists():
        marker = json.loads(marker_path.read_text())
        if {k: marker.get(k) for k in wanted} == wanted:
            try:
                found = count_cases(env)
            except subprocess.CalledProcessError:
                found = -1
            if found == marker.get("found_cases"):
                print(f"[{db} {size_label(cases)}] reusing the seeded dataset ({found} cases)")
                kka(env, "migrate", "-v0")  # new indexes reach a kept dataset too
                return env
        print(f"[{db} {size_label(cases)}] marker does not match: rebuilding")
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    if db == "postgresql":
        name = f"kka_bench_{size_label(cases)}"
        psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        psql(f"CREATE DATABASE {name}")
    started = time.perf_counter()
    kka(env, "migrate", "-v0")
    if args.demo:
        kka(env, "demo")
    else:
        kka(
            env,
            "seed",
            "--organisations",
            str(organisations_for(args, cases)),
            "--cases",
            str(cases),
            "--seed",
            str(args.seed),
        )
    if db == "postgresql":
        # What autovacuum does soon after a bulk load: without statistics the planner
        # guesses a handful of rows per table and picks plans a live server would not.
        psql("ANALYZE", env["DATABASE_URL"])
    seconds = time.perf_counter() - started
    found = count_cases(env)
    marker_path.write_text(
        json.dumps({**wanted, "found_cases": found, "seed_seconds": round(seconds, 1)}, indent=1)
    )
    print(f"[{db} {size_label(cases)}] seeded {found} cases in {seconds:.0f} s")
    return env


def run_worker(args: argparse.Namespace, db: str, cases: int, env: dict[str, str]) -> dict:
    out = VAR / f"pages-{db}-{size_label(cases)}.json"
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
    ]
    subprocess.run(cmd, env=env, cwd=ROOT, check=True)  # noqa: S603  # nosec B603 - our own script, until 2027-06-30
    result: dict[str, Any] = json.loads(out.read_text())
    result.update(database=db, cases=cases)
    return result


def results_path(before: bool) -> Path:
    return VAR / ("pages-results-before.json" if before else "pages-results.json")


def load_results(before: bool = False) -> dict[str, Any]:
    path = results_path(before)
    if path.exists():
        try:
            data: dict[str, Any] = json.loads(path.read_text())
            return data
        except ValueError:
            pass
    return {}


def save_result(result: dict[str, Any], before: bool = False) -> None:
    data = load_results(before)
    data[f"{result['database']}:{result['cases']}"] = result
    results_path(before).write_text(json.dumps(data, indent=1))


# --- the table ------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def verdict(db: str, page: str, small: dict | None, big: dict | None) -> str:
    """Issue #9's targets for one page and database, judged on what was measured."""
    if page == "bare":
        return "(floor)"
    if small is None or big is None:
        return "? (one size only)"
    misses = []
    if small["queries"] != big["queries"]:
        misses.append("queries differ")
    if max(small["queries"], big["queries"]) > MAX_QUERIES:
        misses.append(f"> {MAX_QUERIES} queries")
    if big["p95_ms"] > GROWTH * small["p95_ms"]:
        misses.append(f"p95 x {big['p95_ms'] / small['p95_ms']:.1f}")
    if db == "postgresql" and big["p95_ms"] > MAX_P95_MS:
        misses.append(f"p95 > {MAX_P95_MS:.0f} ms")
    return "yes" if not misses else "**no**: " + ", ".join(misses)


def measured_sizes(results: dict[str, Any]) -> tuple[int, int]:
    """The smallest and the largest size measured (1k and 100k in a full run)."""
    sizes = sorted({int(r["cases"]) for r in results.values()}) or [SIZES["1k"]]
    return sizes[0], sizes[-1]


def table(results: dict[str, Any]) -> str:
    small_size, big_size = measured_sizes(results)
    s, b = size_label(small_size), size_label(big_size)
    lines = [
        f"| database | page | queries {s} | queries {b} | median {s} | p95 {s} "
        f"| median {b} | p95 {b} | Target met? |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for db in DATABASES:
        small_run = results.get(f"{db}:{small_size}")
        big_run = results.get(f"{db}:{big_size}") if big_size != small_size else None
        if small_run is None and big_run is None:
            continue
        for key, label in PAGES:
            small = (small_run or {}).get("pages", {}).get(key)
            big = (big_run or {}).get("pages", {}).get(key)
            if small is None and big is None:
                continue

            def cell(row: dict | None, name: str) -> str:
                if row is None:
                    return "-"
                if "error" in row:
                    return "error"
                return str(row[name]) if name == "queries" else _ms(row[name])

            ok = (
                verdict(db, key, small, big)
                if not any(r and "error" in r for r in (small, big))
                else "**no**: error"
            )
            lines.append(
                f"| {db} | {label} | {cell(small, 'queries')} | {cell(big, 'queries')} "
                f"| {cell(small, 'median_ms')} | {cell(small, 'p95_ms')} "
                f"| {cell(big, 'median_ms')} | {cell(big, 'p95_ms')} | {ok} |"
            )
    return "\n".join(lines)


def datasets_note(results: dict[str, Any]) -> str:
    rows = []
    for db in DATABASES:
        for size in sorted({int(r["cases"]) for r in results.values()}):
            r = results.get(f"{db}:{size}")
            if r:
                rows.append(
                    f"{db} {size_label(size)}: {r['found_cases']} cases in "
                    f"{r.get('organisations', '?')} organisations, the page user's "
                    f"organisation holds {r['organisation_cases']} of them "
                    f"({r['user_cases']} visible to the user), {r['runs']} runs, "
                    f"measured {r['measured_on']}"
                )
    return "\n".join(f"- {row}" for row in rows)


NOTES = """\
#### Query counts: what was fixed, what still misses

Counted by `tests/test_query_counts.py` (normal suite, SQLite and PostgreSQL): every key
page with one of everything, then with six records, aspects, resources, participants,
commitments (each with a progress note) and follow-ups and 30 more cases. Before the
fixes the case page grew from 28 to 38 queries and the KKA page from 30 to 85; now no page
grows.

- KKA page (`kka/conferences/views.py`, `services.readiness`/`consent_problem`): the
  client's consent is read once, not once per participant (twice: the table and the
  readiness list); commitments come with their participant, counsellor and progress notes
  (with authors) in three queries instead of 1 + 3 per commitment; a participant's
  "has commitments" comes from that list; follow-ups with their KKAs and consent; the
  documents section (`kka_documents` tag) reuses the page's participants. 30/85 -> 18.
- Case page (`kka/cases/views.py`, `access_case_with_role`): the problem map's resources
  were read once per aspect (now prefetched); members read once (also for the "add
  counsellor" form); the client's organisation joined to the case. 28/38 -> 24.
- Meeting mode (`kka/conferences/views_meeting.py`, `meeting.minutes_responses`): the
  evaluations in one query (were three); participants, minutes and addenda shared with
  the responses panel (were read again); the break-glass check of the private notes uses
  the role the access check returned. 19/20 -> 15.
- Participant portal (`kka/portal/views.py`): the client and its organisation joined to
  the link lookup (2 fewer).

Second pass (every page): in the test, SQLite / PostgreSQL, before -> after: dashboard
13 -> 13 / 13, case list filter and name search 10 -> 9 / 8, case page 24 -> 21 / 20, KKA
page 18 -> 16 / 15, meeting mode 15 -> 14 / 13, participant portal 20 -> 14 / 13, API case
list 12 -> 12 / 10.

- The signed-in user's memberships are read once per request (`kka/accounts/memo.py`,
  set by `OrganisationMiddleware`): the access check's "counsels in this organisation"
  and the audit row's role (`policy.role_in`) answer from them instead of two queries.
  Only for the request's own user, and forgotten as soon as a membership or user row is
  saved or deleted during the request (the checks after it ask the database again).
- The restriction banner (case page, KKA page) reads the client's active restriction
  in the access query (a subquery), not in a query of its own.
- The participant portal records the briefing view and the shared-minutes view of one
  page with one insert of both register rows and one audit append of both rows
  (`services.portal_page_shown`), with the consent the link check of the same request
  read (`services.link_is_valid`; was read three times); the rows are the same as before.
- PostgreSQL appends an audit row in two statements instead of three: after the head
  is read under the advisory lock, one statement inserts the row(s) and moves the head
  (`WITH appended AS (INSERT ...) UPDATE audit_audithead ...`, `kka/audit/services.py`
  `_write`); hashes and `kka audit verify` unchanged. SQLite has no data-modifying WITH,
  so it keeps three.

Still above 15, held at today's count by the test (per database): the case page (21 on
SQLite, 20 on PostgreSQL) shows 13 independent lists, one query each (problem map,
aspects, their records, their resources, all resources, members, the "add counsellor"
candidates, consent, records, their files, KKAs, follow-ups, timeline) on top of a floor
of 8 (session, user, memberships, second-factor device, the case with its access check,
the audit row's 3 statements, 2 on PostgreSQL). The KKA page (16 / 15) shows 8 lists
(participants, commitments, their progress notes, consent, resources to invite,
follow-ups, records brought, documents) on the same floor. Under 15 on the case page
means not showing some sections until asked (loaded on demand), which changes what the
counsellor sees on opening the page: not done.

The bench's counts differ from the test's because its data differ: its case page (17 /
16) has no problem map, so the four problem-map lists are not read; its KKA page (17 /
16) is closed and lists its evaluations (one query more); its portal (16 / 15, before the
consent reuse above, which takes one off) shows a closed KKA, whose link check asks for
the participant's open commitments after the grace period.

Transaction control (BEGIN, COMMIT, SAVEPOINT) and the audit chain's
`pg_advisory_xact_lock` are not counted, so SQLite and PostgreSQL count the same statements.

#### Scaling to 100k (EXPLAIN ANALYZE at 10k on PostgreSQL, after ANALYZE)

Two plans read rows in proportion to the whole database rather than to the viewer's
organisation; both are fixed by repeating the organisation on the row and indexing it
(migrations `cases/0002_clientnametoken_organisation`, `conferences/0006_commitment_organisation`,
which fill the column for existing rows; every writer sets it: `cases.services`, `kka seed`):

- name search: `cases_clientnametoken` was looked up by token alone (index `token,
  client_id`), so a common name's token returned that name's clients in every
  organisation (69 rows at 10k) before the join kept the organisation's. Now the
  lookup is `organisation_id = … AND token = …` on the index `organisation, token,
  client`: an index-only scan returning the organisation's matches (1 row at 10k).
  The import's duplicate check (`cases/imports.py`) uses the same index.
- dashboard, commitments due this week: the planner started from the `due_on, status`
  index over every organisation's commitments (106 to 212 rows at 10k, ten times that at
  100k) and checked each one's case against the viewer's. Now commitments carry their
  case's organisation and the query filters on it first: index `organisation, status,
  due_on`, 1 row read at 10k (0.6 ms instead of 2.4 ms). The planner picked the new index
  only after `VACUUM ANALYZE` of the table (the migration rewrites every row; autovacuum
  does this soon after in production).

The other key-page queries, checked at 10k: every one starts from the viewer's
organisation or the page's object through an index and took under 1.1 ms. The remaining
sequential scans are on tables the seed leaves empty or nearly (restrictions, problem
maps, attachments, minutes addenda and responses, the session and second-factor rows of
the one bench user, the one-row audit head), and the hash of `accounts_user` (1,078 rows
at 10k) for the case list's owners and the timeline's actors, which the planner turns
into primary-key lookups once the user table is larger than the handful of rows joined.

The bench runs `ANALYZE` after seeding PostgreSQL (what autovacuum does soon after a bulk
load); without it the planner assumed a handful of rows per table.
"""


def render_main(results: dict[str, Any], args: argparse.Namespace, machine: str) -> str:
    command = "`make bench-pages` (`.venv/bin/python bench/pages.py`)"
    org_rule = (
        str(args.organisations)
        if args.organisations
        else "N / 50 (at least 20: 20 at 1k, 2,000 at 100k)"
    )
    return f"""Measured by {command} on {dt.date.today().isoformat()}.
Machine: {machine}.
Data: `kka seed --organisations O --cases N --seed {args.seed}` with O = {org_rule};
requests in-process through django.test.Client (all middleware, sessions, audit rows),
signed in as the counsellor with the most cases in the organisation holding the most
cases; {args.warmup} warm-up requests, then the timed ones; times in milliseconds.
The queries column counts every SQL statement of one request (session, memberships,
audit row included).

{table(results)}

{datasets_note(results)}

Targets (issue #9): the same number of queries at 1k and 100k and at most {MAX_QUERIES};
p95 at 100k at most {GROWTH} x p95 at 1k, and at most {MAX_P95_MS:.0f} ms on PostgreSQL
(2-core machine). The "bare Django view" row is the floor every page pays (middleware,
session, memberships).

{args.note or ""}

{NOTES}"""


def write_doc(body: str, *, before: bool) -> None:
    from common import write_section

    text = PERFORMANCE_DOC.read_text() if PERFORMANCE_DOC.exists() else ""
    match = re.search(r"^## Pages[ \t]*\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    current = match.group(1) if match else ""
    main, _sep, old_before = current.partition(BEFORE_HEADING)
    if before:
        section = main.strip() + "\n\n" + BEFORE_HEADING + "\n\n" + body.strip()
    else:
        section = body.strip()
        if old_before.strip():
            section += "\n\n" + BEFORE_HEADING + "\n\n" + old_before.strip()
    write_section(SECTION, section)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1k,100k", help="comma-separated: 1k,100k")
    parser.add_argument("--databases", default=",".join(DATABASES))
    parser.add_argument("--runs", type=int, default=50, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per page first")
    parser.add_argument(
        "--organisations",
        type=int,
        default=0,
        help="organisations to spread the cases over (default: one per 50 cases, at least 20)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="keep a matching seeded dataset")
    parser.add_argument("--demo", action="store_true", help="kka demo instead of kka seed")
    parser.add_argument("--before", action="store_true", help='write as "Before fixes"')
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--note", default="", help="a line added under the table")
    parser.add_argument(
        "--from-results",
        action="store_true",
        help="measure nothing: rewrite the table from the results kept in var/bench",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(Path(args.worker), args.runs, args.warmup)

    VAR.mkdir(parents=True, exist_ok=True)
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    for db in databases:
        if db not in DATABASES:
            parser.error(f"unknown database {db!r}")
        for cases in sizes:
            if args.from_results:
                continue
            env = ensure_dataset(args, db, cases)
            print(f"[{db} {size_label(cases)}] measuring …", flush=True)
            result = run_worker(args, db, cases, env)
            save_result(result, args.before)
    results = {
        k: v
        for k, v in load_results(args.before).items()
        if v["database"] in databases and v["cases"] in sizes
    }
    body = render_main(results, args, machine_description(pg_url=PG_BASE))
    if args.before:
        body = (
            f"Measured on {dt.date.today().isoformat()} before the query fixes described above, "
            f"same command and machine.\n\n{table(results)}\n\n{datasets_note(results)}"
        )
    print(body)
    if not args.no_write:
        write_doc(body, before=args.before)
        print(f"written to {PERFORMANCE_DOC}")
    return 0


# --- the worker: one dataset, already set up by the parent, in its own process ------------


def _bare_urlconf() -> str:
    """A bench-only URLconf: all of KKA plus a trivial view (the framework's floor)."""
    import types

    from django.http import HttpRequest, HttpResponse
    from django.urls import include, path

    def bare(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    module = types.ModuleType("kka_bench_urls")
    module.urlpatterns = [  # type: ignore[attr-defined]
        path("bench/bare/", bare),
        path("", include("kka.urls")),
    ]
    for name in ("handler400", "handler403", "handler404", "handler500"):
        setattr(module, name, getattr(__import__("kka.urls", fromlist=[name]), name))
    sys.modules[module.__name__] = module
    return module.__name__


def _subjects() -> dict[str, Any]:
    """The user and objects the pages show: the biggest organisation's busiest counsellor."""
    from django.db.models import Count, Q

    from kka.accounts.models import Membership, Organisation, Role
    from kka.api.tokens import token_create
    from kka.cases import access
    from kka.cases.models import Case
    from kka.conferences import services as conference_services
    from kka.conferences.models import Conference, ConferenceStatus, Participant

    counts = (
        Case.objects.values("organisation_id")
        .annotate(n=Count("id"))
        .order_by("-n", "organisation_id")
    )
    top = counts.first()
    if top is None:
        raise SystemExit("the dataset holds no cases")
    organisation = Organisation.objects.get(pk=top["organisation_id"])
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
    if owner is None:
        raise SystemExit("no counsellor owns a case in the biggest organisation")
    from kka.accounts.models import User

    user = User.objects.get(pk=owner["owner_id"])
    mine = access.visible_cases(user).filter(organisation=organisation)
    # The case with the most KKAs and records, the KKA with the most participants.
    owned = mine.filter(owner=user)  # the same role (owner) on the pages at every size
    case = (
        owned.annotate(k=Count("conferences", distinct=True), r=Count("records", distinct=True))
        .order_by("-k", "-r", "pk")
        .first()
    )
    conference = (
        Conference.objects.filter(case__in=owned.values("pk"))
        .exclude(status=ConferenceStatus.CANCELLED)
        .annotate(
            p=Count("participants", filter=Q(participants__removed_at__isnull=True)),
            # the fullest KKA page and meeting mode: closed, minutes finalised
            closed=Count("pk", filter=Q(status=ConferenceStatus.CLOSED)),
            final=Count("pk", filter=Q(minutes__finalised_at__isnull=False)),
        )
        .order_by("-closed", "-final", "-p", "pk")
        .first()
    )
    if case is None or conference is None:
        raise SystemExit("the page user has no case with a KKA")
    # The fullest portal, so every dataset shows the same sections: a participant who
    # pledged, may read the shared minutes (finalised), with commitments.
    participants = (
        Participant.objects.filter(
            conference__case__organisation=organisation,
            removed_at__isnull=True,
            pledged_at__isnull=False,
        )
        .exclude(conference__status=ConferenceStatus.CANCELLED)
        .annotate(
            c=Count("commitments"),
            shared=Count("pk", filter=Q(disclosure="shared_minutes")),
            final=Count("pk", filter=Q(conference__minutes__finalised_at__isnull=False)),
        )
        .order_by("-shared", "-final", "-c", "pk")[:50]
    )
    portal_token = None
    for participant in participants:
        link_token = conference_services.portal_link_create(participant=participant)
        found = conference_services.portal_participant(link_token)
        if found is not None:
            portal_token = link_token
            break
    _token, api_token = token_create(
        user=user, organisation=organisation, name="bench pages", days=1, via="cli"
    )
    client = case.client
    given = (client.full_name or "").split()
    return {
        "organisation": organisation,
        "user": user,
        "organisation_cases": Case.objects.filter(organisation=organisation).count(),
        "user_cases": mine.count(),
        "case": case,
        "conference": conference,
        "portal_token": portal_token,
        "api_token": api_token,
        "name_query": given[0] if given else "a",
        # The filter the user's own cases fill best (a page of rows at every size).
        "filter": mine.values("status", "bidang")
        .annotate(n=Count("id"))
        .order_by("-n", "status", "bidang")
        .values("status", "bidang")
        .first(),
    }


def _measure(
    get: Any, check: Any, runs: int, warmup: int, connection: Any, show_sql: bool = False
) -> dict[str, Any]:
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        check(get())
    with CaptureQueriesContext(connection) as captured:
        check(get())
    # Read now: the next request resets the connection's query log. Transaction control
    # (BEGIN, COMMIT …) is left out: SQLite's log shows it, PostgreSQL's does not.
    captured_queries = [
        q
        for q in captured.captured_queries
        if not q["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL)
    ]
    queries = len(captured_queries)
    if show_sql:  # each query with its time in seconds, whole, one per line
        for query in captured_queries:
            print("    SQL", query["time"], query["sql"].replace("\n", " "))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = get()
        times.append((time.perf_counter() - start) * 1000)
        check(response)
    times.sort()
    p95 = statistics.quantiles(times, n=20, method="inclusive")[18] if runs >= 2 else times[0]
    return {
        "queries": queries,
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(p95, 2),
        "min_ms": round(times[0], 2),
    }


def worker(out: Path, runs: int, warmup: int) -> int:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment

    setup_test_environment()  # the test client's response.context and a test mail outbox
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)  # whitenoise warns otherwise
    from kka.accounts.models import Organisation
    from kka.cases.models import Case

    subjects = _subjects()
    user = subjects["user"]
    http = Client()
    http.force_login(user)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {subjects['api_token']}")
    portal = Client()
    if subjects["portal_token"]:
        entered = portal.get("/undangan/", {"t": subjects["portal_token"]})
        if entered.status_code != 302:
            raise RuntimeError(f"portal link refused: {entered.status_code}")

    def ok(response: Any) -> None:
        if response.status_code != 200:
            raise RuntimeError(f"status {response.status_code}")

    case = subjects["case"]
    conference = subjects["conference"]
    requests: dict[str, Any] = {
        "dashboard": lambda: http.get("/"),
        "case_list_filter": lambda: http.get("/kasus/", subjects["filter"]),
        "case_list_search": lambda: http.get("/kasus/", {"q": subjects["name_query"]}),
        "case_detail": lambda: http.get(f"/kasus/{case.code}/"),
        "conference": lambda: http.get(f"/kka/{conference.code}/"),
        "meeting": lambda: http.get(f"/kka/{conference.code}/pertemuan/"),
        "portal": lambda: portal.get("/undangan/"),
        "api_cases": lambda: api.get("/api/v1/cases"),
        "bare": lambda: http.get("/bench/bare/"),
    }
    if not subjects["portal_token"]:
        requests.pop("portal")
    pages: dict[str, Any] = {}
    # KKA_BENCH_SQL=case_detail,meeting prints those pages' SQL (to find what to fix).
    show = set(os.environ.get("KKA_BENCH_SQL", "").split(","))
    from django.conf import settings

    # Static files straight from the finders, as in the tests: the bench data directory
    # has no collectstatic manifest (a manifest lookup is a dict lookup either way).
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(ROOT_URLCONF=_bare_urlconf(), DEBUG=False, STORAGES=storages):
        for key, get in requests.items():
            try:
                pages[key] = _measure(get, ok, runs, warmup, connection, key in show)
            except Exception as exc:  # one broken page must not stop the run
                pages[key] = {"error": f"{type(exc).__name__}: {exc}"[:200]}
            print(f"  {key}: {pages[key]}", flush=True)
    result = {
        "pages": pages,
        "runs": runs,
        "found_cases": Case.objects.count(),
        "organisations": Organisation.objects.count(),
        "organisation_cases": subjects["organisation_cases"],
        "user_cases": subjects["user_cases"],
        "measured_on": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
