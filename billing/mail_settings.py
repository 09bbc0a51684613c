"""E-mail delivery settings: the SMTP server, sender, reply-to, the portal's public address and how long
customer links last; the SMTP password kept encrypted, and a test e-mail.

The password is stored only as a Fernet token under a key derived from the installation's `.mail_key`
(billing.signing, beside the database, never in a backup). A backup therefore holds the ciphertext,
which another installation cannot read: after restoring elsewhere the password is entered again.
BILLING_SMTP_URL, when set, replaces the server, user and password set here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import Connection

from billing import audit, document_links, outbox
from billing.config import current_settings
from billing.errors import ValidationError
from billing.mail_templates import fill, template_for
from billing.permissions import Actor, require
from billing.smtp import PermanentFailure, SmtpConfig, SmtpConnection, TemporaryFailure, parse_smtp_url
from billing.store import records
from billing.store.db import Database
from billing.store.mail_schema import mail_settings
from billing.store.schema import company

DEFAULT_PUBLIC_URL = "http://localhost:8501"


@dataclass(frozen=True, slots=True)
class MailSettings:
    """What Settings shows: smtp_url without the password, has_password, from_environment (BILLING_SMTP_URL
    is set and wins), sender_name, sender_email, reply_to, public_url (the portal's address in customer
    links), link_days (how long a customer link opens its document)."""

    smtp_url: str = ""
    has_password: bool = False
    from_environment: bool = False
    sender_name: str = ""
    sender_email: str = ""
    reply_to: str = ""
    public_url: str = DEFAULT_PUBLIC_URL
    link_days: int = document_links.DEFAULT_DAYS


@dataclass(frozen=True, slots=True)
class Delivery:
    """Everything the sender needs: the server and the envelope's sender, reply-to and the links' base."""

    smtp: SmtpConfig
    sender_name: str
    sender_email: str
    reply_to: str
    public_url: str


def _fernet(conn: Connection) -> Fernet:
    from billing import signing

    key = hmac.new(signing.mail_key(document_links.url_of(conn)), b"smtp-password", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def _row(conn: Connection) -> dict[str, Any]:
    return records.get(conn, mail_settings, 1) or {}


def read_settings(conn: Connection) -> MailSettings:
    row = _row(conn)
    environment = current_settings().smtp_url
    shown = parse_smtp_url(environment).safe_url if environment else str(row.get("smtp_url") or "")
    return MailSettings(
        smtp_url=shown, has_password=bool(row.get("password_encrypted")), from_environment=environment is not None,
        sender_name=str(row.get("sender_name") or ""), sender_email=str(row.get("sender_email") or ""),
        reply_to=str(row.get("reply_to") or ""), public_url=str(row.get("public_url") or DEFAULT_PUBLIC_URL),
        link_days=int(row.get("link_days") or document_links.DEFAULT_DAYS))


def get_mail_settings(db: Database, actor: Actor) -> MailSettings:
    require(db, actor, "settings.read")
    with db.connect() as conn:
        return read_settings(conn)


def save_mail_settings(db: Database, actor: Actor, settings: MailSettings, *, password: str | None,
                       now: datetime) -> None:
    """Save the settings. `password` None keeps the stored one, '' removes it; a password written into the
    URL is taken out of it and stored encrypted like one typed in the password field."""
    require(db, actor, "settings.write")
    config = parse_smtp_url(settings.smtp_url) if settings.smtp_url.strip() else None
    if config is not None and config.password:
        password = config.password
    sender = settings.sender_email.strip()
    if sender:
        outbox.check_addresses([sender], [settings.reply_to.strip()] if settings.reply_to.strip() else [])
    elif config is not None:
        raise ValidationError("Give the sender's e-mail address (the From of every message).")
    if any(ch in settings.sender_name for ch in "\r\n") or len(settings.sender_name) > 100:
        raise ValidationError("The sender's name must be one line of at most 100 characters.")
    public_url = settings.public_url.strip().rstrip("/") or DEFAULT_PUBLIC_URL
    if not public_url.startswith(("http://", "https://")) or any(ch in public_url for ch in " \"'<>"):
        raise ValidationError("The portal's address must be a web address starting with https:// or http://.")
    if not 1 <= settings.link_days <= document_links.MAX_DAYS:
        raise ValidationError(f"Customer links last 1 to {document_links.MAX_DAYS} days.")

    def work(conn: Connection) -> None:
        before = _row(conn)
        values: dict[str, Any] = {
            "smtp_url": config.safe_url if config else "", "sender_name": settings.sender_name.strip(),
            "sender_email": sender, "reply_to": settings.reply_to.strip(), "public_url": public_url,
            "link_days": settings.link_days, "updated_at": now, "updated_by": actor.audit_name}
        if password is not None:
            values["password_encrypted"] = _fernet(conn).encrypt(password.encode()).decode() if password else ""
        if before:
            records.update(conn, mail_settings, 1, values)
        else:
            conn.execute(mail_settings.insert().values(id=1, **{"password_encrypted": "", **values}))
        hidden = {"password_encrypted", "updated_at"}
        audit.record(conn, actor, "mail_settings.save", "mail_settings", 1,
                     before={k: v for k, v in before.items() if k not in hidden} or None,
                     after={**{k: v for k, v in values.items() if k not in hidden},
                            "password": "changed" if password is not None else "kept"})

    db.transaction(work)


def delivery(conn: Connection) -> Delivery | None:
    """The delivery settings in force, or None while no SMTP server or sender is set. A stored password this
    installation cannot decrypt (a backup restored elsewhere) raises ValidationError saying so."""
    row = _row(conn)
    environment = current_settings().smtp_url
    url = environment or str(row.get("smtp_url") or "")
    sender = str(row.get("sender_email") or "")
    if not url or not sender:
        return None
    config = parse_smtp_url(url, "BILLING_SMTP_URL" if environment else "The SMTP URL in Settings")
    if not environment and row.get("password_encrypted"):
        try:
            secret = _fernet(conn).decrypt(str(row["password_encrypted"]).encode()).decode()
        except InvalidToken as exc:
            raise ValidationError("The SMTP password cannot be read on this installation (the settings come from "
                                  "another one's backup): enter it again in Settings > E-mail.") from exc
        config = SmtpConfig(config.scheme, config.host, config.port, config.username, secret)
    return Delivery(config, str(row.get("sender_name") or ""), sender, str(row.get("reply_to") or ""),
                    str(row.get("public_url") or DEFAULT_PUBLIC_URL))


def headers(message: EmailMessage, settings: Delivery, *, to: tuple[str, ...], cc: tuple[str, ...], subject: str,
            message_id: str, now: datetime) -> None:
    """From, To, Cc, Reply-To, Subject, Date and Message-ID of a message."""
    message["From"] = formataddr((settings.sender_name, settings.sender_email))
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    if settings.reply_to:
        message["Reply-To"] = settings.reply_to
    message["Subject"] = subject
    message["Date"] = format_datetime(now if now.tzinfo else now.replace(tzinfo=UTC))  # naive times are UTC
    message["Message-ID"] = message_id


def send_test_email(db: Database, actor: Actor, to: str, now: datetime) -> str:
    """Send the test e-mail to `to` at once (not through the outbox): the answer is what the server said,
    or ValidationError with its reply (or why the connection failed)."""
    require(db, actor, "settings.write")
    recipients = outbox.split_addresses(to)
    outbox.check_addresses(recipients, [])
    with db.connect() as conn:
        settings = delivery(conn)
        template = template_for(conn, "test")
        seller = records.get(conn, company, 1) or {}
    if settings is None:
        raise ValidationError("Set the SMTP server and the sender's address first (and save them).")
    values = {"company": str(seller.get("legal_name") or "your company")}
    message = EmailMessage()
    headers(message, settings, to=recipients, cc=(), subject=fill(template.subject, values),
            message_id=outbox.new_message_id(), now=now)
    message.set_content(fill(template.body, values))
    connection = SmtpConnection(settings.smtp)
    try:
        connection.send(message, settings.sender_email, list(recipients))
    except (TemporaryFailure, PermanentFailure) as exc:
        raise ValidationError(f"The test e-mail was not sent: {exc}") from exc
    finally:
        connection.close()
    return f"The test e-mail was handed to {settings.smtp.host}:{settings.smtp.port} for {', '.join(recipients)}."
