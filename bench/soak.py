"""The soak (issue 22): minutes of mixed load against the same server, watched minute by minute.

    python -m bench                  # after the other phases: 20 minutes (5 with --quick)
    python -m bench --soak-only --quick --soak-minutes 1

Closed loop, `Bench.concurrency` virtual users (bench/load.py's "soak" scenario), each request drawn
by MIX: the availability API of the bench's four venues and the home page's search across venues
(80 %), bookings of distinct free slots (15 %), and changes of the soak's own bookings (5 %): a
move by an hour (once per booking, to a start kept free for it) or another party size (PUT), or a
cancellation (DELETE). The slots are the bench-rooms' days and hours nothing else books (SOAK_DAYS x
SOAK_HOURS, each followed by a free hour), so a 409 is an error like a 5xx.

Every minute: requests, throughput, p95 by kind, errors, each gunicorn worker's RSS (VmRSS of
/proc/<pid>/status), the database's size (pg_database_size) and the CPU of the load, gunicorn and
PostgreSQL. Then the checks: no errors, memory flat (FLAT_RSS), the soak's bookings in the database
as its answers said, and no double booking.
"""

import json
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from bench.run import BASE_DIR, Bench, check_double_booking, log

MIX = {"availability": 70, "search": 10, "booking": 15, "modify": 3, "cancel": 2}  # per cent
KINDS = tuple(MIX)
# Days of bench-rooms that no other phase books: the booking phases use days 2-79 and 80, the
# contention day 85; the bulk books 11:00 and 18:00 UTC (90 minutes) up to day 90.
SOAK_DAYS = (*range(81, 85), *range(86, 120))  # rooms book up to 120 days ahead
SOAK_HOURS = (6, 8, 14, 16, 20)  # UTC starts of the soak's bookings; the hour after each is its move's
MOVE_MINUTES = 60
FLAT_RSS = 1.2  # memory flat: each worker's RSS at the end <= 1.2 x its RSS after the first minute
READ_DAYS = range(1, 15)  # availability and search ask for the next two weeks


def rss_kb(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def database_bytes() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return cursor.fetchone()[0]


def _mb(kb_or_none, unit=1024) -> str:
    return "?" if kb_or_none is None else f"{kb_or_none / unit:,.1f}"


def spec_for(bench: Bench, fixtures, minutes: int) -> dict:
    today = fixtures.today
    venues = [*fixtures.availability_venues.values(), fixtures.booking_venue]
    days = [(today + timedelta(days=offset)).isoformat() for offset in READ_DAYS]
    availability = [
        f"/api/availability/{day}?{urlencode({'venue': venue, 'party_size': 2})}" for venue in venues for day in days
    ]
    search = [
        f"/?{urlencode({'date': day, 'time': at, 'party_size': party})}"
        for day in days
        for at in ("12:30", "19:00", "20:00")
        for party in (2, 4)
    ]
    return {
        "scenario": "soak",
        "port": bench.port,
        "concurrency": bench.concurrency,
        "minutes": minutes,
        "mix": MIX,
        "availability_paths": availability,
        "search_paths": search,
        "users": fixtures.users,
        "space_ids": fixtures.booking_space_ids,
        "hours": list(SOAK_HOURS),
        "days": [day.isoformat() for day in _soak_days(fixtures)],
        "move_minutes": MOVE_MINUTES,
        "watch": bench.watch(),
    }


def _check_paths(bench: Bench, spec: dict):
    """One of each read before the load, so a broken URL stops the soak at once."""
    for path in (spec["availability_paths"][0], spec["availability_paths"][-1], spec["search_paths"][0]):
        answer = bench.ask(path)
        if answer["status"] != 200:
            raise SystemExit(f"soak: {path} answered {answer['status']}: {answer['body'][:300]!r}")


def measure_soak(bench: Bench, fixtures, minutes: int) -> dict:
    spec = spec_for(bench, fixtures, minutes)
    _check_paths(bench, spec)
    workers = bench.worker_pids()
    start = {"rss_kb": {pid: rss_kb(pid) for pid in workers}, "database_bytes": database_bytes()}
    log(
        f"soak: {minutes} minute(s), {bench.concurrency} virtual users, mix {MIX}; "
        f"worker RSS MB {' / '.join(_mb(kb) for kb in start['rss_kb'].values())}, "
        f"database {start['database_bytes'] / 2**20:,.1f} MB"
    )
    rows, final = [], None
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(  # noqa: S603 (our own module)
            [sys.executable, "-m", "bench.load"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            cwd=BASE_DIR,
        )
        process.stdin.write(json.dumps(spec))
        process.stdin.close()
        for line in process.stdout:
            found = json.loads(line)
            if found.get("final"):
                final = found
                continue
            rows.append(_minute_row(bench, found))
        process.wait()
        if process.returncode or final is None:
            errors.seek(0)
            raise SystemExit(f"The load generator failed (soak):\n{errors.read()[-3000:]}")
    end = {"rss_kb": {pid: rss_kb(pid) for pid in workers}, "database_bytes": database_bytes()}
    after_first = rows[0]["rss_kb"] if rows else start["rss_kb"]

    for kind in ("all", *KINDS):
        name = "soak: all requests" if kind == "all" else f"soak: {kind}"
        bench.record("soak", name, final, label=kind, concurrency=bench.concurrency, cpu=final["cpu"])
    summary = {
        "minutes": minutes,
        "mix": MIX,
        "concurrency": bench.concurrency,
        "state": final["state"],
        "slots": final["slots"],
        "start": start,
        "after_first_minute": after_first,
        "end": end,
        "cpu": final["cpu"],
    }
    bench.extra["soak"] = summary
    _checks(bench, fixtures, final, start, after_first, end, workers, minutes)
    return summary


def _minute_row(bench: Bench, found: dict) -> dict:
    labels = found["labels"]
    everything = labels["all"]
    workers = bench.worker_pids()
    row = {
        "section": "soak",
        "name": f"soak minute {found['minute']}",
        "count": everything["count"],
        "throughput": everything["throughput"],
        "p50_ms": everything["p50_ms"],
        "p95_ms": everything["p95_ms"],
        "p99_ms": everything["p99_ms"],
        "max_ms": everything["max_ms"],
        "errors": everything["errors"],
        "statuses": everything["statuses"],
        "concurrency": bench.concurrency,
        "kinds": {
            kind: {key: labels[kind][key] for key in ("count", "throughput", "p50_ms", "p95_ms", "errors", "statuses")}
            for kind in KINDS
            if kind in labels
        },
        "rss_kb": {pid: rss_kb(pid) for pid in workers},
        "database_bytes": database_bytes(),
        "cpu": found["cpu"],
        "active_bookings": found["active_bookings"],
        "state": found["state"],
    }
    bench.rows.append(row)
    p95 = ", ".join(f"{kind} {row['kinds'][kind]['p95_ms']:,.0f}" for kind in KINDS if kind in row["kinds"])
    cpu = found["cpu"]
    log(
        f"soak minute {found['minute']}: {row['count']:,} requests, {row['throughput']:,.1f}/s, "
        f"{row['errors']} errors; p95 ms {p95}; worker RSS MB "
        f"{' / '.join(_mb(kb) for kb in row['rss_kb'].values())}; database {row['database_bytes'] / 2**20:,.1f} MB; "
        f"CPU % client {cpu.get('client_pct')}, gunicorn {cpu.get('gunicorn_pct')}, "
        f"PostgreSQL {cpu.get('postgres_pct')}, machine {cpu.get('machine_pct')}"
    )
    if row["errors"]:
        log(f"soak minute {found['minute']}: unexpected answers, e.g. {everything['error_samples'][:2]}")
    return row


def _checks(bench: Bench, fixtures, final, start, after_first, end, workers, minutes):
    labels = final["labels"]
    unexpected = {kind: labels[kind]["statuses"] for kind in KINDS if labels.get(kind, {}).get("errors")}
    bench.check(
        "soak: no errors (5xx, failed, or any unexpected status, 409 included)",
        labels["all"]["errors"] == 0,
        f"{labels['all']['count']:,} requests, {labels['all']['errors']} unexpected"
        + (f": {unexpected}, e.g. {labels['all']['error_samples'][:2]}" if unexpected else "")
        + f"; statuses by kind: { {kind: labels[kind]['statuses'] for kind in KINDS if kind in labels} }",
    )

    restarted = [pid for pid in workers if end["rss_kb"].get(pid) is None] or bench.worker_pids() != workers
    growth = {
        pid: end["rss_kb"][pid] / after_first[pid] for pid in workers if end["rss_kb"].get(pid) and after_first.get(pid)
    }
    shown = "; ".join(
        f"worker {pid}: {_mb(start['rss_kb'].get(pid))} MB at the start, {_mb(after_first.get(pid))} after "
        f"minute 1, {_mb(end['rss_kb'].get(pid))} at the end ({growth.get(pid, 0):.2f} x)"
        for pid in workers
    )
    if minutes >= 2:
        bench.check(
            f"soak: memory flat (each worker's RSS at the end <= {FLAT_RSS} x after the first minute, no restart)",
            not restarted and len(growth) == len(workers) and all(value <= FLAT_RSS for value in growth.values()),
            shown + ("; a worker restarted or went away" if restarted else ""),
        )
    else:
        log(f"soak: memory flat not judged (a 1-minute soak has no minute after the warm-up): {shown}")
    grown = end["database_bytes"] - start["database_bytes"]
    booked = final["state"].get("booked", 0)
    log(
        f"soak: database {start['database_bytes'] / 2**20:,.1f} MB -> {end['database_bytes'] / 2**20:,.1f} MB "
        f"(+{grown / 2**20:,.1f} MB; {grown / booked / 1024 if booked else 0:,.1f} KB per booking)"
    )

    from reservations.models import Reservation

    # The soak's rows: its days and hours (booked, and moved to); the bulk's 11:00 and 18:00 are not among them.
    moved_to = [hour + MOVE_MINUTES // 60 for hour in SOAK_HOURS]
    mine = Reservation.objects.filter(
        space__venue__slug=fixtures.booking_venue,
        starts_at__date__in=_soak_days(fixtures),
        starts_at__hour__in=sorted({*SOAK_HOURS, *moved_to}),
    )
    active = set(mine.filter(status__in=Reservation.ACTIVE_STATUSES).values_list("reference", flat=True))
    cancelled = mine.filter(status=Reservation.Status.CANCELLED).count()
    total = mine.count()
    kept = set(final["references"]["kept"])
    moved = set(final["references"]["moved"])
    moved_right = mine.filter(reference__in=moved, starts_at__hour__in=moved_to).count()
    state = final["state"]
    other = {key: value for key, value in state.items() if key not in ("booked", "cancelled", "moved", "party changed")}
    bench.check(
        "soak: the database holds the bookings as the answers said",
        active == kept
        and total == booked
        and cancelled == state.get("cancelled", 0)
        and moved_right == len(moved) == state.get("moved", 0),  # cancelled after the move or not
        f"booked {booked:,} (rows {total:,}), cancelled {state.get('cancelled', 0):,} (rows {cancelled:,}), "
        f"active {len(kept):,} (rows {len(active):,}, {len(active ^ kept)} differ), moved by an hour "
        f"{state.get('moved', 0):,} (rows at the new hour {moved_right:,}), party size changed "
        f"{state.get('party changed', 0):,}; other: {other}",
    )
    check_double_booking(bench, "after the soak")


def _soak_days(fixtures) -> list:
    return [fixtures.today + timedelta(days=offset) for offset in SOAK_DAYS]


def table(rows: list[dict]) -> str:
    """The soak's minutes: requests, throughput, p95 by kind, errors, worker RSS, database size."""
    minutes = [row for row in rows if row["name"].startswith("soak minute ")]
    if not minutes:
        return ""
    header = ("minute", "requests", "req/s", *(f"p95 {kind}" for kind in KINDS), "err", "worker RSS MB", "db MB")
    lines = [header]
    for row in minutes:
        lines.append(
            (
                row["name"].removeprefix("soak minute "),
                f"{row['count']:,}",
                f"{row['throughput']:,.1f}",
                *(_ms(row["kinds"].get(kind, {}).get("p95_ms")) for kind in KINDS),
                str(row["errors"]),
                " / ".join(_mb(kb) for kb in row["rss_kb"].values()),
                f"{row['database_bytes'] / 2**20:,.1f}",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = []
    for number, line in enumerate(lines):
        out.append("  ".join(cell.rjust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if number == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)


def _ms(value) -> str:
    return "" if value is None or value != value else f"{value:,.0f}"
