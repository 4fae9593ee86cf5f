"""`make bench` (`python -m bench [--quick]`): Holdfast under load, the production way, on loopback.

1. A database of its own, `holdfast_bench`, dropped and created afresh on the server of DATABASE_URL,
   or of the private PostgreSQL `make run` uses (config.dev.database()); dev data is never touched.
2. Migrations, then the data: venues, users with sessions, reservations in bulk SQL (bench/data.py).
3. gunicorn serving config.wsgi with config.settings.production (sync workers, as the Dockerfile),
   plain HTTP on 127.0.0.1 (no TLS: SECURE_SSL_REDIRECT=false), persistent connections, a SECRET_KEY
   made for the run, and the /_bench/ ceilings of core/bench.py switched on.
4. Load from another process (bench/load.py), phase by phase; every figure is also a ratio to a
   ceiling measured by the same server in the same run.
5. The soak (bench/soak.py): minutes of mixed load, throughput, p95, worker memory and database
   size minute by minute; `--soak-only` runs it alone, `--soak-minutes 0` leaves it out.
6. A table on the terminal, the figures as JSON in bench/results/, and the double-booking check in SQL.

Every closed-loop phase also reports the CPU the load generator used, against gunicorn's and
PostgreSQL's (bench/load.py's CpuWatch): "The load generator" in docs/performance.md.
"""

import argparse
import contextlib
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "bench" / "results"
DATABASE_NAME = "holdfast_bench"


@dataclass(frozen=True)
class Profile:
    name: str
    sizes: tuple[int, ...]  # reservations in the table when availability is measured
    warmup: float  # seconds of load before each measurement, not recorded
    duration: float  # seconds recorded per measurement
    soak_minutes: int  # the soak's length (bench/soak.py); --soak-minutes overrides it
    contenders: int = 200


PROFILES = {
    "quick": Profile("quick", (10_000, 100_000), warmup=1.0, duration=4.0, soak_minutes=5),
    "full": Profile("full", (10_000, 100_000, 1_000_000), warmup=2.0, duration=12.0, soak_minutes=20),
}


def log(message: str):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------------------------
# Database and server


def fresh_database(url: str, name: str) -> str:
    """Drop and create `name` on the server of `url`; return the URL of the new database."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urlunsplit(parts._replace(path=f"/{name}"))


def server_environment(database_url: str, folder: Path, workers: int, *, rate_limits: bool = True) -> dict[str, str]:
    """The production settings' environment for this run. Explicit values also shadow a developer's
    .env (django-environ never overrides what the environment already says)."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        # Each sync worker keeps its connection in the pool of the production settings (HOLDFAST_DB_POOL_SIZE).
        "HOLDFAST_BENCH_ENDPOINTS": "true",
        "WEB_CONCURRENCY": str(workers),
        "CACHE_URL": "dbcache://django_cache",
        # Bookings queue their e-mails after commit: into a folder of this run, never the dev queue.
        "CELERY_BROKER_URL": "filesystem://",
        "HOLDFAST_ALLOW_FILE_BROKER": "true",  # one machine: the production settings allow it only when told
        "CELERY_BROKER_FOLDER": str(folder / "celery"),
        "EMAIL_PROVIDER": "smtp",
        "EMAIL_URL": "smtp://127.0.0.1:25",
        "STRIPE_SECRET_KEY": "",
        "STRIPE_WEBHOOK_SECRET": "",
        "LOG_LEVEL": "WARNING",
        # The rate limits count as in production (one upsert per rate per request), but every
        # request of the load comes from one IP address and a few hundred users: limits this high
        # are never reached, so no request is refused for that.
        # --no-rate-limits: what the same requests cost without the counters (an empty rate: no limit).
        "HOLDFAST_RATE_LIMIT_HOLD": "1000000/m/user,1000000/m/ip" if rate_limits else "",
        "HOLDFAST_RATE_LIMIT_API": "1000000/m/user" if rate_limits else "",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Server:
    port: int
    pid: int  # gunicorn's master; its children are the workers


def child_pids(parent: int) -> list[int]:
    """The processes whose parent is `parent` (Linux /proc), in order of their ids."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return sorted(found)


@contextlib.contextmanager
def gunicorn(env: dict[str, str], folder: Path, workers: int):
    """The Dockerfile's command, bound to loopback; yields the Server once /healthz answers."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "config.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
        "--worker-tmp-dir",
        "/dev/shm" if Path("/dev/shm").is_dir() else str(folder),  # noqa: S108 (as the Dockerfile)
        "--no-control-socket",
    ]
    output = open(folder / "gunicorn.log", "wb")  # noqa: SIM115 - closed in finally
    process = subprocess.Popen(  # noqa: S603 (our own command line)
        command, cwd=BASE_DIR, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                output.flush()
                tail = (folder / "gunicorn.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"gunicorn did not start:\n{tail}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response,  # noqa: S310
            ):
                if response.status == 200:
                    break
            time.sleep(0.2)
        yield Server(port, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.close()
        errors = [
            line
            for line in (folder / "gunicorn.log").read_text(errors="replace").splitlines()
            if "Traceback" in line or " 500 " in line or "ERROR" in line
        ]
        if errors:
            log(f"gunicorn logged {len(errors)} error lines; first: {errors[0][:200]}")


# ---------------------------------------------------------------------------------------------
# Driving load (another process) and asking the server


class Bench:
    def __init__(self, profile: Profile, server: Server, workers: int, concurrency: int):
        self.profile, self.server, self.workers, self.concurrency = profile, server, workers, concurrency
        self.port = server.port
        self.database = DATABASE_NAME
        self.rows: list[dict] = []
        self.checks: list[dict] = []
        self.extra: dict = {}

    def worker_pids(self) -> list[int]:
        return child_pids(self.server.pid)

    def watch(self) -> dict[str, dict]:
        """The processes whose CPU the load generator reads (bench/load.py's watched_pids): gunicorn's
        master and workers, and the PostgreSQL backends of the run's database when the server runs on
        this machine (their command line names the database; the orchestrator's own is idle)."""
        return {
            "gunicorn": {"parent": self.server.pid},
            "postgres": {"starts": "postgres:", "cmdline": f" {self.database} "},
        }

    def drive(self, scenario: str, *, concurrency: int, **spec) -> dict:
        spec = {
            "scenario": scenario,
            "port": self.port,
            "concurrency": concurrency,
            "warmup": self.profile.warmup,
            "duration": self.profile.duration,
            "watch": self.watch(),
            **spec,
        }
        limit = spec["warmup"] + spec["duration"] + 300
        done = subprocess.run(
            [sys.executable, "-m", "bench.load"],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            cwd=BASE_DIR,
            timeout=limit,
            check=False,
        )
        if done.returncode:
            raise SystemExit(f"The load generator failed ({scenario}):\n{done.stderr[-3000:]}")
        return json.loads(done.stdout)

    def ask(self, path: str, *, user: dict | None = None, data: bytes | None = None, content_type: str = "") -> dict:
        headers = {"Cookie": f"sessionid={user['session']}; csrftoken={user['csrf']}"} if user else {}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 (loopback)
                return {"status": response.status, "body": response.read()}
        except urllib.error.HTTPError as error:
            return {"status": error.code, "body": error.read()}

    def queries(self, path: str, *, keep_as: str = "", **kwargs) -> int | None:
        """How many SQL statements the request runs; `keep_as` keeps them, grouped, in the results."""
        answer = self.ask(f"/_bench/queries?path={quote(path, safe='')}&sql=1", **kwargs)
        if answer["status"] != 200:
            log(f"query count for {path} failed: {answer['status']} {answer['body'][:200]!r}")
            return None
        found = json.loads(answer["body"])
        if found["status"] >= 400:
            log(f"query count for {path}: the replayed request answered {found['status']}")
        if keep_as:
            self.extra.setdefault("statements", {})[keep_as] = {
                "count": found["queries"],
                "by_kind": statement_kinds(found["sql"]),
                "sql": found["sql"],
            }
        return found["queries"]

    def record(self, section: str, name: str, result: dict, label: str = "request", **fields) -> dict:
        """A row of the results; `cpu` (the load generator's CpuWatch figures) comes with the result."""
        stats = result["labels"].get(label, {})
        row = {
            "section": section,
            "name": name,
            "count": stats.get("count", 0),
            "throughput": stats.get("throughput"),
            "p50_ms": stats.get("p50_ms"),
            "p95_ms": stats.get("p95_ms"),
            "p99_ms": stats.get("p99_ms"),
            "max_ms": stats.get("max_ms"),
            "errors": stats.get("errors", 0),
            "statuses": stats.get("statuses", {}),
            "cpu": result.get("cpu"),
            **fields,
        }
        if stats.get("errors"):
            log(f"{name}: {stats['errors']} unexpected answers, e.g. {stats['error_samples'][:1]}")
        self.rows.append(row)
        return row

    def check(self, name: str, passed: bool, detail: str):
        self.checks.append({"name": name, "passed": passed, "detail": detail})
        log(f"{'PASS' if passed else 'FAIL'} {name}: {detail}")


STATEMENT_KINDS = (  # first match wins
    ("transaction control", ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")),
    ("rate-limit counters (core_ratecounter)", ("core_ratecounter",)),
    ("database cache", ("django_cache",)),
    ("session activity (allauth.usersessions)", ("usersessions_",)),
    ("session and user", ("django_session", "accounts_user", "account_emailaddress")),
    ("history and e-mail outbox", ("reservations_reservationevent", "reservations_outgoingmessage")),
    ("space claims", ("reservations_spaceclaim",)),  # before reservations: the blocking claims join them
    ("reservations", ("reservations_reservation",)),
    ("venue, spaces, hours, closures", ("spaces_",)),
)


def statement_kinds(statements: list[str]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for statement in statements:
        kind = next(
            (
                name
                for name, marks in STATEMENT_KINDS
                if any(statement.startswith(m) or f'"{m}' in statement or f" {m} " in statement for m in marks)
            ),
            "other",
        )
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def ratio(value, ceiling):
    return value / ceiling if value is not None and ceiling else None


# ---------------------------------------------------------------------------------------------
# The phases


def measure_ceilings(bench: Bench, tag: str, *, latency_only: bool = False) -> dict:
    ceilings = {}
    result = bench.drive("get", concurrency=bench.workers, paths=["/_bench/trivial"])
    ceilings["trivial_latency"] = bench.record(
        "ceiling", f"trivial JSON view, c={bench.workers} ({tag})", result, concurrency=bench.workers
    )
    if latency_only:
        return ceilings
    result = bench.drive("get", concurrency=bench.concurrency, paths=["/_bench/trivial"])
    ceilings["trivial"] = bench.record(
        "ceiling", f"trivial JSON view, c={bench.concurrency} ({tag})", result, concurrency=bench.concurrency
    )
    result = bench.drive("post", concurrency=bench.concurrency, path="/_bench/insert")
    ceilings["insert"] = bench.record(
        "ceiling", f"one INSERT in a transaction, c={bench.concurrency} ({tag})", result, concurrency=bench.concurrency
    )
    return ceilings


def measure_availability(bench: Bench, fixtures, size: int, ceiling: dict) -> dict:
    from bench import plans
    from reservations.models import Reservation

    day = fixtures.measured_day.isoformat()
    found = {}
    for spaces, slug in fixtures.availability_venues.items():
        # The guest's answer: a venue that assigns tables answers with its times and areas (options);
        # every table's slot list (detail=spaces, what runs before issue 16 measured) is for staff.
        query = urlencode({"venue": slug, "party_size": 2})
        path = f"/api/availability/{day}?{query}"
        once = bench.ask(path)
        if once["status"] != 200:
            raise SystemExit(f"{path} answered {once['status']}: {once['body'][:300]!r}")
        body = json.loads(once["body"])
        free = sum(len(entry["slots"]) for entry in body["spaces"] or []) or sum(
            1 for option in body["options"] or [] if option["free"]
        )
        result = bench.drive("get", concurrency=bench.workers, paths=[path])
        row = bench.record(
            "availability",
            f"availability, {spaces} spaces, {size:,} reservations",
            result,
            concurrency=bench.workers,
            spaces=spaces,
            reservations=size,
            queries=bench.queries(path, keep_as=f"availability_{spaces}"),
            response_bytes=len(once["body"]),
            free_slots=free,
            ratio=ratio(result["labels"]["request"]["p95_ms"], ceiling["p95_ms"]),
            ratio_to="trivial p95 (same concurrency)",
        )
        found[spaces] = row
    # The home page's search across every venue (reservations/search.py): a constant number of queries.
    path = "/?" + urlencode({"date": day, "time": "19:00", "party_size": 2})
    once = bench.ask(path)
    if once["status"] != 200:
        raise SystemExit(f"{path} answered {once['status']}: {once['body'][:300]!r}")
    # Each answer takes seconds for a thousand venues: a longer window, so enough of them finish in it.
    result = bench.drive("get", concurrency=bench.workers, paths=[path], duration=max(bench.profile.duration, 15.0))
    found["search"] = bench.record(
        "search",
        f"search across venues, {fixtures.search_venues:,} venues, {size:,} reservations",
        result,
        concurrency=bench.workers,
        reservations=size,
        queries=bench.queries(path, keep_as="search"),
        response_bytes=len(once["body"]),
        ratio=ratio(result["labels"]["request"]["p95_ms"], ceiling["p95_ms"]),
        ratio_to="trivial p95 (same concurrency)",
    )
    # What PostgreSQL does for the biggest venue's day, and for a booking's overlap check.
    from spaces.models import Venue

    now = datetime.now(UTC)
    venue = Venue.objects.get(slug=fixtures.availability_venues[max(fixtures.availability_venues)])
    venue_spaces = plans.availability_spaces(venue, party_size=2)
    local = datetime.combine(fixtures.measured_day, datetime.min.time(), tzinfo=venue.zone)
    window = (local + timedelta(hours=12), local + timedelta(hours=23))
    claims = plans.availability_query(
        venue=venue, spaces=venue_spaces, window_start=window[0], window_end=window[1], now=now
    )
    # selectors._paced_starts: the day's starts, asked whenever the venue has pacing rules.
    starts = plans.pacing_query(venue=venue, starts_from=window[0], starts_until=window[1], now=now)
    rooms = Venue.objects.get(slug=fixtures.booking_venue)
    room = rooms.spaces.order_by("pk").first()
    start = datetime.combine(fixtures.today + timedelta(days=30), datetime.min.time(), tzinfo=UTC) + timedelta(hours=11)
    guest_id = Reservation.objects.filter(guest__isnull=False).values_list("guest_id", flat=True).first()
    booking = plans.booking_queries(
        guest_id=guest_id, venue=rooms, spaces=[room], starts_at=start, ends_at=start + timedelta(hours=1), now=now
    )
    bench.extra.setdefault("plans", {})[str(size)] = {
        "availability_claims": plans.explain(claims, analyze=True),
        "availability_pacing": plans.explain(starts, analyze=True),
        **{name: plans.explain(query, analyze=True) for name, query in booking.items()},
    }
    bench.extra["plan_inputs"] = {"window": [str(window[0]), str(window[1])], "claim_start": str(start)}
    return found


def measure_booking(bench: Bench, fixtures, ceilings: dict):
    from bench.data import BOOKING_HOURS

    today = fixtures.today
    api_days = [(today + timedelta(days=offset)).isoformat() for offset in range(2, 41)]
    html_days = [(today + timedelta(days=offset)).isoformat() for offset in range(41, 80)]
    users = fixtures.users
    half = len(users) // 2
    common = {"space_ids": fixtures.booking_space_ids, "hours": list(BOOKING_HOURS), "party_size": 2}
    slots = len(fixtures.booking_space_ids) * len(BOOKING_HOURS)

    # Query counts first, on a slot of their own (the last day), then the timed runs.
    spare = today + timedelta(days=80)
    space = fixtures.booking_space_ids[0]
    api_body = json.dumps({"space": space, "starts_at": f"{spare}T06:00:00+00:00", "party_size": 2}).encode()
    api_queries = bench.queries(
        "/api/reservations", keep_as="api_booking", user=users[0], data=api_body, content_type="application/json"
    )
    form = urlencode({"starts_at": f"{spare}T07:00:00+00:00", "party_size": 2, "space": space}).encode()
    hold_queries = bench.queries(
        f"/venues/{fixtures.booking_venue}/hold/",
        keep_as="html_hold",
        user=users[1],
        data=form,
        content_type="application/x-www-form-urlencoded",
    )

    insert = ceilings["insert"]
    result = bench.drive(
        "api_book",
        concurrency=bench.concurrency,
        users=users[:half],
        days=api_days,
        max_tasks=slots * len(api_days),
        **common,
    )
    bench.record(
        "booking",
        "POST /api/reservations (reservation_book)",
        result,
        concurrency=bench.concurrency,
        queries=api_queries,
        ratio=ratio(result["labels"]["request"]["throughput"], insert["throughput"]),
        ratio_to="INSERT ceiling throughput",
    )
    result = bench.drive(
        "html_book",
        concurrency=bench.concurrency,
        users=users[half:],
        days=html_days,
        venue=fixtures.booking_venue,
        max_tasks=slots * len(html_days),
        **common,
    )
    bench.record(
        "booking",
        "HTML: POST hold + POST confirm (one booking)",
        result,
        label="booking",
        concurrency=bench.concurrency,
        ratio=ratio(result["labels"]["booking"]["throughput"], insert["throughput"]),
        ratio_to="INSERT ceiling throughput",
    )
    bench.record("booking", "  HTML step: POST /venues/<slug>/hold/", result, label="hold", queries=hold_queries)
    bench.record("booking", "  HTML step: POST /reservations/<ref>/confirm/", result, label="confirm")


def measure_contention(bench: Bench, fixtures):
    from bench.data import CONTENTION_HOUR, utc_start
    from reservations.models import Reservation

    day = fixtures.today + timedelta(days=85)
    starts_at = utc_start(day, CONTENTION_HOUR)
    space = fixtures.booking_space_ids[len(fixtures.booking_space_ids) // 2]
    users = fixtures.users[: bench.profile.contenders]
    result = bench.drive("contention", concurrency=len(users), users=users, space_id=space, starts_at=starts_at)
    statuses = result["statuses"]
    winners, conflicts = statuses.get("201", 0), statuses.get("409", 0)
    server_errors = sum(count for status, count in statuses.items() if status.startswith("5") or status == "0")
    booked = Reservation.objects.filter(
        space_id=space, starts_at=starts_at, status__in=Reservation.ACTIVE_STATUSES
    ).count()
    row = bench.record(
        "contention",
        f"{len(users)} simultaneous POST /api/reservations, one slot: losers",
        result,
        label="losers",
        concurrency=len(users),
        answers=result["answers"],
    )
    row["winner_ms"] = result["labels"]["winner"]["max_ms"]
    not_free = all("no longer free" in answer for answer in result["answers"] if answer.startswith("409"))
    bench.check(
        "contention: exactly one booking, the rest 409 'not free', no 5xx",
        winners == 1 and conflicts == len(users) - 1 and server_errors == 0 and booked == 1 and not_free,
        f"201 x{winners}, 409 x{conflicts}, 5xx/failed x{server_errors}, rows in the database: {booked}; "
        f"answers: {result['answers']}",
    )


def measure_history(bench: Bench, fixtures, ceiling: dict):
    paths = [f"/api/reservations/me?when=past&limit=50&offset={offset}" for offset in range(0, 1000, 50)]
    once = bench.ask(paths[0], user=fixtures.history_user)
    body = json.loads(once["body"]) if once["status"] == 200 else {}
    result = bench.drive("get", concurrency=bench.workers, paths=paths, user=fixtures.history_user)
    bench.record(
        "history",
        "GET /api/reservations/me?when=past&limit=50 (1,000 past)",
        result,
        concurrency=bench.workers,
        queries=bench.queries(paths[0], keep_as="history", user=fixtures.history_user),
        response_bytes=len(once["body"]),
        total=body.get("count"),
        ratio=ratio(result["labels"]["request"]["p95_ms"], ceiling["p95_ms"]),
        ratio_to="trivial p95 (same concurrency)",
    )


def check_double_booking(bench: Bench, when: str):
    from bench.data import double_bookings

    overlapping, active, out_of_step = double_bookings()
    bench.check(
        f"no double booking ({when})",
        overlapping == 0 and out_of_step == 0,
        f"{overlapping} active claims overlap another of the same space, among {active:,} active; "
        f"{out_of_step} claims out of step with their bookings",
    )


# ---------------------------------------------------------------------------------------------
# Report


def _ms(value) -> str:
    return "" if value is None else f"{value:,.1f}"


def table(rows: list[dict]) -> str:
    header = ("phase", "n", "req/s", "p50 ms", "p95 ms", "p99 ms", "err", "queries", "ratio", "to")
    lines = [header]
    for row in rows:
        lines.append(
            (
                row["name"],
                str(row["count"]),
                "" if row["throughput"] is None else f"{row['throughput']:,.1f}",
                _ms(row["p50_ms"]),
                _ms(row["p95_ms"]),
                _ms(row["p99_ms"]),
                str(row["errors"]),
                "" if row.get("queries") is None else str(row["queries"]),
                "" if row.get("ratio") is None else f"{row['ratio']:.2f}",
                row.get("ratio_to", ""),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for number, line in enumerate(lines):
        cells = [cell.ljust(widths[i]) if i in (0, 9) else cell.rjust(widths[i]) for i, cell in enumerate(line)]
        out.append("  ".join(cells).rstrip())
        if number == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)


def targets(bench: Bench, profile: Profile) -> list[dict]:
    rows = bench.rows
    found = []

    def one(section, startswith):
        return next((row for row in rows if row["section"] == section and row["name"].startswith(startswith)), None)

    api = one("booking", "POST /api/reservations")
    html = one("booking", "HTML: POST hold")
    for row in (api, html):
        if row:
            found.append(
                {
                    "target": f"uncontended booking >= 0.5 x INSERT ceiling: {row['name']}",
                    "achieved": row["ratio"],
                    "met": row["ratio"] is not None and row["ratio"] >= 0.5,
                }
            )
    biggest = [row for row in rows if row["section"] == "availability" and row.get("spaces") == 1000]
    if biggest:
        top = max(biggest, key=lambda row: row["reservations"])
        low = min(biggest, key=lambda row: row["reservations"])
        found.append(
            {
                "target": f"availability, 1,000 spaces, {top['reservations']:,} reservations: p95 <= 3 x trivial p95",
                "achieved": top["ratio"],
                "met": top["ratio"] is not None and top["ratio"] <= 3,
            }
        )
        growth = ratio(top["p95_ms"], low["p95_ms"])
        found.append(
            {
                "target": f"availability, 1,000 spaces: p95 grows < 1.5 x from {low['reservations']:,} "
                f"to {top['reservations']:,} reservations",
                "achieved": growth,
                "met": growth is not None and growth < 1.5,
            }
        )
        counts = {row["queries"] for row in rows if row["section"] == "availability"}
        found.append(
            {
                "target": "availability: queries per request constant",
                "achieved": sorted(counts),
                "met": len(counts) == 1,
            }
        )
    found.append(
        {
            "target": "no double booking in any run",
            "achieved": [check["detail"] for check in bench.checks if check["name"].startswith("no double")],
            "met": all(check["passed"] for check in bench.checks if check["name"].startswith("no double")),
        }
    )
    return found


def load_generator(bench: Bench) -> dict:
    """The load generator's CPU against the server's, in the throughput phases (c = 2 x workers:
    the ceilings, the bookings) and the soak: is the client the bottleneck?"""
    phases = [
        {"name": row["name"], "throughput": row["throughput"], **row["cpu"]}
        for row in bench.rows
        if row.get("cpu")
        and row.get("concurrency") == bench.concurrency
        and not row["name"].startswith(" ")
        and (row["section"] in ("ceiling", "booking") or row["name"] == "soak: all requests")
    ]
    found = {"phases": phases}
    timed = [phase for phase in phases if phase["wall_s"] and not phase["name"].startswith("soak")]
    for key in ("client_pct", "gunicorn_pct", "postgres_pct", "machine_pct"):
        values = [(phase[key], phase["wall_s"]) for phase in timed if phase.get(key) is not None]
        if values:
            found[f"{key}_mean"] = round(sum(v * w for v, w in values) / sum(w for _, w in values), 1)
            found[f"{key}_max"] = max(v for v, _ in values)
    return found


def _pct(value) -> str:
    return "?" if value is None else f"{value:,.0f} %"


def print_load_generator(found: dict):
    print("\nThe load generator's CPU (per cent of one core; the machine has", os.cpu_count(), "cores)")
    for phase in found["phases"]:
        print(
            f"  {phase['name']:<52} client {_pct(phase.get('client_pct')):>6}  gunicorn "
            f"{_pct(phase.get('gunicorn_pct')):>6}  PostgreSQL {_pct(phase.get('postgres_pct')):>6}  "
            f"machine {_pct(phase.get('machine_pct')):>6}"
        )
    if "client_pct_mean" in found:
        print(
            f"  client CPU: {_pct(found['client_pct_mean'])} of one core (at most {_pct(found['client_pct_max'])}) "
            f"while gunicorn used {_pct(found.get('gunicorn_pct_mean'))} and PostgreSQL "
            f"{_pct(found.get('postgres_pct_mean'))} (throughput phases, weighted by time)"
        )


def environment(workers: int, concurrency: int) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server_version = cursor.fetchone()[0]
    commit = subprocess.run(  # noqa: S603
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 (read-only)
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": server_version,
        "gunicorn_workers": workers,
        "concurrency": concurrency,
        "git_commit": commit,
        "database": "DATABASE_URL" if os.environ.get("BENCH_DATABASE_FROM_ENV") else "embedded PostgreSQL",
    }


# ---------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="up to 100 thousand reservations: about two minutes, plus a 5-minute soak"
    )
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 3)), help="gunicorn workers (3)"
    )
    parser.add_argument("--concurrency", type=int, help="virtual users of the throughput phases (2 x workers)")
    parser.add_argument("--users", type=int, default=1000, help="guests who book (1000)")
    parser.add_argument(
        "--no-rate-limits", action="store_true", help="what-if: switch off core/ratelimit.py's counters"
    )
    parser.add_argument(
        "--soak-minutes",
        type=int,
        help="length of the soak of mixed load after the other phases (20; 5 with --quick; 0: no soak)",
    )
    parser.add_argument(
        "--soak-only", action="store_true", help="only the soak (on the profile's largest data), no other phase"
    )
    parser.add_argument(
        "--database",
        default=DATABASE_NAME,
        help=f"the database dropped and created for the run ({DATABASE_NAME}); another name leaves that one alone",
    )
    args = parser.parse_args(argv)
    profile = PROFILES["quick" if args.quick else "full"]
    concurrency = args.concurrency or 2 * args.workers
    soak_minutes = profile.soak_minutes if args.soak_minutes is None else args.soak_minutes
    if args.users < profile.contenders:
        parser.error(f"--users must be at least {profile.contenders} (the contention phase)")
    if soak_minutes < 0 or (args.soak_only and soak_minutes < 1):
        parser.error("--soak-minutes must be at least 1 with --soak-only, and not negative")
    if not args.database.startswith(DATABASE_NAME):
        parser.error(f"--database must start with {DATABASE_NAME} (it is dropped at every run)")
    began = time.monotonic()

    sys.path.insert(0, str(BASE_DIR))
    from config.dev import database

    if os.environ.get("DATABASE_URL"):
        os.environ["BENCH_DATABASE_FROM_ENV"] = "1"
    with tempfile.TemporaryDirectory(prefix="holdfast-bench-") as folder_name, database() as url:
        folder = Path(folder_name)
        database_url = fresh_database(url, args.database)
        log(f"database {args.database} created afresh; profile {profile.name}, {args.workers} gunicorn workers")
        env = server_environment(database_url, folder, args.workers, rate_limits=not args.no_rate_limits)
        os.environ.update(env)
        import django
        from django.core.management import call_command

        django.setup()
        from django.db import connection

        from bench import data

        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)  # the manifest the templates need
        fixtures = data.create_fixtures(users=args.users)
        log(f"set up in {time.monotonic() - began:.0f} s: {fixtures.fixed_reservations:,} fixed reservations")
        connection.close()

        with gunicorn(env, folder, args.workers) as server:
            bench = Bench(profile, server, args.workers, concurrency)
            bench.database = args.database
            bench.drive("get", concurrency=args.workers, paths=["/_bench/trivial"], warmup=0.5, duration=1.0)
            if args.soak_only:
                run_soak_only(bench, fixtures, profile, soak_minutes)
            else:
                run_phases(bench, fixtures, profile, soak_minutes)
            connection.close()
        check_double_booking(bench, "end of run")

        met = targets(bench, profile)
        load = load_generator(bench)
        report = {
            "profile": profile.name,
            "started_at": datetime.now(UTC).isoformat(),
            "seconds": round(time.monotonic() - began, 1),
            "environment": {
                **environment(args.workers, concurrency),
                "rate_limits": not args.no_rate_limits,
                "database_name": args.database,
            },
            "profile_settings": {**asdict(profile), "soak_minutes": soak_minutes, "soak_only": args.soak_only},
            "rows": bench.rows,
            "checks": bench.checks,
            "targets": met,
            "load_generator": load,
            **bench.extra,
        }
        connection.close()

    print()
    print(table(bench.rows))
    if "soak" in report:
        from bench import soak

        print("\nThe soak, minute by minute (p95 in ms)")
        print(soak.table(bench.rows))
    print_load_generator(load)
    print()
    for check in bench.checks:
        print(f"{'PASS' if check['passed'] else 'FAIL'}  {check['name']}: {check['detail']}")
    for target in met:
        achieved = target["achieved"]
        shown = f"{achieved:.2f}" if isinstance(achieved, float) else str(achieved)
        print(f"{'MET ' if target['met'] else 'MISS'}  {target['target']}: {shown}")
    if "plans" in report:
        print("\nPlans (EXPLAIN ANALYZE): ms, rows read, indexes used, sequential scans")
        for size, found in report["plans"].items():
            for name, plan in found.items():
                used = ", ".join(plan["indexes"] + [f"Seq Scan on {table}" for table in plan["sequential_scans"]])
                figures = f"{plan['execution_ms']:>8} ms {plan['rows_read']:>9,.0f} rows"
                print(f"  {int(size):>9,}  {name:<20} {figures}  {used}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    suffix = ("-no-rate-limits" if args.no_rate_limits else "") + ("-soak-only" if args.soak_only else "")
    path = RESULTS_DIR / f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{profile.name}{suffix}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print(f"\nFigures written to {path.relative_to(BASE_DIR)} ({report['seconds']:.0f} s in all).")
    return 0 if all(check["passed"] for check in bench.checks) else 1


def run_phases(bench: Bench, fixtures, profile: Profile, soak_minutes: int):
    from django.db import connection

    from bench import data

    measure_ceilings(bench, "start")
    for size in profile.sizes:
        started = time.monotonic()
        added = data.load_until(fixtures, size)
        data.analyze()
        log(f"{data.reservation_count():,} reservations (+{added:,} in {time.monotonic() - started:.0f} s)")
        ceiling = measure_ceilings(bench, f"{size:,} reservations", latency_only=True)["trivial_latency"]
        measure_availability(bench, fixtures, size, ceiling)
        connection.close()
    ceilings = measure_ceilings(bench, "before booking")
    measure_booking(bench, fixtures, ceilings)
    measure_contention(bench, fixtures)
    check_double_booking(bench, "after booking and contention")
    measure_history(bench, fixtures, ceilings["trivial_latency"])
    connection.close()
    if soak_minutes:
        from bench import soak

        soak.measure_soak(bench, fixtures, soak_minutes)
        connection.close()


def run_soak_only(bench: Bench, fixtures, profile: Profile, soak_minutes: int):
    """The soak alone, on the data the other phases end with (the profile's largest size)."""
    from django.db import connection

    from bench import data, soak

    started = time.monotonic()
    added = data.load_until(fixtures, profile.sizes[-1])
    data.analyze()
    log(f"{data.reservation_count():,} reservations (+{added:,} in {time.monotonic() - started:.0f} s)")
    connection.close()
    soak.measure_soak(bench, fixtures, soak_minutes)
    connection.close()
