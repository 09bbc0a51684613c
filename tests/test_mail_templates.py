"""Templates keyed by (kind, language) with 'en' the default, their placeholders, saving and resetting."""

from __future__ import annotations

from datetime import datetime

import pytest

from billing import mailing
from billing.errors import PermissionDeniedError, ValidationError
from billing.mail_templates import DEFAULTS, MailTemplate, fill, template_for
from billing.store.db import Database
from tests.conftest import ACCOUNTANT, ADMIN

NOW = datetime(2025, 3, 10, 9, 30)


def current(db: Database, kind: str, language: str) -> MailTemplate:
    with db.connect() as conn:
        return template_for(conn, kind, language)


def test_a_language_without_its_own_template_gets_the_built_in_wording_of_that_language(db: Database) -> None:
    assert current(db, "invoice", "en") == MailTemplate("invoice", "en", *DEFAULTS["invoice"])
    german = current(db, "invoice", "de")
    assert german.language == "de" and german.subject == "Rechnung {number} von {company}" and not german.stored
    assert german.body.startswith("Guten Tag {customer},") and "{total}" in german.body and "{link}" in german.body
    mailing.save_mail_template(db, ADMIN, MailTemplate("invoice", "en", "Bill {number}", "Pay {total}"), NOW)
    assert current(db, "invoice", "de") == german  # the company's English wording is not forced on a German reader
    mailing.save_mail_template(db, ADMIN, MailTemplate("invoice", "de", "Rechnung {number}", "Bitte {total}"), NOW)
    assert current(db, "invoice", "de") == MailTemplate("invoice", "de", "Rechnung {number}", "Bitte {total}", True)
    assert current(db, "invoice", "en").subject == "Bill {number}"
    mailing.reset_mail_template(db, ADMIN, "invoice", "de")
    assert current(db, "invoice", "de") == german
    assert current(db, "test", "de").language == "en"  # a kind the catalogue does not word: English


def test_placeholders_are_filled_and_link_is_kept_for_the_sender() -> None:
    text = fill("{number} {total} {link} {unknown_in_stored_text}", {"number": "INV-1", "total": "€1.00"})
    assert text == "INV-1 €1.00 {link} {unknown_in_stored_text}"


@pytest.mark.parametrize(("subject", "body", "problem"), [
    ("", "x", "subject and a body"),
    ("Invoice {number.__class__}", "x", "Unknown placeholder"),
    ("Invoice {}", "x", "Unknown placeholder"),
    ("Two\nlines", "x", "one line"),
    ("x", "{total:>10}", "Unknown placeholder"),
])
def test_a_bad_template_is_refused(db: Database, subject: str, body: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        mailing.save_mail_template(db, ADMIN, MailTemplate("invoice", "en", subject, body), NOW)


def test_only_an_admin_edits_templates(db: Database) -> None:
    with pytest.raises(PermissionDeniedError):
        mailing.save_mail_template(db, ACCOUNTANT, MailTemplate("invoice", "en", "x", "y"), NOW)
