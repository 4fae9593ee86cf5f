from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import translation
from django.utils.cache import patch_vary_headers


class PermissionsPolicyMiddleware:
    """Send the Permissions-Policy header (settings.PERMISSIONS_POLICY) on every response.

    Django has no setting for it: it switches off browser features no page of ours uses, for our
    pages and anything they might embed.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class LanguageMiddleware:
    """The language of each request, in the order a guest expects (issue 20): their saved preference
    (`user.language`), else the one they chose in the footer (the language cookie), else their
    browser's Accept-Language, else the site's default. `request.language_chosen` says whether any
    of the first three decided it: a venue's page falls back to the venue's own language when not.

    After authentication (it reads the user). URLs are the same in every language; responses vary
    by Accept-Language and Cookie, so a cache never serves one guest's language to another.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language, chosen = self.language_of(request)
        user = getattr(request, "user", None)
        if chosen and user is not None and user.is_authenticated and hasattr(user, "language") and not user.language:
            # Remembered once, so e-mails sent later by a worker are in the language the guest used.
            get_user_model().objects.filter(pk=user.pk, language="").update(language=language)
            user.language = language
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        request.language_chosen = chosen
        response = self.get_response(request)
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", translation.get_language())
        return response

    @staticmethod
    def language_of(request) -> tuple[str, bool]:
        user = getattr(request, "user", None)
        saved = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
        if saved and saved in dict(settings.LANGUAGES):
            return saved, True
        cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if cookie and cookie in dict(settings.LANGUAGES):
            return cookie, True
        header = request.headers.get("Accept-Language", "")
        if header:
            found = translation.get_language_from_request(request)
            if found and found != settings.LANGUAGE_CODE or _asks_for_default(header):
                return found, True
        return settings.LANGUAGE_CODE, False


def _asks_for_default(header: str) -> bool:
    """Does the Accept-Language header name the default language (English) itself?"""
    default = settings.LANGUAGE_CODE.split("-")[0]
    return any(part.split(";")[0].strip().lower().split("-")[0] == default for part in header.split(","))
