from django.conf import settings
from django.utils.http import url_has_allowed_host_and_scheme


def csp_nonce(request):
    """The request's Content-Security-Policy nonce as `csp_nonce`, the name django-htmx's {% htmx_script %}
    (and Django 6's own CSP support) read. Lazy: only a page that uses it puts a nonce in the header."""
    return {"csp_nonce": getattr(request, "csp_nonce", None)}


def site_identity(request=None):
    """The site's name and contact (HOLDFAST_SITE_NAME, HOLDFAST_CONTACT_EMAIL, HOLDFAST_CONTACT_PHONE)
    as `site_identity`: the header, the footer, page titles, error pages and e-mails. No database:
    the error pages use it (through {% site_identity %}, core/templatetags/site_identity.py) while
    the database may be down."""
    return {"site_identity": identity()}


def identity() -> dict:
    phone = settings.HOLDFAST_CONTACT_PHONE.strip()
    digits = "".join(c for c in phone if c.isdigit() or c == "+")
    return {
        "name": settings.HOLDFAST_SITE_NAME,
        "contact_email": settings.HOLDFAST_CONTACT_EMAIL.strip(),
        "contact_phone": phone,
        "contact_phone_href": f"tel:{digits}" if any(c.isdigit() for c in digits) else "",
    }


# Where "Log in" and "Sign up" return to is kept as a relative path no longer than this (a longer
# query is dropped rather than carried through every page of the log-in).
LOGIN_NEXT_MAX = 2000


def login_next(request):
    """`login_next`: the page the header's "Log in" and "Sign up" links return to after logging in — the
    current path with its query; on allauth's own pages (log-in, sign-up, password reset), the `next`
    they were opened with. Only a safe relative path ("/venues/x/?date=..."), else "". Where a page
    shows no such link (a guest is logged in), nothing reads it."""
    match = getattr(request, "resolver_match", None)
    on_account_pages = match is not None and (match.url_name or "").startswith(("account_", "mfa_"))
    target = request.GET.get("next", "") if on_account_pages else request.get_full_path()
    # The start page is where logging in leads anyway (LOGIN_REDIRECT_URL): no need to say so.
    return {"login_next": target if target != "/" and _safe_relative(target) else ""}


def _safe_relative(path: str) -> bool:
    return (
        0 < len(path) <= LOGIN_NEXT_MAX
        and path.startswith("/")
        and not path.startswith(("//", "/\\"))
        and not any(c in path for c in "\r\n\t\\")
        and url_has_allowed_host_and_scheme(path, allowed_hosts=None)
    )
