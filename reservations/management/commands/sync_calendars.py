from django.core.management.base import BaseCommand, CommandError

from reservations.services import channels
from spaces.models import CalendarFeed


class Command(BaseCommand):
    help = (
        "Fetch the booking channels' calendar feeds and block the nights they sold (every active feed, "
        "or those given by id). Exits 1 when a feed could not be synced."
    )

    def add_arguments(self, parser):
        parser.add_argument("feed", nargs="*", type=int, help="Feed ids (default: every active feed).")

    def handle(self, *args, feed, **options):
        if feed:
            feeds = list(CalendarFeed.objects.filter(pk__in=feed).order_by("pk"))
            missing = set(feed) - {found.pk for found in feeds}
            if missing:
                raise CommandError(f"No calendar feed with id {', '.join(map(str, sorted(missing)))}.")
            results = [channels.sync_feed(found) for found in feeds]
        else:
            results = channels.sync_all()
        for result in results:
            (self.stdout if result.ok else self.stderr).write(str(result))
        failed = sum(not result.ok for result in results)
        self.stdout.write(f"Synced {len(results) - failed} of {len(results)} feed(s).")
        if failed:
            raise SystemExit(1)
