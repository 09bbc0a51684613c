"""The customer's preferred e-invoice format, and a draft checked against its rules before it is issued."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from billing import customers, invoices, logic, settings
from billing.einvoice.export import FORMATS, Format, check_rules, facts_of, render
from billing.errors import StateError, ValidationError
from billing.permissions import Actor
from billing.store import invoices as invoice_store
from billing.store.db import Database

PREVIEW_NUMBER = "PREVIEW"  # the number the check writes: the real one is taken only when the draft is issued


@dataclass(frozen=True, slots=True)
class IssueCheck:
    """What the check before issuing found: the customer's format (None: the customer has none, nothing checked)
    and each problem in words, with the field to fix or the rule it breaks (empty: the draft may be issued)."""

    fmt: Format | None
    problems: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.problems


def preferred_format(db: Database, actor: Actor, customer_id: int) -> Format | None:
    """The customer's preferred e-invoice format (None if the customer has none)."""
    name = customers.get_customer(db, actor, customer_id).get("einvoice_format") or ""
    return FORMATS.get(name)


def formats_for(preferred: Format | None) -> list[str]:
    """Every format's name, the preferred one first."""
    return sorted(FORMATS, key=lambda name: preferred is None or name != preferred.name)


def check_before_issue(db: Database, actor: Actor, invoice_id: int, today: date) -> IssueCheck:
    """The draft as it would be issued today, checked against the rules of its customer's preferred format."""
    document = invoices.get_invoice(db, actor, invoice_id, as_of=today)
    if document.header.status != logic.DRAFT:
        raise StateError(f"Invoice {document.header.number} has already been issued.")
    fmt = preferred_format(db, actor, document.header.customer_id)
    if fmt is None:
        return IssueCheck(None)
    on = document.header.issue_date or today
    try:
        due = logic.due_date_for(on, int(document.customer.terms_days or 0), document.header.due_date)
    except ValidationError:
        due = on  # issuing explains a bad due date itself
    header = replace(document.header, status=logic.ISSUED, number=PREVIEW_NUMBER, issue_date=on, due_date=due)
    preview = replace(document, header=header, status=logic.ISSUED)
    try:
        check_rules(render(preview, facts_of(preview, settings.get_company(db) or {}), fmt), fmt)
    except ValidationError as exc:
        return IssueCheck(fmt, tuple(_problems(exc.message)))
    return IssueCheck(fmt)


def _problems(message: str) -> list[str]:
    """A refusal split into its problems: export lists missing fields and failed rules after a colon, "; " apart."""
    head, colon, rest = message.partition(": ")
    if not colon or not head.startswith(("An e-invoice in ", "The ")):
        return [message]
    return [part.strip().rstrip(".") + "." for part in rest.split("; ") if part.strip()]


def issue_checked(db: Database, actor: Actor, invoice_id: int, today: date, issue_date: date | None = None,
                  due_date: date | None = None) -> str:
    """Issue the draft (billing.invoices.issue_invoice) if it passes the rules of its customer's preferred format;
    otherwise ValidationError listing each failed rule and the field to fix, and nothing is issued."""
    check_preferred_format(db, actor, invoice_id, issue_date or today)
    return invoices.issue_invoice(db, actor, invoice_id, today, issue_date=issue_date, due_date=due_date)


def check_preferred_format(db: Database, actor: Actor, invoice_id: int, on: date) -> None:
    """ValidationError listing each rule of the customer's preferred e-invoice format the draft, issued `on`, fails
    and the field to fix. A customer without a preferred format (the usual case) costs one small query: the draft
    is not read twice."""
    with db.connect() as conn:
        preferred = invoice_store.customer_einvoice_format(conn, invoice_id)
    checked = IssueCheck(None) if preferred == "" else check_before_issue(db, actor, invoice_id, on)
    if not checked.passed and checked.fmt is not None:
        raise ValidationError(f"This invoice cannot be issued as the customer's e-invoice format "
                              f"({checked.fmt.label}) requires: " + " ".join(checked.problems))
