"""A local stand-in for the part of Twilio's API Holdfast uses: sending a text message, and the webhooks
Twilio sends back (its status callbacks, and a guest's reply), signed as Twilio signs them.

Twilio's servers are out of reach from the test machines, so tests point the official `twilio` library
at this server instead (settings.TWILIO_API_BASE = fake.url; core/sms.py rewrites https://api.twilio.com
to it). Requests are form-encoded (`To`, `From`, `MessagingServiceSid`, `Body`, `StatusCallback`) with
HTTP Basic auth (the account SID and auth token); answers are JSON, errors Twilio's
`{"code", "message", "more_info", "status"}` bodies with its HTTP statuses, so the library raises the
TwilioRestException, with the code, it raises against the real API.

Endpoints:
    POST /2010-04-01/Accounts/<AccountSid>/Messages.json        send a text (201 and the Message)
    GET  /2010-04-01/Accounts/<AccountSid>/Messages/<Sid>.json  one Message

The rules it keeps, as Twilio does: a wrong account or token is 401 (20003); no `To` 21604, a `To` not
in E.164 21211; neither `From` nor `MessagingServiceSid` 21603, a `From` that is not ours 21606, a
Messaging Service not ours 21705; no `Body` 21602, one over 1,600 characters 21617; a `To` that answered
STOP to us 21610; a landline (`non_mobile`) 21614; a country not enabled (`blocked_prefixes`) 21408.
`fail_next(count, status)` makes the next sends answer 500 (20500) or 429 (20429).

Twilio's side of the webhooks: `advance(sid, "sent", "delivered")` POSTs a status callback for each
status to the message's StatusCallback; `inbound(from_, "STOP")` POSTs a guest's reply to `incoming_url`
(and, as Twilio does, remembers the opt-out itself: sending to that number is then 21610 until START).
Both are signed with the auth token (RequestValidator.compute_signature, exactly Twilio's algorithm).
They go over HTTP, or through `transport(url, params, headers) -> (status, body)` when a test sets one
(Django's test client, so the test database's transaction sees them).

Everything lives in memory on the instance (`messages`, `requests`, `callbacks`, `opted_out`) so tests
can assert on it; `reset()` empties it.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"
E164 = re.compile(r"\+[1-9]\d{1,14}")
MAX_BODY = 1600
# Twilio's default opt-out and opt-in keywords (a reply of exactly one of them, in any case).
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
# The GSM 03.38 alphabet: a text in it takes 160 characters a segment (153 when split), one with any
# other character is UCS-2: 70 (67 when split). The extension characters count twice.
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


def segments(body: str) -> tuple[int, str]:
    """How many segments Twilio bills `body` as, and its encoding ("GSM-7" or "UCS-2")."""
    if all(char in GSM_BASIC or char in GSM_EXTENDED for char in body):
        length = sum(2 if char in GSM_EXTENDED else 1 for char in body)
        return (1 if length <= 160 else -(-length // 153)), "GSM-7"
    units = len(body.encode("utf-16-le")) // 2
    return (1 if units <= 70 else -(-units // 67)), "UCS-2"


def new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class TwilioError(Exception):
    """An error answered in Twilio's format, with its HTTP status."""

    def __init__(self, status: int, code: int, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.body = {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
            **extra,
        }


class FakeTwilio:
    """A fake Twilio API on 127.0.0.1 (an ephemeral port), serving from a daemon thread.

    Usage::

        with FakeTwilio() as fake:
            client = Client(fake.account_sid, fake.auth_token, http_client=...)  # or core.sms, via settings

    Knobs tests may set at any time: `phone_numbers` and `messaging_services` (the senders that are
    ours), `non_mobile` (numbers that are landlines), `blocked_prefixes` (E.164 prefixes of countries
    not enabled), `opted_out` (numbers that answered STOP), `incoming_url` (our webhook for replies),
    `transport` (how webhooks reach the app; None: over HTTP).
    """

    def __init__(
        self,
        *,
        account_sid: str | None = None,
        auth_token: str | None = None,
        phone_numbers: tuple[str, ...] = ("+15005550006",),
        messaging_services: tuple[str, ...] = (),
    ):
        self.account_sid = account_sid or new_sid("AC")
        self.auth_token = auth_token or secrets.token_hex(16)
        self.phone_numbers = set(phone_numbers)
        self.messaging_services = set(messaging_services) or {new_sid("MG")}
        self.non_mobile: set[str] = set()
        self.blocked_prefixes: set[str] = set()
        self.incoming_url: str | None = None
        self.transport: Callable[[str, dict[str, str], dict[str, str]], tuple[int, str]] | None = None
        # One lock serialises every change to the state below: the HTTP server is threaded, and tests
        # read these from their own thread.
        self.lock = threading.RLock()
        self.messages: dict[str, dict] = {}
        self.callback_urls: dict[str, str] = {}
        self.requests: list[dict] = []
        self.callbacks: list[dict] = []
        self.opted_out: set[str] = set()
        self._failures: list[int] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> FakeTwilio:
        if self._server is not None:
            return self
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-twilio", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeTwilio is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def from_number(self) -> str:
        return sorted(self.phone_numbers)[0]

    @property
    def messaging_service_sid(self) -> str:
        return sorted(self.messaging_services)[0]

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.callback_urls.clear()
            self.requests.clear()
            self.callbacks.clear()
            self.opted_out.clear()
            self.non_mobile.clear()
            self.blocked_prefixes.clear()
            self._failures.clear()

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """The next `count` sends answer `status` (500: Twilio's 20500; 429: too many requests, 20429)."""
        with self.lock:
            self._failures.extend([status] * count)

    @property
    def sent(self) -> list[dict]:
        """The messages Twilio took, in the order it took them."""
        with self.lock:
            return [copy.deepcopy(message) for message in self.messages.values()]

    # -- the REST API ----------------------------------------------------------------------------------

    def _authenticate(self, headers: dict[str, str], account_in_path: str) -> None:
        authorization = headers.get("authorization", "")
        username = password = ""
        if authorization.startswith("Basic "):
            try:
                username, _, password = base64.b64decode(authorization[6:]).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                username = password = ""
        if (username, password) != (self.account_sid, self.auth_token) or account_in_path != self.account_sid:
            raise TwilioError(401, 20003, "Authenticate", detail="Your AccountSid or AuthToken was incorrect.")

    def _create_message(self, params: dict[str, str]) -> dict:
        if self._failures:
            status = self._failures.pop(0)
            if status == 429:
                raise TwilioError(429, 20429, "Too Many Requests")
            raise TwilioError(status, 20500, "An internal server error has occurred")
        to = params.get("To", "").strip()
        sender = params.get("From", "").strip()
        service = params.get("MessagingServiceSid", "").strip()
        body = params.get("Body", "")
        callback = params.get("StatusCallback", "").strip()
        if not to:
            raise TwilioError(400, 21604, "A 'To' phone number is required.")
        if not E164.fullmatch(to):
            raise TwilioError(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if not sender and not service:
            raise TwilioError(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message.")
        if service and service not in self.messaging_services:
            raise TwilioError(400, 21705, "The Messaging Service Sid is invalid.")
        if sender and sender not in self.phone_numbers:
            raise TwilioError(
                400,
                21606,
                f"The From phone number {sender} is not a valid, SMS-capable inbound phone number or short code "
                "for your account.",
            )
        if not body.strip():
            raise TwilioError(400, 21602, "Message body is required.")
        if len(body) > MAX_BODY:
            raise TwilioError(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if callback and urlsplit(callback).scheme not in ("http", "https"):
            raise TwilioError(400, 21609, "The StatusCallback URL is not a valid URL.")
        if to in self.opted_out:
            raise TwilioError(400, 21610, "Attempt to send to unsubscribed recipient")
        if any(to.startswith(prefix) for prefix in self.blocked_prefixes):
            raise TwilioError(
                400,
                21408,
                f"Permission to send an SMS has not been enabled for the region indicated by the 'To' number: {to}",
            )
        if to in self.non_mobile:
            raise TwilioError(400, 21614, f"'To' number {to} is not a valid mobile number")
        sid = new_sid("SM")
        now = formatdate(usegmt=False)
        count, _ = segments(body)
        message = {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender or None,
            "messaging_service_sid": service or None,
            "num_media": "0",
            "num_segments": str(count),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            # Created through a Messaging Service, a message starts "accepted" (the service picks the
            # sender), else "queued"; Twilio sends no callback for that first status.
            "status": "accepted" if service and not sender else "queued",
            "subresource_uris": {"media": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
            "to": to,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        self.messages[sid] = message
        if callback:
            self.callback_urls[sid] = callback
        return message

    def handle_api(self, method: str, path: str, headers: dict[str, str], params: dict[str, str]) -> tuple[int, dict]:
        match = re.fullmatch(rf"/{API_VERSION}/Accounts/([^/]+)/Messages(?:/([^/]+))?\.json", path)
        if match is None:
            error = TwilioError(404, 20404, f"The requested resource {path} was not found")
            return error.status, error.body
        with self.lock:
            try:
                self._authenticate(headers, match.group(1))
                if method == "POST" and match.group(2) is None:
                    return 201, copy.deepcopy(self._create_message(params))
                if method == "GET" and match.group(2) is not None:
                    message = self.messages.get(match.group(2))
                    if message is None:
                        raise TwilioError(404, 20404, f"The requested resource {path} was not found")
                    return 200, copy.deepcopy(message)
                raise TwilioError(405, 20004, "Method not allowed")
            except TwilioError as error:
                return error.status, error.body

    # -- Twilio's webhooks -----------------------------------------------------------------------------

    def sign(self, url: str, params: dict[str, str], *, token: str | None = None) -> str:
        """X-Twilio-Signature of a POST of `params` to `url`, as Twilio computes it."""
        return RequestValidator(token or self.auth_token).compute_signature(url, params)

    def post(self, url: str, params: dict[str, str], *, signature: str | None = None) -> tuple[int, str]:
        """POST a signed webhook to `url` (through `transport` when set); return (status, body)."""
        headers = {
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
            "User-Agent": "TwilioProxy/1.1",
            "X-Twilio-Signature": signature if signature is not None else self.sign(url, params),
        }
        if self.transport is not None:
            status, body = self.transport(url, params, headers)
        else:
            request = urllib.request.Request(  # noqa: S310 - the URL is the test's own webhook endpoint
                url, data=urllib.parse.urlencode(params).encode("utf-8"), method="POST", headers=headers
            )
            # No proxies: the receiver is local, and an HTTP(S)_PROXY in the environment must not intercept it.
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            try:
                with opener.open(request, timeout=30) as response:
                    status, body = response.status, response.read().decode("utf-8", "replace")
            except urllib.error.HTTPError as error:
                status, body = error.code, error.read().decode("utf-8", "replace")
        with self.lock:
            self.callbacks.append({"url": url, "params": dict(params), "status": status, "body": body})
        return status, body

    def status_params(self, sid: str, status: str, *, error_code: int | None = None) -> dict[str, str]:
        """What Twilio POSTs to a message's StatusCallback when it reaches `status`."""
        message = self.messages[sid]
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "From": message["from"] or self.from_number,
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": message["to"],
        }
        if message["messaging_service_sid"]:
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if status in ("failed", "undelivered"):
            params["ErrorCode"] = str(error_code or 30003)
        if status in ("delivered", "undelivered"):
            params["RawDlrDoneDate"] = "2612011945"
        return params

    def advance(self, sid: str, *statuses: str, error_code: int | None = None) -> list[tuple[int, str]]:
        """Move the message through `statuses` ("sent", "delivered"; "undelivered" or "failed" with
        `error_code`), POSTing the status callback of each; return each answer (status, body)."""
        answers = []
        for status in statuses:
            with self.lock:
                message = self.messages[sid]
                message["status"] = status
                message["date_updated"] = formatdate(usegmt=False)
                if status in ("failed", "undelivered"):
                    message["error_code"] = error_code or 30003
                params = self.status_params(sid, status, error_code=error_code)
                url = self.callback_urls.get(sid)
            if url:
                answers.append(self.post(url, params))
        return answers

    def inbound_params(self, from_: str, body: str, *, to: str | None = None) -> dict[str, str]:
        """What Twilio POSTs to a number's incoming-message webhook when a text arrives."""
        sid = new_sid("SM")
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": from_,
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": to or self.from_number,
        }
        keyword = " ".join(body.split()).upper()
        if keyword in STOP_WORDS:
            params["OptOutType"] = "STOP"
        elif keyword in START_WORDS:
            params["OptOutType"] = "START"
        return params

    def inbound(self, from_: str, body: str, *, to: str | None = None, url: str | None = None) -> tuple[int, str]:
        """A guest's reply from `from_`: Twilio honours STOP and START itself (sends to the number are
        refused with 21610 until START), then POSTs the message to our incoming webhook."""
        params = self.inbound_params(from_, body, to=to)
        with self.lock:
            if params.get("OptOutType") == "STOP":
                self.opted_out.add(from_)
            elif params.get("OptOutType") == "START":
                self.opted_out.discard(from_)
        url = url or self.incoming_url
        if not url:
            raise RuntimeError("set fake.incoming_url before sending replies")
        return self.post(url, params)


def _make_handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeTwilio/1.0"

        def log_message(self, format, *args):
            pass  # keep pytest output clean; `fake.requests` has everything

        def do_GET(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

        def _handle(self, method: str) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw_body = self.rfile.read(length).decode("utf-8") if length else ""
            headers = {name.lower(): value for name, value in self.headers.items()}
            params = dict(parse_qsl(split.query, keep_blank_values=True) + parse_qsl(raw_body, keep_blank_values=True))
            record = {"method": method, "path": split.path, "headers": dict(self.headers.items()), "params": params}
            with fake.lock:
                fake.requests.append(record)
            status, body = fake.handle_api(method, split.path, headers, params)
            record["status"] = status
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Twilio-Request-Id", new_sid("RQ"))
            if status == 429:
                self.send_header("Retry-After", "1")
            self.end_headers()
            self.wfile.write(data)

    return Handler
