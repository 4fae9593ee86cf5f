"""`{% load phones %}`: a stored phone as people read it and as a link to call it (accounts/phones.py):
`<a href="{{ reservation.phone|tel_href }}">{{ reservation.phone|phone }}</a>`."""

from django import template

from accounts import phones

register = template.Library()


@register.filter
def phone(e164):
    return phones.display(e164)


@register.filter
def tel_href(e164):
    return phones.tel_href(e164)
