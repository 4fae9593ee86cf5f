"""Compile the translation catalogues (locale/*/LC_MESSAGES/django.po) into the .mo files Django
reads, with Babel: pure Python, so `make run` and `make test` need no GNU gettext. The .mo files are
build output (.gitignore): every start compiles them from the .po files, which are the source."""

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Compile locale/*/LC_MESSAGES/*.po into .mo files (when the .po is newer)."

    def handle(self, *args, **options):
        compiled = 0
        for folder in settings.LOCALE_PATHS:
            for po in sorted(Path(folder).glob("*/LC_MESSAGES/*.po")):
                mo = po.with_suffix(".mo")
                if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                    continue
                with po.open("rb") as source:
                    catalogue = read_po(source, locale=po.parent.parent.name)
                with mo.open("wb") as target:
                    write_mo(target, catalogue, use_fuzzy=False)
                compiled += 1
        if options["verbosity"]:
            self.stdout.write(f"Compiled {compiled} catalogue(s).")
