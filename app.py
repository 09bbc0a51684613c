"""Entry point: page config, the sign-in gate, and navigation built from the user's permissions; and the server
(`app`) that `streamlit run app.py` or `uvicorn app:app` serves: the portal, its sign-in form (signin/: the form at
/auth/sign-in sets the session cookie, and a page requested without a live session is sent there), and the REST
API (api/) mounted at /api."""

from __future__ import annotations

import logging

import streamlit as st

from billing import users
from billing.config import current_settings
from billing.errors import BillingError, ConfigError

if __name__ == "__main__":  # the modules a session's run needs (the server's import below needs others)
    from ui import access, context
    from ui import sandbox as sandbox_ui
    from ui.account import password_change_pages
    from ui.auth import sign_in_gate, sign_out_button
    from ui.feedback import guarded, show_flashes, show_unexpected
    from ui.format import plain
    from ui.keyboard import enter_applies_dates
    from ui.pages import ACCOUNT, pages_for

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logging.getLogger("fontTools").setLevel(logging.WARNING)  # subsetting a PDF font logs ~100 lines at INFO


def main() -> None:
    db = context.real_db()  # the setup and the sign-in: users and sessions live in the real books
    if not users.has_users(db):
        st.navigation([st.Page("app_pages/setup.py", title="Set up", icon=":material/rocket_launch:",
                               url_path="setup", default=True)], position="hidden").run()
        return
    user = sign_in_gate(db)
    if user is None:
        return
    access.keep_user(user)
    sandbox_ui.choose_books(db)
    if user.must_change_password:  # a password an admin set: the user chooses their own before anything else
        st.navigation(password_change_pages(db), position="hidden").run()
        return
    sections: dict[str, list[st.Page]] = {}
    for spec in (*pages_for(user.actor), ACCOUNT):
        # The home page is served at "/" and reserves its url_path: a hidden twin answers at that path
        # (/dashboard in a link or bookmark), where a default page alone would say "Page not found".
        sections.setdefault(spec.section, []).append(
            st.Page(spec.script, title=spec.title, icon=spec.icon, url_path=f"{spec.url_path}-home" if spec.default
                    else spec.url_path, default=spec.default))
        if spec.default:
            sections[spec.section].append(st.Page(spec.script, title=spec.title, icon=spec.icon,
                                                  url_path=spec.url_path, visibility="hidden"))
    navigation = st.navigation(sections, expanded=True)  # every page listed: no "View more"
    with st.sidebar:
        company = context.company()
        if company.get("legal_name"):
            st.caption(plain(company["legal_name"]))
        st.caption(f"Signed in as **{plain(user.name)}** · {user.role}")
        sandbox_ui.switch(db)
        sign_out_button(db)
        enter_applies_dates()
    show_flashes()
    sandbox_ui.banner()
    with guarded():
        navigation.run()


def run() -> None:
    """One run of the portal's script for a browser session."""
    st.set_page_config(page_title="Billing portal", page_icon="🧾", layout="wide")  # an emoji needs no web font
    try:
        current_settings()  # a bad BILLING_* value: its message, before anything opens the database
    except ConfigError as exc:
        st.error(plain(exc.message), icon=":material/error:")
        return
    try:
        main()
    except BillingError as exc:  # the database itself is refused (another installation's, held elsewhere, ...)
        st.error(plain(exc.message), icon=":material/error:")
    except Exception as exc:
        show_unexpected(exc)


if __name__ == "__main__":  # a session's run of this script (Streamlit runs it as __main__, AppTest too)
    run()
else:  # imported as the server's module: serve the portal, and the API beside it on the same port
    from starlette.middleware import Middleware

    from api.app import api_app, api_mount
    from api.customer_link import ROUTES as CUSTOMER_LINK_ROUTES
    from api.worker import server_lifespan
    from signin.routes import SignInRequired, routes

    app = st.App("app.py", routes=[*routes(), api_mount(api_app), *CUSTOMER_LINK_ROUTES],
                 middleware=[Middleware(SignInRequired)], lifespan=server_lifespan)
