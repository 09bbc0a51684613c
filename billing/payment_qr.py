"""Paying an invoice by bank transfer: the amount still due, its RF creditor reference, the company's account,
and the EPC QR code ("GiroCode", EPC069-12 version 002) that a banking app scans to fill in the transfer."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import segno
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum import iso11649

from billing import logic
from billing.documents import DIRECT_DEBIT, InvoiceDocument
from billing.references import creditor_reference

# EPC069-12 version 002: the lines of the payload, in this order.
SERVICE_TAG = "BCD"
VERSION = "002"
CHARACTER_SET_UTF8 = "1"
SEPA_CREDIT_TRANSFER = "SCT"
MAX_NAME = 70
MAX_REFERENCE = 35
MAX_PAYLOAD_BYTES = 331  # what a version 13 QR code holds at error correction level M
MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")
CENT = Decimal("0.01")
EPC_CURRENCY = "EUR"


def epc_payload(name: str, iban: str, bic: str, amount: Decimal, currency: str, reference: str) -> str:
    """The text of an EPC QR code for a SEPA credit transfer of `amount` to `iban`, quoting the RF `reference`
    as structured remittance information (no purpose code, no unstructured text beside it).

    Raises ValueError for anything the EPC069-12 guideline does not allow: another currency than the euro,
    an amount outside 0.01 to 999,999,999.99 or with fractions of a cent, a name missing or over 70
    characters, an invalid IBAN, BIC or reference, or a payload over 331 bytes."""
    if currency != EPC_CURRENCY:
        raise ValueError(f"An EPC QR code transfers euros only, not {currency}.")
    if not amount.is_finite() or not MIN_AMOUNT <= amount <= MAX_AMOUNT or amount != amount.quantize(CENT):
        raise ValueError(f"An EPC QR code's amount is 0.01 to 999999999.99 in whole cents, not {amount}.")
    name = name.strip()
    if not name or len(name) > MAX_NAME or any(ch in name for ch in "\r\n"):
        raise ValueError(f"The beneficiary's name must be one line of 1 to {MAX_NAME} characters.")
    reference = iso11649.validate(reference)
    if len(reference) > MAX_REFERENCE:
        raise ValueError(f"A structured reference has at most {MAX_REFERENCE} characters.")
    lines = [SERVICE_TAG, VERSION, CHARACTER_SET_UTF8, SEPA_CREDIT_TRANSFER,
             stdnum_bic.validate(bic) if bic else "", name, stdnum_iban.validate(iban), f"EUR{amount:.2f}",
             "", reference]  # the empty line: no purpose code
    payload = "\n".join(lines)  # no separator after the last line given
    if len(payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"An EPC QR code holds at most {MAX_PAYLOAD_BYTES} bytes.")
    return payload


@dataclass(frozen=True)
class PaymentDetails:
    """How to pay an open invoice, as printed on it and shown on screen.

    Attributes:
      amount, currency: what is still due. reference: the RF creditor reference (compact), '' when the
        invoice number gives none. iban, bic: the company's account, compact ('' when not entered).
      qr_payload: the EPC QR code's text, or None when the invoice cannot be paid by scanning one (not
        in euros, no IBAN, no reference) or is collected by direct debit.
      direct_debit: the company collects it by SEPA direct debit under the mandate (BT-89) with its creditor_id
        (BT-90) from the customer's debited_iban (BT-91), as frozen at issue ('' when not entered); iban and bic
        are then '': nobody should pay it by transfer as well.
    """

    amount: Decimal
    currency: str
    reference: str
    iban: str
    bic: str
    qr_payload: str | None
    direct_debit: bool = False
    mandate: str = ""
    creditor_id: str = ""
    debited_iban: str = ""


def payment_details(document: InvoiceDocument, company: Mapping[str, Any]) -> PaymentDetails | None:
    """The payment details of an issued invoice with an amount still due; None for a credit note, a draft,
    a void or a paid invoice."""
    number = document.header.number
    if (document.is_credit_note or not number or document.balance <= 0
            or document.status in (logic.VOID, logic.DRAFT, logic.PAID)):
        return None
    try:
        reference = creditor_reference(number)
    except ValueError:
        reference = ""
    if document.header.payment_means == DIRECT_DEBIT:
        return PaymentDetails(document.balance, document.currency, reference, "", "", None, direct_debit=True,
                              mandate=document.header.mandate_reference, creditor_id=company.get("creditor_id") or "",
                              debited_iban=document.customer.iban)
    iban, bic = company.get("iban") or "", company.get("bic") or ""
    payload = None
    if iban and reference and document.currency == EPC_CURRENCY:
        # The beneficiary field holds 70 characters; a longer legal name is cut there (banks show it to the payer).
        name = (company.get("legal_name") or "").strip()[:MAX_NAME]
        try:
            payload = epc_payload(name, iban, bic, document.balance, document.currency, reference)
        except ValueError:  # a name in characters too wide for 331 bytes, an account stored before it was checked
            payload = None
    return PaymentDetails(document.balance, document.currency, reference, iban, bic, payload)


@dataclass(frozen=True)
class QrModules:
    """A QR code as the dark runs of its rows, for drawing: `size` modules a side (without the quiet zone),
    each run (row, first column, length)."""

    size: int
    runs: tuple[tuple[int, int, int], ...]


@functools.lru_cache(maxsize=256)
def qr_modules(payload: str) -> QrModules:
    """The EPC QR code of a payload: byte mode in UTF-8 without an ECI header, error correction level M
    exactly (segno would otherwise raise it when the data fits). Cached: choosing the mask pattern takes
    about 9 ms of segno's time, and an invoice is printed again with the same payload until it is paid."""
    code = segno.make_qr(payload, error="m", boost_error=False, encoding="utf-8")
    runs: list[tuple[int, int, int]] = []
    for row, modules in enumerate(code.matrix):
        start = None
        for column, dark in enumerate([*modules, 0]):
            if dark and start is None:
                start = column
            elif not dark and start is not None:
                runs.append((row, start, column - start))
                start = None
    return QrModules(len(code.matrix), tuple(runs))
