"""billing.users (passwords, lockout, sessions) and billing.auth_keys (cookie key, tokens)."""

from __future__ import annotations

import dataclasses
import os
import stat
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import jwt
import pytest
import sqlalchemy as sa

from billing import auth_keys, users
from billing.errors import (
    AuthenticationError,
    ConfigError,
    NotFoundError,
    PermissionDeniedError,
    SessionEndedError,
    ValidationError,
)
from billing.permissions import Actor
from billing.store.db import Database, utcnow
from billing.store.schema import auth_sessions, login_attempts
from billing.store.schema import users as users_table
from tests.conftest import assert_refused

PASSWORD = "purple tugboat jingles at noon"
WRONG = "incorrect horse battery"
T0 = datetime(2026, 3, 2, 9, 0)
BAD = "Wrong username or password."
LOCKED = "Too many failed attempts. This account is locked for 15 minutes."
ADMIN = Actor("root", "admin")


@pytest.fixture(autouse=True)
def _fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_BCRYPT_ROUNDS", "4")


@pytest.fixture
def people(db: Database) -> Database:
    """The test database with an admin `root` and an accountant `bob`."""
    users.create_user(db, None, "root", PASSWORD, "admin", name="Root")
    users.create_user(db, ADMIN, "bob", PASSWORD, "accountant", name="Bob")
    return db


def message(db: Database, username: str, password: str, now: datetime) -> str:
    """The answer to one sign-in attempt: the username on success, else the error message."""
    try:
        return users.authenticate(db, username, password, now=now).username
    except AuthenticationError as exc:
        return exc.message


def fail(db: Database, username: str, times: int, start: datetime = T0,
         every: timedelta = timedelta(seconds=10)) -> None:
    for i in range(times):
        assert message(db, username, WRONG, start + i * every) == BAD


# --- lockout ---------------------------------------------------------------------------------------------------------

def test_five_failures_lock_the_username_even_for_the_right_password(people: Database) -> None:
    fail(people, "bob", 5)
    assert message(people, "bob", PASSWORD, T0 + timedelta(minutes=1)) == LOCKED
    assert users.is_locked(people, "bob", now=T0 + timedelta(minutes=1))
    assert message(people, "root", PASSWORD, T0 + timedelta(minutes=1)) == "root"  # only that username


def test_four_failures_do_not_lock(people: Database) -> None:
    fail(people, "bob", 4)
    assert message(people, "bob", PASSWORD, T0 + timedelta(minutes=1)) == "bob"


def test_unknown_usernames_lock_the_same_way(people: Database) -> None:
    fail(people, "mallory", 5)
    assert message(people, "mallory", PASSWORD, T0 + timedelta(minutes=1)) == LOCKED


def test_the_username_is_matched_case_insensitively(people: Database) -> None:
    fail(people, "Bob ", 5)
    assert message(people, "bob", PASSWORD, T0 + timedelta(minutes=1)) == LOCKED


@pytest.mark.parametrize(("after", "answer"), [
    (timedelta(minutes=14, seconds=59), LOCKED),
    (timedelta(minutes=15, seconds=1), "bob"),
])
def test_the_lock_lasts_15_minutes_from_the_fifth_failure(people: Database, after: timedelta, answer: str) -> None:
    fail(people, "bob", 5, every=timedelta(minutes=2))  # the fifth failure is at T0 + 8 min
    assert message(people, "bob", PASSWORD, T0 + timedelta(minutes=8) + after) == answer


def test_attempts_while_locked_do_not_extend_the_lock(people: Database) -> None:
    fail(people, "bob", 5)
    for minute in range(1, 15):
        assert message(people, "bob", WRONG, T0 + timedelta(minutes=minute)) == LOCKED
    assert message(people, "bob", PASSWORD, T0 + timedelta(minutes=16)) == "bob"


def test_failures_spread_over_more_than_15_minutes_do_not_lock(people: Database) -> None:
    fail(people, "bob", 5, every=timedelta(minutes=4))  # T0 ... T0 + 16 min
    assert message(people, "bob", PASSWORD, T0 + timedelta(minutes=17)) == "bob"


def test_a_successful_sign_in_starts_the_count_again(people: Database) -> None:
    fail(people, "bob", 4)
    assert message(people, "bob", PASSWORD, T0 + timedelta(minutes=1)) == "bob"
    fail(people, "bob", 4, start=T0 + timedelta(minutes=2))
    assert message(people, "bob", PASSWORD, T0 + timedelta(minutes=3)) == "bob"


def test_parallel_attempts_cannot_slip_past_the_lock(people: Database) -> None:
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: message(people, "bob", WRONG, T0), range(12)))
    assert sorted(answers) == sorted([BAD] * 5 + [LOCKED] * 7)
    with people.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(login_attempts)).scalar_one() == 5


@pytest.mark.parametrize(("minutes", "until"), [
    ([], None),
    ([0, 1, 2, 3], None),
    ([0, 1, 2, 3, 4], 19),
    ([0, 4, 8, 12, 16], None),  # never five within 15 minutes
    ([0, 4, 8, 12, 15], 30),  # exactly 15 minutes apart still counts
    ([0, 1, 2, 3, 4, 40, 41, 42, 43, 44], 59),  # a second lock later on
])
def test_locked_until(minutes: list[int], until: int | None) -> None:
    times = [T0 + timedelta(minutes=m) for m in minutes]
    assert users.locked_until(times) == (None if until is None else T0 + timedelta(minutes=until))


# --- passwords and accounts ------------------------------------------------------------------------------------------

def test_unknown_user_and_wrong_password_get_the_same_message(people: Database) -> None:
    assert message(people, "nobody", PASSWORD, T0) == message(people, "bob", WRONG, T0) == BAD


@pytest.mark.parametrize("rounds", [5, 7])
def test_an_unknown_username_is_checked_against_a_hash_of_the_configured_cost(
        db: Database, monkeypatch: pytest.MonkeyPatch, rounds: int) -> None:
    monkeypatch.setenv("BILLING_BCRYPT_ROUNDS", str(rounds))
    assert message(db, "nobody", PASSWORD, T0) == BAD
    dummy = users._dummy_hash(users._rounds())
    assert dummy.startswith(f"$2b${rounds:02d}$".encode()) and users._dummy_hash(rounds) is dummy  # made once
    assert users.hash_password(PASSWORD).startswith(f"$2b${rounds:02d}$")  # the cost a user's hash has


def test_an_unknown_username_takes_as_long_to_refuse_as_a_wrong_password(db: Database,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """At a cost that makes bcrypt most of a sign-in (11: ~120 ms a check, against ~30 ms of database work),
    an unknown username's median is at least half a known one's: with the cheaper hash unknown
    usernames had, they took a tenth of the time (loaded machines slow both alike). Each attempt is an hour
    after the last, so none is refused as locked."""
    monkeypatch.setenv("BILLING_BCRYPT_ROUNDS", "11")
    users.create_user(db, None, "root", PASSWORD, "admin")
    spent: dict[str, list[float]] = {"root": [], "nobody": []}
    for attempt in range(7):  # the first of each is not counted: it warms up
        for username in spent:
            start = time.perf_counter()
            assert message(db, username, WRONG, T0 + timedelta(hours=attempt)) == BAD
            spent[username].append(time.perf_counter() - start)
    known, unknown = statistics.median(spent["root"][1:]), statistics.median(spent["nobody"][1:])
    assert unknown > 0.5 * known, spent  # what leaks is an unknown name refused faster; slower is only noise


@pytest.mark.parametrize(("username", "password", "problem"), [
    ("carol", "x" * 11, "at least 12 characters"),
    ("carol", "", "at least 12 characters"),
    ("carolcarolcarol", "carolcarolcarol", "same as the username"),
    ("carolcarolcarol", "CarolCarolCarol", "same as the username"),
    ("carol", "é" * 37, "at most 72 bytes"),
])
def test_password_policy(db: Database, username: str, password: str, problem: str) -> None:
    assert_refused(db, lambda: users.create_user(db, None, username, password, "admin"), ValidationError, problem)


@pytest.mark.parametrize("password", [
    " " * 12, "\t" * 12, "\u200b" * 12, " \t\n\u00a0\u3000\u2003\u200b\u200c\u200d\u2060\ufeff\u00ad",
    "\u200b \u3164\u115f\ufe0f" * 3,  # zero-width space, space, Hangul fillers, a variation selector
])
def test_a_password_that_prints_as_nothing_is_refused(db: Database, password: str) -> None:
    assert_refused(db, lambda: users.create_user(db, None, "carol", password, "admin"), ValidationError,
                   "only of spaces or invisible characters")


@pytest.mark.parametrize("password", ["x" + "\u200b" * 11, "a" + " " * 11, "i am the boss",
                                      "ab\u200dcd\u200def\u2060gh ij k"])
def test_spaces_and_invisible_characters_do_not_make_a_password_long(db: Database, password: str) -> None:
    assert_refused(db, lambda: users.create_user(db, None, "carol", password, "admin"), ValidationError,
                   "at least 12 characters besides spaces and invisible characters")


@pytest.mark.parametrize("password", [
    "password1234", "PASSWORD1234", "qwertyuiopasdfgh", "1q2w3e4r5t6y", "1Q2W 3E4R 5T6Y",  # spaces left out
    "１２３４５６７８９０１２", "ｐａｓｓｗｏｒｄ１２３４",  # full-width forms: NFKC makes them plain
    "pass\u200bword\u200b1234", " password1234 ",
    "correct horse battery staple",  # xkcd's example passphrase: crackers try it, as "correcthorsebatterystaple"
])
def test_a_common_password_is_refused(db: Database, password: str) -> None:
    assert_refused(db, lambda: users.create_user(db, None, "carol", password, "admin"), ValidationError,
                   "list of commonly used passwords")


@pytest.mark.parametrize("password", [PASSWORD, "a long owner secret", "kq7x!mz2pw#r", "Zürich tugboat 7",
                                      "\u200bpurple\u200btugboat\u200b"])
def test_an_uncommon_password_with_any_spacing_is_accepted(db: Database, password: str) -> None:
    users.create_user(db, None, "carol", password, "admin")
    assert message(db, "carol", password, T0) == "carol"


def test_a_twelve_character_password_is_enough(db: Database) -> None:
    users.create_user(db, None, "carol", "kq7x!mz2pw#r", "admin")
    assert message(db, "carol", "kq7x!mz2pw#r", T0) == "carol"


def test_a_password_reset_follows_the_policy(people: Database) -> None:
    assert_refused(people, lambda: users.update_user(people, ADMIN, "bob", password="short"), ValidationError)
    for weak in ("\u200b" * 12, "Password1234"):
        assert_refused(people, lambda weak=weak: users.update_user(people, ADMIN, "bob", password=weak),
                       ValidationError)
    users.update_user(people, ADMIN, "bob", password="a brand new secret")
    assert message(people, "bob", PASSWORD, T0) == BAD
    assert message(people, "bob", "a brand new secret", T0) == "bob"


def test_a_disabled_user_cannot_sign_in_and_gets_the_usual_message(people: Database) -> None:
    users.update_user(people, ADMIN, "bob", active=False)
    assert message(people, "bob", PASSWORD, T0) == BAD
    users.update_user(people, ADMIN, "bob", active=True)
    assert message(people, "bob", PASSWORD, T0) == "bob"


def test_only_the_first_user_is_created_without_an_actor_and_it_is_an_admin(db: Database) -> None:
    assert_refused(db, lambda: users.create_user(db, None, "ann", PASSWORD, "analyst"), ValidationError, "admin")
    users.create_user(db, None, "ann", PASSWORD, "admin")
    assert_refused(db, lambda: users.create_user(db, None, "ben", PASSWORD, "admin"), ValidationError, "exists")


def test_only_admins_manage_users(people: Database) -> None:
    clerk = Actor("bob", "accountant")
    assert_refused(people, lambda: users.create_user(people, clerk, "eve", PASSWORD, "admin"), PermissionDeniedError)
    assert_refused(people, lambda: users.update_user(people, clerk, "bob", role="admin"), PermissionDeniedError)
    assert_refused(people, lambda: users.list_users(people, clerk), PermissionDeniedError)


def test_usernames_are_unique_and_well_formed(people: Database) -> None:
    assert_refused(people, lambda: users.create_user(people, ADMIN, "BOB", PASSWORD, "analyst"), ValidationError,
                   "taken")
    assert_refused(people, lambda: users.create_user(people, ADMIN, "a b", PASSWORD, "analyst"), ValidationError)


def test_an_admin_cannot_lock_themselves_out(people: Database) -> None:
    assert_refused(people, lambda: users.update_user(people, ADMIN, "root", active=False), ValidationError)
    assert_refused(people, lambda: users.update_user(people, ADMIN, "root", role="analyst"), ValidationError)


def test_updating_an_unknown_user_is_refused(people: Database) -> None:
    assert_refused(people, lambda: users.update_user(people, ADMIN, "ghost", role="analyst"), NotFoundError)


# --- sessions --------------------------------------------------------------------------------------------------------

def session(db: Database, username: str = "bob", now: datetime | None = None) -> str:
    """A session started `now` (default: the real clock, which is after the users' password was set)."""
    now = now or utcnow()
    token, expires = auth_keys.issue_token("k" * 64, username, timedelta(hours=24), now=now)
    users.start_session(db, username, token, expires, now=now)
    return token


def hours_later(hours: float) -> datetime:
    return utcnow() + timedelta(hours=hours)


def test_a_live_session_gives_the_user_as_stored_now(people: Database) -> None:
    token = session(people)
    live = users.session_user(people, token, now=hours_later(1))
    assert live is not None and live.session is not None  # its actor is checked against the live session
    assert dataclasses.replace(live, session=None) == users.get_user(people, "bob")
    users.update_user(people, ADMIN, "bob", role="analyst")
    current = users.session_user(people, token, now=hours_later(1))
    assert current is not None and current.role == "analyst"


def test_signing_out_revokes_the_session_and_only_that_one(people: Database) -> None:
    token, other = session(people), session(people)
    users.end_session(people, token)
    assert users.session_user(people, token, now=hours_later(0)) is None
    assert users.session_user(people, other, now=hours_later(0)) is not None


def test_a_session_expires(people: Database) -> None:
    start = utcnow()
    token = session(people, now=start)
    assert users.session_user(people, token, now=start + timedelta(hours=23, minutes=59)) is not None
    assert users.session_user(people, token, now=start + timedelta(hours=24)) is None


@pytest.mark.parametrize("change", [{"active": False}, {"password": "a brand new secret"}])
def test_disabling_or_a_password_reset_revokes_every_session(people: Database, change: dict[str, object]) -> None:
    tokens = [session(people), session(people)]
    users.update_user(people, ADMIN, "bob", **change)  # type: ignore[arg-type]
    if "active" in change:
        users.update_user(people, ADMIN, "bob", active=True)  # enabling again does not revive them
    assert [users.session_user(people, t, now=hours_later(0)) for t in tokens] == [None, None]


def test_a_session_older_than_the_last_password_change_is_refused(people: Database) -> None:
    token = session(people, now=datetime(2000, 1, 1))  # before the account's password was set
    assert users.session_user(people, token, now=datetime(2000, 1, 1, 1)) is None


def test_a_token_the_server_never_issued_is_refused(people: Database) -> None:
    token, _ = auth_keys.issue_token("k" * 64, "bob", timedelta(hours=1))  # right format and key, no session
    assert users.session_user(people, token) is None


def test_only_a_digest_of_the_token_is_stored(people: Database) -> None:
    token = session(people)
    with people.connect() as conn:
        stored = conn.execute(sa.select(auth_sessions.c.id)).scalars().all()
    assert len(stored) == 1 and token not in stored[0] and len(stored[0]) == 64


def test_disabled_users_have_no_session(people: Database) -> None:
    token = session(people)
    # the session row stays live (as if revoking had failed): the user's own state still counts
    people.transaction(lambda conn: conn.execute(
        users_table.update().where(users_table.c.username == "bob").values(active=False)))
    assert users.session_user(people, token, now=hours_later(0)) is None


# --- cookie key and tokens (billing.auth_keys) -----------------------------------------------------------------------

def test_the_cookie_key_is_created_once_next_to_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BILLING_COOKIE_KEY", raising=False)
    url = f"duckdb:///{tmp_path}/data/app.duckdb"
    key = auth_keys.cookie_key(url)
    path = tmp_path / "data" / ".cookie_key"
    assert len(key) >= 64 and path.read_text() == key
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert auth_keys.cookie_key(url) == key
    assert auth_keys.cookie_key(f"duckdb:///{tmp_path}/elsewhere/app.duckdb") != key


def test_the_environment_key_wins_and_must_be_strong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"duckdb:///{tmp_path}/app.duckdb"
    monkeypatch.setenv("BILLING_COOKIE_KEY", "s" * 40)
    assert auth_keys.cookie_key(url) == "s" * 40
    for weak in ("some_key", "short"):
        monkeypatch.setenv("BILLING_COOKIE_KEY", weak)
        with pytest.raises(ConfigError):
            auth_keys.cookie_key(url)


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the short default key, on purpose
def test_a_token_verifies_only_with_its_own_key() -> None:
    token, expires = auth_keys.issue_token("k" * 64, "bob", timedelta(hours=2), now=T0)
    claims = jwt.decode(token, "k" * 64, algorithms=["HS256"])
    assert claims["username"] == "bob" and expires == T0 + timedelta(hours=2)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "some_key", algorithms=["HS256"])
    assert auth_keys.issue_token("k" * 64, "bob", timedelta(hours=2), now=T0)[0] != token  # unique per sign-in


@pytest.mark.parametrize(("raw", "hours"), [(None, 24.0), ("8", 8.0), ("0.5", 0.5)])
def test_session_lifetime(monkeypatch: pytest.MonkeyPatch, raw: str | None, hours: float) -> None:
    if raw is None:
        monkeypatch.delenv("BILLING_SESSION_HOURS", raising=False)
    else:
        monkeypatch.setenv("BILLING_SESSION_HOURS", raw)
    assert auth_keys.session_lifetime() == timedelta(hours=hours)


@pytest.mark.parametrize("raw", ["0", "-1", "soon", "100000"])
def test_a_bad_session_lifetime_is_refused(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("BILLING_SESSION_HOURS", raw)
    with pytest.raises(ConfigError):
        auth_keys.session_lifetime()


def test_old_login_attempts_and_dead_sessions_are_pruned_at_sign_in(people: Database) -> None:
    start = utcnow()
    with pytest.raises(AuthenticationError):
        users.authenticate(people, "bob", "not the password", now=start)
    expired, revoked, live = (session(people, now=start), session(people, now=start), session(people, now=start))
    users.end_session(people, revoked)
    later = start + users.RETENTION - timedelta(days=1)
    live_again = session(people, now=later)  # signing in prunes what has been dead for 90 days: nothing yet
    with people.connect() as conn:
        attempts = conn.execute(sa.select(sa.func.count()).select_from(login_attempts)).scalar_one()
        sessions = conn.execute(sa.select(sa.func.count()).select_from(auth_sessions)).scalar_one()
    assert (attempts, sessions) == (1, 4)
    session(people, now=later + timedelta(days=3))
    with people.connect() as conn:
        attempts = conn.execute(sa.select(sa.func.count()).select_from(login_attempts)).scalar_one()
        left = set(conn.execute(sa.select(auth_sessions.c.id)).scalars())
    assert attempts == 0
    assert len(left) == 2 and users.session_user(people, live_again, now=later) is not None
    assert [users.session_user(people, t, now=later) for t in (expired, live)] == [None, None]


# --- one's own password ----------------------------------------------------------------------------------------------

NEW = "a fresh password only bob knows"


def test_a_password_an_admin_sets_for_someone_else_must_be_changed_by_them(people: Database) -> None:
    created = users.create_user(people, ADMIN, "carol", PASSWORD, "analyst", must_change_password=True)
    assert created.must_change_password and users.get_user(people, "carol") == created
    bob = users.get_user(people, "bob")
    assert bob is not None and not bob.must_change_password
    users.update_user(people, ADMIN, "bob", password=NEW)
    bob = users.get_user(people, "bob")
    assert bob is not None and bob.must_change_password
    users.update_user(people, ADMIN, "root", password=NEW)  # an admin's reset of their own password
    root = users.get_user(people, "root")
    assert root is not None and not root.must_change_password


def test_changing_ones_own_password_keeps_this_session_and_ends_the_others(people: Database) -> None:
    users.update_user(people, ADMIN, "bob", password="the admin's password for bob")
    here, elsewhere = session(people), session(people)
    bob = users.session_user(people, here)
    assert bob is not None and bob.must_change_password
    users.change_own_password(people, bob.actor, "the admin's password for bob", NEW)
    after = users.session_user(people, here)
    assert after is not None and not after.must_change_password
    assert users.session_user(people, elsewhere) is None
    assert users.authenticate(people, "bob", NEW).username == "bob"
    with pytest.raises(AuthenticationError):
        users.authenticate(people, "bob", "the admin's password for bob")
    with people.connect() as conn:
        event = conn.execute(sa.text("SELECT actor, action, after FROM audit_events ORDER BY id DESC LIMIT 1")).one()
    assert event[:2] == ("bob", "user.password_change") and "hash" not in str(event[2])


def test_a_wrong_current_password_is_refused_and_counts_towards_the_lockout(people: Database) -> None:
    token = session(people)
    actor = users.session_user(people, token).actor  # type: ignore[union-attr]
    for _ in range(5):  # (each attempt is recorded, as a sign-in's is)
        with pytest.raises(ValidationError, match="The current password is not right"):
            users.change_own_password(people, actor, WRONG, NEW)
    with pytest.raises(AuthenticationError, match="locked"):
        users.change_own_password(people, actor, PASSWORD, NEW)
    assert users.session_user(people, token) is not None


@pytest.mark.parametrize("new", [PASSWORD, "short", "bob", "password1234"])
def test_the_new_password_must_pass_the_policy_and_differ_from_the_current_one(people: Database, new: str) -> None:
    actor = users.session_user(people, session(people)).actor  # type: ignore[union-attr]
    assert_refused(people, lambda: users.change_own_password(people, actor, PASSWORD, new), ValidationError)
    assert users.authenticate(people, "bob", PASSWORD).username == "bob"


def test_a_session_that_ended_cannot_change_the_password(people: Database) -> None:
    token = session(people)
    actor = users.session_user(people, token).actor  # type: ignore[union-attr]
    users.end_session(people, token)
    with pytest.raises(SessionEndedError):
        users.change_own_password(people, actor, PASSWORD, NEW)
    assert users.authenticate(people, "bob", PASSWORD).username == "bob"
