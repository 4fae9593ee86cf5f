from django.core.management.base import BaseCommand, CommandError

from reservations.exceptions import BookingError
from reservations.services import purge_reservations


class Command(BaseCommand):
    help = "Delete finished reservations and their history past a retention period."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            required=True,
            metavar="DAYS",
            help="Delete those that ended more than DAYS days ago.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only say what would be deleted.")

    def handle(self, *args, older_than, dry_run, **options):
        try:
            counts = purge_reservations(older_than_days=older_than, dry_run=dry_run)
        except BookingError as error:
            raise CommandError(str(error)) from error
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {counts['reservations']} reservation(s) and {counts['events']} history event(s) "
            f"that ended more than {older_than} day(s) ago."
        )
