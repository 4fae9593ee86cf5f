"""A local stand-in for the few Stripe endpoints Holdfast uses, speaking Stripe's wire format.

Stripe's servers are out of reach from the test machines, so tests point the official `stripe` library
at this server instead (`stripe.api_base = fake.url`, or `StripeClient(..., base_addresses={"api": fake.url})`).
Requests are form-encoded with bracketed keys (`line_items[0][price_data][unit_amount]`), answers are
JSON, errors use Stripe's `{"error": {"type", "message", "code", "param"}}` bodies and HTTP statuses so the
library raises the same exception classes it raises against the real API.

Endpoints:
    POST /v1/checkout/sessions              GET /v1/checkout/sessions/<id>
    POST /v1/checkout/sessions/<id>/expire  GET /v1/payment_intents/<id>
    POST /v1/refunds                        GET /v1/refunds/<id>
    GET  /v1/events/<id>
    GET  /pay/<id>  (hosted checkout page)  POST /pay/<id>  (pays, delivers the webhook, 303 to success_url)

Everything lives in memory on the instance (`sessions`, `payment_intents`, `refunds`, `events`,
`requests`, `deliveries`) so tests can assert on it; `reset()` empties it.
"""

from __future__ import annotations

import copy
import html
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe

# Stripe keeps amounts of these currencies in whole units (no cents).
ZERO_DECIMAL_CURRENCIES = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
EXPIRES_AT_MIN_SECONDS = 30 * 60
EXPIRES_AT_MAX_SECONDS = 24 * 60 * 60

# Parameters Stripe accepts on Checkout Session creation. The fake uses the ones in the module docstring
# and ignores the rest; anything else is refused with `parameter_unknown`, as Stripe does, so a typo in
# the app fails here rather than in production.
SESSION_PARAMS = frozenset(
    {
        "mode",
        "line_items",
        "success_url",
        "cancel_url",
        "metadata",
        "client_reference_id",
        "customer_email",
        "expires_at",
        "payment_intent_data",
        # accepted and ignored
        "allow_promotion_codes",
        "billing_address_collection",
        "currency",
        "customer",
        "customer_creation",
        "expand",
        "locale",
        "payment_method_types",
        "phone_number_collection",
        "submit_type",
        "ui_mode",
    }
)
REFUND_PARAMS = frozenset({"payment_intent", "amount", "reason", "metadata", "expand", "charge"})


class ErrorResponse(Exception):
    """An error answered in Stripe's format: `{"error": {...}}` with `status`."""

    def __init__(
        self, status: int, type_: str, message: str, *, code: str | None = None, param: str | None = None, **extra
    ):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, **extra}}
        if code:
            self.body["error"]["code"] = code
        if param:
            self.body["error"]["param"] = param


def invalid_request(message: str, *, code: str | None = None, param: str | None = None, status: int = 400):
    return ErrorResponse(status, "invalid_request_error", message, code=code, param=param)


def parse_stripe_params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Turn Stripe's flat form pairs into nested data.

    `line_items[0][price_data][unit_amount]=1500` becomes `{"line_items": [{"price_data": {"unit_amount": "1500"}}]}`;
    `expand[]=a&expand[]=b` becomes `{"expand": ["a", "b"]}`. Values stay strings, as on the wire.
    """
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        match = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])*)", raw_key)
        if not match:
            raise invalid_request(f"Invalid parameter name: {raw_key}", param=raw_key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "":  # `key[]`: append to a list, kept as a dict with numeric keys until the end
                part = str(len(node))
            if last:
                node[part] = value
            else:
                child = node.setdefault(part, {})
                if not isinstance(child, dict):
                    raise invalid_request(f"Invalid parameter: {raw_key} mixes a value and a hash", param=raw_key)
                node = child
    return _dicts_with_index_keys_to_lists(root)


def _dicts_with_index_keys_to_lists(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    converted = {key: _dicts_with_index_keys_to_lists(child) for key, child in value.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def format_amount(amount: int, currency: str) -> str:
    if currency.lower() in ZERO_DECIMAL_CURRENCIES:
        return f"{amount} {currency.upper()}"
    return f"{amount // 100}.{amount % 100:02d} {currency.upper()}"


def _new_id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(12)}"


def _integer(value: Any, param: str, *, minimum: int | None = None) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise invalid_request(f"Invalid integer: {value}", param=param) from None
    if minimum is not None and number < minimum:
        raise invalid_request(f"This value must be greater than or equal to {minimum}.", param=param)
    return number


def _metadata(value: Any, param: str = "metadata") -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise invalid_request("Invalid object", param=param)
    if len(value) > 50:
        raise invalid_request("You can specify up to 50 keys in metadata.", param=param)
    for key, item in value.items():
        if not isinstance(item, str):
            raise invalid_request("Metadata values must be strings.", param=f"{param}[{key}]")
        if len(key) > 40:
            raise invalid_request("Metadata keys can be at most 40 characters long.", param=f"{param}[{key}]")
        if len(item) > 500:
            raise invalid_request("Metadata values can be at most 500 characters long.", param=f"{param}[{key}]")
    # Stripe treats an empty value as "unset this key".
    return {key: item for key, item in value.items() if item != ""}


def _check_url(value: Any, param: str) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if not parts or parts.scheme not in ("http", "https") or not parts.netloc:
        raise invalid_request("Not a valid URL", code="url_invalid", param=param)
    return value


def _refuse_unknown(params: dict[str, Any], allowed: frozenset[str]) -> None:
    for key in params:
        if key not in allowed:
            raise invalid_request(f"Received unknown parameter: {key}", code="parameter_unknown", param=key)


class FakeStripe:
    """A fake Stripe API server on 127.0.0.1 (an ephemeral port), serving from a daemon thread.

    Usage::

        with FakeStripe(webhook_url=..., webhook_secret="whsec_test") as fake:
            stripe.api_key, stripe.api_base, stripe.max_network_retries = "sk_test_x", fake.url, 0
            ...

    Knobs tests may set at any time: `webhook_url`, `webhook_secret`, `fail_refunds` (False, True for a
    402 `card_error`, "server" for a 500 `api_error`), `refund_status` ("succeeded", "pending", "failed"),
    `api_key` (None accepts any `sk_test_`/`rk_test_` key; a string requires exactly that key).
    """

    def __init__(
        self,
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        api_key: str | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.api_key = api_key
        self.clock = clock
        self.fail_refunds: bool | str = False
        self.refund_status = "succeeded"
        self.api_version = stripe.api_version
        # One lock serialises every change to the state below: the HTTP server is threaded, and tests
        # read these dicts from their own thread.
        self.lock = threading.RLock()
        self.sessions: dict[str, dict] = {}
        self.payment_intents: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.events: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.deliveries: list[dict] = []
        self.line_items: dict[str, list[dict]] = {}
        self._payment_intent_data: dict[str, dict] = {}
        self._idempotent: dict[tuple[str, str, str, str], tuple[dict, int, dict]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> FakeStripe:
        if self._server is not None:
            return self
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-stripe", daemon=True
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

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeStripe is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self) -> None:
        """Forget every object, request and delivery, and restore the default knobs."""
        with self.lock:
            for store in (
                self.sessions,
                self.payment_intents,
                self.refunds,
                self.events,
                self.line_items,
                self._payment_intent_data,
                self._idempotent,
            ):
                store.clear()
            self.requests.clear()
            self.deliveries.clear()
            self.fail_refunds = False
            self.refund_status = "succeeded"

    def now(self) -> int:
        return int(self.clock())

    # -- events and webhooks ---------------------------------------------------------------------------

    def event(self, type_: str, obj: dict) -> dict:
        """Build (and remember in `events`) a Stripe event carrying a snapshot of `obj`."""
        event = {
            "id": _new_id("evt"),
            "object": "event",
            "api_version": self.api_version,
            "created": self.now(),
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type_,
        }
        with self.lock:
            self.events[event["id"]] = event
        return copy.deepcopy(event)

    def sign(self, payload: str | bytes, *, timestamp: int | None = None, secret: str | None = None) -> str:
        """A `Stripe-Signature` header value for `payload`, computed with the stripe library's own helper."""
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8")
        secret = secret if secret is not None else self.webhook_secret
        if not secret:
            raise RuntimeError("set fake.webhook_secret (or pass secret=) before signing")
        timestamp = self.now() if timestamp is None else timestamp
        signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", secret)
        return f"t={timestamp},v1={signature}"

    def send_event(self, event: dict, *, url: str | None = None) -> tuple[int, str]:
        """POST `event` signed to `webhook_url` (or `url`); return (HTTP status, response body).

        A connection failure raises `urllib.error.URLError`; HTTP error statuses are returned, not raised.
        """
        url = url or self.webhook_url
        if not url:
            raise RuntimeError("set fake.webhook_url before sending events")
        payload = json.dumps(event, indent=2)
        request = urllib.request.Request(  # noqa: S310 - the URL is the test's own webhook endpoint
            url,
            data=payload.encode("utf-8"),
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                "Stripe-Signature": self.sign(payload),
            },
        )
        # No proxies: the receiver is local, and an HTTP(S)_PROXY in the environment must not intercept it.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=30) as response:
                status, body = response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read().decode("utf-8", "replace")
        with self.lock:
            self.deliveries.append({"event": event, "url": url, "status": status, "body": body})
        return status, body

    def _deliver(self, event: dict) -> None:
        """Deliver if a webhook is configured; a failing receiver is recorded, never raised into the page."""
        if not self.webhook_url:
            return
        try:
            self.send_event(event)
        except (urllib.error.URLError, OSError) as error:
            with self.lock:
                self.deliveries.append({"event": event, "url": self.webhook_url, "status": None, "body": str(error)})

    # -- state changes shared by HTTP and tests ---------------------------------------------------------

    def complete_session(self, session_id: str, *, deliver: bool = True) -> dict:
        """Pay an open session as the hosted page would; return the `checkout.session.completed` event.

        Paying a session that is already complete returns a fresh event for it and delivers nothing.
        """
        with self.lock:
            session = self._session_or_404(session_id)
            if session["status"] == "expired":
                raise invalid_request(f"Checkout Session {session_id} has expired.", code="checkout_session_expired")
            already_paid = session["status"] == "complete"
            if not already_paid:
                intent = {
                    "id": _new_id("pi"),
                    "object": "payment_intent",
                    "amount": session["amount_total"],
                    "amount_capturable": 0,
                    "amount_received": session["amount_total"],
                    "currency": session["currency"],
                    "status": "succeeded",
                    "latest_charge": _new_id("ch"),
                    "metadata": dict(self._payment_intent_data.get(session_id, {}).get("metadata", {})),
                    "created": self.now(),
                    "livemode": False,
                }
                self.payment_intents[intent["id"]] = intent
                session.update(
                    status="complete",
                    payment_status="paid",
                    payment_intent=intent["id"],
                    url=None,
                    customer_details={"email": session["customer_email"], "name": None},
                )
            event = self.event("checkout.session.completed", session)
        if deliver and not already_paid:
            self._deliver(event)
        return event

    def expire_session(self, session_id: str, *, deliver: bool = False) -> dict:
        """Expire an open session; return the `checkout.session.expired` event (delivered if `deliver`)."""
        with self.lock:
            session = self._session_or_404(session_id)
            if session["status"] != "open":
                raise invalid_request(
                    f'Only Checkout Sessions with a status in ["open"] can be expired. '
                    f"This Checkout Session has a status of {session['status']}.",
                    code="checkout_session_not_open",
                )
            session.update(status="expired", url=None)
            event = self.event("checkout.session.expired", session)
        if deliver:
            self._deliver(event)
        return event

    def settle_refund(self, refund_id: str, status: str = "succeeded", *, deliver: bool = True) -> dict:
        """Move a (pending) refund to `status`; return the `refund.updated` event (delivered if `deliver`)."""
        with self.lock:
            refund = self.refunds[refund_id]
            refund["status"] = status
            if status == "failed":
                refund["failure_reason"] = "unknown"
            event = self.event("refund.updated", refund)
        if deliver:
            self._deliver(event)
        return event

    def refunded_amount(self, payment_intent_id: str) -> int:
        """What has been refunded (or is on its way back) on a payment intent."""
        with self.lock:
            return sum(
                refund["amount"]
                for refund in self.refunds.values()
                if refund["payment_intent"] == payment_intent_id and refund["status"] != "failed"
            )

    def _session_or_404(self, session_id: str) -> dict:
        try:
            return self.sessions[session_id]
        except KeyError:
            raise invalid_request(
                f"No such checkout.session: '{session_id}'", code="resource_missing", param="session", status=404
            ) from None

    # -- API endpoints (called under the lock) ------------------------------------------------------------

    def _create_session(self, params: dict) -> dict:
        _refuse_unknown(params, SESSION_PARAMS)
        mode = params.get("mode")
        if not mode:
            raise invalid_request("Missing required param: mode.", code="parameter_missing", param="mode")
        if mode != "payment":
            raise invalid_request(f"The fake only supports mode=payment, not {mode!r}.", param="mode")
        raw_items = params.get("line_items")
        if not raw_items:
            raise invalid_request(
                "line_items is required in payment mode.", code="parameter_missing", param="line_items"
            )
        if not isinstance(raw_items, list):
            raise invalid_request("Invalid array", param="line_items")
        now = self.now()
        line_items, currency = [], None
        for index, item in enumerate(raw_items):
            prefix = f"line_items[{index}]"
            if not isinstance(item, dict):
                raise invalid_request("Invalid object", param=prefix)
            if "price" in item:
                raise invalid_request(
                    f"No such price: '{item['price']}'", code="resource_missing", param=f"{prefix}[price]"
                )
            price_data = item.get("price_data")
            if not isinstance(price_data, dict):
                raise invalid_request(
                    "You must specify either `price` or `price_data` for each line item.",
                    code="parameter_missing",
                    param=f"{prefix}[price_data]",
                )
            item_currency = str(price_data.get("currency", "")).lower()
            if not re.fullmatch(r"[a-z]{3}", item_currency):
                raise invalid_request(
                    "Missing or invalid currency.", code="parameter_missing", param=f"{prefix}[price_data][currency]"
                )
            if currency and item_currency != currency:
                raise invalid_request(
                    "All line items must use the same currency.", param=f"{prefix}[price_data][currency]"
                )
            currency = item_currency
            if "unit_amount" not in price_data:
                raise invalid_request(
                    "Missing required param: unit_amount.",
                    code="parameter_missing",
                    param=f"{prefix}[price_data][unit_amount]",
                )
            unit_amount = _integer(price_data["unit_amount"], f"{prefix}[price_data][unit_amount]", minimum=0)
            product_data = price_data.get("product_data")
            if not isinstance(product_data, dict) or not product_data.get("name"):
                raise invalid_request(
                    "Missing required param: product_data[name].",
                    code="parameter_missing",
                    param=f"{prefix}[price_data][product_data][name]",
                )
            if "quantity" not in item:
                raise invalid_request("Quantity is required.", code="parameter_missing", param=f"{prefix}[quantity]")
            quantity = _integer(item["quantity"], f"{prefix}[quantity]", minimum=1)
            line_items.append(
                {
                    "description": product_data["name"],
                    "currency": currency,
                    "unit_amount": unit_amount,
                    "quantity": quantity,
                    "amount_total": unit_amount * quantity,
                }
            )
        if "expires_at" in params:
            expires_at = _integer(params["expires_at"], "expires_at")
            if expires_at < now + EXPIRES_AT_MIN_SECONDS:
                raise invalid_request(
                    "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.",
                    param="expires_at",
                )
            if expires_at > now + EXPIRES_AT_MAX_SECONDS:
                raise invalid_request(
                    "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
                    param="expires_at",
                )
        else:
            expires_at = now + EXPIRES_AT_MAX_SECONDS
        success_url = _check_url(params["success_url"], "success_url") if "success_url" in params else None
        cancel_url = _check_url(params["cancel_url"], "cancel_url") if "cancel_url" in params else None
        client_reference_id = params.get("client_reference_id")
        if client_reference_id is not None and not (
            isinstance(client_reference_id, str) and 0 < len(client_reference_id) <= 200
        ):
            raise invalid_request("client_reference_id must be 1 to 200 characters.", param="client_reference_id")
        customer_email = params.get("customer_email")
        if customer_email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+", str(customer_email)):
            raise invalid_request("Invalid email address: " + str(customer_email), param="customer_email")
        payment_intent_data = params.get("payment_intent_data") or {}
        if not isinstance(payment_intent_data, dict):
            raise invalid_request("Invalid object", param="payment_intent_data")
        session_id = _new_id("cs")
        amount_total = sum(item["amount_total"] for item in line_items)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": amount_total,
            "amount_total": amount_total,
            "cancel_url": cancel_url,
            "client_reference_id": client_reference_id,
            "created": now,
            "currency": currency,
            "customer_details": None,
            "customer_email": customer_email,
            "expires_at": expires_at,
            "livemode": False,
            "metadata": _metadata(params.get("metadata")),
            "mode": "payment",
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": success_url,
            "url": f"{self.url}/pay/{session_id}",
        }
        self.sessions[session_id] = session
        self.line_items[session_id] = line_items
        self._payment_intent_data[session_id] = {
            "metadata": _metadata(payment_intent_data.get("metadata"), "payment_intent_data[metadata]")
        }
        return session

    def _create_refund(self, params: dict) -> dict:
        _refuse_unknown(params, REFUND_PARAMS)
        intent_id = params.get("payment_intent")
        if not intent_id and params.get("charge"):
            intent_id = next(
                (pi["id"] for pi in self.payment_intents.values() if pi["latest_charge"] == params["charge"]), None
            )
            if intent_id is None:
                raise invalid_request(f"No such charge: '{params['charge']}'", code="resource_missing", param="charge")
        if not intent_id:
            raise invalid_request(
                "One of the following params should be provided for this request: payment_intent or charge.",
                code="parameter_missing",
            )
        intent = self.payment_intents.get(intent_id)
        if intent is None:
            raise invalid_request(
                f"No such payment_intent: '{intent_id}'", code="resource_missing", param="payment_intent"
            )
        reason = params.get("reason")
        if reason is not None and reason not in REFUND_REASONS:
            raise invalid_request(
                "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer", param="reason"
            )
        metadata = _metadata(params.get("metadata"))
        remaining = intent["amount_received"] - self.refunded_amount(intent_id)
        if remaining <= 0:
            raise invalid_request(
                f"Charge {intent['latest_charge']} has already been refunded.", code="charge_already_refunded"
            )
        amount = _integer(params["amount"], "amount", minimum=1) if "amount" in params else remaining
        if amount > remaining:
            raise invalid_request(
                f"Refund amount ({format_amount(amount, intent['currency'])}) is greater than unrefunded amount "
                f"on charge ({format_amount(remaining, intent['currency'])})",
                code="amount_too_large",
                param="amount",
            )
        if self.fail_refunds == "server":
            raise ErrorResponse(500, "api_error", "An unknown error occurred while processing the refund.")
        if self.fail_refunds:
            raise ErrorResponse(
                402, "card_error", "Your card was declined.", code="card_declined", decline_code="generic_decline"
            )
        refund = {
            "id": _new_id("re"),
            "object": "refund",
            "amount": amount,
            "charge": intent["latest_charge"],
            "created": self.now(),
            "currency": intent["currency"],
            "metadata": metadata,
            "payment_intent": intent_id,
            "reason": reason,
            "status": self.refund_status,
        }
        self.refunds[refund["id"]] = refund
        return refund

    def _api(self, method: str, path: str, params: dict) -> dict:
        """Route one API call; return the object or raise ErrorResponse."""
        segments = path.strip("/").split("/")
        if method == "POST" and path == "/v1/checkout/sessions":
            return self._create_session(params)
        if method == "GET" and len(segments) == 4 and path.startswith("/v1/checkout/sessions/"):
            return self._session_or_404(segments[3])
        if (
            method == "POST"
            and len(segments) == 5
            and segments[:3] == ["v1", "checkout", "sessions"]
            and (segments[4] == "expire")
        ):
            # Stripe sends `checkout.session.expired` asynchronously; delivering it here, while the app still
            # waits for this answer (perhaps holding a row lock its webhook view needs), could deadlock.
            # The event is kept in `fake.events` for a test to `send_event`.
            self.expire_session(segments[3], deliver=False)
            return self.sessions[segments[3]]
        if method == "POST" and path == "/v1/refunds":
            return self._create_refund(params)
        stores = {"refunds": self.refunds, "payment_intents": self.payment_intents, "events": self.events}
        if method == "GET" and len(segments) == 3 and segments[0] == "v1" and segments[1] in stores:
            kind = {"refunds": "refund", "payment_intents": "payment_intent", "events": "event"}[segments[1]]
            try:
                return stores[segments[1]][segments[2]]
            except KeyError:
                raise invalid_request(
                    f"No such {kind}: '{segments[2]}'", code="resource_missing", param="id", status=404
                ) from None
        raise invalid_request(
            f"Unrecognized request URL ({method}: {path}). The fake Stripe server only knows a few endpoints.",
            status=404,
        )

    def handle_api(self, method: str, path: str, headers: dict[str, str], params: dict) -> tuple[int, dict, dict]:
        """Authenticate, replay idempotent POSTs, dispatch; return (status, body, extra headers)."""
        authorization = headers.get("authorization", "")
        key = authorization[len("Bearer ") :] if authorization.startswith("Bearer ") else ""
        if not key:
            error = ErrorResponse(
                401,
                "invalid_request_error",
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
            return error.status, error.body, {}
        if (self.api_key is not None and key != self.api_key) or not key.startswith(("sk_test_", "rk_test_")):
            error = ErrorResponse(
                401,
                "invalid_request_error",
                f"Invalid API Key provided: {key[:8]}****{key[-4:]}",
                code="api_key_invalid",
            )
            return error.status, error.body, {}
        idempotency_key = headers.get("idempotency-key")
        # Stripe scopes keys to the account (here: the API key) and compares the parameters of a replay.
        slot = (key, method, path, idempotency_key) if method == "POST" and idempotency_key else None
        with self.lock:
            if slot and slot in self._idempotent:
                first_params, status, body = self._idempotent[slot]
                if first_params != params:
                    error = ErrorResponse(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters they were first "
                        f"used with. Try using a key other than '{idempotency_key}' if you meant to execute a "
                        "different request.",
                    )
                    return error.status, error.body, {}
                return status, copy.deepcopy(body), {"Idempotent-Replayed": "true"}
            try:
                status, body = 200, copy.deepcopy(self._api(method, path, params))
            except ErrorResponse as error:
                status, body = error.status, error.body
            # Only successes are replayed: a test that switches `fail_refunds` off and retries with the same
            # key should reach the endpoint again (real Stripe would also replay a 402).
            if slot and status == 200:
                self._idempotent[slot] = (copy.deepcopy(params), status, copy.deepcopy(body))
            return status, body, {}

    # -- hosted checkout page ---------------------------------------------------------------------------

    def checkout_page(self, session_id: str) -> tuple[int, str]:
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                return 404, _page("Checkout session not found", "<p>This payment page does not exist.</p>")
            session = copy.deepcopy(session)
            items = copy.deepcopy(self.line_items.get(session_id, []))
        if session["status"] != "open":
            message = "This checkout session has expired." if session["status"] == "expired" else "Already paid."
            return 410, _page("Checkout session closed", f"<p>{html.escape(message)}</p>")
        rows = "".join(
            f"<tr><td>{html.escape(item['description'])}</td><td>{item['quantity']}</td>"
            f"<td>{html.escape(format_amount(item['amount_total'], item['currency']))}</td></tr>"
            for item in items
        )
        total = html.escape(format_amount(session["amount_total"], session["currency"]))
        cancel = f'<p><a href="{html.escape(session["cancel_url"])}">Cancel</a></p>' if session["cancel_url"] else ""
        body = (
            '<table><caption>Order</caption><thead><tr><th scope="col">Item</th><th scope="col">Quantity</th>'
            f'<th scope="col">Amount</th></tr></thead><tbody>{rows}</tbody></table>'
            f'<p>Total: <strong data-testid="amount">{total}</strong></p>'
            f'<form method="post" action="/pay/{html.escape(session_id)}"><button type="submit">Pay</button></form>'
            f"{cancel}"
        )
        return 200, _page(f"Pay {total}", body)

    def pay(self, session_id: str) -> tuple[int, str, str | None]:
        """POST /pay/<id>: (status, html, redirect location)."""
        try:
            event = self.complete_session(session_id, deliver=True)
        except ErrorResponse as error:
            status = 404 if error.status == 404 else 410
            return status, _page("Payment failed", f"<p>{html.escape(str(error))}</p>"), None
        session = event["data"]["object"]
        if not session["success_url"]:
            return 200, _page("Payment complete", "<p>Thank you, your payment was received.</p>"), None
        return 303, "", session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} - Fake Stripe Checkout</title></head>"
        f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


def _make_handler(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeStripe/1.0"

        def log_message(self, format, *args):
            pass  # keep pytest output clean; `fake.requests` has everything

        def do_GET(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

        def do_DELETE(self):
            self._handle("DELETE")

        def _handle(self, method: str) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw_body = self.rfile.read(length).decode("utf-8") if length else ""
            headers = {name.lower(): value for name, value in self.headers.items()}
            record = {
                "method": method,
                "path": split.path,
                "query": split.query,
                "headers": dict(self.headers.items()),
                "idempotency_key": self.headers.get("Idempotency-Key"),
                "body": raw_body,
                "params": None,
                "status": None,
            }
            with fake.lock:
                fake.requests.append(record)
            try:
                pairs = parse_qsl(split.query, keep_blank_values=True) + parse_qsl(raw_body, keep_blank_values=True)
                record["params"] = params = parse_stripe_params(pairs)
            except ErrorResponse as error:
                record["status"] = error.status
                return self._send_json(error.status, error.body, {})

            if split.path.startswith("/pay/") and split.path.count("/") == 2:
                session_id = split.path.removeprefix("/pay/")
                if method == "GET":
                    status, page = fake.checkout_page(session_id)
                    location = None
                else:
                    status, page, location = fake.pay(session_id)
                record["status"] = status
                return self._send_html(status, page, location)

            status, body, extra_headers = fake.handle_api(method, split.path, headers, params)
            record["status"] = status
            self._send_json(status, body, extra_headers)

        def _send_json(self, status: int, body: dict, extra_headers: dict[str, str]) -> None:
            data = json.dumps(body, indent=2).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
            self.send_header("Stripe-Version", fake.api_version)
            if status >= 400:
                # Like Stripe on most errors: tells the library not to retry, so a failing refund costs no
                # back-off sleeps even when the app leaves `max_network_retries` at its default of 2.
                self.send_header("Stripe-Should-Retry", "false")
            for name, value in extra_headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _send_html(self, status: int, page: str, location: str | None) -> None:
            data = page.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            if location:
                self.send_header("Location", location)
            self.end_headers()
            self.wfile.write(data)

    return Handler
