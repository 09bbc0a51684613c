"""Who may call the REST API: short-lived access tokens (JWT, HS256) and API keys, both resolving to an Actor.

An access token is issued for a username and password through the sign-in form's path (bcrypt, the same
lockout) and lives 15 minutes; it is signed with the installation's own key (billing.signing), and its
algorithm, audience and required claims are pinned when it is read. An API key is `bk_<id>_<secret>`
(32 random bytes); only its SHA-256 is stored. Either way the user (and the key) is re-read at every
`require`: a disabled user, a lowered role, a new password or a revoked key takes effect at once. Within one
REST API request (a request scope, billing.store.db) they are read once, when the request is authenticated,
and every `require` of that request uses what was read then: the request is one act.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import jwt
from sqlalchemy.engine import Connection

from billing import audit, signing, users
from billing.errors import AuthenticationError, NotFoundError, SessionEndedError, ValidationError
from billing.permissions import ROLES, Actor, ApiCredential, rank, require
from billing.store import api_keys as key_store
from billing.store.db import Database, utcnow

T = TypeVar("T")
TOKEN_LIFETIME = timedelta(minutes=15)
AUDIENCE = "billing-api"
KEY_PREFIX = "bk"
# last_used_at is written at most this often per key: a write on every call would serialise all readers.
_TOUCH_EVERY = timedelta(seconds=60)
_INVALID = "The access token or API key is not valid."
_ENDED = ("The access token or API key is no longer valid: its user was disabled, their password changed, or the "
          "key revoked.")


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_at: datetime  # naive UTC
    role: str


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as listed (never its secret): `id` is its public prefix."""

    id: str
    name: str
    username: str
    role: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def issue_token(db: Database, username: str, password: str, now: datetime | None = None) -> AccessToken:
    """An access token for a username and password (refused like the sign-in form, lockout included)."""
    user = users.authenticate(db, username, password, now)
    issued = now or utcnow()
    expires = (issued + TOKEN_LIFETIME).replace(microsecond=0)
    # iat with its fraction of a second: a token is refused if it was issued before the password's last change.
    claims = {"sub": user.username, "role": user.role, "aud": AUDIENCE, "iat": issued.replace(tzinfo=UTC).timestamp(),
              "exp": int(expires.replace(tzinfo=UTC).timestamp()),
              "jti": secrets.token_urlsafe(16)}
    return AccessToken(jwt.encode(claims, signing.api_token_key(db.url), algorithm="HS256"), expires, user.role)


def token_actor(db: Database, token: str) -> Actor:
    """The actor of an access token, with its user's role as stored now; AuthenticationError if the token
    is forged, expired or malformed, SessionEndedError if its user can no longer act."""
    try:
        claims = jwt.decode(token, signing.api_token_key(db.url), algorithms=["HS256"], audience=AUDIENCE,
                            options={"require": ["sub", "exp", "iat", "jti", "aud"]})
        seconds = float(claims["iat"])  # float ok: a JWT timestamp in seconds, not money
        username, issued = claims["sub"], datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)
    except (jwt.PyJWTError, KeyError, TypeError, ValueError, OverflowError):
        raise AuthenticationError(_INVALID) from None
    if not isinstance(username, str):
        raise AuthenticationError(_INVALID)
    credential = ApiCredential(issued_at=issued)
    return Actor(username, live_role(db, username, credential), api=credential)


def key_actor(db: Database, presented: str) -> Actor:
    """The actor of an API key: its user, with the lower of the key's role and the user's current one."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        raise AuthenticationError(_INVALID)
    row = _live_key(db, parts[1])
    if row is None or not hmac.compare_digest(row["secret_hash"], _hash(presented)) or not row["active"]:
        raise AuthenticationError(_INVALID)
    now = utcnow()
    if row["last_used_at"] is None or now - row["last_used_at"] >= _TOUCH_EVERY:
        db.transaction(lambda conn: key_store.touch(conn, parts[1], now))
    return Actor(row["username"], _lower(row["role"], row["user_role"]), api=ApiCredential(key_id=parts[1]))


def live_role(db: Database, username: str, credential: ApiCredential) -> str:
    """The role an API credential acts with now; SessionEndedError if it can no longer act."""
    if credential.key_id is not None:
        key = _live_key(db, credential.key_id)
        if key is None or key["username"] != username or not key["active"]:
            raise SessionEndedError(_ENDED)
        return _lower(key["role"], key["user_role"])
    user = db.memo(("api_user", username), lambda: _read(db, lambda conn: key_store.user_state(conn, username)))
    if (user is None or not user["active"] or credential.issued_at is None
            or credential.issued_at < user["password_changed_at"]):
        raise SessionEndedError(_ENDED)
    return str(user["role"])


def create_key(db: Database, actor: Actor, username: str, role: str, name: str) -> tuple[ApiKey, str]:
    """A new API key for `username` with `role` (no higher than the user's nor the creator's): the key and
    its secret, which is shown once and never stored."""
    require(db, actor, "users.manage")
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError("Name the key (1-100 characters), e.g. after the system that will use it.")
    if role not in ROLES:
        raise ValidationError(f"Unknown role '{role}'. Use one of: {', '.join(ROLES)}.")
    owner = users.get_user(db, username.strip().lower())
    if owner is None or not owner.active:
        raise ValidationError(f"There is no active user '{username}'.")
    if rank(role) < rank(owner.role) or rank(role) < rank(actor.role):
        raise ValidationError(f"A key's role cannot be higher than its user's ({owner.role}) or yours ({actor.role}).")
    key_id = secrets.token_hex(6)
    secret = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    values: dict[str, Any] = {"id": key_id, "secret_hash": _hash(secret), "name": name, "username": owner.username,
                              "role": role, "created_by": actor.username, "created_at": utcnow(),
                              "last_used_at": None, "revoked_at": None}

    def work(conn: Any) -> None:
        key_store.insert(conn, values)
        audit.record(conn, actor, "api_key.create", "api_key", key_id,
                     after={k: v for k, v in values.items() if k != "secret_hash"})

    db.transaction(work)
    return ApiKey(**{k: v for k, v in values.items() if k != "secret_hash"}), secret


def list_keys(db: Database, actor: Actor, username: str | None = None) -> list[ApiKey]:
    require(db, actor, "users.manage")
    with db.connect() as conn:
        return [ApiKey(**row) for row in key_store.listed(conn, username)]


def revoke_key(db: Database, actor: Actor, key_id: str) -> None:
    """Revoke a key: the next call made with it is refused."""
    require(db, actor, "users.manage")

    def work(conn: Any) -> None:
        if not key_store.revoke(conn, key_id, utcnow()):
            raise NotFoundError(f"There is no live API key '{key_id}'.")
        audit.record(conn, actor, "api_key.revoke", "api_key", key_id)

    db.transaction(work)


def _live_key(db: Database, key_id: str) -> dict[str, Any] | None:
    """The key's row (key_store.live_key), read once per request."""
    return db.memo(("api_key", key_id), lambda: _read(db, lambda conn: key_store.live_key(conn, key_id)))


def _read(db: Database, query: Callable[[Connection], T]) -> T:
    with db.connect() as conn:
        return query(conn)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _lower(first: str, second: str) -> str:
    return first if rank(first) >= rank(second) else second

