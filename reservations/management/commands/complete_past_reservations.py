from django.core.management.base import BaseCommand

from reservations.services import complete_past_reservations


class Command(BaseCommand):
    help = "Mark confirmed reservations that have ended as completed."

    def handle(self, *args, **options):
        count = complete_past_reservations()
        self.stdout.write(f"Completed {count} reservation(s).")
