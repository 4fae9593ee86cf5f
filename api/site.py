"""The JSON API under /api/: the brief's endpoints for mobile apps and partner sites.

It calls the same services and selectors as the HTML pages; no rule lives here. Browsers
authenticate with the Django session (CSRF on unsafe methods), apps with the session token that
django-allauth's headless API issues (`X-Session-Token`). Every error is JSON with a `detail`.
"""

import pydantic
from allauth.headless.contrib.ninja.security import XSessionTokenAuth as AllauthXSessionTokenAuth
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.security import SessionAuth as NinjaSessionAuth

from accounts.two_factor import TwoFactorRequired
from api.reservations import router as reservations_router
from api.throttle import ApiThrottle
from api.venues import router as venues_router
from api.waitlist import router as waitlist_router
from core.outage import answer_unreadable, unavailable_response
from core.ratelimit import RateLimited, wait_words
from payments.services import PaymentUnavailable
from reservations.exceptions import BookingError, HoldExpired, NotAllowed, SlotUnavailable


class XSessionTokenAuth(AllauthXSessionTokenAuth):
    """allauth's session token, declared in full: an OpenAPI apiKey scheme needs `in` and `name`."""

    openapi_in = "header"
    openapi_name = "X-Session-Token"


class SessionAuth(NinjaSessionAuth):
    """The browser's Django session, with CSRF checked on unsafe methods."""

    def __call__(self, request):
        # CSRF protects a logged-in session; without one there is nothing to forge. Answering 401
        # here (not ninja's CSRF 403) tells an app whose session token has expired to log in again.
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)


api = NinjaAPI(
    title="Holdfast API",
    version="1.0",
    description="Venues, availability and reservations. Times are ISO 8601 with the venue's UTC offset.",
    auth=[XSessionTokenAuth(), SessionAuth()],
    # Every call counts against the "api" rates of HOLDFAST_RATE_LIMITS (core/ratelimit.py): 429 + Retry-After.
    throttle=ApiThrottle(),
    urls_namespace="api",
)
api.add_router("/", venues_router)
api.add_router("/", reservations_router)
api.add_router("/", waitlist_router)


def _field_name(location) -> str:
    # ("body", "payload", "party_size") -> "party_size"; ("query", "date") -> "date"
    parts = [str(part) for part in location if part not in ("body", "payload", "query", "path")]
    return ".".join(parts) or "body"


@api.exception_handler(ValidationError)
def invalid_input(request, error: ValidationError):
    errors = [
        {"field": _field_name(item.get("loc", ())), "message": item.get("msg", _("Invalid value."))}
        for item in error.errors
    ]
    detail = "; ".join(f"{item['field']}: {item['message']}" for item in errors)
    return api.create_response(request, {"detail": detail, "errors": errors}, status=422)


@api.exception_handler(PaymentUnavailable)
def payment_unavailable(request, error: PaymentUnavailable):
    # Stripe could not be reached: nothing was charged and the hold stands; the reference lets the app
    # try again with POST /api/reservations/{reference}/checkout.
    body = {"detail": error.message, **({"reference": error.reference} if error.reference else {})}
    response = api.create_response(request, body, status=503)
    response["Retry-After"] = "5"
    return response


@api.exception_handler(BookingError)
def booking_refused(request, error: BookingError):
    if isinstance(error, NotAllowed):
        return api.create_response(request, {"detail": _("Reservation not found.")}, status=404)
    status = 409 if isinstance(error, SlotUnavailable | HoldExpired) else 422
    body = {"detail": error.message}
    if error.field:
        body["field"] = error.field
    return api.create_response(request, body, status=status)


@api.exception_handler(TwoFactorRequired)
def two_factor_required(request, error: TwoFactorRequired):
    return api.create_response(request, {"detail": error.message}, status=403)


@api.exception_handler(Http404)
def not_found(request, error):
    return api.create_response(request, {"detail": str(error) or _("Not found.")}, status=404)


@api.exception_handler(AuthenticationError)
def not_logged_in(request, error):
    return api.create_response(
        request, {"detail": _("Log in first (a session, or an X-Session-Token header).")}, status=401
    )


@api.exception_handler(HttpError)
def http_error(request, error: HttpError):
    return api.create_response(request, {"detail": str(error)}, status=error.status_code)


# ninja answers exceptions itself (with a traceback when DEBUG is on): the database being unreachable
# is a 503 with Retry-After here too, the same answer core/outage.py gives the rest of the site.
@api.exception_handler(OperationalError)
@api.exception_handler(InterfaceError)
def database_unavailable(request, error):
    return unavailable_response(request, error)


api.add_exception_handler(pydantic.ValidationError, answer_unreadable)  # the database gone mid-answer


def _too_many(request, retry_after: int | None, too_many: str | None = None):
    detail = too_many or _("Too many requests.")
    if retry_after:
        detail = f"{detail} {_('Try again in %(wait)s.') % {'wait': wait_words(retry_after)}}"
    response = api.create_response(request, {"detail": detail}, status=429)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@api.exception_handler(Throttled)
def throttled(request, error: Throttled):
    # ninja sets Retry-After on this response itself, from ApiThrottle.wait().
    return _too_many(request, int(error.wait) if error.wait else None)


@api.exception_handler(RateLimited)
def rate_limited(request, error: RateLimited):
    return _too_many(request, error.retry_after, too_many=_("Too many booking attempts."))


# Django refuses an oversized body (DATA_UPLOAD_MAX_MEMORY_SIZE) when it is read; on its own that is an
# HTML 400. Here it is JSON, 413 for the size and 400 for too many fields.
@api.exception_handler(RequestDataTooBig)
def body_too_large(request, error):
    return api.create_response(request, {"detail": _("The request body is too large.")}, status=413)


@api.exception_handler(TooManyFieldsSent)
def too_many_fields(request, error):
    return api.create_response(request, {"detail": _("The request has too many fields.")}, status=400)
