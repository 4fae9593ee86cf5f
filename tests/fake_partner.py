"""A partner's webhook endpoint on 127.0.0.1, as a partner would write one from docs/webhooks.md.

Every POST is checked the way the docs tell partners to check it (`verify_signature` below is the
docs' snippet, not Holdfast's own code), recorded in `received`, and answered with what the test
scripted: `answer(500, 500)` makes the next two answers 500, then 200 again; `hang()` keeps the next
requests waiting (a partner that never answers) until the test ends; `big_answer(n)` answers 200 with
n bytes. Each record says whether its signature held.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify_signature(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """docs/webhooks.md's Python snippet, as a partner copies it."""
    items = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [value for key, value in items if key == "t"]
    signatures = [value for key, value in items if key == "v1"]
    if len(timestamps) != 1 or not timestamps[0].isdigit() or not signatures:
        return False
    if abs(time.time() - int(timestamps[0])) > tolerance:
        return False
    signed = timestamps[0].encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool

    @property
    def event(self) -> dict:
        return json.loads(self.body)


class FakePartner:
    def __init__(self):
        self.secret = ""
        self.received: list[Received] = []
        self._answers: deque[int] = deque()
        self._big = 0
        self._hang = threading.Event()  # set: requests wait until released
        self._release = threading.Event()
        self._lock = threading.Lock()
        partner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {key.lower(): value for key, value in self.headers.items()}
                verified = verify_signature(partner.secret, headers.get("holdfast-signature", ""), body)
                with partner._lock:
                    partner.received.append(Received(self.path, headers, body, verified))
                    status = partner._answers.popleft() if partner._answers else 200
                    big = partner._big
                if partner._hang.is_set():
                    partner._release.wait(timeout=60)
                    return
                answer = b"x" * big if big else json.dumps({"received": True}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                # The sender may stop reading: what it is meant to do with a big answer.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(answer)

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/holdfast"

    def start(self) -> FakePartner:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()

    def answer(self, *statuses: int) -> None:
        with self._lock:
            self._answers.extend(statuses)

    def hang(self) -> None:
        self._hang.set()

    def big_answer(self, size: int) -> None:
        self._big = size

    def events(self) -> list[dict]:
        return [record.event for record in self.received]

    def types(self) -> list[str]:
        return [event["type"] for event in self.events()]
