from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.shortcuts import redirect

# URL namespaces only staff can open: the Django admin and the staff pages (day sheet).
STAFF_NAMESPACES = {"admin", "staff"}


class StaffTwoFactorMiddleware:
    """Staff reach the admin and the staff pages only once an authenticator app is set up.

    Until then they are sent to set one up. Once it is, allauth asks for its code at every log-in, so a
    staff session with an authenticator has passed two-factor authentication.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not (user.is_authenticated and user.is_staff):
            return None
        if STAFF_NAMESPACES.isdisjoint(request.resolver_match.namespaces):
            return None
        if is_mfa_enabled(user, [Authenticator.Type.TOTP]):
            return None
        messages.warning(
            request,
            "Staff accounts need two-factor authentication: set up an authenticator app to open the staff pages.",
        )
        return redirect("mfa_activate_totp")
