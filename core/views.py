from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, InterfaceError, connection
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.templatetags.static import static
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views import i18n as i18n_views
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from icalendar import Calendar, Event


@never_cache
def healthz(request):
    """200 when the database answers, 503 when it does not: for load balancers and monitors."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except (DatabaseError, InterfaceError):  # InterfaceError: a connection closed under us
        return JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links: send them to the site's mark
    (static/favicon.svg, the file the pages link), not a 404. Temporary, as the static file's
    hashed name changes with it; browsers keep the answer a day."""
    response = HttpResponseRedirect(static("favicon.svg"))
    patch_cache_control(response, public=True, max_age=24 * 60 * 60)
    return response


DEMO_CHANNEL_STAYS = [(3, 4), (12, 2), (26, 5)]  # (days from today, nights): what the demo channel sold


def demo_channel(request):
    """A booking channel's calendar for the demo (`make run`): an Airbnb-shaped export of a few stays
    from today on, which seed_demo gives one of Harbour Inn's rooms as a feed, so the sync has
    something to block. Only where HOLDFAST_DEMO_CHANNEL is on (development)."""
    if not settings.HOLDFAST_DEMO_CHANNEL:
        raise Http404
    today = timezone.localdate()
    calendar = Calendar()
    calendar.add("prodid", "-//Holdfast demo channel//Hosting Calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    for offset, nights in DEMO_CHANNEL_STAYS:
        arrival = today + timedelta(days=offset)
        event = Event()
        event.add("uid", f"demo-{offset}-{nights}@channel.example")
        event.add("dtstart", arrival)
        event.add("dtend", arrival + timedelta(days=nights))
        event.add("summary", "Reserved")
        calendar.add_component(event)
    return HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")


@require_POST
def set_language(request):
    """The footer's language choice: Django's set_language (the cookie, a safe `next`), and for a
    guest who is logged in also their saved preference, which e-mails and every later visit follow."""
    response = i18n_views.set_language(request)
    language = request.POST.get("language", "")
    user = request.user
    if user.is_authenticated and hasattr(user, "language") and language in dict(settings.LANGUAGES):
        user.language = language
        user.save(update_fields=["language"])
    return response
