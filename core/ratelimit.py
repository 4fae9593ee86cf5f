"""Rate limits beyond log-in: how often one guest, or one IP address, may try to book or call the API.

Rates are written the way django-allauth writes its own (ACCOUNT_RATE_LIMITS): "20/m/user,60/m/ip"
is at most 20 a minute per user and 60 a minute per IP address; periods are s, m, h or d, with an
optional multiple ("5/15m/user"). They live in settings.HOLDFAST_RATE_LIMITS, one entry per action.

Each rate is a fixed-window counter in the database (core.RateCounter), bumped by one atomic
upsert (one statement for all the rates of an attempt), so every server process counts together
and a burst cannot count twice as once. A window starts at a multiple of its period, which makes
Retry-After exact: the seconds until the window that refused the request ends. A periodic job
deletes the counts of windows that have ended.

The IP address is the one allauth's log-in limits use (its adapter, so ALLAUTH_TRUSTED_PROXY_COUNT
applies), IPv6 addresses by /64. Keys hold a keyed hash of it, never the address itself.
"""

import ipaddress
import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import connection
from django.shortcuts import render
from django.utils.crypto import salted_hmac
from django.utils.translation import ngettext

from core.models import RateCounter

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
RATE = re.compile(r"(?P<amount>\d+)/(?P<multiple>\d*)(?P<unit>[smhd])/(?P<per>user|ip)")


@dataclass(frozen=True)
class Rate:
    amount: int
    seconds: int
    per: str  # "user" (the IP address for a request without a user) or "ip"

    def __str__(self):
        return f"{self.amount}/{self.seconds}s/{self.per}"


def parse_rates(text: str) -> list[Rate]:
    """'20/m/user,60/m/ip' -> two Rates. An empty text means no limit. Raises ValueError on a typo."""
    rates = []
    for part in filter(None, (piece.strip() for piece in (text or "").split(","))):
        match = RATE.fullmatch(part)
        if match is None:
            raise ValueError(f"Not a rate: {part!r} (write it like 20/m/user or 60/5m/ip).")
        seconds = int(match["multiple"] or 1) * PERIODS[match["unit"]]
        rates.append(Rate(int(match["amount"]), seconds, match["per"]))
    return rates


def _check_settings() -> None:
    """A typo in HOLDFAST_RATE_LIMITS stops the site when it loads its URLs, not at the first booking."""
    for action, text in settings.HOLDFAST_RATE_LIMITS.items():
        try:
            parse_rates(text)
        except ValueError as error:
            raise ImproperlyConfigured(f"HOLDFAST_RATE_LIMITS[{action!r}]: {error}") from None


_check_settings()


class RateLimited(Exception):
    """Too many attempts at `action`; `retry_after` is the number of seconds to wait."""

    def __init__(self, action: str, retry_after: int):
        self.action = action
        self.retry_after = retry_after
        super().__init__(f"Too many attempts ({action}). Try again in {wait_words(retry_after)}.")


def wait_words(seconds: int) -> str:
    """How long to wait, in the active language: '30 seconds', '1 minute', '3 hours'."""
    if seconds < 60:
        return ngettext("%(count)s second", "%(count)s seconds", seconds) % {"count": seconds}
    minutes = math.ceil(seconds / 60)
    if minutes < 120:
        return ngettext("%(count)s minute", "%(count)s minutes", minutes) % {"count": minutes}
    hours = math.ceil(minutes / 60)
    return ngettext("%(count)s hour", "%(count)s hours", hours) % {"count": hours}


def client_ip(request) -> str:
    from allauth.account.adapter import get_adapter

    try:
        ip = get_adapter().get_client_ip(request)
    except PermissionDenied:  # no address at all (not over HTTP): one shared bucket
        return "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:  # one machine usually has a whole /64
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return ip


def _identity(request, rate: Rate, user) -> str:
    if rate.per == "user" and user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    # Keyed with SECRET_KEY: the counts table cannot be read back into addresses.
    return "ip:" + salted_hmac("holdfast.ratelimit", client_ip(request), algorithm="sha256").hexdigest()[:32]


def hit(request, action: str, *, user=None, now: float | None = None) -> int | None:
    """Count one attempt at `action`. None when it is allowed; otherwise the seconds until it is.

    `user` defaults to request.user (give the API's request.auth there). Every rate of the action
    counts the attempt, refused or not: hammering does not reset anything.
    """
    rates = parse_rates(settings.HOLDFAST_RATE_LIMITS.get(action, ""))
    if not rates:
        return None
    if user is None:
        user = getattr(request, "user", None)
    now = time.time() if now is None else now
    windows = [(rate, int(now // rate.seconds)) for rate in rates]
    keys = [f"{action}:{rate}:{_identity(request, rate, user)}:{window}" for rate, window in windows]
    counts = _bump_all(keys, [(window + 1) * rate.seconds for rate, window in windows])
    retry_after = None
    for (rate, window), key in zip(windows, keys, strict=True):
        if counts[key] > rate.amount:
            wait = max(1, math.ceil((window + 1) * rate.seconds - now))
            retry_after = max(retry_after or 0, wait)
    return retry_after


# Every rate of one attempt in one statement: a row per window, counted once per rate of that key
# (EXCLUDED.count: one statement may not update a row twice).
COUNT_SQL = (
    "INSERT INTO core_ratecounter (key, count, expires_at) VALUES {rows} "
    "ON CONFLICT (key) DO UPDATE SET count = core_ratecounter.count + EXCLUDED.count RETURNING key, count"
)


def _bump(key: str, *, expires_at: float) -> int:
    """Add one to the window's count and return it: one atomic statement, whatever the concurrency."""
    return _bump_all([key], [expires_at])[key]


def _bump_all(keys: list[str], expires_at: list[float]) -> dict[str, int]:
    """Add one to each window's count, all in one atomic statement, and return the counts by key."""
    hits: dict[str, list] = {}
    for key, expires in zip(keys, expires_at, strict=True):
        hits.setdefault(key, [0, expires])[0] += 1
    # In key order: two statements that share rows lock them in the same order.
    params = [value for key, (count, expires) in sorted(hits.items()) for value in (key, count, expires)]
    with connection.cursor() as cursor:
        cursor.execute(COUNT_SQL.format(rows=", ".join(["(%s, %s, to_timestamp(%s))"] * len(hits))), params)
        return dict(cursor.fetchall())


def forget_old_windows(*, now: float | None = None) -> int:
    """Delete the counts of windows that have ended (a periodic job)."""
    now = time.time() if now is None else now
    deleted, _ = RateCounter.objects.filter(expires_at__lt=datetime.fromtimestamp(now, UTC)).delete()
    return deleted


def check(request, action: str, *, user=None) -> None:
    """Count one attempt at `action`, or raise RateLimited when there were too many."""
    retry_after = hit(request, action, user=user)
    if retry_after is not None:
        raise RateLimited(action, retry_after)


def too_many_page(request, error: RateLimited, *, message: str, back_url: str = "", back_label: str = ""):
    """The HTML answer: templates/429.html with the message and how long to wait, and Retry-After."""
    wait = wait_words(error.retry_after)
    context = {"message": message, "wait": wait, "back_url": back_url, "back_label": back_label}
    response = render(request, "429.html", context, status=429)
    response["Retry-After"] = str(error.retry_after)
    return response
