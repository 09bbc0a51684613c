"""Statements made from demo data for the matching precision test and the benchmark: a month of the demo's
payments as bank lines with realistic noise, and camt.053 files of any size."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

import sqlalchemy as sa

from billing.bank.lines import StatementLine
from billing.bank.matching import Customer, OpenInvoice
from billing.references import creditor_reference, format_reference
from billing.store.db import Database

ACCOUNT = "DE89370400440532013000"


def iban_of(customer_id: int) -> str:
    """A made-up IBAN per demo customer (the demo has none)."""
    return f"DE{10 + customer_id % 89:02d}{customer_id:018d}"


@dataclass(frozen=True)
class DemoStatement:
    """Lines of a month, the right answer for each line that has one (customer, {invoice: amount}), and what
    the matcher knew before the month: the invoices open then and the customers (half of their IBANs known)."""

    lines: list[StatementLine]
    truth: dict[int, tuple[int, dict[int, Decimal]]]
    invoices: list[OpenInvoice]
    customers: list[Customer]


def _noisy_number(number: str, rng: random.Random) -> str:
    """An invoice number as payers write it: as issued, as RF reference, spaced, lower case, without its
    prefix, or with one digit wrong."""
    roll = rng.random()
    if roll < 0.25:
        return format_reference(creditor_reference(number)) if rng.random() < 0.5 else creditor_reference(number)
    if roll < 0.55:
        return number
    if roll < 0.65:
        return number.replace("-", " ").lower()
    if roll < 0.75:
        return number.split("-", 1)[-1]
    if roll < 0.85:
        return number.replace("-", "")
    digits = [i for i, ch in enumerate(number) if ch.isdigit()]
    i = rng.choice(digits[4:])  # not in the year
    return number[:i] + number[i + 1:] if rng.random() < 0.5 else number[:i] + str((int(number[i]) + 1) % 10) \
        + number[i + 1:]


def _noisy_name(name: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return name.upper()
    if roll < 0.4:
        return name.rsplit(" ", 1)[0]  # the legal form left out
    if roll < 0.5:
        return name[:27]  # cut to an old field length
    return name


def demo_month(db: Database, first: date, last: date, seed: int = 15) -> DemoStatement:
    """The demo's payments received from `first` to `last` as statement lines with noise: no reference in 30 %,
    numbers written in many ways and some with a typo, fees and interest between them."""
    rng = random.Random(seed)
    with db.connect() as conn:
        paid = conn.execute(sa.text(
            "SELECT p.id, p.customer_id, p.currency, p.amount, p.received_on, a.invoice_id, i.number, a.amount "
            "FROM payments p JOIN allocations a ON a.payment_id = p.id JOIN invoices i ON i.id = a.invoice_id "
            "WHERE p.kind = 'payment' AND p.received_on BETWEEN :first AND :last ORDER BY p.id, a.invoice_id"),
            {"first": first, "last": last}).all()
        before = conn.execute(sa.text(
            "SELECT i.id, i.number, i.customer_id, i.currency, i.due_date, "
            "i.payable - i.credited_amount - coalesce((SELECT sum(a.amount) FROM allocations a "
            "  WHERE a.invoice_id = i.id AND a.allocated_on < :first), 0) AS balance "
            "FROM invoices i WHERE i.kind = 'invoice' AND i.status = 'issued' AND i.issue_date <= :last"),
            {"first": first, "last": last}).all()
        names = conn.execute(sa.text("SELECT id, name FROM customers")).all()
    invoices = [OpenInvoice(r.id, r.number, r.customer_id, r.currency, Decimal(r.balance).quantize(Decimal("0.01")),
                            r.due_date) for r in before if r.balance > 0]
    customers = [Customer(r.id, r.name, (iban_of(r.id),) if rng.random() < 0.5 else ()) for r in names]
    name_of = {r.id: r.name for r in names}
    payments: dict[int, list[sa.Row[tuple[int, ...]]]] = defaultdict(list)
    for row in paid:
        payments[row[0]].append(row)
    lines: list[StatementLine] = []
    truth: dict[int, tuple[int, dict[int, Decimal]]] = {}
    for rows in payments.values():
        payment_id, customer_id, currency, amount, received_on = rows[0][:5]
        if rng.random() < 0.3:
            text = rng.choice(["", "Payment", "Thank you", "Rechnung", f"Customer {customer_id}", "Zahlung"])
        else:
            numbers = " ".join(_noisy_number(r[6], rng) for r in rows)
            text = rng.choice(["{}", "Invoice {}", "Rechnung {} vielen Dank", "Payment of {}", "RE {}"]).format(numbers)
        truth[len(lines)] = (customer_id, {r[5]: Decimal(r[7]).quantize(Decimal("0.01")) for r in rows})
        lines.append(StatementLine(ACCOUNT, received_on, received_on, Decimal(amount).quantize(Decimal("0.01")),
                                   currency, _noisy_name(name_of[customer_id], rng), iban_of(customer_id), text,
                                   f"BANK-{payment_id}"))
        cents = Decimal(rng.randint(100, 90_000)).scaleb(-2)
        if rng.random() < 0.05:  # bank charges
            lines.append(StatementLine(ACCOUNT, received_on, None, -cents, "EUR", "Sparkasse", "",
                                       rng.choice(["Kontoführungsgebühr", "Entgelt SEPA", "Card fees"])))
        if rng.random() < 0.02:  # interest: money in, but no customer's
            lines.append(StatementLine(ACCOUNT, received_on, None, cents / 20, "EUR", "Sparkasse", "",
                                       "Zinsen Habenzins"))
    return DemoStatement(lines, truth, invoices, customers)


def camt053(lines: list[dict[str, str]], account: str = ACCOUNT) -> bytes:
    """A camt.053 statement of the given lines (amount, currency, date, name, iban, text, ref)."""
    entries = []
    for line in lines:
        credit = not line["amount"].startswith("-")
        party = "Dbtr" if credit else "Cdtr"
        entries.append(
            f"<Ntry><Amt Ccy=\"{line['currency']}\">{line['amount'].lstrip('-')}</Amt>"
            f"<CdtDbtInd>{'CRDT' if credit else 'DBIT'}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
            f"<BookgDt><Dt>{line['date']}</Dt></BookgDt><ValDt><Dt>{line['date']}</Dt></ValDt>"
            f"<AcctSvcrRef>{line['ref']}</AcctSvcrRef><NtryDtls><TxDtls><Refs><EndToEndId>{line['ref']}</EndToEndId>"
            f"</Refs><RltdPties><{party}><Pty><Nm>{escape(line['name'])}</Nm></Pty></{party}><{party}Acct><Id>"
            f"<IBAN>{line['iban']}</IBAN></Id></{party}Acct></RltdPties><RmtInf><Ustrd>{escape(line['text'])}</Ustrd>"
            "</RmtInf></TxDtls></NtryDtls></Ntry>")
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>'
            "<GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2026-11-25T18:00:00</CreDtTm></GrpHdr>"
            f"<Stmt><Id>BENCH-1</Id><Acct><Id><IBAN>{account}</IBAN></Id></Acct>{''.join(entries)}</Stmt>"
            "</BkToCstmrStmt></Document>").encode()
