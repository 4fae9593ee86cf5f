from django.core.management.base import BaseCommand

from core.schedule import periodic_tasks, register_periodic_tasks


class Command(BaseCommand):
    help = "Register the periodic jobs (reminders, e-mail sweep, hold expiry...) with the scheduler."

    def handle(self, *args, **options):
        count = register_periodic_tasks()
        for task, (seconds, description) in periodic_tasks().items():
            self.stdout.write(f"  every {seconds:>4} s  {task}  ({description})")
        self.stdout.write(f"Registered {count} periodic task(s).")
