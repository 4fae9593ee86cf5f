"""allauth, the way it intends to be adapted (settings.ACCOUNT_ADAPTER): its e-mails name the site
by HOLDFAST_SITE_NAME and its public address (SITE_URL), not the host a request came to —
without django.contrib.sites, allauth's `current_site` is the request's host ("Hello from
127.0.0.1:8100!")."""

from dataclasses import dataclass
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

from core.context_processors import identity


@dataclass(frozen=True)
class SiteForEmails:
    """What allauth's e-mail templates read of a site: `name` and `domain`."""

    name: str
    domain: str


def site_for_emails() -> SiteForEmails:
    return SiteForEmails(name=settings.HOLDFAST_SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc)


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        # The sign-up form's name and phone (guest/account_forms.py SignupForm, already cleaned: the
        # phone in E.164), saved with the new account rather than in a second write.
        data = form.cleaned_data
        user.name = data.get("name") or ""
        user.phone = data.get("phone") or ""
        return super().save_user(request, user, form, commit=commit)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Our site in place of the request's host; the contact for templates/account/email/base_message.txt.
        super().send_mail(
            template_prefix, email, {**context, "current_site": site_for_emails(), "site_identity": identity()}
        )
