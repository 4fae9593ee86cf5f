"""Where the booking services call the apps above them, without importing them.

`reservations` knows nothing of payments, yet a hold must know whether money is taken up front, a
confirmation whether it has been paid, a cancellation must give money back, a purge must keep the
bookings money was involved in, and a hold that ends must close its payment page. Each of those is a
hook point below. An app above registers its functions at start-up, in its `AppConfig.ready()`
(payments: PaymentsConfig.ready), the way Django's own apps wire themselves; nothing is found by a
hidden import or a signal.

Receivers run in the caller's transaction, in a fixed order: by `order`, then by registration
(INSTALLED_APPS order). An exception in a receiver rolls back the whole change that called it.

| hook point         | called by                         | asks / tells                                   |
| ------------------ | --------------------------------- | ---------------------------------------------- |
| `collects_payment` | pricing.amount_due (on hold)      | `(venue) -> bool`: is money taken online here? |
| `is_paid`          | reservation_confirm               | `(reservation) -> bool`: up-front payment in?  |
| `cancelled`        | reservation_cancel, after the     | `(reservation, *, by_staff, actor, now)`:      |
|                    | status change and its event,      | payments refunds what the venue's policy says  |
|                    | before the transaction commits    |                                                |
| `retained`         | purge_reservations                | `() -> QuerySet of reservation ids` to keep    |
| `balance`          | reservation_modify                | `(reservation) -> Decimal`: paid online, less  |
|                    |                                   | what was refunded                              |
| `repriced`         | reservation_modify, after the     | `(reservation, *, moved_from, balance, actor,  |
|                    | change of a paid booking          | by_staff, now)`: payments refunds what the     |
|                    |                                   | lower price leaves over, and caps refunds of a |
|                    |                                   | moved booking                                  |
| `hold_ended`       | expiring a hold, releasing one    | `(reservation)`: payments closes its open      |
|                    | (in the same transaction)         | Checkout Session (after commit)                |
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Hook:
    name: str
    receivers: list[tuple[int, int, Callable]] = field(default_factory=list)

    def register(self, receiver: Callable, *, order: int = 100) -> Callable:
        """Add `receiver` (once; registering it again changes nothing). Lower `order` runs first."""
        if all(existing is not receiver for _, _, existing in self.receivers):
            self.receivers.append((order, len(self.receivers), receiver))
            self.receivers.sort(key=lambda entry: entry[:2])
        return receiver

    def unregister(self, receiver: Callable) -> None:
        self.receivers = [entry for entry in self.receivers if entry[2] is not receiver]

    def call(self, *args, **kwargs) -> list:
        """Run every receiver in order; their answers in the same order."""
        return [receiver(*args, **kwargs) for _, _, receiver in self.receivers]

    def any(self, *args, **kwargs) -> bool:
        """Does any receiver answer yes? False when none is registered."""
        return any(self.call(*args, **kwargs))


collects_payment = Hook("collects_payment")
is_paid = Hook("is_paid")
cancelled = Hook("cancelled")
retained = Hook("retained")
hold_ended = Hook("hold_ended")
balance = Hook("balance")
repriced = Hook("repriced")
