"""Set the lock and statement timeouts on the database role, where pgbouncer cannot strip them.

Without a pooler every connection asks for them at start-up (libpq's `options`, see
config/settings/base.py). pgbouncer in transaction mode refuses such startup options, so behind it
(HOLDFAST_DB_POOLER=pgbouncer) the timeouts live on the role: ALTER ROLE ... SET, which PostgreSQL
applies to every connection it opens for that role afterwards. pgbouncer keeps the server connections
it already has (with the old values) until server_lifetime: RECONNECT on its admin console renews them.
"""

import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _
from psycopg import sql


def expected_timeouts() -> dict[str, int]:
    return {"lock_timeout": settings.DB_LOCK_TIMEOUT_MS, "statement_timeout": settings.DB_STATEMENT_TIMEOUT_MS}


def current_timeouts() -> dict[str, int]:
    """What a new connection to the default database gets, in milliseconds (0: no timeout)."""
    params = connection.get_connection_params()
    for key in ("pool", "cursor_factory", "context"):
        params.pop(key, None)
    with psycopg.connect(**params, autocommit=True) as conn:
        return {
            name: conn.execute("SELECT setting::int FROM pg_settings WHERE name = %s", [name]).fetchone()[0]
            for name in expected_timeouts()
        }


class Command(BaseCommand):
    help = _(
        "Set lock_timeout and statement_timeout on the database role (needed behind pgbouncer, which "
        "refuses startup options); --check only compares a new connection's values with the settings."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help=_("Only report; fail if a value differs."))

    def handle(self, *args, check=False, **options):
        wanted = expected_timeouts()
        if check:
            found = current_timeouts()
            wrong = [
                _("%(name)s is %(found)s ms, not %(wanted)s ms") % {"name": n, "found": found[n], "wanted": wanted[n]}
                for n in wanted
                if found[n] != wanted[n]
            ]
            if wrong:
                raise CommandError(
                    _("New connections differ from the settings: %(wrong)s. Run manage.py set_database_timeouts.")
                    % {"wrong": "; ".join(wrong)}
                    + behind_pgbouncer()
                )
            self.stdout.write(_("New connections have the configured timeouts (%(set)s).") % {"set": describe(wanted)})
            return
        with connection.cursor() as cursor:
            for name, milliseconds in wanted.items():
                statement = sql.SQL("ALTER ROLE CURRENT_USER SET {} = {}").format(
                    sql.Identifier(name), sql.Literal(f"{int(milliseconds)}ms")
                )
                cursor.execute(statement.as_string(cursor.connection))
        self.stdout.write(
            _("Set %(set)s on the role; they apply to connections opened from now on.") % {"set": describe(wanted)}
            + behind_pgbouncer()
        )


def describe(timeouts: dict[str, int]) -> str:
    return ", ".join(f"{name} = {milliseconds} ms" for name, milliseconds in timeouts.items())


def behind_pgbouncer() -> str:
    if settings.DB_POOLER != "pgbouncer":
        return ""
    return " " + _("Behind pgbouncer: RECONNECT on its admin console renews the server connections it already has.")
