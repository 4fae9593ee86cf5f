"""Text messages (SMS), behind one small interface: a provider sends a text and says what became of it.

    from core import sms

    provider = sms.get_provider()          # None when HOLDFAST_SMS_PROVIDER is "" (texts are off)
    sent = provider.send("+447400123456", "Reminder: ...", status_callback=provider.status_callback_url())
    sent.id, sent.status                   # the provider's id (Twilio's message SID) and its first status

`send` raises SmsError(code, message, permanent, opted_out): `permanent` when trying again cannot help
(the number is invalid, not a mobile, in a region not enabled, or it answered STOP: `opted_out`), else
the caller retries later with backoff (throttled, the provider's server failing, the network down).

HOLDFAST_SMS_PROVIDER chooses the provider: "" (off), "console" (prints the texts, for `make run`, like
Django's console e-mail backend), "twilio" (Twilio's official library), or the dotted path of another
Provider class: another provider is one class with `send` (and `from_settings` if it reads settings).

Infrastructure only: which messages go as texts, and to whom, is the outbox's business
(reservations/notifications.py); this module knows nothing of bookings.
"""

from __future__ import annotations

import secrets
import sys
import threading
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils.module_loading import import_string

# Twilio's error codes (https://www.twilio.com/docs/api/errors) that no retry can fix: the same text to
# the same number would be refused again.
TWILIO_UNSUBSCRIBED = 21610  # the number answered STOP to our sender
TWILIO_PERMANENT_ERRORS = frozenset(
    {
        21211,  # invalid 'To' phone number
        21408,  # permission to send an SMS has not been enabled for the region of 'To'
        21602,  # message body is required
        21612,  # cannot route to this number (carrier or number type not reachable)
        21614,  # 'To' is not a valid mobile number
        21617,  # the body exceeds the 1,600-character limit
        TWILIO_UNSUBSCRIBED,
    }
)
TWILIO_API = "https://api.twilio.com"


@dataclass(frozen=True)
class SentSms:
    """What the provider answered to a text it took: its id for the text, and the text's status then."""

    id: str
    status: str


class SmsError(Exception):
    """The provider did not take the text. `code`: the provider's error code (None: no answer at all);
    `permanent`: retrying cannot help; `opted_out`: the provider says the number asked for no texts."""

    def __init__(self, code: int | str | None, message: str, *, permanent: bool, opted_out: bool = False):
        super().__init__(message)
        self.code = code
        self.message = message
        self.permanent = permanent
        self.opted_out = opted_out

    def __str__(self):
        return f"{self.code}: {self.message}" if self.code is not None else self.message


class Provider:
    """Sends text messages. Subclasses implement `send`; `from_settings` builds one from the settings."""

    # The URL name of the view the provider reports a text's progress to (None: it reports nothing).
    status_callback_url_name: str | None = None

    @classmethod
    def from_settings(cls) -> Provider:
        return cls()

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> SentSms:
        """Send `body` to `to` (E.164). Returns the provider's id and status; raises SmsError."""
        raise NotImplementedError

    def status_callback_url(self) -> str | None:
        """The public address the provider reports to (SITE_URL + the view's path), or None."""
        if not self.status_callback_url_name:
            return None
        return settings.SITE_URL.rstrip("/") + reverse(self.status_callback_url_name)


class ConsoleProvider(Provider):
    """Prints each text instead of sending it (`make run`): the developer reads it in the terminal."""

    def __init__(self, stream=None):
        self.stream = stream
        self._lock = threading.Lock()

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> SentSms:
        stream = self.stream or sys.stdout
        with self._lock:
            stream.write(f"Text message to {to} ({len(body)} characters)\n{body}\n{'-' * 79}\n")
            stream.flush()
        return SentSms(id=f"console-{secrets.token_hex(8)}", status="sent")


def _twilio_http_client(api_base: str, timeout: float):
    """Twilio's own HTTP client, pointed at `api_base` instead of https://api.twilio.com when given (the
    tests' fake). The library builds every URL from that host; rewriting the prefix is all it takes."""
    from twilio.http.http_client import TwilioHttpClient

    class RedirectedHttpClient(TwilioHttpClient):
        def request(self, method, url, *args, **kwargs):
            if api_base and url.startswith(TWILIO_API):
                url = api_base.rstrip("/") + url[len(TWILIO_API) :]
            return super().request(method, url, *args, **kwargs)

    client = RedirectedHttpClient(timeout=timeout)
    if api_base and client.session is not None:
        # A local stand-in: no HTTP(S)_PROXY from the environment may come between.
        client.session.trust_env = False
    return client


class TwilioProvider(Provider):
    """Twilio's Programmable Messaging through its official library (`twilio`): from a number of ours
    (TWILIO_FROM_NUMBER) or a Messaging Service (TWILIO_MESSAGING_SERVICE_SID, which picks the number)."""

    status_callback_url_name = "sms:twilio_status"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str = "",
        messaging_service_sid: str = "",
        api_base: str = "",
        timeout: float = 10.0,
    ):
        from twilio.rest import Client

        if not (account_sid and auth_token):
            raise ImproperlyConfigured("HOLDFAST_SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN.")
        if not (from_number or messaging_service_sid):
            raise ImproperlyConfigured(
                "HOLDFAST_SMS_PROVIDER=twilio needs TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID."
            )
        self.from_number = from_number
        self.messaging_service_sid = messaging_service_sid
        self.client = Client(account_sid, auth_token, http_client=_twilio_http_client(api_base, timeout))

    @classmethod
    def from_settings(cls) -> TwilioProvider:
        return cls(
            account_sid=settings.TWILIO_ACCOUNT_SID,
            auth_token=settings.TWILIO_AUTH_TOKEN,
            from_number=settings.TWILIO_FROM_NUMBER,
            messaging_service_sid=settings.TWILIO_MESSAGING_SERVICE_SID,
            api_base=settings.TWILIO_API_BASE,
            timeout=settings.TWILIO_TIMEOUT,
        )

    def send(self, to: str, body: str, *, status_callback: str | None = None) -> SentSms:
        import requests
        from twilio.base.exceptions import TwilioException, TwilioRestException

        sender = {}
        if self.messaging_service_sid:
            sender["messaging_service_sid"] = self.messaging_service_sid
        if self.from_number:
            sender["from_"] = self.from_number
        try:
            message = self.client.messages.create(to=to, body=body, status_callback=status_callback, **sender)
        except TwilioRestException as error:
            code = error.code if isinstance(error.code, int) else None
            raise SmsError(
                code or error.status,
                str(error.msg),
                permanent=code in TWILIO_PERMANENT_ERRORS,
                opted_out=code == TWILIO_UNSUBSCRIBED,
            ) from error
        except (requests.RequestException, TwilioException) as error:
            raise SmsError(None, f"{type(error).__name__}: {error}", permanent=False) from error
        return SentSms(id=message.sid, status=message.status or "")


def twilio_request_is_genuine(url: str, params, signature: str, *, signature_settings: str = "") -> bool:
    """Did Twilio send this webhook? Its X-Twilio-Signature over the public `url` and the POST `params`,
    made with the Auth Token (HMAC-SHA1), or with the webhook signing key and the algorithm named in
    X-Twilio-Webhooks-Signature-Settings (`signature_settings`) where a Webhook Rule applies one."""
    from twilio.request_validator import RequestValidator, get_signature_algorithm

    secret = settings.TWILIO_WEBHOOK_SIGNING_KEY if signature_settings else settings.TWILIO_AUTH_TOKEN
    if not (secret and signature):
        return False
    algorithm = get_signature_algorithm(signature_settings)
    return RequestValidator(secret).validate(url, params, signature, algorithm=algorithm)


BUILT_IN = {"console": ConsoleProvider, "twilio": TwilioProvider}
_cache: dict[tuple, Provider] = {}
_cache_lock = threading.Lock()


def _settings_key() -> tuple:
    names = (
        "HOLDFAST_SMS_PROVIDER",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_FROM_NUMBER",
        "TWILIO_MESSAGING_SERVICE_SID",
        "TWILIO_API_BASE",
        "TWILIO_TIMEOUT",
    )
    return tuple(getattr(settings, name, "") for name in names)


def configured() -> bool:
    """Are text messages on (a provider chosen)?"""
    return bool(getattr(settings, "HOLDFAST_SMS_PROVIDER", ""))


def get_provider() -> Provider | None:
    """The provider the settings choose, made once per configuration (a client keeps its connections);
    None when texts are off."""
    choice = getattr(settings, "HOLDFAST_SMS_PROVIDER", "")
    if not choice:
        return None
    key = _settings_key()
    with _cache_lock:
        provider = _cache.get(key)
        if provider is None:
            cls = BUILT_IN.get(choice) or import_string(choice)
            if not (isinstance(cls, type) and issubclass(cls, Provider)):
                raise ImproperlyConfigured(f"HOLDFAST_SMS_PROVIDER={choice!r} is not a core.sms.Provider class.")
            provider = _cache[key] = cls.from_settings()
        return provider
