"""Check an uploaded e-invoice for a user: the rules of the profiles asked for, its failures in words, the document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from billing.einvoice.reader import ParsedInvoice, parse_document
from billing.einvoice.source import DocumentError, read_document
from billing.einvoice.validation import EN16931, ValidationReport, check_profiles, validate_document
from billing.einvoice.wording import Explained, explain
from billing.permissions import require

if TYPE_CHECKING:
    from billing.permissions import Actor
    from billing.store.db import Database


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What a check found: the report, each fatal failure and warning in words, and the document as read
    (None if it could not be read, e.g. a required total is missing: the report then says why)."""

    report: ValidationReport
    problems: tuple[Explained, ...]
    warnings: tuple[Explained, ...]
    invoice: ParsedInvoice | None
    from_pdf: bool

    @property
    def valid(self) -> bool:
        return self.report.valid


def check_einvoice(db: Database, actor: Actor, data: bytes, profiles: tuple[str, ...] | list[str] = (EN16931,)
                   ) -> CheckResult:
    """Check the e-invoice in `data` (UBL/CII XML or a Factur-X PDF) against its schema and the profiles' rules.

    Nothing is stored and nothing is sent anywhere. DocumentError if the file is not a readable e-invoice."""
    require(db, actor, "einvoice.check")
    chosen = check_profiles(profiles)
    document = read_document(data)
    report = validate_document(document, chosen)
    try:
        invoice: ParsedInvoice | None = parse_document(document)
    except DocumentError:
        invoice = None
    return CheckResult(report, tuple(explain(f) for f in report.failures), tuple(explain(f) for f in report.warnings),
                       invoice, document.from_pdf)
