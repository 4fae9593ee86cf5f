"""Two-factor authentication before any staff power, on the pages and in the admin.

- Staff without an authenticator app who open the admin or the staff pages are sent to set one up.
- A staff power used anywhere else (a guest page showing or cancelling someone else's booking) raises
  TwoFactorRequired in the services (spaces/powers.py); the middleware answers it the same way.
- After set-up they continue where they were going: the address is kept in the session, and the
  set-up page below (allauth's, with that one difference) returns there instead of showing the
  recovery codes, which stay under My account → Two-factor authentication.
The API answers TwoFactorRequired with 403 and a `detail` (api/site.py).
"""

from allauth.mfa.totp.views import ActivateTOTPView
from django.contrib import messages
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from accounts.two_factor import MESSAGE, SETUP_URL_NAME, TwoFactorRequired, has_two_factor
from spaces.powers import is_venue_staff

# URL namespaces only staff can open: the Django admin and the staff pages (day sheet).
STAFF_NAMESPACES = {"admin", "staff"}
NEXT_KEY = "holdfast_after_two_factor"


def _send_to_setup(request):
    if request.method == "GET":
        request.session[NEXT_KEY] = request.get_full_path()
    messages.warning(request, MESSAGE)
    return redirect(SETUP_URL_NAME)


class StaffTwoFactorMiddleware:
    """Staff reach the admin and the staff pages only once an authenticator app is set up."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # The namespace first: it costs nothing, while the roles are a query (the API and the guest
        # pages, most requests, never need it here).
        if STAFF_NAMESPACES.isdisjoint(request.resolver_match.namespaces):
            return None
        user = request.user
        if not (user.is_authenticated and (user.is_staff or is_venue_staff(user))):
            return None
        if has_two_factor(user):
            return None
        return _send_to_setup(request)

    def process_exception(self, request, exception):
        if isinstance(exception, TwoFactorRequired) and not request.path_info.startswith("/api/"):
            return _send_to_setup(request)
        return None


class ActivateTOTPThenContinue(ActivateTOTPView):
    """allauth's authenticator set-up; once done, back to where the staff member was going."""

    def get_success_url(self) -> str:
        target = self.request.session.pop(NEXT_KEY, "")
        if target and url_has_allowed_host_and_scheme(target, allowed_hosts={self.request.get_host()}):
            messages.info(
                self.request,
                _(
                    "Two-factor authentication is on. Your recovery codes are under My account → Two-factor "
                    "authentication."
                ),
            )
            return target
        return super().get_success_url()


activate_totp = ActivateTOTPThenContinue.as_view()
