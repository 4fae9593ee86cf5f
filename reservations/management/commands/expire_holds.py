from django.core.management.base import BaseCommand

from reservations.services import expire_stale_holds


class Command(BaseCommand):
    help = "Expire every hold whose time ran out (runs every minute from the scheduler)."

    def handle(self, *args, **options):
        count = expire_stale_holds()
        self.stdout.write(f"Expired {count} hold(s).")
