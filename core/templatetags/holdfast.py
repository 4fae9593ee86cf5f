"""Template filters for how things are written (core/formats.py): `{% load holdfast %}`, then
`{{ price|money:venue.currency }}` and `{{ venue.time_zone|zone_words }}`."""

from django import template

from core import formats

register = template.Library()


@register.filter
def money(amount, currency):
    return formats.money(amount, currency)


@register.filter
def zone_words(zone_name):
    return formats.zone_words(zone_name)
