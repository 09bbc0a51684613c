"""The sign-in cookie's secret key, its lifetime, and the signed token it carries.

The key is random per installation and never in git: BILLING_COOKIE_KEY if set, else a file
`.cookie_key` (mode 0600) created on first start next to the DuckDB file. A token signed with
any other key (streamlit-authenticator's published defaults included) does not verify; one that
verifies still counts only while its session row is live (billing.users.session_user).
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import sqlalchemy as sa

from billing.config import MIN_KEY_LENGTH, PUBLISHED_COOKIE_KEYS, current_settings, is_weak_key
from billing.errors import ConfigError

COOKIE_NAME = "billing_session"
KEY_FILE = ".cookie_key"


def key_file(database_url: str) -> Path:
    """Where the key lives: next to the DuckDB file, else in ./data (outside git either way)."""
    if database_url.startswith("duckdb"):
        path = sa.engine.make_url(database_url).database
        if path and path != ":memory:":
            return Path(path).resolve().parent / KEY_FILE
    return Path("data").resolve() / KEY_FILE


def cookie_key(database_url: str) -> str:
    """The installation's cookie key: from the environment, else read (or created once) from its file."""
    configured = current_settings().cookie_key  # checked there
    if configured is not None:
        return configured
    path = key_file(database_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two sessions starting at once cannot both write a key; the loser reads the winner's.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _checked(path.read_text().strip(), str(path))
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return _checked(path.read_text().strip(), str(path))


def _checked(key: str, source: str) -> str:
    if is_weak_key(key, PUBLISHED_COOKIE_KEYS):
        raise ConfigError(f"The cookie key in {source} is too short or well known; "
                          f"use at least {MIN_KEY_LENGTH} random characters.")
    return key


def session_lifetime() -> timedelta:
    """How long a sign-in lasts: BILLING_SESSION_HOURS (default 24)."""
    return current_settings().session_lifetime


def issue_token(key: str, username: str, lifetime: timedelta, now: datetime | None = None) -> tuple[str, datetime]:
    """A signed token (HS256 JWT: username, expiry, a `jti` unique per sign-in).

    Returns the token and its expiry as naive UTC (the store's convention).
    """
    now = now or datetime.now(UTC).replace(tzinfo=None)
    expires = now + lifetime
    claims = {"username": username, "exp_date": expires.replace(tzinfo=UTC).timestamp(),
              "jti": secrets.token_urlsafe(16)}
    return jwt.encode(claims, key, algorithm="HS256"), expires


def token_username(key: str, token: str, now: datetime | None = None) -> str | None:
    """The username a token was issued for, if it carries this key's signature and has not expired; else None
    (a forged, altered, unsigned or malformed token). Whether its session is live is the database's to say."""
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"])
    except jwt.InvalidTokenError:
        return None
    now = now or datetime.now(UTC).replace(tzinfo=None)
    username, expiry = claims.get("username"), claims.get("exp_date")
    if not isinstance(username, str) or not isinstance(expiry, int | float):
        return None
    return username if expiry > now.replace(tzinfo=UTC).timestamp() else None
