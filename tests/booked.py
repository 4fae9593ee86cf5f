"""Bookings written straight to the database, as the services would leave them, for tests that need
rows the rules would refuse now (in the past, past a cut-off) or many of them fast."""

from reservations.models import Reservation, SpaceClaim


def write_directly(*reservations: Reservation) -> list[Reservation]:
    """Save the unsaved `reservations` with the claim on its space each would hold (no buffer)."""
    saved = Reservation.objects.bulk_create(reservations)
    SpaceClaim.objects.bulk_create(
        SpaceClaim(
            reservation=reservation,
            space_id=reservation.space_id,
            starts_at=reservation.starts_at,
            ends_at=reservation.ends_at,
            active=reservation.status in Reservation.ACTIVE_STATUSES,
        )
        for reservation in saved
    )
    return saved
