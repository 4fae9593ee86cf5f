"""A booking channel for the tests: a real HTTP server on 127.0.0.1 serving calendar files that a
test sets and changes, answering conditional GETs with 304 as the channels do."""

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

AIRBNB_HEAD = (
    "BEGIN:VCALENDAR\r\n"
    "PRODID;X-RICAL-TZSOURCE=TZINFO:-//Airbnb Inc//Hosting Calendar 0.8.8//EN\r\n"
    "CALSCALE:GREGORIAN\r\n"
    "VERSION:2.0\r\n"
)


def airbnb(*events: tuple[str, str, str, str]) -> bytes:
    """An Airbnb-shaped export: (uid, first night, departure, summary) as YYYYMMDD, all-day events
    with DTEND before DTSTART, as Airbnb writes them."""
    body = AIRBNB_HEAD
    for uid, first, departure, summary in events:
        body += (
            "BEGIN:VEVENT\r\n"
            f"DTEND;VALUE=DATE:{departure}\r\n"
            f"DTSTART;VALUE=DATE:{first}\r\n"
            f"UID:{uid}@airbnb.com\r\n"
            + (
                "DESCRIPTION:Reservation URL: https://www.airbnb.com/hosting/reservations/details/HM4Q\r\n"
                " K2X9PZ\\nPhone Number (Last 4 Digits): 1234\r\n"
                if summary == "Reserved"
                else ""
            )
            + f"SUMMARY:{summary}\r\n"
            "END:VEVENT\r\n"
        )
    return (body + "END:VCALENDAR\r\n").encode()


class ChannelServer:
    def __init__(self):
        self.files: dict[str, tuple[bytes, str]] = {}  # path -> (body, content type)
        self.requests: list[tuple[str, dict]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                if self.path not in server.files:
                    self.send_error(404)
                    return
                body, content_type = server.files[self.path]
                etag = '"' + hashlib.sha256(body).hexdigest()[:40] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def serve(self, path: str, body: bytes, content_type: str = "text/calendar; charset=utf-8") -> str:
        self.files[path] = (body, content_type)
        return self.url(path)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
