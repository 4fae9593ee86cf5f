"""Template filters for how things are written (core/formats.py): `{% load holdfast %}`, then
`{{ price|money:venue.currency }}` and `{{ venue.time_zone|zone_words }}`."""

import zoneinfo

from django import template
from django.template.defaultfilters import date as date_filter
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.translation import get_language

from core import formats

register = template.Library()


@register.filter
def money(amount, currency):
    return formats.money(amount, currency)


@register.filter
def zone_words(zone_name):
    return formats.zone_words(zone_name)


@register.simple_tag
def venue_time(moment, zone_name, fmt=None):
    """A moment at a venue, in the venue's zone, marked up so static/js/local-time.js can add the
    guest's own time beside it when their browser's zone differs:
    `{% venue_time reservation.starts_at venue.time_zone %}` -> <time ...>Fri 14 Nov 19:00</time>."""
    if moment is None:
        return ""
    fmt = fmt or formats.DATETIME_WITH_DAY
    zone = zoneinfo.ZoneInfo(zone_name)
    local = moment.astimezone(zone)
    # To the second: a browser's Date() reads ISO 8601 with milliseconds at most, not Python's microseconds.
    stamp = local.isoformat(timespec="seconds")
    return format_html('<time datetime="{}" data-venue-zone="{}">{}</time>', stamp, zone_name, date_format(local, fmt))


@register.filter
def in_language(obj):
    """A venue's description in the active language (Venue.description_in), else its own."""
    return obj.description_in(get_language() or "")


@register.filter(expects_localtime=True)
def short_date(value):
    """A date the short way, in the active language: "Fri 4 Dec", "Fr., 4. Dez."."""
    return date_filter(value, str(formats.DATE_WITH_DAY)) if value else ""  # in the active zone, as |date
