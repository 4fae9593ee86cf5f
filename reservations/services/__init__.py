"""Where booking is decided: the only way to create, confirm, modify, cancel or end a reservation.

By concern:
- `rules`: the venue's rules, checked before anything is written (periods, closures, which spaces
  fit, cut-offs, who may act);
- `allocation`: taking a space for a period under its lock, never double-booking;
- `transitions`: the one place a status changes (row, history event, outbox message);
- `lifecycle`: hold, confirm, modify, cancel, expire, no-show: what views, the API, admin actions and
  tasks call;
- `on_the_day`: arrived, seated, no-show;
- `housekeeping`: expiring, completing and purging, for periodic tasks and commands.

The public functions are importable from here (`from reservations.services import reservation_hold`).
"""

from reservations.services.allocation import claims_in_the_way
from reservations.services.housekeeping import complete_past_reservations, expire_stale_holds, purge_reservations
from reservations.services.lifecycle import (
    hold_ceiling,
    reservation_book,
    reservation_cancel,
    reservation_confirm,
    reservation_confirm_paid,
    reservation_expire_hold,
    reservation_extend_hold,
    reservation_hold,
    reservation_modify,
    reservation_modify_preview,
)
from reservations.services.on_the_day import (
    reservation_mark_arrived,
    reservation_mark_no_show,
    reservation_mark_seated,
)
from reservations.services.rules import (
    MAX_NIGHTS,
    MAX_PARTY_SIZE,
    cancellation_deadline,
    check_period,
    modification_deadline,
    period_for,
)

__all__ = [
    "MAX_NIGHTS",
    "MAX_PARTY_SIZE",
    "cancellation_deadline",
    "claims_in_the_way",
    "check_period",
    "complete_past_reservations",
    "expire_stale_holds",
    "hold_ceiling",
    "modification_deadline",
    "period_for",
    "purge_reservations",
    "reservation_book",
    "reservation_cancel",
    "reservation_confirm",
    "reservation_confirm_paid",
    "reservation_expire_hold",
    "reservation_extend_hold",
    "reservation_hold",
    "reservation_mark_arrived",
    "reservation_mark_no_show",
    "reservation_mark_seated",
    "reservation_modify",
    "reservation_modify_preview",
]
