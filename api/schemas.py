"""What every part of the API shares: the error body, the statuses an operation declares, and the
string and time types that refuse what PostgreSQL or a venue's clock cannot hold."""

from datetime import time
from typing import Annotated

from ninja import Schema
from pydantic import AfterValidator, WithJsonSchema

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
        raise ValueError("NUL characters are not allowed")
    return value


# Every string the API takes, in a path, a query or a body.
Text = Annotated[str, AfterValidator(_without_nul)]
