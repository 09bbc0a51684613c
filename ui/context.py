"""Per-run context for the pages: the books this tab works in (the real ones or the demo sandbox), the signed-in
user, today's date."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import streamlit as st

from billing import settings
from billing.errors import StateError
from billing.permissions import Actor, can
from billing.sandbox import open_sandbox
from billing.store.db import Database, database_url, get_database
from billing.users import User

SANDBOX = "demo_sandbox"  # session state: this tab works in the demo sandbox (ui/sandbox.py switches it)
SANDBOX_GONE = "The demo sandbox was deleted: nothing was saved. You are back in your real books."


def real_db() -> Database:
    """The one Database of the real books in this server process (shared by every session; never per-user data):
    users and sign-in sessions live here, also while a tab works in the sandbox. (billing.store.db keeps it: a
    dictionary look-up, where st.cache_resource cost a millisecond of hashing on each of a run's many calls.)"""
    return get_database(database_url())


def in_sandbox() -> bool:
    return bool(st.session_state.get(SANDBOX))


def db() -> Database:
    """The books this tab works in: the real ones, or the demo sandbox once the tab has switched to it. A tab in a
    sandbox deleted meanwhile is refused, never led into the real books unawares."""
    real = real_db()
    if not in_sandbox():
        return real
    sandbox = open_sandbox(real)
    if sandbox is None:
        raise StateError(SANDBOX_GONE)
    return sandbox


def user() -> User:
    """The signed-in user, re-read from the database by app.py at the start of this run."""
    current = st.session_state.get("user")
    if current is None:
        st.error("Please sign in.")
        st.stop()
    return current  # type: ignore[no-any-return]


def actor() -> Actor:
    return user().actor


def allowed(action: str) -> bool:
    current = st.session_state.get("user")
    return current is not None and can(current.actor, action)


def company() -> dict[str, Any]:
    return settings.get_company(db()) or {}


def timezone() -> ZoneInfo:
    try:
        return ZoneInfo(company().get("timezone") or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def today() -> date:
    """Today in the company's time zone (an invoice issued at 23:30 in Berlin is dated in Berlin)."""
    return datetime.now(timezone()).date()


def base_currency() -> str:
    return str(company().get("base_currency") or "EUR")


def as_id(text: str) -> int | None:
    """A record id from the URL query (?invoice=12), or None for anything else a user may have typed."""
    try:
        return int(text)
    except ValueError:
        return None


def go(**params: Any) -> NoReturn:
    """Show another part of the current page (the URL query says which), from a fresh run."""
    st.query_params.from_dict({name: str(value) for name, value in params.items()})
    st.rerun()
