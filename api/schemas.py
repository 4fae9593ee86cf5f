"""What every part of the API shares: the error body, the statuses an operation declares, and the
string and time types that refuse what PostgreSQL or a venue's clock cannot hold."""

from datetime import time
from typing import Annotated

from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import AfterValidator, WithJsonSchema

from accounts import phones

# A wall-clock time in the venue's zone, "15:00:00". Not JSON Schema's "time" format: that is RFC
# 3339's full-time, which must carry a UTC offset, and a check-in time has none (it follows DST).
LocalTime = Annotated[
    time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{2}:\d{2}:\d{2}(\.\d+)?$",
            "description": "Local time at the venue, HH:MM:SS.",
        }
    ),
]


class FieldErrorOut(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    """Every error answer (api/site.py): `detail` in words; a broken venue rule names its `field`,
    invalid input lists `errors` per field."""

    detail: str
    field: str | None = None
    reference: str | None = None  # a booking that was kept although the request failed (503 on checkout)
    errors: list[FieldErrorOut] | None = None


def error_responses(*codes: int) -> dict:
    """The error statuses an operation may answer, declared in the schema with their body. Every
    operation may answer 429 (api/site.py throttles the whole API)."""
    return {frozenset({*codes, 429}): ErrorOut}


def _without_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL: refused as invalid input here, not a 500 from the database.
    if "\x00" in value:
        raise ValueError(_("NUL characters are not allowed"))
    return value


# Every string the API takes, in a path, a query or a body.
Text = Annotated[str, AfterValidator(_without_nul)]


# The name and phone a booking is under when not the account's (booking for someone else). The phone
# as typed ("030 1234567", "+49 30 1234567"): api/reservations.py reads it with accounts.phones, and
# one that is not a phone number is refused with 422 {"detail", "field": "contact_phone"}.
ContactName = Annotated[
    Text,
    Field(max_length=150, description="The name the booking is under, when not the account's. Empty: the account's."),
]
ContactPhone = Annotated[
    Text,
    Field(
        max_length=phones.MAX_TYPED_LENGTH,
        description="The phone the venue calls about the booking, when not the account's: with its country "
        "code (+49 30 1234567) or as dialled in the site's country. Stored and answered in E.164.",
    ),
]
