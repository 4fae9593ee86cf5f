"""While the database is unreachable (restarting, failing over, a network cut), answer 503 with
Retry-After: a clear "try again" instead of a 500 that reads like a bug.

API clients (`/api/`, allauth's `/_allauth/`, and anyone who prefers JSON) get
`{"detail": "The service is temporarily unavailable; please try again."}`; browsers get
templates/503.html. The answer touches no database, session or user: they are what is missing.
The connection heals by itself: with CONN_HEALTH_CHECKS the next request after the database
returns drops the dead connection and opens a new one (tests/faults/test_database_restart.py).
"""

import logging
import sys

from django.core.signals import got_request_exception
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext, gettext_lazy
from psycopg_pool import PoolTimeout

from core.db import last_connect_error

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
DETAIL = gettext_lazy("The service is temporarily unavailable; please try again.")
RETRY_AFTER_SECONDS = 30
BUSY_DETAIL = gettext_lazy("The service is busy; please try again in a moment.")
BUSY_RETRY_AFTER_SECONDS = 2
BUSY_SQLSTATES = {
    "55P03": "lock wait timeout",  # lock_not_available
    "57014": "statement timeout",  # query_canceled
    "40P01": "deadlock",  # deadlock_detected
    "40001": "serialization failure",
}
JSON_PATH_PREFIXES = ("/api/", "/_allauth/")


def plain_page() -> str:
    """When even the template cannot be rendered (a missing static files manifest, say), still say why."""
    title = gettext("Temporarily unavailable")
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} · Holdfast</title>'
        f"</head><body><h1>{title}</h1><p>{DETAIL}</p></body></html>"
    )


def wants_json(request) -> bool:
    if request.path_info.startswith(JSON_PATH_PREFIXES):
        return True
    return request.get_preferred_type(["text/html", "application/json"]) == "application/json"


def busy_reason(error: Exception | None) -> str | None:
    """Why the database gave up on a request that it did reach: every connection of the process's pool
    busy past HOLDFAST_DB_POOL_TIMEOUT, a lock not granted within lock_timeout,
    a statement past statement_timeout, a deadlock or serialization failure left after the services'
    retries. None for everything else (the database could not be reached: an outage)."""
    cause = getattr(error, "__cause__", None)
    if isinstance(cause, PoolTimeout):
        # Every connection in use while new ones open fine: a burst. While they cannot be opened: an outage.
        return None if last_connect_error() is not None else "no free connection in the pool"
    return BUSY_SQLSTATES.get(getattr(cause, "sqlstate", None))


def unavailable_response(request, error: Exception | None = None) -> HttpResponse:
    """The 503 answer: JSON for API clients, the 503 page for browsers; never cached. A database that
    answered but was too busy (see busy_reason) says so, with a short Retry-After."""
    busy = busy_reason(error)
    if busy is not None:
        logger.warning("Database busy for %s %s: %s", request.method, request.path, busy)
    elif error is not None:
        logger.warning("Database unavailable for %s %s: %s", request.method, request.path, type(error).__name__)
    if wants_json(request):
        response = JsonResponse({"detail": str(BUSY_DETAIL if busy else DETAIL)}, status=503)
    else:
        try:
            page = render_to_string("503.html", {"busy": busy is not None})
        except Exception:  # any rendering failure: the plain page says the same
            page = plain_page()
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS if busy else RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


def database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except (DatabaseError, InterfaceError):
        return False
    return True


def answer_unreadable(request, error):
    """django-ninja's handler for a pydantic ValidationError: in the API only the answer's schema raises
    one (ninja turns invalid input into its own ValidationError).

    Reading the answer can need the database (a booking's space and venue, say). When that read fails,
    pydantic reports "Error extracting attribute: OperationalError ..." as a validation error instead
    of the database error itself. When the database is indeed gone, answer 503; otherwise it is a bug.
    """
    if any(item["type"] == "get_attribute_error" for item in error.errors()) and not database_answers():
        return unavailable_response(request, error)
    raise error


class DatabaseUnavailableMiddleware:
    """Turn OperationalError / InterfaceError into 503, wherever in the request they happen."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, "database_unavailable", False):
            # The database failed outside a view (a session saved on the way out, a 404 page asking
            # who is logged in): Django already made a 500 of it, which process_exception never sees.
            return unavailable_response(request)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, DATABASE_UNAVAILABLE):
            return unavailable_response(request, exception)
        return None


def _note_database_failure(sender, request=None, **kwargs):
    # Sent by Django while it handles an exception no middleware answered; sys.exc_info() is that one.
    error = sys.exc_info()[1]
    if request is not None and isinstance(error, DATABASE_UNAVAILABLE):
        request.database_unavailable = True


got_request_exception.connect(_note_database_failure, dispatch_uid="holdfast-database-unavailable")
