"""`{% load site_identity %}{% site_identity as site_identity %}`: the site's name and contact where
no context processor runs (the error pages Django renders without a request, the outbox e-mails).
Pages with a request have the same `site_identity` from core.context_processors.site_identity."""

from django import template

from core.context_processors import identity

register = template.Library()


@register.simple_tag(name="site_identity")
def site_identity_tag():
    return identity()
