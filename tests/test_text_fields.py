"""Free text of documents and payments: control characters, bidi overrides and what XML cannot carry are refused
(naming the field, nothing written); stored legacy text an e-invoice cannot carry is refused at export."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from billing import credit_notes, invoices, payments, settings
from billing.catalog import create_tax_rate
from billing.einvoice.bulk import export_documents
from billing.einvoice.export import export_document
from billing.errors import ValidationError
from billing.store.db import Database
from billing.store.schema import invoice_lines
from billing.text import check_text
from tests.conftest import ADMIN, TODAY, Billed, Seed, assert_refused, draft, issued, line

NUL, BEL, RLO, NONCHAR, SURROGATE, LINE_SEP = "\x00", "\x07", "\u202e", "\ufffe", "\ud800", "\u2028"
REFUSED_ANYWHERE = [NUL, BEL, RLO, NONCHAR, "\uffff", SURROGATE]
ACCEPTED = "Beratung für Café Ĳssel – Ünïcödé ☕ 🚀"

Action = Callable[[Database, Seed, Billed, str], Any]


def _payment(db: Database, ids: Seed, reference: str = "") -> int:
    return payments.record_payment(db, ADMIN, {"customer_id": ids.acme, "amount": "10.00", "currency": "EUR",
                                               "received_on": TODAY, "reference": reference})


# (what, one line?, the call putting `text` into the field, the field's name in the message)
FIELDS: list[tuple[str, bool, Action, str]] = [
    ("line description", False, lambda db, ids, b, text: draft(db, ids.acme, line(ids.s19, description=f"a{text}b")),
     "Line 1, description"),
    ("notes", False, lambda db, ids, b, text: draft(db, ids.acme, line(ids.s19), notes=f"n{text}o"), "Notes"),
    ("allowance reason", True, lambda db, ids, b, text: draft(
        db, ids.acme, line(ids.s19),
        allowance_charges=[{"reason": f"r{text}x", "amount": "1", "tax_rate_id": ids.s19}]),
     "reason"),
    ("exemption reason", True, lambda db, ids, b, text: create_tax_rate(
        db, ADMIN, {"name": "Exempt 2", "category": "E", "percent": "0", "exemption_reason": f"x{text}y"}),
     "Exemption reason"),
    ("payment reference", True, lambda db, ids, b, text: _payment(db, ids, f"ref{text}1"), "Reference"),
    ("bank details", False, lambda db, ids, b, text: settings.save_company(
        db, ADMIN, {"legal_name": "Example GmbH", "country": "DE", "bank_details": f"IBAN{text}X"}), "Bank details"),
    ("void reason", False, lambda db, ids, b, text: invoices.void_invoice(
        db, ADMIN, b.a, f"wrong{text}customer", TODAY),
     "Void reason"),
    ("credit reason", False, lambda db, ids, b, text: credit_notes.create_credit_note(
        db, ADMIN, b.a, TODAY, reason=f"returned{text}goods"), "Credit note reason"),
    ("refund reference", True, lambda db, ids, b, text: payments.refund_credit(
        db, ADMIN, ids.acme, "EUR", "1.00", TODAY, reference=f"r{text}x"), "Refund reference"),
]


def _cases() -> list[Any]:
    return [pytest.param(action, text, name, id=f"{what}-U+{ord(text):04X}")
            for what, one_line, action, name in FIELDS
            for text in [*REFUSED_ANYWHERE, *([LINE_SEP, "\n", "\t"] if one_line else [])]]


@pytest.mark.parametrize(("action", "text", "name"), _cases())
def test_a_text_field_refuses_characters_it_cannot_hold(db: Database, seeded: Seed, billed: Billed, action: Action,
                                                        text: str, name: str) -> None:
    error = assert_refused(db, lambda: action(db, seeded, billed, text), ValidationError)
    assert name in str(error)


@pytest.mark.parametrize("text", [NUL, RLO, NONCHAR, SURROGATE])
def test_a_payment_reversal_reason_is_checked(db: Database, seeded: Seed, text: str) -> None:
    payment_id = _payment(db, seeded)
    error = assert_refused(db, lambda: payments.reverse_payment(db, ADMIN, payment_id, TODAY, f"bounced{text}"),
                           ValidationError)
    assert "Reversal reason" in str(error)


def test_accents_emoji_tabs_and_line_breaks_are_taken_where_allowed(db: Database, seeded: Seed, billed: Billed
                                                                    ) -> None:
    multi = f"{ACCEPTED}\tPhase 1\nPhase 2{LINE_SEP}Ende"
    invoice_id = issued(db, seeded.acme, line(seeded.s19, description=multi), notes=multi,
                        allowance_charges=[{"reason": ACCEPTED, "amount": "1", "tax_rate_id": seeded.s19}])
    document = invoices.get_invoice(db, ADMIN, invoice_id, as_of=TODAY)
    assert (document.lines[0].description, document.header.notes) == (multi, multi)
    assert document.allowance_charges[0].reason == ACCEPTED
    assert create_tax_rate(db, ADMIN, {"name": "Exempt 2", "category": "E", "percent": "0",
                                       "exemption_reason": ACCEPTED})
    assert payments.get_payment(db, ADMIN, _payment(db, seeded, ACCEPTED))["reference"] == ACCEPTED
    invoices.void_invoice(db, ADMIN, billed.a, multi, TODAY)
    assert invoices.get_invoice(db, ADMIN, billed.a, as_of=TODAY).header.void_reason == multi
    _, _, xml = export_document(db, ADMIN, invoice_id, "ubl", today=lambda: TODAY)
    assert "Ünïcödé ☕ 🚀".encode() in xml


def test_check_text_names_the_field_and_keeps_good_text() -> None:
    assert check_text(ACCEPTED, "Reason") == ACCEPTED
    with pytest.raises(ValidationError, match=r"^Reason: must be one line") as caught:
        check_text("a\nb", "Reason", param="reason")
    assert caught.value.param == "reason"


@pytest.fixture
def legacy(db: Database, seeded: Seed) -> tuple[int, int]:
    """Two issued invoices; the first's line description holds a NUL written before the check existed."""
    bad = issued(db, seeded.acme, line(seeded.s19, description="Consulting"))
    good = issued(db, seeded.acme, line(seeded.s19, description="Consulting"))
    with db.engine.begin() as conn:
        conn.execute(sa.update(invoice_lines).where(invoice_lines.c.invoice_id == bad)
                     .values(description=f"Consult{NUL}ing"))
    return bad, good


@pytest.mark.parametrize("fmt", ["ubl", "cii"])
def test_a_stored_text_an_einvoice_cannot_carry_is_refused_and_bulk_export_goes_on(
        db: Database, legacy: tuple[int, int], fmt: str) -> None:
    bad, good = legacy
    today = date(2025, 3, 10)
    with pytest.raises(ValidationError, match="cannot be exported as an e-invoice: the text of line 1 description"):
        export_document(db, ADMIN, bad, fmt, today=lambda: today)
    first, second = export_documents(db, ADMIN, [bad, good], fmt)
    assert first.xml is None and "a character an e-invoice cannot carry" in first.problem
    assert second.xml == export_document(db, ADMIN, good, fmt, today=lambda: today)[2]
