"""The server's configuration: every BILLING_* environment variable, read and checked in one place."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa

from billing.errors import ConfigError

T = TypeVar("T")

DATABASE_URL = "BILLING_DATABASE_URL"
COOKIE_KEY = "BILLING_COOKIE_KEY"
SESSION_HOURS = "BILLING_SESSION_HOURS"
AUDIT_KEY = "BILLING_AUDIT_KEY"
BACKUP_KEY = "BILLING_BACKUP_KEY"
BCRYPT_ROUNDS = "BILLING_BCRYPT_ROUNDS"
DATABASE_PASSWORD_FILE = "BILLING_DATABASE_PASSWORD_FILE"  # noqa: S105 (a variable name)
SMTP_URL = "BILLING_SMTP_URL"
OUTBOX_WORKER = "BILLING_OUTBOX_WORKER"
WEBHOOKS_ALLOW_PRIVATE = "BILLING_WEBHOOKS_ALLOW_PRIVATE"
# Secrets that may instead be read from a file named by NAME_FILE (Docker and Compose secrets).
SECRETS_FROM_FILES = (COOKIE_KEY, AUDIT_KEY, BACKUP_KEY)
VARIABLES = (DATABASE_URL, COOKIE_KEY, SESSION_HOURS, AUDIT_KEY, BACKUP_KEY, BCRYPT_ROUNDS, DATABASE_PASSWORD_FILE,
             *(f"{name}_FILE" for name in SECRETS_FROM_FILES), SMTP_URL, OUTBOX_WORKER, WEBHOOKS_ALLOW_PRIVATE)

DEFAULT_DATABASE_URL = "duckdb:///data/billing.duckdb"
DEFAULT_SESSION_HOURS = 24.0
MAX_SESSION_HOURS = 24 * 90
DEFAULT_BCRYPT_ROUNDS = 12
BCRYPT_ROUNDS_RANGE = range(4, 32)  # bcrypt's own limits
MIN_KEY_LENGTH = 32
# streamlit-authenticator's default cookie keys: a token signed with one is forgeable by anyone.
PUBLISHED_COOKIE_KEYS = frozenset({"some_key", "some_signature_key", "abcdef"})
_BACKENDS = frozenset({"duckdb", "postgresql"})
_URL_FORMS = "duckdb:///path/to/file.duckdb or postgresql+psycopg://user:password@host/database"


@dataclass(frozen=True)
class Settings:
    """The checked configuration.

    database_url: the SQLAlchemy URL of the database (DuckDB or PostgreSQL).
    cookie_key, audit_key, backup_key: keys given in the environment; None means the key file beside
        the database (billing.auth_keys, billing.signing). Never shown in a repr or a message.
    session_hours: how long a sign-in lasts, more than 0 and at most 90 days.
    bcrypt_rounds: the cost of new password hashes (tests lower it to 4).
    smtp_url: the SMTP server (billing.smtp's three URL forms), replacing the one set in Settings; None: Settings'.
    outbox_worker: whether the server process starts its outbox sender thread.
    webhooks_allow_private: whether webhooks may be delivered to loopback and private addresses (off: a
        webhook URL must not reach the server's own network; tests switch it on for a receiver on 127.0.0.1).
    """

    database_url: str = DEFAULT_DATABASE_URL
    cookie_key: str | None = field(default=None, repr=False)
    session_hours: float = DEFAULT_SESSION_HOURS
    audit_key: str | None = field(default=None, repr=False)
    backup_key: str | None = field(default=None, repr=False)
    bcrypt_rounds: int = DEFAULT_BCRYPT_ROUNDS
    smtp_url: str | None = field(default=None, repr=False)
    outbox_worker: bool = True
    webhooks_allow_private: bool = False

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(hours=self.session_hours)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """The settings the environment gives; a ConfigError naming every bad variable and its rule."""
        problems: list[str] = []
        from_files = _secret_files(environ, problems)

        def checked(check: Callable[[str], T], name: str, default: T) -> T:
            raw = environ.get(name)
            raw = from_files.get(name, raw)
            if raw is None:
                return default
            try:
                return check(raw)
            except _Refused as refused:
                problems.append(f"{name} {refused}")
                return default

        settings = cls(
            database_url=checked(_database_url, DATABASE_URL, DEFAULT_DATABASE_URL),
            cookie_key=checked(_cookie_key, COOKIE_KEY, None),
            session_hours=checked(_session_hours, SESSION_HOURS, DEFAULT_SESSION_HOURS),
            audit_key=checked(_key, AUDIT_KEY, None),
            backup_key=checked(_key, BACKUP_KEY, None),
            bcrypt_rounds=checked(_bcrypt_rounds, BCRYPT_ROUNDS, DEFAULT_BCRYPT_ROUNDS),
            smtp_url=checked(_smtp_url, SMTP_URL, None),
            outbox_worker=checked(_switch, OUTBOX_WORKER, True),
            webhooks_allow_private=checked(_switch, WEBHOOKS_ALLOW_PRIVATE, False),
        )
        if problems:
            raise ConfigError(" ".join(problems))
        return settings


def _secret_files(environ: Mapping[str, str], problems: list[str]) -> dict[str, str]:
    """The values read from files: each NAME_FILE's content as NAME (a value given directly wins), and the
    database URL with the password in BILLING_DATABASE_PASSWORD_FILE."""
    values: dict[str, str] = {}

    def read(variable: str) -> str | None:
        try:
            return Path(environ[variable]).read_text().strip()
        except OSError as exc:
            problems.append(f"{variable} names a file that cannot be read ({exc.strerror}).")
            return None

    for name in SECRETS_FROM_FILES:
        if f"{name}_FILE" in environ and name not in environ:
            content = read(f"{name}_FILE")
            if content is not None:
                values[name] = content
    if DATABASE_PASSWORD_FILE in environ:
        password = read(DATABASE_PASSWORD_FILE)
        try:
            url = sa.engine.make_url(environ.get(DATABASE_URL, DEFAULT_DATABASE_URL))
        except sa.exc.ArgumentError:
            return values  # refused with its own message
        if password is not None and url.get_backend_name() == "postgresql":
            values[DATABASE_URL] = url.set(password=password).render_as_string(hide_password=False)
    return values


def current_settings() -> Settings:
    """The settings of the environment as it is now: re-checked only when a BILLING_* value changed."""
    return _settings_for(tuple(os.environ.get(name) for name in VARIABLES))


def is_weak_key(key: str, well_known: frozenset[str] = frozenset()) -> bool:
    """Whether a key (from the environment or a key file) is too short or published somewhere."""
    return len(key) < MIN_KEY_LENGTH or key in well_known


@functools.lru_cache(maxsize=16)
def _settings_for(values: tuple[str | None, ...]) -> Settings:
    return Settings.from_env({name: value for name, value in zip(VARIABLES, values, strict=True) if value is not None})


class _Refused(Exception):
    """Why a value was refused, completing a sentence that starts with the variable's name."""


def _shown(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:40] + "…")


def _database_url(raw: str) -> str:
    # The URL may carry a password: a message names its scheme at most, never the whole value.
    try:
        backend = sa.engine.make_url(raw).get_backend_name()
    except sa.exc.ArgumentError:
        raise _Refused(f"is not a database URL; use {_URL_FORMS}.") from None
    if backend not in _BACKENDS:
        raise _Refused(f"uses the unsupported database '{backend}'; use {_URL_FORMS}.")
    return raw


def _cookie_key(raw: str) -> str:
    if is_weak_key(raw, PUBLISHED_COOKIE_KEYS):
        raise _Refused(f"is too short or well known; use at least {MIN_KEY_LENGTH} random characters.")
    return raw


def _key(raw: str) -> str:
    if is_weak_key(raw):
        raise _Refused(f"is too short; use at least {MIN_KEY_LENGTH} random characters.")
    return raw


def _session_hours(raw: str) -> float:
    try:
        hours = float(raw)  # float ok: a duration in hours, not money
    except ValueError:
        hours = -1.0
    if not 0 < hours <= MAX_SESSION_HOURS:  # NaN fails this too
        raise _Refused(f"must be a number of hours above 0 and at most {MAX_SESSION_HOURS} (90 days), "
                       f"not {_shown(raw)}.")
    return hours


def _bcrypt_rounds(raw: str) -> int:
    try:
        rounds = int(raw)
    except ValueError:
        rounds = 0
    if rounds not in BCRYPT_ROUNDS_RANGE:
        raise _Refused(f"must be a whole number from {BCRYPT_ROUNDS_RANGE.start} to {BCRYPT_ROUNDS_RANGE.stop - 1}, "
                       f"not {_shown(raw)}.")
    return rounds


def _smtp_url(raw: str) -> str | None:
    from billing.errors import ValidationError
    from billing.smtp import parse_smtp_url

    if not raw.strip():
        return None
    try:
        parse_smtp_url(raw, "it")
    except ValidationError as exc:  # the message never repeats the URL: it may hold a password
        raise _Refused(f"is not a usable SMTP URL: {exc.message}") from exc
    return raw.strip()


def _switch(raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("1", "0", "true", "false", "on", "off", "yes", "no"):
        raise _Refused(f"must be 1 or 0 (on or off), not {_shown(raw)}.")
    return value in ("1", "true", "on", "yes")
