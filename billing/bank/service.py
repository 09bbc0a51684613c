"""Importing bank statements: each line stored once with the matcher's proposal; listing them; CSV mappings
and the auto-confirm setting."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing import audit
from billing.bank.camt import is_camt, parse_camt
from billing.bank.csv_format import CsvMapping, parse_csv
from billing.bank.lines import StatementFormatError, StatementLine, check_size, clean_text
from billing.bank.matching import Customer, Matcher, OpenInvoice, PastPayment, Proposal
from billing.bank.swift import is_mt940, parse_mt940
from billing.errors import NotFoundError, ValidationError
from billing.models import parse
from billing.money import round_money
from billing.permissions import Actor, require
from billing.store import bank as bank_store
from billing.store.db import Database, utcnow

_FOUR = Decimal("0.0001")


@dataclass(frozen=True)
class ImportReport:
    """What an import did: lines in the file, new ones (the rest were there already), proposals by confidence,
    and what auto-confirm recorded."""

    import_id: int
    file_format: str
    lines_in_file: int
    lines_new: int
    confidences: dict[str, int] = field(default_factory=dict)
    auto_confirmed: int = 0

    @property
    def lines_known(self) -> int:
        return self.lines_in_file - self.lines_new


def read_statement(data: bytes, mapping: CsvMapping | None = None) -> tuple[str, list[StatementLine]]:
    """The format of a statement file (camt, mt940, csv) and its lines. A CSV file needs its bank's mapping."""
    check_size(data)
    if is_camt(data):
        return "camt", parse_camt(data)
    if is_mt940(data):
        return "mt940", parse_mt940(data)
    if mapping is None:
        raise StatementFormatError("This is neither a camt.05x nor an MT940 file. For a CSV file, choose the "
                                   "bank's column mapping first.")
    return "csv", parse_csv(data, mapping)


def line_keys(lines: Sequence[StatementLine]) -> list[str]:
    """A stable key per line: the account with the bank's reference, or with everything the line says;
    identical lines of one file are told apart by their ordinal among them."""
    seen: Counter[tuple[str, ...]] = Counter()
    keys = []
    for line in lines:
        amount = str(line.amount.quantize(_FOUR))
        identity: tuple[str, ...]
        if line.bank_reference:
            identity = (line.account_iban, "ref", line.bank_reference, line.end_to_end_id, amount, line.currency)
        else:
            identity = (line.account_iban, line.booking_date.isoformat(), amount, line.currency,
                        line.counterparty_iban, line.counterparty_name, line.remittance, line.end_to_end_id)
        seen[identity] += 1
        keys.append(hashlib.sha256(json.dumps([*identity, seen[identity]]).encode()).hexdigest())
    return keys


def proposal_json(proposal: Proposal) -> str:
    return json.dumps({"kind": proposal.kind, "confidence": proposal.confidence, "reason": proposal.reason,
                       "customer_id": proposal.customer_id, "credit": str(proposal.credit),
                       "allocations": [[i, str(a)] for i, a in proposal.allocations],
                       "reverses": proposal.reverses, "category": proposal.category})


def proposal_of(text: str) -> Proposal:
    data = json.loads(text)
    return Proposal(data["kind"], data["confidence"], data["reason"], data["customer_id"],
                    tuple((int(i), Decimal(a)) for i, a in data["allocations"]), Decimal(data["credit"]),
                    data["reverses"], data["category"])


def statement_line(row: dict[str, Any]) -> StatementLine:
    """A stored line as the matcher reads it."""
    return StatementLine(row["account_iban"], row["booking_date"], row["value_date"],
                         round_money(Decimal(row["amount"]), row["currency"]), row["currency"],
                         row["counterparty_name"], row["counterparty_iban"], row["remittance"], row["bank_reference"],
                         row["end_to_end_id"], bool(row["is_return"]), row["return_code"])


def matcher(conn: Connection, currencies: Sequence[str]) -> Matcher:
    """A matcher over the open invoices in these currencies, all customers and the payments from statements."""
    invoices = [OpenInvoice(invoice_id, number or "", customer, currency, round_money(Decimal(balance), currency), due)
                for invoice_id, number, customer, currency, due, balance in bank_store.open_invoices(conn, currencies)]
    customers = [Customer(*row) for row in bank_store.customers_with_ibans(conn)]
    past = [PastPayment(r["id"], r["customer_id"], round_money(Decimal(r["amount"]), r["currency"]), r["currency"],
                        r["end_to_end_id"], r["counterparty_iban"]) for r in bank_store.payments_from_lines(conn)]
    return Matcher(invoices, customers, past)


def import_statement(db: Database, actor: Actor, data: bytes, file_name: str,
                     mapping: CsvMapping | None = None) -> ImportReport:
    """Store the lines of a statement file that are not stored yet, each with the matcher's proposal.

    A malformed file stores nothing (StatementFormatError names the line). With auto-confirm on, lines
    whose proposal is sure are recorded right away (billing.bank.decisions)."""
    require(db, actor, "payments.write")
    file_format, lines = read_statement(data, mapping)
    keys = line_keys(lines)
    digest = hashlib.sha256(data).hexdigest()

    def work(conn: Connection) -> ImportReport:
        known = bank_store.existing_keys(conn, keys)
        fresh: dict[str, StatementLine] = {}
        for key, line in zip(keys, lines, strict=True):
            if key not in known:
                fresh.setdefault(key, line)
        values = {"file_name": clean_text(file_name, 200) or "statement", "file_format": file_format,
                  "file_sha256": digest, "lines_in_file": len(lines), "lines_new": len(fresh),
                  "imported_at": utcnow(), "imported_by": actor.username}
        import_id = bank_store.insert_import(conn, values)
        match = matcher(conn, sorted({line.currency for line in fresh.values()}))
        rows, confidences = [], Counter[str]()
        for key, line in fresh.items():
            proposal = match.propose(line)
            confidences[proposal.confidence] += 1
            rows.append({"import_id": import_id, "line_key": key, "account_iban": line.account_iban,
                         "booking_date": line.booking_date, "value_date": line.value_date, "amount": line.amount,
                         "currency": line.currency, "counterparty_name": line.counterparty_name,
                         "counterparty_iban": line.counterparty_iban, "remittance": line.remittance,
                         "bank_reference": line.bank_reference, "end_to_end_id": line.end_to_end_id,
                         "is_return": line.is_return, "return_code": line.return_code,
                         "confidence": proposal.confidence, "proposal": proposal_json(proposal)})
        bank_store.insert_lines(conn, rows)
        audit.record(conn, actor, "bank.import", "bank_import", import_id,
                     after={**values, "confidences": dict(confidences)})
        return ImportReport(import_id, file_format, len(lines), len(fresh), dict(confidences))

    try:
        report = db.transaction(work)
    except sa.exc.DBAPIError as exc:
        # PostgreSQL: another import stored some of these lines after this one looked (two tabs importing one
        # file): a unique violation of line_key (23505; the bulk COPY reports it as a DBAPIError). Looking again
        # finds them stored and adds only the rest.
        if getattr(exc.orig, "sqlstate", None) != "23505":
            raise
        report = db.transaction(work)
    with db.connect() as conn:
        auto = bank_store.auto_confirm(conn)
    if auto and report.confidences.get("sure"):
        from billing.bank.decisions import confirm_sure

        done, _ = confirm_sure(db, actor, import_id=report.import_id)
        report = ImportReport(report.import_id, report.file_format, report.lines_in_file, report.lines_new,
                              report.confidences, done)
    return report


def rematch(db: Database, actor: Actor, invoice_ids: Collection[int] | None = None) -> int:
    """Propose again for every undecided line (invoices were paid or issued since), or, given `invoice_ids`
    (just paid), for those whose proposal puts money on one of them: how many lines."""
    require(db, actor, "payments.write")
    paid = None if invoice_ids is None else set(invoice_ids)
    if paid is not None and not paid:
        return 0

    def work(conn: Connection) -> int:
        if paid is None:
            rows = bank_store.undecided_lines(conn)
        else:
            ids = [line_id for line_id, text in bank_store.undecided_proposals(conn)
                   if paid & proposal_of(text).invoice_ids]
            rows = bank_store.lines_by_id(conn, ids) if ids else []
        if not rows:
            return 0
        match = matcher(conn, sorted({row["currency"] for row in rows}))
        updates = []
        for row in rows:
            proposal = match.propose(statement_line(row))
            updates.append((int(row["id"]), proposal.confidence, proposal_json(proposal)))
        bank_store.set_proposals(conn, updates)
        return len(updates)

    return db.transaction(work)


def list_lines(db: Database, actor: Actor, **filters: Any) -> tuple[list[dict[str, Any]], int]:
    """Statement lines with their proposal (`proposal`, a Proposal; `numbers`: its invoices' numbers by id) and
    decision, oldest booking first."""
    require(db, actor, "payments.read")
    with db.connect() as conn:
        rows, total = bank_store.list_lines(conn, **filters)
        for row in rows:
            row["amount"] = round_money(Decimal(row["amount"]), row["currency"])
            row["proposal"] = proposal_of(row["proposal"])
        numbers = bank_store.invoice_numbers(conn, (i for row in rows for i, _ in row["proposal"].allocations))
    for row in rows:
        row["numbers"] = {i: numbers.get(i, f"#{i}") for i, _ in row["proposal"].allocations}
    return rows, total


def get_line(db: Database, actor: Actor, line_id: int) -> dict[str, Any]:
    require(db, actor, "payments.read")
    with db.connect() as conn:
        row = bank_store.get_line(conn, line_id)
    if row is None:
        raise NotFoundError(f"Statement line {line_id} does not exist.")
    row["amount"] = round_money(Decimal(row["amount"]), row["currency"])
    row["proposal"] = proposal_of(row["proposal"])
    return row


def mapping_names(db: Database, actor: Actor) -> list[str]:
    require(db, actor, "payments.read")
    with db.connect() as conn:
        return bank_store.mapping_names(conn)


def get_mapping(db: Database, actor: Actor, bank: str) -> CsvMapping:
    require(db, actor, "payments.read")
    with db.connect() as conn:
        text = bank_store.get_mapping(conn, bank)
    if text is None:
        raise NotFoundError(f"There is no CSV mapping for '{bank}'.")
    return CsvMapping.model_validate_json(text)


def save_mapping(db: Database, actor: Actor, data: CsvMapping | dict[str, Any]) -> CsvMapping:
    """Save (or replace) a bank's CSV column mapping."""
    require(db, actor, "payments.write")
    mapping = parse(CsvMapping, data)

    def work(conn: Connection) -> None:
        bank_store.save_mapping(conn, mapping.bank, mapping.model_dump_json(), utcnow(), actor.username)
        audit.record(conn, actor, "bank.mapping", "bank_mapping", mapping.bank, after=mapping.model_dump())

    db.transaction(work)
    return mapping


def auto_confirm(db: Database, actor: Actor) -> bool:
    require(db, actor, "payments.read")
    with db.connect() as conn:
        return bank_store.auto_confirm(conn)


def set_auto_confirm(db: Database, actor: Actor, on: bool) -> None:
    """The owner's choice: record payments of exact reference matches at import, without review."""
    require(db, actor, "settings.write")
    if not isinstance(on, bool):
        raise ValidationError("Auto-confirm is either on or off.")

    def work(conn: Connection) -> None:
        before = bank_store.auto_confirm(conn)
        bank_store.set_auto_confirm(conn, on, utcnow(), actor.username)
        audit.record(conn, actor, "bank.settings", "bank_settings", 1, before={"auto_confirm_exact": before},
                     after={"auto_confirm_exact": on})

    db.transaction(work)
