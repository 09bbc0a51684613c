"""The customer's preferred e-invoice format (billing.einvoice.preissue): offered first, checked before issuing."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from billing import customers, invoices, logic
from billing.einvoice.export import FORMATS
from billing.einvoice.preissue import check_before_issue, formats_for, issue_checked, preferred_format
from billing.errors import ValidationError
from billing.models import EINVOICE_FORMATS
from billing.store.db import Database
from tests.conftest import ADMIN, TODAY, Seed, assert_refused, draft, header, line


def _prefer(db: Database, customer_id: int, fmt: str) -> None:
    current: dict[str, Any] = customers.get_customer(db, ADMIN, customer_id)
    customers.update_customer(db, ADMIN, customer_id, {
        **{key: current[key] for key in ("name", "email", "address", "country", "tax_id", "currency", "terms_days",
                                         "notes")}, "einvoice_format": fmt})


def test_the_formats_a_customer_may_prefer_are_the_export_formats() -> None:
    assert set(EINVOICE_FORMATS) == set(FORMATS)


def test_an_unknown_format_is_refused_naming_the_choices(db: Database, seeded: Seed) -> None:
    with pytest.raises(ValidationError, match=r"Unknown e-invoice format 'edifact': choose from ubl, cii"):
        _prefer(db, seeded.acme, "edifact")
    assert customers.get_customer(db, ADMIN, seeded.acme)["einvoice_format"] == ""


def test_the_preferred_format_comes_first(db: Database, seeded: Seed) -> None:
    assert preferred_format(db, ADMIN, seeded.acme) is None
    assert formats_for(None) == list(FORMATS)
    _prefer(db, seeded.acme, "facturx")
    chosen = preferred_format(db, ADMIN, seeded.acme)
    assert chosen is FORMATS["facturx"]
    assert formats_for(chosen) == ["facturx", *(name for name in FORMATS if name != "facturx")]


def test_without_a_preferred_format_nothing_is_checked_and_issuing_goes_ahead(db: Database, seeded: Seed) -> None:
    invoice_id = draft(db, seeded.acme, line(seeded.s19))
    checked = check_before_issue(db, ADMIN, invoice_id, TODAY)
    assert (checked.fmt, checked.passed) == (None, True)
    assert issue_checked(db, ADMIN, invoice_id, TODAY) == header(db, invoice_id).number


def test_without_a_preferred_format_the_draft_is_read_once_to_issue_it(db: Database, seeded: Seed) -> None:
    invoice_id = draft(db, seeded.acme, line(seeded.s19))
    statements: list[str] = []

    def executed(*args: Any) -> None:
        statements.append(" ".join(args[2].split()))

    sa.event.listen(db.engine, "before_cursor_execute", executed)
    try:
        issue_checked(db, ADMIN, invoice_id, TODAY)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", executed)
    lines_read = [text for text in statements if "FROM invoice_lines WHERE invoice_lines.invoice_id = " in text]
    assert len(lines_read) == 1, lines_read
    assert header(db, invoice_id).status == logic.ISSUED


@pytest.mark.parametrize("fmt", ["ubl", "cii", "facturx"])
def test_a_draft_passing_the_en16931_rules_is_issued(db: Database, seeded: Seed, fmt: str) -> None:
    _prefer(db, seeded.acme, fmt)
    invoice_id = draft(db, seeded.acme, line(seeded.s19, "2", "49.90"), line(seeded.e0, "1", "80.00"))
    checked = check_before_issue(db, ADMIN, invoice_id, TODAY)
    assert (checked.fmt, checked.problems) == (FORMATS[fmt], ())
    issue_checked(db, ADMIN, invoice_id, TODAY)
    assert header(db, invoice_id).status == logic.ISSUED


def test_a_draft_failing_xrechnung_lists_each_field_to_fix_and_is_not_issued(db: Database, seeded: Seed) -> None:
    _prefer(db, seeded.acme, "xrechnung-ubl")
    invoice_id = draft(db, seeded.acme, line(seeded.s19))
    checked = check_before_issue(db, ADMIN, invoice_id, TODAY)
    assert checked.fmt is FORMATS["xrechnung-ubl"] and not checked.passed
    assert "Leitweg-ID (buyer reference, BT-10)." in checked.problems
    assert "Seller contact name (BT-41)." in checked.problems
    error = assert_refused(db, lambda: issue_checked(db, ADMIN, invoice_id, TODAY), ValidationError)
    assert "customer's e-invoice format (XRechnung 3.0 (UBL)) requires: " in str(error)
    assert "Leitweg-ID (buyer reference, BT-10)." in str(error)
    assert header(db, invoice_id).status == logic.DRAFT


def test_a_mix_the_format_cannot_express_is_refused_naming_the_rule(db: Database, seeded: Seed) -> None:
    from billing.catalog import create_tax_rate

    o0 = create_tax_rate(db, ADMIN, {"name": "Not subject", "category": "O", "percent": "0",
                                     "exemption_reason": "Not subject to VAT"})
    _prefer(db, seeded.acme, "cii")
    invoice_id = draft(db, seeded.acme, line(seeded.s19), line(o0))
    (problem,) = check_before_issue(db, ADMIN, invoice_id, TODAY).problems
    assert "VAT category O" in problem and "BR-O-11" in problem
    assert invoices.get_invoice(db, ADMIN, invoice_id, as_of=TODAY).header.status == logic.DRAFT
