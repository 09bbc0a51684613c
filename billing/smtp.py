"""SMTP: the server's URL (three forms), and sending a message with each failure sorted into temporary
(4xx, refused or dropped connection: try again later) or permanent (5xx: the server's reply is final)."""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from billing.errors import ValidationError

SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
URL_FORMS = "smtp://host:port, smtp+starttls://user:password@host:587 or smtps://user:password@host:465"
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Where and how to hand mail over: scheme (smtp, smtp+starttls, smtps), host, port, username and password
    (empty: no login). The password is never part of repr or of `safe_url`."""

    scheme: str
    host: str
    port: int
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = TIMEOUT_SECONDS

    @property
    def safe_url(self) -> str:
        """The URL without the password (what Settings shows and the database keeps)."""
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"


def parse_smtp_url(url: str, source: str = "The SMTP URL") -> SmtpConfig:
    """The settings of an SMTP URL; ValidationError naming `source` and what is wrong otherwise."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ValidationError(f"{source} is not a valid URL ({exc}); use {URL_FORMS}.") from exc
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = f"'{scheme}'" if scheme else "none"
        raise ValidationError(f"{source} must start with smtp://, smtp+starttls:// or smtps:// (scheme {shown}); "
                              f"use {URL_FORMS}.")
    if not parts.hostname:
        raise ValidationError(f"{source} names no server; use {URL_FORMS}.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValidationError(f"{source} has a path or query after the server, which SMTP does not use.")
    username, password = unquote(parts.username or ""), unquote(parts.password or "")
    if password and not username:
        raise ValidationError(f"{source} has a password but no user name.")
    if scheme == "smtp" and password:
        raise ValidationError(f"{source} sends a password without encryption: use smtp+starttls:// or smtps://.")
    return SmtpConfig(scheme, parts.hostname, port or SCHEMES[scheme], username, password)


class TemporaryFailure(Exception):
    """The server could not take the message now (4xx, connection refused or dropped): try again later."""


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): its reply is the reason."""


def _reply(code: int, message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    return f"{code} {' '.join(text.split())}"[:500]


Gate = Callable[[], None]


def _data(smtp: smtplib.SMTP, message: bytes | str, gate: Gate) -> tuple[int, bytes]:
    """DATA as smtplib sends it, except that the final dot (the moment the server takes the message) waits
    for `gate`; if the gate fails, the connection is dropped without the dot, so the server discards it."""
    smtp.putcmd("data")
    code, reply = smtp.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    data = re.sub(r"(?:\r\n|\n|\r(?!\n))", "\r\n", message).encode("ascii") if isinstance(message, str) else message
    data = re.sub(rb"(?m)^\.", b"..", data)  # a line starting with a dot gets another (RFC 5321 4.5.2)
    smtp.send(data if data.endswith(b"\r\n") else data + b"\r\n")
    try:
        gate()
    except BaseException:
        smtp.close()
        raise
    smtp.send(b".\r\n")
    return smtp.getreply()


class _GatedSMTP(smtplib.SMTP):
    gate: Gate | None = None

    def data(self, msg: bytes | str) -> tuple[int, bytes]:  # type: ignore[override]
        return super().data(msg) if self.gate is None else _data(self, msg, self.gate)


class _GatedSMTPSSL(_GatedSMTP, smtplib.SMTP_SSL):
    pass


class SmtpConnection:
    """One SMTP session, opened on first use and reused for the messages of a run; `close` ends it."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: _GatedSMTP | None = None

    def _open(self) -> _GatedSMTP:
        config = self.config
        context = ssl.create_default_context()
        smtp: _GatedSMTP
        if config.scheme == "smtps":
            smtp = _GatedSMTPSSL(config.host, config.port, timeout=config.timeout, context=context)
        else:
            smtp = _GatedSMTP(config.host, config.port, timeout=config.timeout)
        # The final dot of DATA goes in a write of its own (see `_data`): without this it would wait for the
        # acknowledgement of the message (Nagle's algorithm meeting delayed ACKs: some 40 ms a message).
        if smtp.sock is not None:
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            if config.scheme == "smtp+starttls":
                smtp.starttls(context=context)
            if config.username:
                smtp.login(config.username, config.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage, sender: str, recipients: list[str], *, gate: Gate | None = None) -> None:
        """Hand the message over; TemporaryFailure or PermanentFailure (with the server's reply) if not.

        `gate` runs once the server holds the whole message but before the final dot that makes it take it
        (the caller finishes recording the previous message there, so at most one message is ever taken and
        not yet recorded as sent). A failing gate drops the connection and its exception goes on.
        """
        try:
            if self._smtp is None:
                self._smtp = self._open()
            self._smtp.gate = gate
            # Recipients refused while others took it are in the answer: the message was delivered.
            self._smtp.send_message(message, from_addr=sender, to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            replies = "; ".join(f"{address}: {_reply(code, text)}" for address, (code, text) in exc.recipients.items())
            if all(code >= 500 for code, _ in exc.recipients.values()):
                raise PermanentFailure(replies) from exc
            raise TemporaryFailure(replies) from exc
        except smtplib.SMTPAuthenticationError as exc:
            self.close()  # the settings are wrong, not the message: it waits until they are fixed
            raise TemporaryFailure(f"Login refused: {_reply(exc.smtp_code, exc.smtp_error)}") from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            if exc.smtp_code >= 500:
                raise PermanentFailure(_reply(exc.smtp_code, exc.smtp_error)) from exc
            raise TemporaryFailure(_reply(exc.smtp_code, exc.smtp_error)) from exc
        except (smtplib.SMTPException, OSError) as exc:  # refused, dropped, timed out
            self.close()
            reason = str(exc) or type(exc).__name__
            raise TemporaryFailure(f"Connection to {self.config.host}:{self.config.port} failed: {reason}") from exc

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
