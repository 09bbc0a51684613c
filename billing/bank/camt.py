"""ISO 20022 camt.053 / camt.052 / camt.054 statements, read with lxml without DTDs, entities or network."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree

from billing.bank.lines import (
    StatementFormatError,
    StatementLine,
    check_count,
    check_size,
    clean_iban,
    clean_text,
    statement_amount,
)
from billing.money import check_currency

# Statement (053), account report (052), debit/credit notification (054).
_STATEMENTS = ("{*}BkToCstmrStmt/{*}Stmt", "{*}BkToCstmrAcctRpt/{*}Rpt", "{*}BkToCstmrDbtCdtNtfctn/{*}Ntfctn")
# Bank transaction sub-families of returns and reversals (ISO 20022 external code list).
_RETURN_FAMILIES = frozenset({"RRTN", "UPDD", "RPCR", "RCDD"})


def _parser() -> etree.XMLParser:
    # A DOCTYPE is refused before parsing; these settings make sure nothing external is ever read anyway.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True)


def is_camt(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<") and b"camt.05" in data[:4096]


def parse_camt(data: bytes) -> list[StatementLine]:
    """Every booked entry of a camt.05x file as statement lines; a batch booking gives one line per
    transaction in it. Raises StatementFormatError naming the entry (and its line in the file)."""
    check_size(data)
    if b"<!DOCTYPE" in data.upper() or b"<!ENTITY" in data.upper():
        raise StatementFormatError("The XML file declares a DOCTYPE or entities, which a bank statement never "
                                   "does: it was refused.")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise StatementFormatError(f"The file is not well-formed XML (line {exc.lineno}): {exc.msg}.") from None
    statements = [s for path in _STATEMENTS for s in root.iterfind(path)]
    if not statements:
        raise StatementFormatError("The XML file is not a camt.052, camt.053 or camt.054 bank statement.")
    lines: list[StatementLine] = []
    number = 0
    for statement in statements:
        account = clean_iban(_text(statement, "{*}Acct/{*}Id/{*}IBAN")
                             or _text(statement, "{*}Acct/{*}Id/{*}Othr/{*}Id"))
        if not account:
            raise StatementFormatError(f"Line {statement.sourceline}: the statement names no account (Acct/Id).")
        for entry in statement.iterfind("{*}Ntry"):
            number += 1
            if _status(entry) not in ("BOOK", ""):
                continue  # pending and informational entries are not money on the account yet
            lines.extend(_entry_lines(entry, account, f"entry {number} (line {entry.sourceline})"))
            check_count(len(lines))
    return lines


def _entry_lines(entry: etree._Element, account: str, where: str) -> list[StatementLine]:
    amount, currency = _amount(entry, "{*}Amt", where)
    sign = _sign(entry, where)
    booked = _date(entry, "{*}BookgDt", where)
    if booked is None:
        raise StatementFormatError(f"{where.capitalize()}: the booking date (BookgDt) is missing.")
    valued = _date(entry, "{*}ValDt", where)
    entry_return = _text(entry, "{*}RvslInd").lower() == "true" or _family(entry) in _RETURN_FAMILIES
    details = list(entry.iterfind("{*}NtryDtls/{*}TxDtls"))
    lines = []
    for index, tx in enumerate(details or [entry]):
        place = f"{where}, transaction {index + 1}" if len(details) > 1 else where
        tx_amount, tx_currency = amount, currency
        if len(details) > 1:  # a batch booking: each transaction carries its own amount
            found = tx.find("{*}AmtDtls/{*}TxAmt/{*}Amt")
            if found is None:
                found = tx.find("{*}Amt")
            if found is None:
                raise StatementFormatError(f"{place.capitalize()}: the amount of a batched transaction is missing.")
            tx_amount, tx_currency = _amount(tx, found, place)
        is_return = entry_return or tx.find("{*}RtrInf") is not None or _family(tx) in _RETURN_FAMILIES
        party = ("Dbtr", "DbtrAcct") if sign > 0 or is_return else ("Cdtr", "CdtrAcct")
        name = (_text(tx, f"{{*}}RltdPties/{{*}}{party[0]}/{{*}}Nm")
                or _text(tx, f"{{*}}RltdPties/{{*}}{party[0]}/{{*}}Pty/{{*}}Nm"))
        iban = _text(tx, f"{{*}}RltdPties/{{*}}{party[1]}/{{*}}Id/{{*}}IBAN")
        remittance = [t.text or "" for t in tx.iterfind("{*}RmtInf/{*}Ustrd")]
        remittance += [t.text or "" for t in tx.iterfind("{*}RmtInf/{*}Strd/{*}CdtrRefInf/{*}Ref")]
        remittance += [t.text or "" for t in tx.iterfind("{*}RtrInf/{*}AddtlInf")]
        if not remittance:
            remittance = [t.text or "" for t in entry.iterfind("{*}AddtlNtryInf")]
        lines.append(StatementLine(
            account_iban=account, booking_date=booked, value_date=valued, amount=sign * tx_amount,
            currency=tx_currency, counterparty_name=clean_text(name, 200), counterparty_iban=clean_iban(iban),
            remittance=clean_text(" ".join(remittance)),
            bank_reference=clean_text(_text(tx, "{*}Refs/{*}AcctSvcrRef") or _text(entry, "{*}AcctSvcrRef"), 100),
            end_to_end_id=clean_text(_text(tx, "{*}Refs/{*}EndToEndId"), 100),
            is_return=is_return, return_code=clean_text(_text(tx, "{*}RtrInf/{*}Rsn/{*}Cd"), 10), where=place))
    return lines


def _text(element: etree._Element, path: str) -> str:
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""


def _status(entry: etree._Element) -> str:
    return (_text(entry, "{*}Sts/{*}Cd") or _text(entry, "{*}Sts")).upper()


def _family(element: etree._Element) -> str:
    return _text(element, "{*}BkTxCd/{*}Domn/{*}Fmly/{*}SubFmlyCd").upper()


def _sign(entry: etree._Element, where: str) -> int:
    indicator = _text(entry, "{*}CdtDbtInd").upper()
    if indicator not in ("CRDT", "DBIT"):
        raise StatementFormatError(f"{where.capitalize()}: credit or debit (CdtDbtInd) must be CRDT or DBIT, "
                                   f"not '{clean_text(indicator, 20)}'.")
    return 1 if indicator == "CRDT" else -1


def _amount(element: etree._Element, path: str | etree._Element, where: str) -> tuple[Decimal, str]:
    found = element.find(path) if isinstance(path, str) else path
    if found is None:
        raise StatementFormatError(f"{where.capitalize()}: the amount (Amt) is missing.")
    try:
        currency = check_currency(found.get("Ccy", ""))
    except ValueError:
        raise StatementFormatError(f"{where.capitalize()}: the currency '{clean_text(found.get('Ccy'), 10)}' "
                                   "is not an ISO 4217 code.") from None
    text = (found.text or "").strip()
    amount = statement_amount(text, currency, where.capitalize())
    if amount < 0 or text.startswith("-"):
        raise StatementFormatError(f"{where.capitalize()}: the amount '{clean_text(text, 30)}' is negative: "
                                   "credit or debit is told by CdtDbtInd.")
    return amount, currency


def _date(element: etree._Element, path: str, where: str) -> date | None:
    text = _text(element, f"{path}/{{*}}Dt") or _text(element, f"{path}/{{*}}DtTm")[:10]
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise StatementFormatError(f"{where.capitalize()}: the date '{clean_text(text, 30)}' is not a date "
                                   "(YYYY-MM-DD).") from None
