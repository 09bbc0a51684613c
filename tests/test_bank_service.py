"""Importing bank statements (billing.bank.service): the sample camt.053, MT940 and CSV files stored and matched
as expected, every line once however often a file is imported, malformed files refused naming the line with
nothing stored, CSV mappings saved per bank, permissions."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from billing.bank import service
from billing.bank.lines import StatementFormatError
from billing.bank.matching import LIKELY, OTHER, PAYMENT, POSSIBLE, SURE
from billing.errors import PermissionDeniedError, ValidationError
from billing.store.bank_schema import bank_imports, bank_lines
from billing.store.db import Database
from tests.conftest import ADMIN, ANALYST, Billed, Seed, assert_refused
from tests.einvoice_files import BILLION_LAUGHS, EXTERNAL_ENTITY, NETWORK_DTD, RANDOM_BYTES

DATA = Path(__file__).parent / "data" / "bank"
MAPPING = {"bank": "Sparkasse", "account_iban": "DE89 3704 0044 0532 0130 00", "encoding": "cp1252",
           "skip_rows": 2, "date_format": "%d.%m.%Y", "decimal_comma": True,
           "columns": {"booking_date": "Buchungstag", "value_date": "Valuta", "amount": "Betrag",
                       "counterparty_name": "Auftraggeber/Empfänger", "counterparty_iban": "IBAN",
                       "remittance": "Verwendungszweck", "currency": "Währung"}}


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def lines_of(db: Database) -> list[dict[str, object]]:
    return service.list_lines(db, ADMIN, limit=100)[0]


def test_camt053_with_a_batch_booking_a_return_and_a_fee(db: Database, billed: Billed, seeded: Seed) -> None:
    report = service.import_statement(db, ADMIN, sample("camt053.xml"), "camt053.xml")
    assert (report.file_format, report.lines_in_file, report.lines_new) == ("camt", 6, 6)  # the pending one left out
    rows = lines_of(db)
    by_amount = {(row["amount"], row["remittance"]): row["proposal"] for row in rows}
    first = by_amount[(Decimal("119.00"), "RF81 INV2 0250 0001")]
    assert (first.kind, first.confidence, first.allocations) == (PAYMENT, SURE, ((billed.a, Decimal("119.00")),))
    assert "RF81 INV2 0250 0001 found in the text" in first.reason
    batch = [by_amount[(Decimal("59.50"), "Invoice INV-2025-00002")],
             by_amount[(Decimal("23.80"), "Rechnung inv 2025 00003")]]
    assert [(p.confidence, p.invoice_ids) for p in batch] == [(SURE, {billed.b}), (SURE, {billed.c})]
    returned = next(row for row in rows if row["is_return"])
    assert (returned["amount"], returned["return_code"]) == (Decimal("-59.50"), "AC04")
    assert returned["end_to_end_id"] == "E2E-ACME-2"
    fee = by_amount[(Decimal("-2.50"), "Kontofuehrungsgebuehr Maerz")]
    assert (fee.kind, fee.category) == (OTHER, "fee")
    beta = by_amount[(Decimal("50.00"), "Advance payment")]
    assert (beta.customer_id, beta.confidence, beta.credit) == (seeded.beta, POSSIBLE, Decimal("50.00"))


def test_mt940_with_multi_line_details(db: Database, billed: Billed) -> None:
    report = service.import_statement(db, ADMIN, sample("mt940.sta"), "mt940.sta")
    assert (report.file_format, report.lines_new) == ("mt940", 3)
    rows = lines_of(db)
    assert rows[0]["counterparty_iban"] == "DE02100100109307118603" and rows[0]["end_to_end_id"] == "E2E-ACME-1"
    assert rows[0]["proposal"].allocations == ((billed.a, Decimal("119.00")),)
    batch = rows[1]["proposal"]
    assert "INV-2025-00002 und INV-2025-00003" in rows[1]["remittance"]
    assert (batch.confidence, batch.invoice_ids) == (SURE, {billed.b, billed.c})
    assert rows[2]["proposal"].category == "fee"


def test_csv_with_german_decimal_commas_through_a_saved_mapping(db: Database, billed: Billed) -> None:
    service.save_mapping(db, ADMIN, MAPPING)
    assert service.mapping_names(db, ADMIN) == ["Sparkasse"]
    mapping = service.get_mapping(db, ADMIN, "Sparkasse")
    report = service.import_statement(db, ADMIN, sample("german.csv"), "umsaetze.csv", mapping)
    assert (report.file_format, report.lines_new) == ("csv", 5)
    rows = {row["remittance"]: row for row in lines_of(db)}
    assert rows["Miete März"]["amount"] == Decimal("1234.56")
    assert rows["Miete März"]["counterparty_name"] == "Müller & Söhne KG"
    assert rows["Kontoführung Entgelt"]["amount"] == Decimal("-4.90")
    assert rows["INV-2025-00001"]["proposal"].confidence == SURE
    assert rows["Zahlung Rechnung 2025-00002"]["proposal"].invoice_ids == {billed.b}
    partial = rows["Teilzahlung INV-2025-0003"]["proposal"]
    assert (partial.confidence, partial.allocations) == (LIKELY, ((billed.c, Decimal("10.00")),))


@pytest.mark.parametrize(("document", "statement"), [("BkToCstmrAcctRpt", "Rpt"), ("BkToCstmrDbtCdtNtfctn", "Ntfctn")])
def test_camt052_and_camt054_read_like_camt053(document: str, statement: str) -> None:
    camt053 = sample("camt053.xml")
    other = camt053.replace(b"BkToCstmrStmt", document.encode()).replace(b"<Stmt>", f"<{statement}>".encode()) \
        .replace(b"</Stmt>", f"</{statement}>".encode()).replace(b"camt.053.001.08", b"camt.054.001.08")
    assert service.read_statement(other) == service.read_statement(camt053)


@pytest.mark.parametrize("name", ["camt053.xml", "mt940.sta"])
def test_importing_again_creates_nothing(db: Database, billed: Billed, name: str) -> None:
    service.import_statement(db, ADMIN, sample(name), name)
    again = service.import_statement(db, ADMIN, sample(name), name)
    assert (again.lines_new, again.lines_known) == (0, again.lines_in_file)
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(bank_lines)).scalar_one() == again.lines_in_file


def test_an_overlapping_statement_adds_only_its_new_lines(db: Database, billed: Billed) -> None:
    text = sample("mt940.sta").decode()
    first_two = text.split(":61:2503120312D2,50")[0] + ":62F:C250311EUR1202,30\r\n-\r\n"
    assert service.import_statement(db, ADMIN, first_two.encode(), "part.sta").lines_new == 2
    assert service.import_statement(db, ADMIN, sample("mt940.sta"), "full.sta").lines_new == 1
    assert len(lines_of(db)) == 3


def test_overlapping_camt_and_csv_statements_add_only_their_new_lines(db: Database, billed: Billed) -> None:
    """An intraday camt.052 of the first two entries (three lines: one is a batch of two), then the day's
    camt.053; a CSV export of 10-11 March, then one of 11-12 March (the CSV has no bank reference: its lines are
    known by what they say)."""
    camt = sample("camt053.xml").decode()
    entries = camt.split("<Ntry>")
    report = "<Ntry>".join(entries[:3]).replace("BkToCstmrStmt", "BkToCstmrAcctRpt").replace("<Stmt>", "<Rpt>") + \
        "</Rpt></BkToCstmrAcctRpt></Document>"
    assert service.import_statement(db, ADMIN, report.encode(), "intraday.xml").lines_new == 3
    assert service.import_statement(db, ADMIN, camt.encode(), "day.xml").lines_new == 3
    service.save_mapping(db, ADMIN, MAPPING)
    mapping = service.get_mapping(db, ADMIN, "Sparkasse")
    rows = sample("german.csv").split(b"\r\n")  # 3 lines of heading, then 10, 11, 12, 12, 12 March
    early, late = b"\r\n".join([*rows[:5], b""]), b"\r\n".join(rows[:3] + rows[4:])
    assert service.import_statement(db, ADMIN, early, "early.csv", mapping).lines_new == 2
    assert service.import_statement(db, ADMIN, late, "late.csv", mapping).lines_new == 3
    assert len(lines_of(db)) == 6 + 5


def test_identical_lines_of_one_file_are_each_kept(db: Database, billed: Billed) -> None:
    service.save_mapping(db, ADMIN, MAPPING)
    data = sample("german.csv")
    twice = data + data.split(b"\r\n")[3] + b"\r\n"  # the first payment again, the same day, same text
    mapping = service.get_mapping(db, ADMIN, "Sparkasse")
    assert service.import_statement(db, ADMIN, twice, "x.csv", mapping).lines_new == 6
    assert service.import_statement(db, ADMIN, data, "x.csv", mapping).lines_new == 0


def as_camt(ubl: bytes) -> bytes:
    """A hostile UBL upload of the e-invoice tests as a camt.053 document (the same DOCTYPE, entities or DTD)."""
    return ubl.replace(b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"',
                       b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"').replace(b"Invoice>",
                                                                                                b"Document>")


DEEP_CAMT = sample("camt053.xml").replace(b"<Ustrd>Advance payment</Ustrd>",
                                          b"<Ustrd>" + b"<x>" * 5000 + b"</x>" * 5000 + b"</Ustrd>")
MALFORMED_CAMT = sample("camt053.xml").replace(b"<Amt Ccy=\"EUR\">2.50</Amt>", b"<Amt Ccy=\"EUR\">2,50</Amt>")


@pytest.mark.parametrize(("data", "message"), [
    (MALFORMED_CAMT, r"Entry 4 \(line 73\): the amount '2,50' is not a number"),
    (sample("camt053.xml").replace(b"</Stmt>", b"</Stmt"), r"not well-formed XML \(line \d+\)"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><Document>camt.053&e;</Document>',
     "DOCTYPE"),
    (sample("mt940.sta").replace(b":61:2503120312D2,50", b":61:2503120312X2,50"), r"Line 12: '2503120312X2,50"),
    (sample("mt940.sta").replace(b"-\r\n", b"-\r\ngarbage here\r\n"), r"Line 16: 'garbage here' is not an MT940 field"),
    (sample("mt940.sta").replace(b":61:2503120312D", b":61:2513120312D"), r"Line 12: '251312' is not a date"),
    (sample("mt940.sta").replace(b":61:2503120312D", b":61:2502300230D"), r"Line 12: '250230' is not a date"),
    (sample("mt940.sta").replace(b":61:2503120312D", b":61:2503121312D"), r"Line 12: '001312' is not a date"),
    (sample("mt940.sta").replace(b"C250312EUR", b"C250332EUR"), r"Line 14: '250332' is not a date"),
    (b"Datum;Betrag\r\n", "neither a camt.05x nor an MT940 file"),
    pytest.param(as_camt(BILLION_LAUGHS), "DOCTYPE", id="xml-bomb"),
    pytest.param(as_camt(EXTERNAL_ENTITY), "DOCTYPE", id="external-entity"),
    pytest.param(as_camt(NETWORK_DTD), "DOCTYPE", id="network-dtd"),
    pytest.param(as_camt(NETWORK_DTD).replace(b"DOCTYPE", b"doctype"), "DOCTYPE", id="lower-case-doctype"),
    pytest.param(DEEP_CAMT, r"not well-formed XML \(line 92\): Excessive depth", id="5000-deep"),
    pytest.param(RANDOM_BYTES, "neither a camt.05x nor an MT940 file", id="random-bytes"),
])
def test_malformed_files_are_refused_naming_the_line(db: Database, billed: Billed, data: bytes, message: str) -> None:
    assert_refused(db, lambda: service.import_statement(db, ADMIN, data, "bad"), StatementFormatError, match=message)


@pytest.mark.parametrize(("old", "new", "message"), [
    (b"11.03.2025;11.03.2025", b"2025-03-11;11.03.2025", r"Line 5, column 'Buchungstag': '2025-03-11' is not a date"),
    (b";59,50;", b";59;50;", r"Line 5: the currency '50' is not an ISO 4217 code"),
    (b";-4,90;", b";-4,9x;", r"Line 7, column 'Betrag': the amount '-4,9x' is not a number with a decimal comma"),
    (b";-4,90;", b";0,000000001;", r"Line 7, column 'Betrag': the amount 0,000000001 has more decimals than EUR"),
    (b";-4,90;", b";10,005;", r"Line 7, column 'Betrag': the amount 10,005 has more decimals than EUR allows \(2\)"),
    (b";-4,90;EUR", b";-4,9;JPY", r"Line 7, column 'Betrag': the amount -4,9 has more decimals than JPY allows \(0\)"),
    (b";-4,90;", b";1.000.000.000.000.000,00;", r"Line 7, column 'Betrag': the amount 1000000000000000,00 is too"),
    (b";-4,90;", b";1E+30;", r"Line 7, column 'Betrag': the amount '1E\+30' is not a number"),
    (b";-4,90;", b";1e9;", r"Line 7, column 'Betrag': the amount '1e9' is not a number"),
    (b";-4,90;", b";NaN;", r"Line 7, column 'Betrag': the amount 'NaN' is not a number"),
    (b";-4,90;", b";-4.90;", r"Line 7, column 'Betrag': the amount '-4.90' is not a number with a decimal comma "
                             r"\(is the mapping's decimal mark right\?\)"),
    (b";-4,90;", b";1.2.3,00;", r"Line 7, column 'Betrag': the amount '1.2.3,00' is not a number with a decimal"),
    (b";-4,90;", b";-4,90-;", r"Line 7, column 'Betrag': the amount '-4,90-' is not a number with a decimal"),
    (b";-4,90;", b";;", r"Line 7, column 'Betrag': the amount is empty"),
])
def test_malformed_csv_names_line_and_column(db: Database, billed: Billed, old: bytes, new: bytes,
                                             message: str) -> None:
    service.save_mapping(db, ADMIN, MAPPING)
    mapping = service.get_mapping(db, ADMIN, "Sparkasse")
    data = sample("german.csv").replace(old, new)
    assert_refused(db, lambda: service.import_statement(db, ADMIN, data, "bad.csv", mapping), StatementFormatError,
                   match=message)


def _counts(db: Database) -> tuple[int, int]:
    with db.connect() as conn:
        return tuple(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()  # type: ignore[return-value]
                     for table in (bank_imports, bank_lines))


CAMT_FEE = b'<Amt Ccy="EUR">2.50</Amt>'
MT940_FEE = b":61:2503120312D2,50N"


@pytest.mark.parametrize(("data", "message"), [
    *((sample("camt053.xml").replace(CAMT_FEE, f'<Amt Ccy="EUR">{amount}</Amt>'.encode()),
       rf"Entry 4 \(line 73\): the amount {text}") for amount, text in [
        ("10.00001", r"10.00001 has more decimals than EUR allows \(2\)"),
        ("10.005", r"10.005 has more decimals than EUR allows \(2\)"),
        ("100000000000000", "100000000000000 is too large"),
        ("1E+30", r"'1E\+30' is not a number"),
        ("NaN", "'NaN' is not a number"),
        ("-5", "'-5' is negative"),
    ]),
    (sample("camt053.xml").replace(CAMT_FEE, b'<Amt Ccy="JPY">2.5</Amt>'),
     r"Entry 4 \(line 73\): the amount 2.5 has more decimals than JPY allows \(0\)"),
    *((sample("mt940.sta").replace(MT940_FEE, f":61:2503120312D{amount}N".encode()), rf"Line 12: the amount {text}")
      for amount, text in [
        ("1,2,3", "'1,2,3' is not a number with a decimal comma"),
        ("10,005", r"10,005 has more decimals than EUR allows \(2\)"),
        ("999999999999999,99", "999999999999999,99 is too large"),
        ("99999999999999,999", "99999999999999,999 has more decimals"),
    ]),
    (sample("mt940.sta").replace(b"C250310EUR", b"C250310XYZ"), r"Transaction 1 \(line 5\): the currency 'XYZ'"),
])
def test_amounts_out_of_rule_are_refused_naming_the_line(db: Database, billed: Billed, data: bytes,
                                                         message: str) -> None:
    service.import_statement(db, ADMIN, sample("mt940.sta").replace(b"MT-000", b"OLD-"), "earlier.sta")
    before = _counts(db)
    assert_refused(db, lambda: service.import_statement(db, ADMIN, data, "bad"), StatementFormatError, match=message)
    assert _counts(db) == before == (1, 3)


@pytest.mark.parametrize(("camt", "mt940", "amount"), [
    (b'<Amt Ccy="EUR">2.5</Amt>', b"C250310EUR", Decimal("-2.50")),
    (b'<Amt Ccy="EUR">2.500</Amt>', b"C250310EUR", Decimal("-2.50")),
    (b'<Amt Ccy="JPY">250</Amt>', b"C250310JPY", Decimal("-250")),
])
def test_amounts_within_the_currency_decimals_import(db: Database, billed: Billed, camt: bytes, mt940: bytes,
                                                     amount: Decimal) -> None:
    written = camt.split(b">")[1].split(b"<")[0].replace(b".", b",")
    files = [sample("camt053.xml").replace(CAMT_FEE, camt),
             sample("mt940.sta").replace(b"C250310EUR", mt940).replace(b"C83,30N", b"C83,00N")  # 119,00 JPY reads
             .replace(MT940_FEE, b":61:2503120312D" + written + b"N")]
    for data in files:
        fee = next(line for line in service.read_statement(data)[1] if line.amount < 0 and not line.is_return)
        assert (fee.amount, fee.currency) == (amount, mt940[-3:].decode())
    report = service.import_statement(db, ADMIN, files[0], "fee.xml")
    assert report.lines_new == 6 and amount in {row["amount"] for row in lines_of(db)}


def test_amounts_read_by_the_mappings_decimal_mark(db: Database, billed: Billed) -> None:
    """Thousands grouped by threes either way; a zero line ('-0') is stored as 0.00, proposed as no money moved;
    debit and credit columns give the sign."""
    data = (b"Date,Debit,Credit,Text\r\n10.03.2025,,\"1,234.56\",Big one\r\n11.03.2025,4.90,,Fee\r\n"
            b"12.03.2025,,-0,INV-2025-00001\r\n")
    point = service.save_mapping(db, ADMIN, {**MAPPING, "bank": "Point", "encoding": "utf-8", "delimiter": ",",
                                             "decimal_comma": False, "skip_rows": 0, "columns": {
                                                 "booking_date": "Date", "debit": "Debit", "credit": "Credit",
                                                 "remittance": "Text"}})
    assert [line.amount for line in service.read_statement(data, point)[1]] == \
        [Decimal("1234.56"), Decimal("-4.90"), Decimal("0.00")]
    assert str(service.read_statement(data, point)[1][2].amount) == "0.00"
    service.import_statement(db, ADMIN, data, "point.csv", point)
    zero = next(row for row in lines_of(db) if row["amount"] == 0)
    assert (zero["proposal"].kind, zero["proposal"].reason) == (OTHER, "the amount is zero: no money moved")
    for bad, message in [("59,50", "'59,50' is not a number with a decimal point"),
                         ("", "both the debit column 'Debit' and the credit column 'Credit' are empty")]:
        wrong = f"Date,Debit,Credit,Text\r\n10.03.2025,,\"{bad}\",x\r\n".encode()
        assert_refused(db, lambda: service.import_statement(db, ADMIN, wrong, "bad.csv", point),  # noqa: B023
                       StatementFormatError, match=f"Line 2, column 'Credit': the amount {message}" if bad
                       else f"Line 2: {message}")


def test_odd_headers_of_a_mapping(db: Database, billed: Billed) -> None:
    """A header with a line break cannot be saved; one the file lacks is named with the headers it has; blanks,
    quotes and a byte order mark around a header do not matter; of two columns of one name the first is read."""
    with pytest.raises(ValidationError, match="one line"):
        service.save_mapping(db, ADMIN, {**MAPPING, "columns": {**MAPPING["columns"],
                                                                "remittance": "Verwendungs\nzweck"}})
    formula = '=cmd|" /C calc"!A0'
    odd = service.save_mapping(db, ADMIN, {**MAPPING, "bank": "Odd", "columns": {**MAPPING["columns"],
                                                                                 "remittance": formula}})
    assert_refused(db, lambda: service.import_statement(db, ADMIN, sample("german.csv"), "x.csv", odd),
                   StatementFormatError, match=r"Line 3: the header has no column '=cmd\|\" /C calc\"!A0' \(found: "
                                           r"Buchungstag, Valuta, Auftraggeber/Empfänger, IBAN, Verwendungszweck")
    plain = service.save_mapping(db, ADMIN, {**MAPPING, "bank": "Plain", "encoding": "utf-8", "skip_rows": 0,
                                             "columns": {"booking_date": "Buchungstag", "amount": "Betrag"}})
    data = '\ufeff Buchungstag ;"Betrag";Betrag\r\n10.03.2025;119,00;5,00\r\n'.encode()
    assert [line.amount for line in service.read_statement(data, plain)[1]] == [Decimal("119.00")]


def test_a_mapping_needs_an_amount_and_a_known_encoding(db: Database) -> None:
    with pytest.raises(ValidationError, match="amount column"):
        service.save_mapping(db, ADMIN, {**MAPPING, "columns": {"booking_date": "Buchungstag"}})
    with pytest.raises(ValidationError, match="Encoding"):
        service.save_mapping(db, ADMIN, {**MAPPING, "encoding": "utf-32"})


def test_too_large_a_file_is_refused(db: Database, billed: Billed, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("billing.bank.lines.MAX_FILE_BYTES", 1000)
    assert_refused(db, lambda: service.import_statement(db, ADMIN, sample("camt053.xml"), "big.xml"),
                   StatementFormatError, match="larger than")


def test_a_50_mb_upload_is_refused_before_it_is_read(db: Database, billed: Billed) -> None:
    huge = sample("camt053.xml").replace(b"</Document>", b"<!--" + b"x" * 50_000_000 + b"--></Document>")
    assert_refused(db, lambda: service.import_statement(db, ADMIN, huge, "huge.xml"), StatementFormatError,
                   match="larger than 30 MB")
    assert _counts(db) == (0, 0)


def test_an_analyst_may_not_import(db: Database, billed: Billed) -> None:
    assert_refused(db, lambda: service.import_statement(db, ANALYST, sample("mt940.sta"), "x"), PermissionDeniedError)
    with db.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(bank_imports)).scalar_one() == 0
