"""The whole API's rate limit, as django-ninja's throttle hook, counted by core.ratelimit."""

import threading

from ninja.throttling import BaseThrottle

from core.ratelimit import hit


class ApiThrottle(BaseThrottle):
    """django-ninja's throttle hook for the whole API (`NinjaAPI(throttle=...)`): the "api" rates,
    per logged-in user (session or token) or per IP address. Ninja answers 429 with Retry-After.

    Ninja runs throttles after authentication, so request.auth is the user where there is one.
    """

    def __init__(self, action: str = "api"):
        self.action = action
        # One instance serves every request, and ninja asks wait() right after allow_request() in the
        # same thread: a thread-local answer keeps concurrent requests from reading each other's.
        self._last = threading.local()

    def allow_request(self, request) -> bool:
        user = getattr(request, "auth", None)
        self._last.retry_after = hit(request, self.action, user=user if hasattr(user, "is_authenticated") else None)
        return self._last.retry_after is None

    def wait(self) -> float | None:
        return getattr(self._last, "retry_after", None)
