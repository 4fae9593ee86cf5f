"""core/fetch.py against a real HTTP server on loopback: what it fetches, and every way it refuses to."""

import gzip
import http.server
import socket
import threading

import pytest

from core.fetch import Fetched, FetchError, fetch

CALENDAR = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 01 Oct 2025 10:00:00 GMT"
BOMB = gzip.compress(b"\0" * (20 * 1024 * 1024))  # about 20 KB that decompress to 20 MB


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass  # keep pytest's output quiet

    def answer(self, status, body=b"", **headers):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        if "Content_Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forever(self, chunk, pause):
        """Write chunks without a Content-Length until the client hangs up (or the test ends)."""
        self.send_response(200)
        self.end_headers()
        try:
            while not self.server.release.wait(pause):
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self.server.seen.append(self.headers)
        if self.path == "/ok.ics":
            self.answer(200, CALENDAR, Content_Type="text/calendar", ETag=ETAG, Last_Modified=LAST_MODIFIED)
        elif self.path == "/etag":
            if self.headers.get("If-None-Match") == ETAG or self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                self.answer(304, ETag=ETAG)
            else:
                self.answer(200, CALENDAR, ETag=ETAG, Last_Modified=LAST_MODIFIED)
        elif self.path == "/redirect-ftp":
            self.answer(302, Location="ftp://example.com/calendar.ics")
        elif self.path == "/redirect-file":
            self.answer(302, Location="file:///etc/passwd")
        elif self.path == "/redirect-loop":
            self.answer(302, Location="/redirect-loop")
        elif self.path == "/redirect-ok":
            self.answer(302, Location="/ok.ics")
        elif self.path == "/redirect-nowhere":
            self.answer(302)
        elif self.path == "/redirect-unresolvable":
            self.answer(301, Location="http://nonexistent.invalid/calendar.ics")
        elif self.path == "/big":
            self.answer(200, b"BEGIN", Content_Length=str(10**12))  # claims a terabyte, sends five bytes
        elif self.path == "/endless":
            self.forever(b"X" * 65536, pause=0)
        elif self.path == "/trickle":
            self.forever(b"X", pause=0.01)  # always a byte soon enough for the read timeout
        elif self.path == "/gzip":
            self.answer(200, gzip.compress(CALENDAR), Content_Encoding="gzip")
        elif self.path == "/gzip-bomb":
            self.answer(200, BOMB, Content_Encoding="gzip")
        elif self.path == "/hang":
            self.server.release.wait()  # answers nothing until the test is over
        else:
            self.answer(404, b"Not found")


@pytest.fixture
def server():
    """The base address of a server on 127.0.0.1; its requests' headers are in server.seen."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.seen, httpd.release = [], threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_port}"
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def refusal(url, **options):
    with pytest.raises(FetchError) as error:
        fetch(url, **options)
    return str(error.value)


def test_a_calendar_is_fetched_with_its_validators_and_the_headers_a_feed_expects(server):
    fetched = fetch(f"{server.url}/ok.ics", allow_private=True)

    assert fetched == Fetched(
        url=f"{server.url}/ok.ics", status=200, body=CALENDAR, etag=ETAG, last_modified=LAST_MODIFIED
    )
    assert not fetched.not_modified
    (headers,) = server.seen
    assert headers["User-Agent"] == "Holdfast calendar sync"
    assert headers["Accept"] == "text/calendar, */*;q=0.1"
    assert "If-None-Match" not in headers and "If-Modified-Since" not in headers


@pytest.mark.parametrize(
    "validators", [{"etag": ETAG}, {"last_modified": LAST_MODIFIED}], ids=["etag", "last_modified"]
)
def test_an_unchanged_calendar_is_not_modified_and_has_no_body(server, validators):
    fetched = fetch(f"{server.url}/etag", allow_private=True, **validators)

    assert (fetched.status, fetched.not_modified, fetched.body, fetched.etag) == (304, True, b"", ETAG)


def test_a_changed_calendar_is_fetched_again(server):
    fetched = fetch(f"{server.url}/etag", allow_private=True, etag='"v0"')

    assert (fetched.status, fetched.body, fetched.etag) == (200, CALENDAR, ETAG)
    assert server.seen[0]["If-None-Match"] == '"v0"'


def test_a_relative_redirect_is_followed_to_the_final_address(server):
    fetched = fetch(f"{server.url}/redirect-ok", allow_private=True)

    assert (fetched.url, fetched.body) == (f"{server.url}/ok.ics", CALENDAR)


@pytest.mark.parametrize("path", ["/redirect-ftp", "/redirect-file"])
def test_a_redirect_to_another_scheme_is_refused(server, path):
    assert refusal(f"{server.url}{path}", allow_private=True) == "Only http and https addresses can be fetched."


def test_redirects_stop_after_max_redirects(server):
    assert refusal(f"{server.url}/redirect-loop", allow_private=True, max_redirects=3) == (
        "The server redirected more than 3 times."
    )
    assert len(server.seen) == 4  # the first request and three redirects


def test_every_hop_is_resolved_and_checked_again(server):
    assert refusal(f"{server.url}/redirect-unresolvable", allow_private=True) == (
        "The host nonexistent.invalid could not be found."
    )


def test_a_redirect_without_a_location_is_an_error(server):
    assert refusal(f"{server.url}/redirect-nowhere", allow_private=True) == (
        "The server answered 302 without saying where to."
    )


def test_a_status_other_than_200_or_304_is_an_error(server):
    assert refusal(f"{server.url}/missing", allow_private=True) == "The server answered 404."


def test_a_body_announced_larger_than_the_limit_is_refused_before_it_is_read(server):
    # Had it been read, the five bytes sent of the terabyte announced would have broken off instead.
    assert refusal(f"{server.url}/big", allow_private=True) == "The file is larger than the limit of 5 MB."


def test_an_endless_body_is_cut_off_at_the_limit(server):
    assert refusal(f"{server.url}/endless", allow_private=True, max_bytes=100_000) == (
        "The file is larger than the limit of 100,000 bytes."
    )


def test_a_compressed_body_is_decompressed_and_the_limit_counts_decompressed_bytes(server):
    assert fetch(f"{server.url}/gzip", allow_private=True).body == CALENDAR
    assert len(BOMB) < 1024 * 1024
    assert refusal(f"{server.url}/gzip-bomb", allow_private=True, max_bytes=1024 * 1024) == (
        "The file is larger than the limit of 1 MB."
    )


def test_a_server_that_does_not_answer_times_out(server):
    assert refusal(f"{server.url}/hang", allow_private=True, timeout=0.5) == (
        "The server did not answer within 0.5 seconds."
    )


def test_a_server_trickling_bytes_is_stopped_at_the_deadline(server):
    # Each byte comes well within the read timeout: only the deadline for the whole download stops it.
    assert refusal(f"{server.url}/trickle", allow_private=True, timeout=0.5) == (
        "The download took longer than 0.5 seconds and was stopped."
    )


def test_a_closed_port_and_a_failed_tls_handshake_are_fetch_errors(server):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    assert refusal(f"http://127.0.0.1:{closed_port}/", allow_private=True) == "Could not connect to the server."
    # The test server speaks plain HTTP, so a TLS handshake with it fails.
    assert refusal(f"https://127.0.0.1:{server.server_port}/ok.ics", allow_private=True) == (
        "The secure (https) connection to the server failed."
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_is_refused_unless_private_addresses_are_allowed(server, host):
    url = f"http://{host}:{server.server_port}/ok.ics"

    assert refusal(url) == f"The host {host} resolves to a private address (127.0.0.1), which is not fetched."
    assert server.seen == []  # refused before connecting
    assert fetch(url, allow_private=True).body == CALENDAR


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",  # IPv4-mapped IPv6
        "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://0.0.0.0/",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://2130706433/",  # 127.0.0.1 written as a number
    ],
)
def test_a_literal_private_address_is_refused(url):
    assert "resolves to a private address" in refusal(url)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/calendar.ics",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "data:text/calendar,BEGIN:VCALENDAR",
        "http:///calendar.ics",
        "example.com/calendar.ics",
        "gopher://example.com/",
    ],
)
def test_only_http_and_https_addresses_with_a_host_are_fetched(url):
    assert refusal(url) == "Only http and https addresses can be fetched."


def test_odd_addresses_are_refused_in_words():
    assert refusal("https://user:secret@example.com/calendar.ics") == (
        "Addresses with a user name or password in them are not supported."
    )
    assert refusal("http://example.com:99999/") == "The address http://example.com:99999/ is not valid."
    assert refusal("http://nonexistent.invalid/") == "The host nonexistent.invalid could not be found."
