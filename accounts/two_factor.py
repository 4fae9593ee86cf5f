"""Two-factor authentication, as staff powers need it: every staff power, on every path (pages, admin,
API, services), works only for a user with an authenticator app (allauth.mfa). Once one is set up,
allauth asks for its code at every log-in, so such a session has passed two-factor authentication."""

from allauth.mfa.models import Authenticator
from django.utils.translation import gettext_lazy as _

SETUP_URL_NAME = "mfa_activate_totp"
MESSAGE = _("Staff powers need two-factor authentication: set up an authenticator app first.")


class TwoFactorRequired(Exception):
    """The user's role would allow this, but they have no authenticator app yet."""

    def __init__(self, message: str = MESSAGE):
        super().__init__(message)
        self.message = message


def has_two_factor(user) -> bool:
    """Whether the user has an authenticator app (asked once per user object)."""
    if user is None or not user.is_authenticated:
        return False
    if not hasattr(user, "_holdfast_two_factor"):
        user._holdfast_two_factor = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    return user._holdfast_two_factor
