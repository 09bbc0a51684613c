"""One HTTP POST of a signed event to an endpoint: http(s) only, never into the server's own network (unless the
installation allows it), short timeouts, no redirects followed."""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from billing.config import current_settings
from billing.errors import ValidationError

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
MAX_URL_LENGTH = 2000
USER_AGENT = "billing-portal-webhooks/1"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt got: the HTTP status (None: no answer), why it failed ('' if it did not), its duration."""

    status: int | None
    error: str
    duration_ms: int

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def check_url(url: str) -> str:
    """The URL, stripped, if it can be a webhook endpoint (http or https, a host, no user or password)."""
    url = url.strip()
    parts = urlsplit(url)
    if len(url) > MAX_URL_LENGTH or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("A webhook URL must be an http:// or https:// address with a host name.", param="url")
    if parts.username is not None or parts.password is not None:
        raise ValidationError("A webhook URL must not carry a user name or password.", param="url")
    try:
        parts.port  # noqa: B018 (a bad port raises)
    except ValueError:
        raise ValidationError("The webhook URL's port is not valid.", param="url") from None
    if not current_settings().webhooks_allow_private and _is_private_literal(parts.hostname):
        raise ValidationError("A webhook URL must not point at a loopback or private address.", param="url")
    return url


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST `body` to `url`; the address is resolved and checked first, and the connection goes to that address."""
    started = time.monotonic()

    def outcome(status: int | None, error: str) -> Outcome:
        return Outcome(status, error[:500], int((time.monotonic() - started) * 1000))

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = _allowed_address(host, port)
        sock = socket.create_connection((address, port), timeout=CONNECT_TIMEOUT)
    except (OSError, _RefusedAddress) as exc:
        return outcome(None, str(exc) or type(exc).__name__)
    conn: http.client.HTTPConnection
    try:
        sock.settimeout(READ_TIMEOUT)
        if parts.scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
            conn = http.client.HTTPSConnection(host, port, timeout=READ_TIMEOUT)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=READ_TIMEOUT)
        conn.sock = sock
        path = parts.path or "/"
        conn.request("POST", path + (f"?{parts.query}" if parts.query else ""), body=body,
                     headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers})
        response = conn.getresponse()
        response.read(65536)
        status = response.status
        return outcome(status, "" if 200 <= status < 300 else f"HTTP {status} {response.reason}")
    except (OSError, http.client.HTTPException) as exc:
        return outcome(None, f"{type(exc).__name__}: {exc}")
    finally:
        sock.close()


class _RefusedAddress(Exception):
    """The host resolves to an address webhooks may not reach."""


def _allowed_address(host: str, port: int) -> str:
    """The first address of `host`; refused when any of its addresses is private and that is not allowed."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = [str(info[4][0]) for info in infos]
    if not current_settings().webhooks_allow_private:
        for address in addresses:
            if _is_private(ipaddress.ip_address(address.split("%", 1)[0])):
                raise _RefusedAddress(f"{host} resolves to {address}, a loopback or private address "
                                      "(BILLING_WEBHOOKS_ALLOW_PRIVATE allows it).")
    return addresses[0]


def _is_private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (address.is_private or address.is_loopback or address.is_link_local or address.is_multicast
            or address.is_reserved or address.is_unspecified)


def _is_private_literal(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return _is_private(ipaddress.ip_address(host))
    except ValueError:
        return False
