"""AppTest of the sign-in gate, first-run setup and the admin pages (users, settings, audit log)."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import duckdb
import pytest
import sqlalchemy as sa
from PIL import Image
from portal import PASSWORD, ROOT, app_as, download_payload, sign_in_link
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.media_file_storage import MediaFileStorageError
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Json

from billing import auth_keys, sandbox, settings, users
from billing.errors import PermissionDeniedError
from billing.permissions import ADMIN, Actor
from billing.store.db import Database, forget_database, get_database
from billing.store.schema import audit_events
from ui import maintenance

ADMIN_PAGES = ["app_pages/users.py", "app_pages/settings.py", "app_pages/audit_log.py"]


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 4), "navy").save(buffer, format="PNG")
    return buffer.getvalue()


PNG = png()
ROOT_ACTOR = Actor("admin", ADMIN)


@pytest.fixture
def db(database_copy: Callable[[Path], Database], portal_template: Path) -> Database:
    """Here `db` is a copy of the company and its users only (no demo data): the admin pages count them."""
    return database_copy(portal_template)


def find(elements: Iterable[Any], label: str) -> Any:
    """The one widget with this label."""
    matches = [e for e in elements if e.label == label]
    assert len(matches) == 1, f"{len(matches)} widgets labelled {label!r}"
    return matches[0]


def texts(at: AppTest) -> str:
    """Everything readable on the page (to assert what a user sees)."""
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info", "success", "warning", "error")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]


def submit(at: AppTest, label: str) -> AppTest:
    find(at.button, label).click()
    return at.run()


# --- every admin page renders for an admin, and for nobody else ------------------------------------------------------

@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_page_renders_for_an_admin(db: Database, page: str) -> None:
    at = app_as("admin", page)
    assert errors(at) == []
    assert at.title[0].value in {"Users", "Settings", "Audit log"}


@pytest.mark.parametrize("role", ["accountant", "analyst"])
@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_pages_are_not_registered_for_other_roles(db: Database, role: str, page: str) -> None:
    at = app_as(role)
    assert errors(at) == []
    with pytest.raises(ValueError, match=r"(?i)page"):
        at.switch_page(page)


# --- sign-in gate ----------------------------------------------------------------------------------------------------

def test_a_tab_without_a_session_goes_to_the_sign_in_form(db: Database) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert sign_in_link(at) == "/auth/sign-in"
    assert "Signed in as" not in "\n".join(c.value for c in at.sidebar.caption)


def test_a_browser_session_signs_the_tab_in_and_signing_out_revokes_it(db: Database) -> None:
    token, expires = auth_keys.issue_token("k" * 40, "admin", timedelta(hours=1))
    users.start_session(db, "admin", token, expires)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["auth_token"] = token  # what the gate takes from the browser's cookie at the tab's first run
    at.run()
    assert at.session_state["auth_username"] == "admin"
    assert "Signed in as **Ada Admin**" in "\n".join(c.value for c in at.sidebar.caption)
    live = users.session_user(db, token)
    assert live is not None and live.session is not None
    assert dataclasses.replace(live, session=None) == users.get_user(db, "admin")
    at = submit(at, "Sign out")
    assert users.session_user(db, token) is None  # revoked: a copied cookie stops working
    assert "auth_username" not in at.session_state and "auth_token" not in at.session_state
    assert "You have signed out." in texts(at)
    assert sign_in_link(at) == "/auth/sign-in?notice=signed-out"
    at.run()  # the first request's cookie is not read again
    assert "auth_username" not in at.session_state


def test_a_tab_whose_session_ended_keeps_its_page_for_after_the_sign_in(db: Database) -> None:
    token, expires = auth_keys.issue_token("k" * 40, "admin", timedelta(hours=1))
    users.start_session(db, "admin", token, expires)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["auth_token"] = token
    at.query_params["customer"] = "7"
    at.switch_page("app_pages/customers.py").run()
    users.end_session(db, token)  # signed out in another tab
    at.run()
    assert "Your session has ended. Please sign in again." in texts(at)
    assert sign_in_link(at) == "/auth/sign-in?next=%2Fcustomers%3Fcustomer%3D7&notice=ended"


def test_a_role_change_or_disabling_takes_effect_at_the_next_run(db: Database) -> None:
    at = app_as("accountant")
    assert at.session_state["user"].role == "accountant"
    users.update_user(db, ROOT_ACTOR, "accountant", role="analyst")
    at.run()
    assert at.session_state["user"].role == "analyst"
    with pytest.raises(ValueError, match=r"(?i)page"):
        at.switch_page("app_pages/settings.py")
    users.update_user(db, ROOT_ACTOR, "accountant", active=False)
    at.run()
    assert "auth_username" not in at.session_state
    assert "Your session has ended. Please sign in again." in texts(at)


# --- first-run setup -------------------------------------------------------------------------------------------------

def fill_setup(at: AppTest, **override: str) -> AppTest:
    values = {"Username": "owner", "Full name": "Olga Owner", "Password": "a long owner secret",
              "Repeat password": "a long owner secret", "Legal name": "Olga's Bakery GmbH", "Tax ID (VAT number)":
              "DE136695976", **override}
    for label, value in values.items():
        find(at.text_input, label).input(value)
    at.selectbox(key="setup_country").select("DE")
    find(at.text_area, "Address").input("Marktplatz 1\n04109 Leipzig")
    return at


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """A new installation: an empty database, which the app under test opens."""
    url = f"duckdb:///{tmp_path}/empty.duckdb"
    monkeypatch.setenv("BILLING_DATABASE_URL", url)
    yield get_database(url)
    forget_database(url)


def test_first_run_setup_creates_the_owner_and_the_company(empty: Database) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert at.title[0].value == "Set up your billing portal"
    at = submit(fill_setup(at, **{"Repeat password": "something else!"}), "Create the portal")
    assert errors(at) == ["The two passwords do not match."]
    assert not users.has_users(empty)
    at = submit(fill_setup(at), "Create the portal")
    owner = users.get_user(empty, "owner")
    assert owner is not None and owner.role == "admin" and owner.name == "Olga Owner"
    company = settings.get_company(empty)
    assert company is not None and company["legal_name"] == "Olga's Bakery GmbH" and company["country"] == "DE"
    assert "Your portal is ready. Sign in with your new password." in texts(at)
    assert sign_in_link(at) == "/auth/sign-in?notice=ready&username=owner"


def test_setup_explores_demo_data_in_a_sandbox_and_leaves_the_books_empty(empty: Database) -> None:
    at = fill_setup(AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run())
    at.radio(key="setup_start").set_value("Explore with demo data")
    at = submit(at, "Create the portal")
    assert errors(at) == []
    with empty.connect() as conn:
        actions = conn.execute(sa.select(audit_events.c.actor, audit_events.c.action).order_by(audit_events.c.id)).all()
        invoices = conn.execute(sa.text("SELECT count(*) FROM invoices")).scalar_one()
    assert [tuple(a) for a in actions] == [("owner", "user.create"), ("owner", "company.save"),
                                           ("owner", "sandbox.create")]
    assert invoices == 0  # the demo is in the sandbox, never in the books
    box = sandbox.open_sandbox(empty)
    assert box is not None and settings.get_company(box) == settings.get_company(empty) | {"updated_at": ANY}
    # after signing in, the owner lands in the sandbox
    assert sign_in_link(at) == "/auth/sign-in?next=%2F%3Fdemo%3Dopen&notice=ready&username=owner"


def test_setup_validates_everything_before_writing_anything(empty: Database) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    at = submit(fill_setup(at, **{"Legal name": ""}), "Create the portal")
    assert len(errors(at)) == 1 and "legal name" in errors(at)[0].lower()
    at = submit(fill_setup(at, Password="owner", **{"Repeat password": "owner"}), "Create the portal")
    assert len(errors(at)) == 1 and "12 characters" in errors(at)[0]
    assert not users.has_users(empty) and settings.get_company(empty) is None



def test_setup_reports_every_problem_at_once(empty: Database) -> None:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    at = submit(fill_setup(at, Username="x y", Password="short", **{"Repeat password": "different", "Legal name": ""}),
                "Create the portal")
    assert len(errors(at)) == 1
    for problem in ("passwords do not match", "username is 2-40 characters", "Legal name: this is required"):
        assert problem in errors(at)[0], errors(at)
    at = submit(fill_setup(at, Password="short", **{"Repeat password": "short", "Legal name": ""}),
                "Create the portal")
    assert "12 characters" in errors(at)[0] and "Legal name" in errors(at)[0]  # the policy, with the rest
    assert not users.has_users(empty) and settings.get_company(empty) is None

# --- users page ------------------------------------------------------------------------------------------------------

def test_users_page_creates_a_user(db: Database) -> None:
    at = app_as("admin", "app_pages/users.py")
    find(at.text_input, "Username").input("Dora")
    find(at.text_input, "Full name").input("Dora Debit")
    find(at.selectbox, "Role").select("accountant")
    find(at.text_input, "Initial password").input("dora's first secret")
    find(at.text_input, "Repeat password").input("dora's first secret")
    at = submit(at, "Create user")
    assert errors(at) == []
    assert users.get_user(db, "dora") == users.User("dora", "Dora Debit", "", "accountant", True,
                                                    must_change_password=True)  # an admin's password: changed at first
    assert "User dora created." in [t.value for t in at.toast]
    assert "dora" in at.dataframe[0].value["Username"].tolist()


def test_users_page_shows_why_a_user_is_not_created(db: Database) -> None:
    at = app_as("admin", "app_pages/users.py")
    find(at.text_input, "Username").input("eve")
    find(at.text_input, "Initial password").input("too short")
    find(at.text_input, "Repeat password").input("too short")
    at = submit(at, "Create user")
    assert errors(at) == ["A password needs at least 12 characters."]
    assert users.get_user(db, "eve") is None


def test_disabling_a_user_needs_a_confirmation(db: Database) -> None:
    at = app_as("admin", "app_pages/users.py")
    at.selectbox(key="users_manage_pick").select("analyst").run()
    at = submit(at, "Disable user")
    assert "Tick the box to confirm." in texts(at)
    assert users.get_user(db, "analyst").active  # type: ignore[union-attr]
    find(at.checkbox, "Yes, disable analyst and sign them out").check()
    at = submit(at, "Disable user")
    assert not users.get_user(db, "analyst").active  # type: ignore[union-attr]
    at = submit(at, "Enable user")
    assert users.get_user(db, "analyst").active  # type: ignore[union-attr]


def test_changing_a_role_and_resetting_a_password(db: Database) -> None:
    at = app_as("admin", "app_pages/users.py")
    at.selectbox(key="users_manage_pick").select("analyst").run()
    find(at.selectbox, "New role").select("accountant")
    at = submit(at, "Change role")
    assert users.get_user(db, "analyst").role == "accountant"  # type: ignore[union-attr]
    find(at.text_input, "New password").input("a fresh analyst secret")
    find(at.text_input, "Repeat new password").input("a different one!!")
    at = submit(at, "Reset password")
    assert errors(at) == ["The two passwords do not match."]
    find(at.text_input, "New password").input("a fresh analyst secret")
    find(at.text_input, "Repeat new password").input("a fresh analyst secret")
    at = submit(at, "Reset password")
    assert errors(at) == []
    assert users.authenticate(db, "analyst", "a fresh analyst secret").username == "analyst"


def test_an_admin_cannot_demote_or_disable_themselves_from_the_page(db: Database) -> None:
    at = app_as("admin", "app_pages/users.py")
    at.selectbox(key="users_manage_pick").select("admin").run()
    assert find(at.button, "Change role").disabled and find(at.button, "Disable user").disabled


# --- settings page ---------------------------------------------------------------------------------------------------

def test_settings_saves_the_profile_with_a_logo(db: Database) -> None:
    at = app_as("admin", "app_pages/settings.py")
    find(at.text_input, "Legal name").input("Acme Consulting AG")
    find(at.radio, "Page size").set_value("Letter")
    at.file_uploader[0].upload("../../etc/passwd.png", PNG, "image/png")
    at = submit(at, "Save company profile")
    assert errors(at) == []
    company = settings.get_company(db)
    assert company is not None
    assert (company["legal_name"], company["page_size"], company["logo"]) == ("Acme Consulting AG", "Letter", PNG)


def test_settings_keeps_the_iban_compact_shows_it_by_four_and_names_a_wrong_one(db: Database) -> None:
    at = app_as("admin", "app_pages/settings.py")
    find(at.text_input, "IBAN").input("de89 3704 0044 0532 0130 00")
    find(at.text_input, "BIC").input("cobadeffxxx")
    at = submit(at, "Save company profile")
    assert errors(at) == []
    company = settings.get_company(db)
    assert company is not None and (company["iban"], company["bic"]) == ("DE89370400440532013000", "COBADEFFXXX")
    at = app_as("admin", "app_pages/settings.py")
    assert find(at.text_input, "IBAN").value == "DE89 3704 0044 0532 0130 00"
    find(at.text_input, "IBAN").input("DE89 3704 0044 0532 0130 01")
    at = submit(at, "Save company profile")
    assert errors(at) == ["IBAN: the check digits are wrong (a character is mistyped, missing or extra)."]
    assert settings.get_company(db)["iban"] == "DE89370400440532013000"  # type: ignore[index]


@pytest.mark.parametrize(("content", "problem"), [
    (b"<svg onload=alert(1)>", "The logo must be a PNG or JPEG image."),
    (b"\x89PNG\r\n\x1a\n" + bytes(64), "The logo must be a PNG or JPEG image."),  # right magic, no image
])
def test_settings_refuses_a_logo_that_is_not_an_image(db: Database, content: bytes, problem: str) -> None:
    at = app_as("admin", "app_pages/settings.py")
    at.file_uploader[0].upload("logo.png", content, "image/png")
    at = submit(at, "Save company profile")
    assert errors(at) == [problem]
    assert settings.get_company(db)["logo"] is None  # type: ignore[index]


def test_settings_survives_an_unreadable_stored_logo(db: Database) -> None:
    # The domain refuses such a file now; one stored by an older version must not break the page.
    from billing.store.schema import company

    with db.engine.begin() as conn:
        conn.execute(company.update().values(logo=b"\x89PNG\r\n\x1a\n" + bytes(64)))
    at = app_as("admin", "app_pages/settings.py")
    assert errors(at) == []
    assert "The stored logo cannot be displayed; upload it again." in texts(at)


def test_settings_changes_numbering_but_never_backwards(db: Database) -> None:
    at = app_as("admin", "app_pages/settings.py")
    at.text_input(key="pattern_INV").input("R-{YYYY}-{SEQ:04}")
    at.number_input(key="next_INV").set_value(1000)
    find_in_form(at, "series_INV", "Save numbering").click()
    at.run()
    assert errors(at) == []
    series = {s["code"]: s for s in settings.list_series(db, ROOT_ACTOR)}
    assert (series["INV"]["pattern"], series["INV"]["next_seq"]) == ("R-{YYYY}-{SEQ:04}", 1000)
    at.text_input(key="pattern_INV").input("no sequence here")
    find_in_form(at, "series_INV", "Save numbering").click()
    at.run()
    assert errors(at) == ["A numbering pattern must contain {SEQ} or {SEQ:05}."]


def find_in_form(at: AppTest, form: str, label: str) -> Any:
    matches = [b for b in at.button if b.label == label and b.form_id == form]
    assert len(matches) == 1
    return matches[0]


# --- audit log -------------------------------------------------------------------------------------------------------

def test_audit_log_filters_pages_and_verifies(db: Database) -> None:
    for i in range(55):
        settings.set_series(db, ROOT_ACTOR, "INV", f"INV-{{SEQ:0{i % 6 + 1}}}")
    at = app_as("admin", "app_pages/audit_log.py")
    assert errors(at) == []
    assert "59 events · page 1 of 2" in texts(at)
    assert len(at.dataframe[0].value) == 50
    pager: Any = at.get("pagination")[0]
    pager.set_value(2).run()
    assert len(at.dataframe[0].value) == 9
    find(at.text_input, "Actor").input("system")
    find(at.selectbox, "Entity").select("user")
    at = submit(at, "Apply filters")
    table = at.dataframe[0].value
    assert table["Record"].unique().tolist() == ["User"] and table["Actor"].unique().tolist() == ["system"]
    assert len(table) == 2  # accountant and analyst were created by the system
    at = submit(at, "Verify chain")
    assert "The audit trail is intact: all 59 events verify." in texts(at)


def test_audit_log_reports_a_tampered_chain(db: Database) -> None:
    db.transaction(lambda conn: conn.execute(
        audit_events.update().where(audit_events.c.id == 2).values(actor="mallory")))
    at = submit(app_as("admin", "app_pages/audit_log.py"), "Verify chain")
    assert any("tampered with: event 2 was changed" in e for e in errors(at))


def test_audit_log_shows_what_changed(db: Database) -> None:
    at = app_as("admin", "app_pages/audit_log.py")
    at.session_state["audit_table_1"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert errors(at) == []
    assert any(s.value.startswith("Event #4: User created, User analyst") for s in at.subheader)
    shown = [j.value for j in at.get("json") if isinstance(j, Json)]  # a created user has no "before"
    assert len(shown) == 1 and '"username": "analyst"' in shown[0] and "password_hash" not in shown[0]


# --- the database file is not this installation's ---------------------------------------------------------------------

@pytest.mark.parametrize("how", ["deleted", "emptied", "foreign"])
def test_a_database_that_is_not_the_installations_shows_a_refusal_not_the_set_up_page(
        db: Database, tmp_path: Path, how: str) -> None:
    path = tmp_path / "app.duckdb"
    forget_database(db.url)  # the server stopped...
    path.unlink()  # ... and its file is gone, or an empty or another installation's file is in its place
    if how == "emptied":
        duckdb.connect(str(path)).close()
    elif how == "foreign":
        (tmp_path / "other").mkdir()
        other = get_database(f"duckdb:///{tmp_path}/other/app.duckdb")
        forget_database(other.url)
        (tmp_path / "other" / "app.duckdb").replace(path)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert not at.exception
    expected = {"deleted": "The database file is missing, but this installation has had one",
                "emptied": "The database file carries no installation id",
                "foreign": "The database file belongs to another installation"}[how]
    assert len(at.error) == 1 and at.error[0].value.startswith(expected)
    assert "python -m billing adopt-database" in at.error[0].value
    assert "Set up your billing portal" not in texts(at)
    assert not at.text_input  # no set-up form, no sign-in form
    assert how != "deleted" or not path.exists()


# --- backup and verify from the portal while the server holds the file ------------------------------------------------

def test_settings_offers_a_backup_download_and_verify(db: Database, downloads: list[MediaFileManager],
                                                      tmp_path: Path) -> None:
    at = app_as("admin", "app_pages/settings.py")
    assert errors(at) == []
    payload = download_payload(downloads, at, "backup_download")
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:  # the zip `python -m billing backup` writes
        manifest = json.loads(archive.read("manifest.json"))
        assert {f"{name}.parquet" for name in manifest["tables"]} <= set(archive.namelist())
    assert manifest["tables"]["users"]["rows"] == 3 and "company" in manifest["tables"]
    assert not list(tmp_path.glob("**/*.partial"))
    at = submit(at, "Verify the database")
    assert errors(at) == []
    assert at.success[0].value.startswith("All checks passed: 0 documents and ")


def test_verify_in_settings_lists_the_problems(db: Database) -> None:
    db.transaction(lambda conn: conn.execute(
        audit_events.update().where(audit_events.c.id == 2).values(actor="mallory")))
    at = submit(app_as("admin", "app_pages/settings.py"), "Verify the database")
    assert any(e.startswith("1 problem(s) found") for e in errors(at))
    assert "event 2 was changed" in texts(at)  # (as plain text: its colon escaped)


def test_backup_and_verify_are_refused_to_a_tab_whose_user_lost_the_admin_role(
        db: Database, downloads: list[MediaFileManager]) -> None:
    users.create_user(db, ROOT_ACTOR, "root", PASSWORD, "admin")
    token, expires = auth_keys.issue_token("k" * 40, "admin", timedelta(hours=1))
    users.start_session(db, "admin", token, expires)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["auth_username"] = "admin"
    at.session_state["auth_token"] = token  # a browser's session: every domain call re-reads it
    at.switch_page("app_pages/settings.py").run()
    assert errors(at) == [] and [b.label for b in at.button if b.key == "verify_database"]
    users.update_user(db, Actor("root", ADMIN), "admin", role="accountant")
    with pytest.raises(MediaFileStorageError, match=r"Your role \(accountant\) does not allow this"):
        download_payload(downloads, at, "backup_download")  # made on the click: refused then
    at.run()
    assert not [b for b in at.button if b.key == "verify_database"]  # the tab now has the accountant's pages


@pytest.mark.parametrize("role", ["accountant", "analyst"])
def test_backup_and_verify_refuse_accountants_and_analysts(db: Database, role: str) -> None:
    actor = Actor(role, role)
    with pytest.raises(PermissionDeniedError):
        maintenance.backup_zip(db, actor)
    with pytest.raises(PermissionDeniedError):
        maintenance.verified(db, actor)
