"""A customer's link to one document: an unguessable token, stored only as its hash, that expires and can be
revoked, and records when it was first opened.

The token is an HMAC of the link's id and a random nonce under the installation's mail key: the server can
put it into the e-mail when the message is sent, while the database (and every backup) holds only its
SHA-256. Whoever has the database alone can neither read a token nor make one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from billing import signing
from billing.errors import NotFoundError
from billing.permissions import Actor, require
from billing.store import outbox as store
from billing.store.db import Database

DEFAULT_DAYS = 90
INVOICE, QUOTE = "invoice", "quote"  # what a link's document_id counts (invoices and credit notes share ids)
MAX_DAYS = 3660


@dataclass(frozen=True, slots=True)
class DocumentLink:
    """A link as the document's view lists it: id, created_at, expires_at, revoked_at, first_opened_at,
    last_opened_at, open_count; `document_kind` says what `document_id` counts (INVOICE or QUOTE)."""

    id: int
    document_id: int
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    first_opened_at: datetime | None
    last_opened_at: datetime | None
    open_count: int
    document_kind: str = "invoice"

    def is_live(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


def _record(row: dict[str, Any]) -> DocumentLink:
    return DocumentLink(**{name: row[name] for name in DocumentLink.__slots__})


def url_of(conn: Connection) -> str:
    """The database URL of a connection (where the key files live)."""
    return conn.engine.url.render_as_string(hide_password=False)


def token_of(key: bytes, link_id: int, nonce: str) -> str:
    digest = hmac.new(key, f"document-link:{link_id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def hash_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(conn: Connection, document_id: int, now: datetime, days: int = DEFAULT_DAYS,
                document_kind: str = INVOICE) -> int:
    """A new link to the document (an invoice or credit note, or a quote) valid for `days`, in the caller's
    transaction; returns its id."""
    key = signing.mail_key(url_of(conn))
    nonce = secrets.token_urlsafe(16)
    # The id comes from the insert, the token from the id: a placeholder hash first, unique by its nonce.
    link_id = store.insert_link(conn, {
        "token_hash": hash_of("pending:" + nonce), "nonce": nonce, "document_id": document_id, "created_at": now,
        "expires_at": now + timedelta(days=days), "open_count": 0, "document_kind": document_kind})
    store.update_link(conn, link_id, {"token_hash": hash_of(token_of(key, link_id, nonce))})
    return link_id


def token_for_link(conn: Connection, link_id: int) -> str:
    """The token of a link (for the e-mail being sent)."""
    row = store.link(conn, link_id)
    if row is None:
        raise NotFoundError(f"Link {link_id} does not exist.")
    return token_of(signing.mail_key(url_of(conn)), link_id, str(row["nonce"]))


def tokens_for_links(conn: Connection, link_ids: list[int]) -> dict[int, str]:
    """The tokens of links by id (for a run's e-mails: one query); a link that does not exist is left out."""
    nonces = store.link_nonces(conn, link_ids)
    key = signing.mail_key(url_of(conn)) if nonces else b""
    return {link_id: token_of(key, link_id, nonce) for link_id, nonce in nonces.items()}


def link_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/d/{token}"


def resolve(db: Database, token: str, now: datetime, *, record_open: bool) -> DocumentLink | None:
    """The live link of a token (recording the opening if asked), or None if the token is unknown, expired
    or revoked: the customer's page says only "not valid", never which."""
    if not token or len(token) > 100:
        return None
    token_hash = hash_of(token)

    def work(conn: Connection) -> DocumentLink | None:
        row = store.link_by_hash(conn, token_hash)
        if row is None or not _record(row).is_live(now):
            return None
        if record_open:
            store.record_open(conn, int(row["id"]), now)
        return _record(row)

    if record_open:
        return db.transaction(work)
    with db.connect() as conn:
        return work(conn)


def links_of_document(db: Database, actor: Actor, document_id: int,
                      document_kind: str = INVOICE) -> list[DocumentLink]:
    require(db, actor, "invoices.read")
    with db.connect() as conn:
        return [_record(row) for row in store.links_of_document(conn, document_id, document_kind)]


def revoke_link(db: Database, actor: Actor, link_id: int, now: datetime) -> None:
    """End a link now: it opens nothing any more."""
    from billing import audit

    require(db, actor, "invoices.write")

    def work(conn: Connection) -> None:
        row = store.link(conn, link_id)
        if row is None:
            raise NotFoundError(f"Link {link_id} does not exist.")
        if row["revoked_at"] is None:
            store.update_link(conn, link_id, {"revoked_at": now})
            audit.record(conn, actor, "document_link.revoke", str(row["document_kind"]), row["document_id"],
                         after={"link": link_id})

    db.transaction(work)
