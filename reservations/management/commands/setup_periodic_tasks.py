from django.core.management.base import BaseCommand

from reservations.schedule import PERIODIC_TASKS, register_periodic_tasks


class Command(BaseCommand):
    help = "Register the periodic jobs (reminders, e-mail sweep, hold expiry...) with the scheduler."

    def handle(self, *args, **options):
        count = register_periodic_tasks()
        for task, (seconds, description) in PERIODIC_TASKS.items():
            self.stdout.write(f"  every {seconds:>4} s  {task}  ({description})")
        self.stdout.write(f"Registered {count} periodic task(s).")
