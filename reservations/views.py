from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, render

from reservations.models import Reservation
from reservations.selectors import guest_reservations


def _visible_reservation(request, reference) -> Reservation:
    """The reservation if it is the user's own (or the user is staff); otherwise 404, never 403."""
    reservation = get_object_or_404(Reservation.objects.select_related("space__venue", "guest"), reference=reference)
    if not (request.user.is_staff or reservation.guest_id == request.user.pk):
        raise Http404("No such reservation.")
    return reservation


@login_required
def my_reservations(request):
    context = {
        "upcoming": guest_reservations(guest=request.user, when="upcoming"),
        "past": guest_reservations(guest=request.user, when="past"),
    }
    return render(request, "reservations/list.html", context)


@login_required
def detail(request, reference):
    reservation = _visible_reservation(request, reference)
    events = reservation.events.select_related("actor")
    return render(request, "reservations/detail.html", {"reservation": reservation, "events": events})
