"""CI's check of the translation catalogues: every entry of every language translated and none
fuzzy, and `makemessages` would add or drop nothing (a string marked in the code without its
translations fails the build). Needs GNU gettext (makemessages uses xgettext); .ci/run installs it."""

import os
import shutil
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def _ids(po: Path) -> set:
    with po.open("rb") as source:
        return {
            (message.context, message.id if isinstance(message.id, str) else message.id[0])
            for message in read_po(source)
            if message.id
        }


def _problems(po: Path) -> list[str]:
    with po.open("rb") as source:
        catalogue = read_po(source)
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if message.fuzzy:
            problems.append(f"{po}: fuzzy: {message.id!r}")
        elif not all(strings):
            problems.append(f"{po}: untranslated: {message.id!r}")
    return problems


class Command(BaseCommand):
    help = "Fail when a catalogue has an untranslated or fuzzy entry, or makemessages would change one."

    def handle(self, *args, **options):
        locale = Path(settings.LOCALE_PATHS[0])
        languages = sorted(path.name for path in locale.iterdir() if (path / "LC_MESSAGES").is_dir())
        if not languages:
            raise CommandError(f"No catalogues in {locale}.")
        problems = [problem for po in sorted(locale.glob("*/LC_MESSAGES/*.po")) for problem in _problems(po)]
        if shutil.which("xgettext") is None:
            if os.environ.get("CI"):
                raise CommandError("GNU gettext (xgettext) is needed to check the catalogues against the code.")
            self.stderr.write("GNU gettext is not installed: not checking the catalogues against the code.")
            return self._report(problems, languages)
        with tempfile.TemporaryDirectory() as saved:
            backup = Path(saved) / "locale"
            shutil.copytree(locale, backup)
            try:
                before = {po.relative_to(locale): _ids(po) for po in locale.glob("*/LC_MESSAGES/*.po")}
                call_command(
                    "makemessages",
                    *[f"--locale={language}" for language in languages],
                    "--no-obsolete",
                    "--ignore=.venv/*",
                    "--ignore=tests/*",
                    "--ignore=bench/*",
                    "--ignore=staticfiles/*",
                    verbosity=0,
                )
                after = {po.relative_to(locale): _ids(po) for po in locale.glob("*/LC_MESSAGES/*.po")}
            finally:
                shutil.rmtree(locale)
                shutil.copytree(backup, locale)
        for name in sorted(set(before) | set(after), key=str):
            added, dropped = (
                after.get(name, set()) - before.get(name, set()),
                before.get(name, set()) - after.get(name, set()),
            )
            for _context, msgid in sorted(added, key=str):
                problems.append(f"{name}: marked in the code but not in the catalogue: {msgid!r}")
            for _context, msgid in sorted(dropped, key=str):
                problems.append(f"{name}: in the catalogue but no longer in the code: {msgid!r}")
        return self._report(problems, languages)

    def _report(self, problems, languages):
        if problems:
            for problem in problems[:200]:
                self.stderr.write(problem)
            raise CommandError(f"{len(problems)} problem(s) in the translation catalogues; run `make messages`.")
        self.stdout.write(f"Catalogues complete: {', '.join(languages)}.")
