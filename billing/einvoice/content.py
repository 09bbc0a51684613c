"""What an e-invoice of a stored document says, syntax-neutral: parties, lines, allowances, VAT breakdown, totals.

`ubl.py` and `cii.py` only write these facts down. Amounts are the stored ones (money at the currency's minor
unit), written with `money_text`: Decimal formatted exactly, never through float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from billing import logic
from billing.documents import DocumentParty, InvoiceDocument, StoredAllowanceCharge, StoredLine
from billing.einvoice.records import Address
from billing.money import HUNDRED, decimals_of, minor_unit, plain_number, round_money

# UN/ECE Recommendation 20 unit codes (BT-130) for the units the portal's lines use; anything else is "C62" (one).
UNIT_CODES = {"pcs": "H87", "pc": "H87", "piece": "H87", "pieces": "H87", "h": "HUR", "hour": "HUR",
              "hours": "HUR", "hr": "HUR", "day": "DAY", "days": "DAY", "d": "DAY", "week": "WEE", "month": "MON",
              "months": "MON", "year": "ANN", "kg": "KGM", "g": "GRM", "t": "TNE", "m": "MTR", "km": "KMT",
              "l": "LTR", "m2": "MTK", "m3": "MTQ", "kwh": "KWH", "min": "MIN", "set": "SET", "job": "E48",
              "trip": "E54", "lump sum": "LS", "ls": "LS"}
DEFAULT_UNIT = "C62"
MAX_DECIMALS = 2  # EN 16931 amounts have at most 2 decimals (BR-DEC-01 .. BR-DEC-25)
# VATEX exemption reason codes (BT-121) that follow from the category alone; E needs the law's own reason (BT-120).
EXEMPTION_CODES = {"AE": "VATEX-EU-AE", "K": "VATEX-EU-IC", "G": "VATEX-EU-G", "O": "VATEX-EU-O"}
# "10115 Berlin", "D-10115 Berlin", "1012 AB Amsterdam", "00-001 Warszawa", "1010 Wien": a post code, then the city.
_TOWN = re.compile(r"^(?:[A-Z]{1,2}-)?(\d{4,5}(?: ?[A-Z]{2})?|\d{2}-\d{3})\s+(\S.*)$")
# A VAT identifier (BT-31/BT-48) starts with its country's code (Greece: EL); anything else is a tax number.
_VAT_ID = re.compile(r"^[A-Z]{2}[0-9A-Z+*.]{2,13}$")
_IBAN = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?)\b")
_BIC = re.compile(r"\b(?:BIC|SWIFT)[:\s]*([A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?)\b", re.IGNORECASE)


def split_address(text: str, country: str) -> Address:
    """The address text split into parts, by a simple rule: the first line is the street, a line such as
    "10115 Berlin" gives the post code and city, the other lines are joined into the additional line. When no
    line reads as a post code and city, the lines go to street and additional line and only the country is sure."""
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    postcode = city = ""
    for index in range(len(lines) - 1, -1, -1):
        match = _TOWN.match(lines[index])
        if match:
            postcode, city = match[1], match[2]
            del lines[index]
            break
    return Address(street=lines[0] if lines else "", additional=", ".join(lines[1:]), city=city,
                   postcode=postcode, country=country.strip().upper())


@dataclass(frozen=True, slots=True)
class Party:
    """Seller (BG-4) or buyer (BG-7) as the e-invoice names it.

    name (BT-27/44); identifier (BT-29/46, no scheme); legal_id (BT-30/47, the legal registration); vat_id
    (BT-31/48, with its country prefix) or tax_number (BT-32, a tax number that is not a VAT identifier);
    electronic_address and its EAS scheme (BT-34/49); contact name, phone, e-mail (BT-41..43 / BT-56..58)."""

    name: str
    address: Address
    identifier: str = ""
    legal_id: str = ""
    vat_id: str = ""
    tax_number: str = ""
    electronic_address: str = ""
    electronic_scheme: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class Payment:
    """Payment instructions (BG-16): credit transfer (means code 58, SEPA) to an IBAN (BT-84), BIC (BT-86), or
    SEPA direct debit (59, BG-19) under a mandate (BT-89) by the seller's creditor identifier (BT-90) from the
    buyer's account (BT-91); the remittance information the payer quotes (BT-83: the invoice's RF creditor
    reference)."""

    iban: str
    bic: str = ""
    means_code: str = "58"
    remittance: str = ""
    mandate: str = ""
    creditor_id: str = ""
    debited_iban: str = ""


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything about a document that its stored record does not hold itself.

    seller, buyer; buyer_reference (BT-10, the Leitweg-ID for XRechnung); payment (BG-16, None: none given);
    preceding_number and preceding_date (BG-3: the invoice a credit note credits); order_reference (BT-13);
    delivery_date (BT-72); period_start, period_end (BG-14); payment_terms (BT-20)."""

    seller: Party
    buyer: Party
    buyer_reference: str = ""
    payment: Payment | None = None
    preceding_number: str = ""
    preceding_date: date | None = None
    order_reference: str = ""
    delivery_date: date | None = None
    period_start: date | None = None
    period_end: date | None = None
    payment_terms: str = ""


def _tax_ids(raw: str) -> tuple[str, str]:
    """(VAT identifier, tax number) of a stored tax id: compacted, a VAT identifier when it has a country prefix."""
    compact = re.sub(r"[\s\-]", "", raw or "").upper()
    return (compact, "") if _VAT_ID.match(compact) else ("", (raw or "").strip())


def payment_of(bank_details: str, iban: str = "", bic: str = "", remittance: str = "") -> Payment | None:
    """The company's account: its checked IBAN and BIC (settings), else the IBAN (and BIC, when labelled "BIC" or
    "SWIFT") in its bank details text; None without either."""
    if iban:
        return Payment(iban=iban, bic=bic, remittance=remittance)
    found = _IBAN.search((bank_details or "").upper())
    if found is None:
        return None
    labelled = _BIC.search(bank_details)
    return Payment(iban=found[1].replace(" ", ""), bic=labelled[1].upper() if labelled else "", remittance=remittance)


def address_of(party: DocumentParty) -> Address:
    """The party's structured address; an address entered as text only (before the parts existed, not yet
    completed) split by `split_address`."""
    if not (party.street or party.city or party.postcode):
        return split_address(party.address, party.country)
    return Address(street=party.street, additional=party.additional_line, city=party.city, postcode=party.postcode,
                   subdivision=party.subdivision, country=party.country.strip().upper())


def party_of(party: DocumentParty, *, seller: bool) -> Party:
    """Seller or buyer as the document shows it (frozen at issue); the seller with its contact (BT-41..43)."""
    vat_id, tax_number = _tax_ids(party.tax_id)
    return Party(name=party.name, address=address_of(party), legal_id=party.legal_id, vat_id=vat_id,
                 tax_number=(tax_number or party.tax_registration) if seller else tax_number,
                 electronic_address=party.electronic_address, electronic_scheme=party.electronic_scheme,
                 contact_name=party.contact_name if seller else "", contact_phone=party.contact_phone if seller else "",
                 email=(party.contact_email or party.email) if seller else party.email)


# --- amounts ----------------------------------------------------------------------------------------


def money_text(amount: Decimal, currency: str) -> str:
    """An amount with the currency's decimals (JPY 1200, EUR 12.50), at most 2 as EN 16931 allows (BR-DEC-*): a
    KWD amount of 1.250 is written 1.25; `finer_amounts` finds those that cannot be written exactly."""
    return f"{round_money(amount, currency):.{min(minor_unit(currency), MAX_DECIMALS)}f}"


def finer_amounts(document: InvoiceDocument) -> list[Decimal]:
    """The document's amounts with more decimals than EN 16931 allows (a 3-decimal currency such as KWD)."""
    if minor_unit(document.currency) <= MAX_DECIMALS:
        return []
    header = document.header
    amounts = [header.line_total, header.allowance_total, header.charge_total, header.tax_exclusive,
               header.tax_total, header.tax_inclusive, header.prepaid, header.rounding, header.payable,
               *(line.net_amount for line in document.lines), *(tax.taxable for tax in document.taxes),
               *(tax.tax for tax in document.taxes),
               *(allowance_facts(item, header.line_total, document.currency).amount
                 for item in document.allowance_charges),
               *(line_facts(line, document.currency).allowance for line in document.lines)]
    return [amount for amount in amounts if decimals_of(amount) > MAX_DECIMALS]


def number_text(value: Decimal) -> str:
    """A quantity, price or rate without trailing zeros or exponent (2, 1.5, 49.9)."""
    return plain_number(value)


def rate_text(rate: Decimal) -> str:
    return plain_number(logic.rate_key(rate))


@dataclass(frozen=True, slots=True)
class LineFacts:
    """An invoice line (BG-25) with its allowance (BT-136) and charge (BT-141) worked out as amounts."""

    id: str
    name: str
    quantity: Decimal
    unit_code: str
    price: Decimal
    base_quantity: Decimal
    allowance: Decimal
    charge: Decimal
    net: Decimal
    category: str
    rate: Decimal


@dataclass(frozen=True, slots=True)
class AllowanceFacts:
    """A document allowance or charge (BG-20/21): amount, and base amount and percentage when it is a percentage."""

    is_charge: bool
    amount: Decimal
    base: Decimal | None
    percent: Decimal | None
    reason: str
    category: str
    rate: Decimal


@dataclass(frozen=True, slots=True)
class VatFacts:
    """A VAT breakdown entry (BG-23) from the stored taxes, with the exemption reason text and code (BT-120/121)."""

    category: str
    rate: Decimal
    taxable: Decimal
    tax: Decimal
    reason: str
    reason_code: str


def unit_code(unit: str) -> str:
    text = (unit or "").strip()
    return text if re.fullmatch(r"[A-Z0-9]{2,3}", text) else UNIT_CODES.get(text.lower(), DEFAULT_UNIT)


def line_facts(line: StoredLine, currency: str) -> LineFacts:
    """The line as stored; its allowance is the one `logic.line_net` took off (percentage and amount, rounded once)."""
    gross = line.quantity * line.unit_price / line.base_quantity
    allowance = round_money(gross * line.discount_percent / HUNDRED + line.discount_amount, currency)
    return LineFacts(id=str(line.position), name=line.description or "Item", quantity=line.quantity,
                     unit_code=unit_code(line.unit), price=line.unit_price, base_quantity=line.base_quantity,
                     allowance=allowance, charge=round_money(line.charge_amount, currency), net=line.net_amount,
                     category=line.vat_category, rate=line.vat_rate)


def allowance_facts(item: StoredAllowanceCharge, line_total: Decimal, currency: str) -> AllowanceFacts:
    """A document allowance or charge; a percentage is of the lines' net total, as `logic.compute_totals` takes it."""
    if item.amount is not None:
        amount, base = round_money(item.amount, currency), None
    else:
        base = line_total
        amount = round_money(base * (item.percent or Decimal(0)) / HUNDRED, currency)
    return AllowanceFacts(is_charge=item.is_charge, amount=amount, base=base,
                          percent=item.percent if item.amount is None else None,
                          reason=item.reason.strip() or ("Charge" if item.is_charge else "Discount"),
                          category=item.vat_category, rate=item.vat_rate)


def vat_facts(document: InvoiceDocument) -> list[VatFacts]:
    """The stored VAT breakdown, ordered by category and rate, with the tax rates' exemption reasons."""
    return [VatFacts(category=tax.vat_category, rate=tax.vat_rate, taxable=tax.taxable, tax=tax.tax,
                     reason=document.exemption_reasons.get(tax.vat_category, "")
                     if tax.vat_category in logic.EXEMPTION_REASON_CATEGORIES else "",
                     reason_code=(document.header.exemption_code or EXEMPTION_CODES.get(tax.vat_category, ""))
                     if tax.vat_category in logic.EXEMPTION_REASON_CATEGORIES else "")
            for tax in sorted(document.taxes, key=lambda t: (t.vat_category, t.vat_rate))]


def categories_of(document: InvoiceDocument) -> set[str]:
    return {tax.vat_category for tax in document.taxes} | {line.vat_category for line in document.lines} | {
        item.vat_category for item in document.allowance_charges}


def without_vat_ids(facts: Facts) -> Facts:
    """Outside the scope of VAT (category O) the VAT identifiers must be left out (BR-O-02): the seller's id
    becomes its identifier (BT-29, which BR-CO-26 then finds), the buyer's is dropped."""
    seller = facts.seller
    return replace(facts, seller=replace(seller, vat_id="", identifier=seller.identifier or seller.vat_id
                                         or seller.tax_number), buyer=replace(facts.buyer, vat_id=""))
