from django.core.management.base import BaseCommand, CommandError

from payments.services import inconsistencies


class Command(BaseCommand):
    help = "Report payments and bookings that disagree; exits non-zero when there are any."

    def handle(self, *args, **options):
        problems = inconsistencies()
        for problem in problems:
            self.stdout.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} payment inconsistenc{'y' if len(problems) == 1 else 'ies'} found.")
        self.stdout.write("Payments and bookings agree.")
