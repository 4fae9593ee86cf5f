"""The reservations as CSV, exactly as the admin's list shows them: every page, streamed."""

import csv

from django.http import StreamingHttpResponse

CSV_COLUMNS = [
    "reference",
    "venue",
    "space",
    "local start",
    "local end",
    "time zone",
    "party size",
    "status",
    "guest name",
    "guest e-mail",
    "guest phone",
    "notes",
    "created at",
]


class _Echo:
    """csv.writer writes a row into this and we hand the line straight to the response."""

    def write(self, value):
        return value


def _cell(value: str) -> str:
    # A guest-typed value starting like a formula would run as one in a spreadsheet (CSV injection).
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def reservation_csv_rows(queryset):
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    # iterator(): the export may be the whole table; rows are streamed, not held in memory.
    for reservation in queryset.select_related("space__venue", "guest").iterator(chunk_size=500):
        venue = reservation.space.venue
        guest = reservation.guest
        yield writer.writerow(
            [
                reservation.reference,
                venue.name,
                reservation.space.name,
                reservation.starts_at.astimezone(venue.zone).strftime("%Y-%m-%d %H:%M"),
                reservation.ends_at.astimezone(venue.zone).strftime("%Y-%m-%d %H:%M"),
                venue.time_zone,
                reservation.party_size,
                reservation.get_status_display(),
                _cell(guest.name) if guest else "",
                _cell(guest.email) if guest else "",
                _cell(guest.phone) if guest else "",
                _cell(reservation.notes),
                reservation.created_at.isoformat(timespec="seconds"),
            ]
        )


def reservations_csv_response(queryset) -> StreamingHttpResponse:
    response = StreamingHttpResponse(reservation_csv_rows(queryset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="reservations.csv"'
    return response
