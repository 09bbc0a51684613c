"""First-run setup: the owner's admin account, the company profile and, optionally, a demo sandbox beside the books."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from zoneinfo import available_timezones

import streamlit as st

from billing import settings, users
from billing.errors import ValidationError
from billing.models import CompanyIn, parse
from billing.money import KNOWN_CURRENCIES
from billing.sandbox import create_sandbox
from ui import context
from ui import format as fmt
from ui import sandbox as sandbox_ui
from ui.auth import signed_up
from ui.feedback import run_action

T = TypeVar("T")
TIMEZONES = sorted(available_timezones() | {"UTC"})
CURRENCIES = sorted(KNOWN_CURRENCIES)
EMPTY, EXPLORE = "Start with empty books", "Explore with demo data"


def _browser_timezone() -> str:
    zone = st.context.timezone
    return zone if zone in TIMEZONES else "UTC"


def set_up(owner: dict[str, str], repeat: str, company: dict[str, Any], demo: bool) -> str:
    """Create the owner and the company profile; everything is validated before anything is written, and every
    problem is reported at once (not the first one, then the next after it is fixed)."""
    problems: list[str] = []

    def checked(check: Callable[[], T]) -> T | None:
        try:
            return check()
        except ValidationError as exc:
            problems.append(exc.message)
            return None

    if owner["password"] != repeat:
        problems.append("The two passwords do not match.")
    username = checked(lambda: users.check_username(owner["username"]))
    if username is not None:
        checked(lambda: users.check_password_policy(username, owner["password"]))
    profile = checked(lambda: parse(CompanyIn, company))
    if problems or username is None or profile is None:
        raise ValidationError(" ".join(problems))
    db = context.real_db()
    user = users.create_user(db, None, username, owner["password"], "admin", name=owner["name"],
                             email=owner["email"])
    settings.save_company(db, user.actor, profile)
    if demo:  # never into the real books: their numbering starts at 1 whatever is tried out here
        with st.spinner("Creating the demo sandbox..."):
            create_sandbox(db, user.actor, context.today(), company=profile)
    return user.username


_, body, _ = st.columns([1, 6, 1])
body.title("Set up your billing portal")
body.caption("This runs once. You create the owner account (an administrator) and your company profile; "
             "everything can be changed later under Settings.")

with body, st.form("setup"):
    st.subheader("Owner account")
    left, middle, right = st.columns(3)
    username = left.text_input("Username", placeholder="e.g. jane", autocomplete="username")
    name = middle.text_input("Full name")
    email = right.text_input("Email", key="owner_email")
    left, right = st.columns(2)
    password = left.text_input("Password", type="password", autocomplete="new-password",
                               help=f"At least {users.MIN_PASSWORD_LENGTH} characters, not your username.")
    repeat = right.text_input("Repeat password", type="password", autocomplete="new-password")

    st.subheader("Company")
    left, right = st.columns(2)
    legal_name = left.text_input("Legal name")
    tax_id = right.text_input("Tax ID (VAT number)")
    address = left.text_area("Address", height=100)
    bank = right.text_area("Bank details (IBAN, BIC)", height=100)
    left, middle, right = st.columns(3)
    countries = fmt.countries_with("")
    country = left.selectbox("Country", countries, key="setup_country", format_func=lambda c: fmt.country(c) or "—")
    company_email = middle.text_input("Billing email", key="company_email")
    currency = right.selectbox("Base currency", CURRENCIES, index=CURRENCIES.index("EUR"))
    left, middle, right = st.columns(3)
    timezone = left.selectbox("Time zone", TIMEZONES, index=TIMEZONES.index(_browser_timezone()))
    terms = middle.number_input("Default payment terms (days)", min_value=0, max_value=365, value=30, step=1)
    page_size = right.radio("Page size", ["A4", "Letter"], horizontal=True)

    st.divider()
    start = st.radio("How do you want to start?", [EMPTY, EXPLORE], key="setup_start",
                     captions=["Your books, empty: the first invoice is number 1.",
                               "Your books stay empty; a separate sandbox with about 1,000 invented customers and "
                               "10,000 invoices over three years opens first. Leave or delete it any time."])
    submitted = st.form_submit_button("Create the portal", type="primary", icon=":material/rocket_launch:")

if submitted:
    with body:  # messages under the form
        owner = {"username": username, "name": name, "email": email, "password": password}
        company = {"legal_name": legal_name, "address": address, "country": country or "", "tax_id": tax_id,
                   "email": company_email, "bank_details": bank, "base_currency": currency, "timezone": timezone,
                   "default_terms_days": int(terms), "page_size": page_size}
        created = run_action(lambda: set_up(owner, repeat, company, start == EXPLORE))
        if created:
            # the sign-in form next, the owner's username filled in; then the sandbox if asked for
            signed_up(created, sandbox_ui.OPEN_PATH if start == EXPLORE else "/")
            st.rerun()
