"""How amounts, time zones and dates are written for people: one version for pages, e-mails and
messages, in the active language (Babel's data for each locale's currency symbols and separators).

- money: "£110", "€1,234.50", "110 €" in German; a whole amount without ",00".
- zone words: "Berlin time", "New York time" (from the IANA name a venue stores).
- dates: DATE_WITH_DAY ("Fri 14 Nov") in lists and buttons, DATE_LONG ("Friday 14 November 2026")
  in headings and e-mails: the two formats of the glossary (docs/glossary.md).
"""

from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_decimal_symbol
from django.utils.functional import lazy
from django.utils.translation import get_language, gettext, to_locale

# Django date formats per language, chosen when a date is written (lazy: the active language's).
# The day and month names come from Django's own catalogues.
_WITH_DAY = {"de": "D., j. M.", "fr": "D j b", "es": "D j b"}  # Fr., 4. Dez. · ven 4 déc · vie 4 dic
_DATETIME_WITH_DAY = {"de": "D., j. M., H:i", "fr": "D j b H:i", "es": "D j b H:i"}  # Fr., 4. Dez., 19:30
_LONG = {"de": "l, j. F Y", "es": "l j \\d\\e F \\d\\e Y"}  # Freitag, 4. Dezember 2026 · viernes 4 de diciembre de 2026


def _of_language(patterns: dict, default: str):
    def pattern() -> str:
        return patterns.get((get_language() or "en").split("-")[0], default)

    return lazy(pattern, str)()


DATE_WITH_DAY = _of_language(_WITH_DAY, "D j M")  # Fri 4 Dec
DATETIME_WITH_DAY = _of_language(_DATETIME_WITH_DAY, "D j M H:i")  # Fri 4 Dec 19:30
DATE_LONG = _of_language(_LONG, "l j F Y")  # Friday 4 December 2026
TIME = "H:i"


def _locale() -> Locale:
    try:
        return Locale.parse(to_locale(get_language() or "en"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def money(amount, currency: str) -> str:
    """An amount in its currency as the guest's language writes it: "£110", "€12.50"."""
    if amount is None or amount == "":
        return ""
    amount = Decimal(str(amount))
    locale = _locale()
    try:
        text = format_currency(amount, currency, locale=locale)
    except (ValueError, KeyError):
        return f"{amount:.2f} {currency}"
    if amount == amount.to_integral_value():
        decimal = get_decimal_symbol(locale)
        text = text.replace(f"{decimal}00", "", 1)
    return text


def zone_words(zone_name: str) -> str:
    """'Europe/Berlin' -> 'Berlin time'; 'America/New_York' -> 'New York time'; 'UTC' -> 'UTC'."""
    if not zone_name or "/" not in zone_name:
        return zone_name or "UTC"
    city = zone_name.rsplit("/", 1)[-1].replace("_", " ")
    return gettext("%(city)s time") % {"city": city}
