"""SMTP: the server's URL (three forms), and sending a message with each failure sorted into temporary
(4xx, refused or dropped connection: try again later) or permanent (5xx: the server's reply is final)."""

from __future__ import annotations

import smtplib
import ssl
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


class SmtpConnection:
    """One SMTP session, opened on first use and reused for the messages of a run; `close` ends it."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        config = self.config
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if config.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
        else:
            smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
        try:
            if config.scheme == "smtp+starttls":
                smtp.starttls(context=context)
            if config.username:
                smtp.login(config.username, config.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: EmailMessage, sender: str, recipients: list[str]) -> None:
        """Hand the message over; TemporaryFailure or PermanentFailure (with the server's reply) if not."""
        try:
            if self._smtp is None:
                self._smtp = self._open()
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
