"""The JSON API under /api/: the brief's endpoints for mobile apps and partner sites.

It calls the same services and selectors as the HTML pages; no rule lives here. Browsers
authenticate with the Django session (CSRF on unsafe methods), apps with the session token that
django-allauth's headless API issues (`X-Session-Token`). Every error is JSON with a `detail`.
"""

from allauth.headless.contrib.ninja.security import x_session_token_auth
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import django_auth

from reservations.api import router as reservations_router
from reservations.exceptions import BookingError, HoldExpired, NotAllowed, SlotUnavailable
from spaces.api import router as venues_router

api = NinjaAPI(
    title="Holdfast API",
    version="1.0",
    description="Venues, availability and reservations. Times are ISO 8601 with the venue's UTC offset.",
    auth=[x_session_token_auth, django_auth],
    urls_namespace="api",
)
api.add_router("/", venues_router)
api.add_router("/", reservations_router)


def _field_name(location) -> str:
    # ("body", "payload", "party_size") -> "party_size"; ("query", "date") -> "date"
    parts = [str(part) for part in location if part not in ("body", "payload", "query", "path")]
    return ".".join(parts) or "body"


@api.exception_handler(ValidationError)
def invalid_input(request, error: ValidationError):
    errors = [
        {"field": _field_name(item.get("loc", ())), "message": item.get("msg", "Invalid value.")}
        for item in error.errors
    ]
    detail = "; ".join(f"{item['field']}: {item['message']}" for item in errors)
    return api.create_response(request, {"detail": detail, "errors": errors}, status=422)


@api.exception_handler(BookingError)
def booking_refused(request, error: BookingError):
    if isinstance(error, NotAllowed):
        return api.create_response(request, {"detail": "Reservation not found."}, status=404)
    status = 409 if isinstance(error, SlotUnavailable | HoldExpired) else 422
    body = {"detail": error.message}
    if error.field:
        body["field"] = error.field
    return api.create_response(request, body, status=status)


@api.exception_handler(Http404)
def not_found(request, error):
    return api.create_response(request, {"detail": str(error) or "Not found."}, status=404)


@api.exception_handler(AuthenticationError)
def not_logged_in(request, error):
    return api.create_response(
        request, {"detail": "Log in first (a session, or an X-Session-Token header)."}, status=401
    )


@api.exception_handler(HttpError)
def http_error(request, error: HttpError):
    return api.create_response(request, {"detail": str(error)}, status=error.status_code)
