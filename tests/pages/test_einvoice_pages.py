"""AppTest of the "Check an e-invoice" page: upload, verdict with each failed rule in words, the document, bad files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from einvoice_files import (
    BAD_BR_CO_16,
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    RANDOM_BYTES,
    VALID_CII,
    VALID_UBL,
    facturx_pdf,
    plain_pdf,
)
from portal import app_as, ok
from streamlit.testing.v1 import AppTest

from billing.store.db import Database
from billing.store.schema import audit_events

PAGE = "app_pages/einvoice_check.py"


@pytest.fixture
def db(database_copy: Callable[[Path], Database], portal_template: Path) -> Database:
    """The company and its users only: the page reads nothing from the books."""
    return database_copy(portal_template)


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info", "success", "warning", "error")
             for e in getattr(at, kind)]
    return "\n".join(str(part) for part in parts)


def upload(at: AppTest, name: str, data: bytes, mime: str = "text/xml") -> AppTest:
    at.file_uploader(key="einvoice:file").set_value((name, data, mime))
    return at.run()


def audit_count(db: Database) -> int:
    with db.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(audit_events)).scalar_one())


@pytest.mark.parametrize("role", ["accountant", "admin"])
def test_a_valid_invoice_is_shown_valid_and_readable(db: Database, role: str) -> None:
    before = audit_count(db)
    at = ok(upload(app_as(role, PAGE), "invoice.xml", VALID_UBL.read_bytes()))
    assert at.title[0].value == "Check an e-invoice"
    assert "**VALID**" in at.success[0].value and "EN 16931" in at.success[0].value
    shown = texts(at)
    assert "Invoice 123456XX" in shown
    assert "Buyer reference: **04011000-12345-03**" in shown.replace("\\", "")
    assert "\\[Seller name\\]" in shown and "\\[Buyer name\\]" in shown  # Markdown-escaped, shown as typed
    assert "Germany (DE)" in shown
    lines, vat = (frame.value for frame in at.dataframe)  # no allowances or charges: no table for them
    assert list(lines["Net amount"]) == ["€288.79", "€26.07"]
    assert list(vat["VAT amount"]) == ["€22.04"]
    assert "Amount due (BT-115)" in shown and "€336.90" in shown
    assert audit_count(db) == before  # nothing stored


def test_an_invalid_invoice_lists_its_rule_in_words(db: Database) -> None:
    at = upload(app_as("accountant", PAGE), "bad.xml", BAD_BR_CO_16.read_bytes())
    assert not at.exception
    assert "**INVALID**" in at.error[0].value and "breaks 1 rule of EN 16931." in at.error[0].value
    assert "Amount due (BT-115) must equal total with VAT - paid amount + rounding: BR-CO-16" in texts(at).replace(
        "\\", "")


def test_a_file_that_breaks_its_schema_says_so_and_what_was_not_checked(db: Database) -> None:
    without_total = VALID_UBL.read_bytes().replace(b'<cbc:PayableAmount currencyID="EUR">336.9</cbc:PayableAmount>',
                                                   b"")
    at = upload(app_as("accountant", PAGE), "broken.xml", without_total)
    assert not at.exception
    assert "of its XML schema" in at.error[0].value
    shown = texts(at).replace("\\", "")
    assert "XML schema, line" in shown and "PayableAmount" in shown
    assert "The rules of EN 16931 were not checked" in shown
    assert "The document cannot be shown" in at.warning[0].value


def test_the_xrechnung_rules_are_asked_for_on_the_page(db: Database) -> None:
    at = app_as("accountant", PAGE)
    at.multiselect(key="einvoice:profiles").set_value(["en16931", "xrechnung"])
    without_leitweg = VALID_UBL.read_bytes().replace(b"<cbc:BuyerReference>04011000-12345-03</cbc:BuyerReference>", b"")
    at = upload(at, "no-leitweg.xml", without_leitweg)
    assert not at.exception
    shown = texts(at).replace("\\", "")
    assert "Leitweg-ID (buyer reference, BT-10) is required for XRechnung: BR-DE-15" in shown
    assert "EN 16931 + XRechnung 3.0" in shown


def test_a_facturx_pdf_is_checked_by_its_xml(db: Database) -> None:
    at = ok(upload(app_as("accountant", PAGE), "invoice.pdf", facturx_pdf(VALID_CII.read_bytes()),
                   "application/pdf"))
    assert "CII in a Factur-X PDF" in at.success[0].value


@pytest.mark.parametrize(("name", "data", "message"), [
    ("letter.xml", b"Dear customer, please pay.", "not well-formed XML"),
    ("bomb.xml", BILLION_LAUGHS, "DOCTYPE"),
    ("xxe.xml", EXTERNAL_ENTITY, "DOCTYPE"),
    ("noise.xml", RANDOM_BYTES, "not well-formed XML"),
    ("letter.pdf", plain_pdf(), "carries no e-invoice"),
    ("huge.xml", b" " * (50 * 1024 * 1024), "too large"),
])
def test_a_bad_file_gets_a_clear_message(db: Database, name: str, data: bytes, message: str) -> None:
    at = upload(app_as("accountant", PAGE), name, data)
    assert not at.exception
    assert len(at.error) == 1 and message in at.error[0].value.replace("\\", "")
    assert "Something went wrong" not in at.error[0].value


def test_the_page_is_not_registered_for_an_analyst(db: Database) -> None:
    at = app_as("analyst")
    with pytest.raises(ValueError, match=r"(?i)page"):
        at.switch_page(PAGE)
