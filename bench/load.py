"""The load generator: a process of its own, apart from the server and from the orchestrator.

    python -m bench.load < spec.json > result.json

The spec names a scenario and everything it needs (port, cookies, slots); nothing here imports
Django or touches the database. Closed loop: `concurrency` virtual users each send a request (or a
short sequence, such as hold then confirm), wait for the answer and send the next, for `warmup`
seconds unrecorded and then `duration` seconds recorded. Latency is measured from before the
connection is opened (gunicorn's sync workers close every connection) to the last byte.
"""

import asyncio
import json
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime
from datetime import time as dtime
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

    await asyncio.gather(*(virtual_user() for _ in range(concurrency)))
    elapsed = finished[0] - measure_from
    return {"elapsed_s": elapsed, "connections_opened": sum(connects), "labels": measured.summary(elapsed)}


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


TASKS = {
    "get": get_task,
    "post": post_task,
    "api_book": api_book_task,
    "html_book": html_book_task,
}


async def run(spec: dict) -> dict:
    if spec["scenario"] == "contention":
        return await contention(spec)
    return await closed_loop(TASKS[spec["scenario"]](spec), spec)


def main() -> int:
    spec = json.load(sys.stdin)
    result = asyncio.run(run(spec))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
