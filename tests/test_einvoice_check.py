"""Checking an uploaded e-invoice for a user (billing.einvoice.check): the role is checked, nothing is stored."""

from __future__ import annotations

import pytest
from einvoice_files import BAD_BR_CO_16, VALID_UBL

from billing.einvoice.check import check_einvoice
from billing.einvoice.source import DocumentError
from billing.errors import PermissionDeniedError
from billing.store.db import Database
from tests.conftest import ACCOUNTANT, ADMIN, ANALYST, assert_refused


@pytest.mark.parametrize("actor", [ACCOUNTANT, ADMIN], ids=["accountant", "admin"])
def test_an_accountant_or_admin_checks_a_file(db: Database, actor: object) -> None:
    result = check_einvoice(db, actor, VALID_UBL.read_bytes())  # type: ignore[arg-type]
    assert result.valid and result.problems == () and not result.from_pdf
    assert result.invoice is not None and result.invoice.number == "123456XX"


def test_the_failures_come_in_words(db: Database) -> None:
    result = check_einvoice(db, ACCOUNTANT, BAD_BR_CO_16.read_bytes(), ["en16931", "xrechnung"])
    assert not result.valid
    assert [problem.text for problem in result.problems] == [
        "Amount due (BT-115) must equal total with VAT - paid amount + rounding: BR-CO-16"]
    assert result.report.profiles == ("en16931", "xrechnung")


def test_an_analyst_may_not(db: Database) -> None:
    assert_refused(db, lambda: check_einvoice(db, ANALYST, VALID_UBL.read_bytes()), PermissionDeniedError,
                   match="analyst")


def test_a_bad_file_changes_nothing(db: Database) -> None:
    assert_refused(db, lambda: check_einvoice(db, ACCOUNTANT, b"<not-closed"), DocumentError, match="well-formed")


def test_a_document_that_breaks_the_schema_is_still_reported(db: Database) -> None:
    without_total = VALID_UBL.read_bytes().replace(b'<cbc:PayableAmount currencyID="EUR">336.9</cbc:PayableAmount>',
                                                   b"")
    result = check_einvoice(db, ACCOUNTANT, without_total)
    assert not result.valid and result.report.schema_errors
    assert result.invoice is None  # it cannot be shown, but the report says why
