"""The load generator: a process of its own, apart from the server and from the orchestrator.

    python -m bench.load < spec.json > result.json

The spec names a scenario and everything it needs (port, cookies, slots); nothing here imports
Django or touches the database. Closed loop: `concurrency` virtual users each send a request (or a
short sequence, such as hold then confirm), wait for the answer and send the next, for `warmup`
seconds unrecorded and then `duration` seconds recorded. Latency is measured from before the
connection is opened (gunicorn's sync workers close every connection) to the last byte.

The load generator also measures itself: over the recorded seconds, its own CPU time
(`time.process_time()`) against the wall clock, and the CPU of the processes the spec names in
`watch` (gunicorn's master and workers, PostgreSQL's backends of the run's database), read from
/proc/<pid>/stat, and the machine's (/proc/stat): all in per cent of one core.

The soak (`"scenario": "soak"`, bench/soak.py drives it) is a mixed closed loop of many minutes that
writes one JSON line per minute as it goes, then the totals.
"""

import asyncio
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from urllib.parse import urlencode

from bench.client import Connection

HOST = "127.0.0.1"
ERROR_SAMPLES = 3


class Recorder:
    def __init__(self):
        self.samples = defaultdict(list)  # label -> [(seconds, status, ok)]
        self.error_bodies = defaultdict(list)

    def add(self, label: str, seconds: float, status: int, ok: bool, body: bytes = b""):
        self.samples[label].append((seconds, status, ok))
        if not ok and len(self.error_bodies[label]) < ERROR_SAMPLES:
            self.error_bodies[label].append(f"{status}: {body[:300].decode('utf-8', 'replace')}")

    def summary(self, elapsed: float) -> dict:
        return {label: summarise(samples, elapsed, self.error_bodies[label]) for label, samples in self.samples.items()}


# ---------------------------------------------------------------------------------------------
# CPU: this process, the watched processes, the machine (Linux /proc; elsewhere the figures are None)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (fields 14 and 15 of /proc/<pid>/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine_ticks() -> tuple[int, int] | None:
    """(busy, total) clock ticks of all CPUs so far, from /proc/stat (idle and iowait are not busy)."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    ticks = [int(value) for value in first[1:9]]  # user nice system idle iowait irq softirq steal
    return sum(ticks) - ticks[3] - ticks[4], sum(ticks)


def watched_pids(rule: dict) -> list[int]:
    """The processes a rule of the spec's `watch` names, found afresh at every snapshot (a backend or
    a worker started meanwhile counts too): {"parent": pid} that process and its children,
    {"cmdline": text, "starts": prefix} the processes whose command line starts with the prefix and
    holds the text (PostgreSQL backends show "postgres: ... <user> <database> <client> <state>")."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            if "parent" in rule:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if rule["parent"] in (pid, parent):
                    found.append(pid)
            else:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if command.startswith(rule.get("starts", "")) and rule["cmdline"] in command:
                    found.append(pid)
        except (OSError, IndexError, ValueError):
            continue
    return found


class CpuWatch:
    """Snapshots of CPU time; `share(a, b)`: per cent of one core between two snapshots. A process
    that appeared between them counts whole (it started in the window); one that ended is lost."""

    def __init__(self, watch: dict[str, dict] | None):
        self.watch = watch or {}

    def snapshot(self) -> dict:
        return {
            "wall": time.perf_counter(),
            "self": time.process_time(),
            "groups": {
                name: {pid: process_cpu_seconds(pid) for pid in watched_pids(rule)} for name, rule in self.watch.items()
            },
            "machine": machine_ticks(),
        }

    @staticmethod
    def share(before: dict, after: dict) -> dict:
        wall = after["wall"] - before["wall"]
        if wall <= 0:
            return {}
        found = {"wall_s": round(wall, 3), "client_pct": round(100 * (after["self"] - before["self"]) / wall, 1)}
        for name, pids in after["groups"].items():
            spent = [
                seconds - (before["groups"][name].get(pid) or 0.0)
                for pid, seconds in pids.items()
                if seconds is not None
            ]
            found[f"{name}_pct"] = round(100 * sum(spent) / wall, 1) if spent else None
            found[f"{name}_processes"] = len(spent)
        if before["machine"] and after["machine"]:
            busy = after["machine"][0] - before["machine"][0]
            total = after["machine"][1] - before["machine"][1]
            found["machine_pct"] = round(100 * (os.cpu_count() or 1) * busy / total, 1) if total else None
            found["machine_cores"] = os.cpu_count()
        return found


# ---------------------------------------------------------------------------------------------


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of the values at or below it."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * fraction // 1))
    return sorted_values[int(rank) - 1]


def summarise(samples, elapsed: float, error_bodies=()) -> dict:
    latencies = sorted(seconds * 1000 for seconds, _, _ in samples)
    statuses = Counter(str(status) for _, status, _ in samples)
    errors = sum(1 for _, _, ok in samples if not ok)
    return {
        "count": len(samples),
        "errors": errors,
        "statuses": dict(statuses),
        "throughput": len(samples) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "max_ms": latencies[-1] if latencies else float("nan"),
        "mean_ms": sum(latencies) / len(latencies) if latencies else float("nan"),
        "error_samples": list(error_bodies),
    }


async def closed_loop(task, spec: dict) -> dict:
    concurrency, warmup, duration = spec["concurrency"], spec["warmup"], spec["duration"]
    limit = spec.get("max_tasks")  # a bound on the tasks, e.g. the slots there are to book
    warm, measured = Recorder(), Recorder()
    begin = time.perf_counter()
    measure_from = begin + warmup
    until = measure_from + duration
    counter = iter(range(limit if limit is not None else 10**9))
    finished = [measure_from]
    connects = []
    watch = CpuWatch(spec.get("watch"))
    marks = []

    async def mark_start():
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        marks.append(watch.snapshot())

    async def virtual_user():
        connection = Connection(HOST, spec["port"])
        try:
            for index in counter:
                started = time.perf_counter()
                if started >= until:
                    break
                recorder = measured if started >= measure_from else warm
                await task(connection, recorder, index)
                if recorder is measured:
                    finished[0] = max(finished[0], time.perf_counter())
        finally:
            connects.append(connection.connects)
            await connection.close()

    await asyncio.gather(mark_start(), *(virtual_user() for _ in range(concurrency)))
    cpu = CpuWatch.share(marks[0], watch.snapshot()) if marks else {}
    elapsed = finished[0] - measure_from
    return {
        "elapsed_s": elapsed,
        "connections_opened": sum(connects),
        "labels": measured.summary(elapsed),
        "cpu": cpu,
    }


def _cookie(user: dict) -> str:
    return f"sessionid={user['session']}; csrftoken={user['csrf']}"


async def _timed(recorder, label, connection, method, path, *, expect, headers=None, body=b""):
    started = time.perf_counter()
    try:
        response = await connection.request(method, path, headers=headers, body=body)
    except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
        recorder.add(label, time.perf_counter() - started, 0, False, repr(error).encode())
        return None
    seconds = time.perf_counter() - started
    recorder.add(label, seconds, response.status, response.status in expect, response.body)
    return response


def _slot(spec: dict, index: int) -> tuple[int, str]:
    """The index-th distinct (space, start) of the scenario: every booking asks for a free slot."""
    spaces, hours, days = spec["space_ids"], spec["hours"], spec["days"]
    per_day = len(spaces) * len(hours)
    day_index = index // per_day
    if day_index >= len(days):
        raise RuntimeError("The scenario ran out of distinct slots; give it more days.")
    space = spaces[index % len(spaces)]
    hour = hours[(index // len(spaces)) % len(hours)]
    starts_at = datetime.combine(date.fromisoformat(days[day_index]), dtime(hour), tzinfo=UTC)
    return space, starts_at.isoformat()


def get_task(spec):
    paths, user, expect = spec["paths"], spec.get("user"), set(spec.get("expect", [200]))
    headers = {"Cookie": _cookie(user)} if user else {}

    async def task(connection, recorder, index):
        await _timed(recorder, "request", connection, "GET", paths[index % len(paths)], expect=expect, headers=headers)

    return task


def post_task(spec):
    async def task(connection, recorder, index):
        await _timed(recorder, "request", connection, "POST", spec["path"], expect={200})

    return task


def api_book_task(spec):
    users = spec["users"]

    async def task(connection, recorder, index):
        user = users[index % len(users)]
        space, starts_at = _slot(spec, index)
        body = json.dumps({"space": space, "starts_at": starts_at, "party_size": spec["party_size"]}).encode()
        headers = {"Cookie": _cookie(user), "X-CSRFToken": user["csrf"], "Content-Type": "application/json"}
        await _timed(
            recorder, "request", connection, "POST", "/api/reservations", expect={201}, headers=headers, body=body
        )

    return task


def html_book_task(spec):
    users, venue = spec["users"], spec["venue"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    async def task(connection, recorder, index):
        user = users[index % len(users)]
        space, starts_at = _slot(spec, index)
        headers = {**form, "Cookie": _cookie(user)}
        started = time.perf_counter()
        choice = {
            "csrfmiddlewaretoken": user["csrf"],
            "starts_at": starts_at,
            "party_size": spec["party_size"],
            "space": space,
        }
        hold = await _timed(
            recorder, "hold", connection, "POST", f"/venues/{venue}/hold/", expect={302}, headers=headers,
            body=urlencode(choice).encode(),
        )  # fmt: skip
        review = hold.header("location") if hold is not None and hold.status == 302 else ""
        if not review.endswith("/review/"):
            recorder.add("booking", time.perf_counter() - started, hold.status if hold else 0, False, review.encode())
            return
        confirm = await _timed(
            recorder, "confirm", connection, "POST", review.removesuffix("review/") + "confirm/", expect={302},
            headers=headers, body=urlencode({"csrfmiddlewaretoken": user["csrf"], "notes": ""}).encode(),
        )  # fmt: skip
        ok = confirm is not None and confirm.status == 302 and "/review/" not in confirm.header("location")
        recorder.add("booking", time.perf_counter() - started, confirm.status if confirm else 0, ok)

    return task


async def contention(spec: dict) -> dict:
    """Everyone at once: every request on its own connection, opened first, then all sent together."""
    users = spec["users"]
    body = json.dumps({"space": spec["space_id"], "starts_at": spec["starts_at"], "party_size": 2}).encode()
    connections = [Connection(HOST, spec["port"]) for _ in users]
    await asyncio.gather(*(connection._connect() for connection in connections))
    results = []

    async def one(connection, user):
        headers = {"Cookie": _cookie(user), "X-CSRFToken": user["csrf"], "Content-Type": "application/json"}
        started = time.perf_counter()
        try:
            response = await connection.request("POST", "/api/reservations", headers=headers, body=body)
            results.append((time.perf_counter() - started, response.status, response.body))
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as error:
            results.append((time.perf_counter() - started, 0, repr(error).encode()))
        finally:
            await connection.close()

    begin = time.perf_counter()
    await asyncio.gather(*(one(connection, user) for connection, user in zip(connections, users, strict=True)))
    elapsed = time.perf_counter() - begin
    details = Counter()
    for _, status, payload in results:
        if status != 201:
            try:
                details[f"{status}: {json.loads(payload)['detail']}"] += 1
            except (ValueError, KeyError, TypeError):
                details[f"{status}: {payload[:200].decode('utf-8', 'replace')}"] += 1
    losers = [(seconds, status, status == 409) for seconds, status, _ in results if status != 201]
    winners = [(seconds, status, True) for seconds, status, _ in results if status == 201]
    return {
        "elapsed_s": elapsed,
        "requests": len(results),
        "statuses": dict(Counter(str(status) for _, status, _ in results)),
        "answers": dict(details),
        "labels": {"losers": summarise(losers, elapsed), "winner": summarise(winners, elapsed)},
    }


# ---------------------------------------------------------------------------------------------
# The soak: a mixed closed loop, one JSON line per minute

SOAK_EXPECT = {"availability": {200}, "search": {200}, "booking": {201}, "modify": {200}, "cancel": {200}}


class _Minutes:
    """What the soak's requests add goes to the minute in which they finish, and to the totals."""

    def __init__(self):
        self.current, self.total = Recorder(), Recorder()

    def add(self, label, seconds, status, ok, body=b""):
        self.current.add(label, seconds, status, ok, body)
        self.total.add(label, seconds, status, ok, body)

    def turn(self) -> Recorder:
        done, self.current = self.current, Recorder()
        return done


def _with_all(recorder: Recorder, elapsed: float) -> dict:
    labels = recorder.summary(elapsed)
    everything = [sample for samples in recorder.samples.values() for sample in samples]
    errors = [body for bodies in recorder.error_bodies.values() for body in bodies][:ERROR_SAMPLES]
    labels["all"] = summarise(everything, elapsed, errors)
    return labels


async def soak(spec: dict, emit=None) -> dict:
    """`minutes` of mixed load by `concurrency` virtual users, each request's kind drawn by `mix`
    (weights): reads (`availability_paths`, `search_paths`, anonymous), bookings of distinct slots
    (`space_ids` x `hours` x `days`, POST /api/reservations by `users` in turn), and changes of the
    soak's own bookings: a move by `move_minutes` (to a start kept free for it) or another party size
    (PUT), or a cancellation (DELETE). A change drawn before there is a booking to change books instead.
    One line per minute (statistics by kind and "all", CPU, the bookings' state), then the totals."""
    emit = emit or (lambda line: print(json.dumps(line), flush=True))
    rng = random.Random(spec.get("seed", 22))
    kinds, weights = zip(*spec["mix"].items(), strict=True)
    users = spec["users"]
    reads = {"availability": spec["availability_paths"], "search": spec["search_paths"]}
    slots = len(spec["space_ids"]) * len(spec["hours"]) * len(spec["days"])
    move = timedelta(minutes=spec["move_minutes"])
    counter = iter(range(slots))
    pool: list[dict] = []  # the soak's bookings no virtual user is changing at the moment
    moved: set[str] = set()  # every booking moved, cancelled later or not
    state = Counter()
    minutes = _Minutes()
    watch = CpuWatch(spec.get("watch"))
    begin = time.perf_counter()
    until = begin + 60 * spec["minutes"]

    def json_headers(user):
        return {"Cookie": _cookie(user), "X-CSRFToken": user["csrf"], "Content-Type": "application/json"}

    async def book(connection):
        index = next(counter, None)
        if index is None:
            state["slots exhausted (read instead)"] += 1
            return await read(connection, "availability")
        user_index = index % len(users)
        space, starts_at = _slot(spec, index)
        body = json.dumps({"space": space, "starts_at": starts_at, "party_size": 2}).encode()
        response = await _timed(
            minutes, "booking", connection, "POST", "/api/reservations", expect=SOAK_EXPECT["booking"],
            headers=json_headers(users[user_index]), body=body,
        )  # fmt: skip
        if response is not None and response.status == 201:
            state["booked"] += 1
            reference = json.loads(response.body)["reference"]
            pool.append({"reference": reference, "user": user_index, "starts_at": starts_at, "party": 2})

    async def read(connection, kind):
        paths = reads[kind]
        await _timed(minutes, kind, connection, "GET", paths[rng.randrange(len(paths))], expect=SOAK_EXPECT[kind])

    async def change(connection, kind):
        if not pool:
            state[f"{kind} drawn before a booking (booked instead)"] += 1
            return await book(connection)
        position = rng.randrange(len(pool))
        pool[position], pool[-1] = pool[-1], pool[position]
        booking = pool.pop()  # this virtual user's alone until it is put back
        user = users[booking["user"]]
        path = f"/api/reservations/{booking['reference']}"
        if kind == "cancel":
            response = await _timed(
                minutes, "cancel", connection, "DELETE", path, expect=SOAK_EXPECT["cancel"], headers=json_headers(user)
            )
            if response is not None and response.status == 200:
                state["cancelled"] += 1
            return
        moves = not booking.get("moved") and rng.random() < 0.5
        if moves:  # once, to the start after it: kept free for this booking
            new_start = (datetime.fromisoformat(booking["starts_at"]) + move).isoformat()
            payload = {"starts_at": new_start}
        else:
            payload = {"party_size": 3 if booking["party"] == 2 else 2}
        response = await _timed(
            minutes, "modify", connection, "PUT", path, expect=SOAK_EXPECT["modify"], headers=json_headers(user),
            body=json.dumps(payload).encode(),
        )  # fmt: skip
        if response is not None and response.status == 200:
            if moves:
                booking.update(moved=True, starts_at=payload["starts_at"])
                moved.add(booking["reference"])
                state["moved"] += 1
            else:
                booking["party"] = payload["party_size"]
                state["party changed"] += 1
        pool.append(booking)

    async def virtual_user():
        connection = Connection(HOST, spec["port"])
        try:
            while time.perf_counter() < until:
                kind = rng.choices(kinds, weights)[0]
                if kind in reads:
                    await read(connection, kind)
                elif kind == "booking":
                    await book(connection)
                else:
                    await change(connection, kind)
        finally:
            await connection.close()

    async def ticker():
        mark = watch.snapshot()
        for minute in range(1, spec["minutes"] + 1):
            await asyncio.sleep(max(0.0, begin + 60 * minute - time.perf_counter()))
            now = watch.snapshot()
            done = minutes.turn()
            elapsed = now["wall"] - mark["wall"]
            emit(
                {
                    "minute": minute,
                    "elapsed_s": elapsed,
                    "labels": _with_all(done, elapsed),
                    "cpu": CpuWatch.share(mark, now),
                    "state": dict(state),
                    "active_bookings": len(pool),
                }
            )
            mark = now

    start = watch.snapshot()
    await asyncio.gather(ticker(), *(virtual_user() for _ in range(spec["concurrency"])))
    end = watch.snapshot()
    elapsed = end["wall"] - start["wall"]
    # Requests that finished after the last minute's line count in the totals only.
    return {
        "final": True,
        "elapsed_s": elapsed,
        "labels": _with_all(minutes.total, elapsed),
        "cpu": CpuWatch.share(start, end),
        "state": dict(state),
        "slots": slots,
        "references": {
            "kept": sorted(booking["reference"] for booking in pool),
            "moved": sorted(moved),
        },
    }


TASKS = {
    "get": get_task,
    "post": post_task,
    "api_book": api_book_task,
    "html_book": html_book_task,
}


async def run(spec: dict) -> dict:
    if spec["scenario"] == "contention":
        return await contention(spec)
    if spec["scenario"] == "soak":
        return await soak(spec)
    return await closed_loop(TASKS[spec["scenario"]](spec), spec)


def main() -> int:
    spec = json.load(sys.stdin)
    result = asyncio.run(run(spec))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
