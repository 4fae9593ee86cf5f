"""Fetching a file from an address typed in by staff, such as a booking channel's iCalendar feed, and
posting to one (a partner's webhook endpoint: `post`).

The address comes from a form, so it may point anywhere: at the admin on localhost, at the cloud's
metadata service (169.254.169.254), at a database on the private network. `fetch` therefore fetches
only http and https addresses whose host resolves to public addresses (unless `allow_private`),
follows redirects itself so that every hop is checked again, stops a body larger than `max_bytes`
(counted after decompression, so a small gzip bomb is caught) and gives up on a server that trickles
bytes past the deadline. Whatever goes wrong reaches the caller as a FetchError whose words a hotel
manager can read in the admin.

Known limit: the host is resolved once for the check and again by requests when it connects, so a
DNS server that answers a public address first and a private one second (DNS rebinding) gets through.
The deadline is checked between reads: a download may overrun it by at most one read's timeout.
"""

import contextlib
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

REDIRECTS = {301, 302, 303, 307, 308}
READ_SIZE = 64 * 1024  # at most this many bytes per read; each read waits at most one timeout
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class FetchError(Exception):
    """Why a URL could not be fetched, in words a hotel manager reads in the admin (str(error))."""


@dataclass(frozen=True)
class Fetched:
    url: str  # the final URL after redirects
    status: int  # 200 or 304
    body: bytes  # b"" when not modified
    etag: str  # response ETag header or ""
    last_modified: str  # response Last-Modified header or ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # An IPv6 address may carry an IPv4 one (::ffff:127.0.0.1, 6to4, NAT64): judge the one it carries.
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped or ip.sixtofour:
            ip = ip.ipv4_mapped or ip.sixtofour
        elif ip in NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    # is_global leaves out private, loopback, link-local and unspecified addresses, not multicast ones.
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def check_address(url: str, *, allow_private: bool = False, allow_http: bool = True) -> None:
    """Refuse (FetchError) an address that is not https (nor http, when `allow_http`), has no host or
    reaches a private network (unless `allow_private`). For a form to say so before anything is sent."""
    if not allow_http and urlsplit(url).scheme.lower() != "https":
        raise FetchError(_("Only https addresses are allowed."))
    _check(url, allow_private)


def _check(url: str, allow_private: bool) -> None:
    """Refuse an address that is not http(s), has no host or reaches a private network."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as error:
        raise FetchError(_("The address %(url)s is not valid.") % {"url": url}) from error
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise FetchError(_("Only http and https addresses can be fetched."))
    if parts.username is not None or parts.password is not None:
        raise FetchError(_("Addresses with a user name or password in them are not supported."))
    host = parts.hostname
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError) as error:
        raise FetchError(_("The host %(host)s could not be found.") % {"host": host}) from error
    if allow_private:
        return
    for address in sorted(addresses):
        if not _public(ipaddress.ip_address(address.split("%")[0])):  # drop an IPv6 zone (fe80::1%eth0)
            raise FetchError(
                _("The host %(host)s resolves to a private address (%(address)s), which is not fetched.")
                % {"host": host, "address": address}
            )


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return _("%(size)s MB") % {"size": f"{n / 1024 / 1024:.3g}"}
    return ngettext("%(count)s byte", "%(count)s bytes", n) % {"count": f"{n:,}"}


def _took_too_long(timeout: float) -> str:
    return _("The download took longer than %(seconds)s seconds and was stopped.") % {"seconds": f"{timeout:g}"}


def _read(response: requests.Response, max_bytes: int, deadline: float, timeout: float) -> bytes:
    """The decoded body, read with read1 rather than iter_content: iter_content(n) waits until n bytes
    have arrived, so a server trickling a byte at a time would never meet the deadline check."""
    too_large = FetchError(_("The file is larger than the limit of %(size)s.") % {"size": _size(max_bytes)})
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise too_large
    body = bytearray()
    while chunk := response.raw.read1(READ_SIZE, decode_content=True):
        body += chunk
        if len(body) > max_bytes:
            raise too_large
        if time.monotonic() > deadline:
            raise FetchError(_took_too_long(timeout))
    return bytes(body)


@contextlib.contextmanager
def _network_errors(timeout: float, broke_off: str):
    """What requests and urllib3 (which read1 reaches) raise, as a FetchError in words a manager reads;
    the most specific first. `broke_off`: the words for an answer that broke off."""
    try:
        yield
    except (requests.exceptions.SSLError, urllib3.exceptions.SSLError) as error:
        raise FetchError(_("The secure (https) connection to the server failed.")) from error
    except (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError) as error:
        raise FetchError(
            _("The server did not answer within %(seconds)s seconds.") % {"seconds": f"{timeout:g}"}
        ) from error
    except requests.exceptions.ConnectionError as error:
        raise FetchError(_("Could not connect to the server.")) from error
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
        raise FetchError(broke_off) from error


def fetch(
    url: str,
    *,
    timeout: float = 10.0,
    max_bytes: int = 5 * 1024 * 1024,
    allow_private: bool = False,
    etag: str = "",
    last_modified: str = "",
    max_redirects: int = 3,
    user_agent: str = "Holdfast calendar sync",
) -> Fetched:
    """GET the url and return its body, or Fetched.not_modified when etag or last_modified still hold.
    `timeout` bounds each connect and read, and the whole download; anything else raises FetchError."""
    deadline = time.monotonic() + timeout
    headers = {"User-Agent": user_agent, "Accept": "text/calendar, */*;q=0.1"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    for hop in range(max_redirects + 1):
        _check(url, allow_private)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError(_took_too_long(timeout))
        broke_off = _("The download failed: the answer broke off or could not be read.")
        with (
            _network_errors(timeout, broke_off),
            requests.get(
                url, headers=headers, timeout=(remaining, remaining), allow_redirects=False, stream=True
            ) as response,
        ):
            if response.status_code in REDIRECTS:
                location = response.headers.get("Location", "")
                if not location:
                    raise FetchError(
                        _("The server answered %(status)s without saying where to.") % {"status": response.status_code}
                    )
                if hop == max_redirects:
                    raise FetchError(_("The server redirected more than %(count)s times.") % {"count": max_redirects})
                url = urljoin(url, location)
                continue
            if response.status_code not in (200, 304):
                raise FetchError(_("The server answered %(status)s.") % {"status": response.status_code})
            body = b"" if response.status_code == 304 else _read(response, max_bytes, deadline, timeout)
            return Fetched(
                url=url,
                status=response.status_code,
                body=body,
                etag=response.headers.get("ETag", ""),
                last_modified=response.headers.get("Last-Modified", ""),
            )
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Posted:
    status: int
    body: bytes  # at most `max_bytes` of the answer: the rest is not read


def post(
    url: str,
    body: bytes,
    *,
    headers: dict[str, str],
    timeout: float = 10.0,
    max_bytes: int = 64 * 1024,
    allow_private: bool = False,
    allow_http: bool = False,
) -> Posted:
    """POST `body` to the url and return the answer's status and the first `max_bytes` of its body
    (a longer answer is cut, not refused: the status is what counts). Redirects are not followed: a
    3xx is the answer. `timeout` bounds the connect, each read and the whole exchange; an address
    that check_address refuses, and anything the network does, raises FetchError."""
    check_address(url, allow_private=allow_private, allow_http=allow_http)
    deadline = time.monotonic() + timeout
    with (
        _network_errors(timeout, _("The answer broke off or could not be read.")),
        requests.post(
            url, data=body, headers=headers, timeout=(timeout, timeout), allow_redirects=False, stream=True
        ) as response,
    ):
        answer = bytearray()
        while len(answer) < max_bytes and time.monotonic() < deadline:
            chunk = response.raw.read1(min(READ_SIZE, max_bytes - len(answer)), decode_content=True)
            if not chunk:
                break
            answer += chunk
        return Posted(status=response.status_code, body=bytes(answer))
