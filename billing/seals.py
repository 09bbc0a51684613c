"""Seals: digests of the money-relevant columns of issued documents and payments, written into the audit
events that change them, and checked by `verify` against the rows as they are now.

A document's seal covers its kind, number, status, customer, currency, dates, credited invoice and
totals, each line's product, quantity, price, discounts, charges, VAT and net amount and credited line,
each allowance or charge (with its reason), and its VAT breakdown. Not the paid and credited sums, the open flag or the
activity dates: those follow from allocations and credit notes, which are sealed themselves, and
verify recomputes them. A payment's seal covers its kind, customer, currency, amount, date and reversed
payment, and its allocations (id, invoice, amount, date) up to an allocation id: payments and
allocations are never changed (undoing is a new row), so a seal of them stays checkable for ever.

An event on an issued document seals it; a credit note also seals the payments allocated to the invoice
it credits (their allocations may have been released); a payment event seals the payment and its
reversals. A bulk event (demo load, restore) and the first keyed event of a chain upgraded from an
unkeyed one seal everything, in buckets of 10,000 ids. Seals are plain SHA-256: they are part of the
event, whose keyed hash protects them.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from billing import bulk_seals, logic
from billing.store import integrity

BUCKET = 10_000
# What is sealed is what integrity reads: its column lists (HEADER_COLUMNS, LINE_COLUMNS, ...) in their order.
_STATUS = integrity.HEADER_COLUMNS.index("status")


def _text(value: Any) -> bytes:
    """The values' repr: ints, text, dates, booleans and None print one way each, and the store hands out
    decimals without trailing zeros (integrity.plain_decimal), so equal rows print equally."""
    return repr(value).encode()


def document_digest(document: integrity.Document, status: str | None = None) -> str:
    """The seal of an issued or voided document; `status` stands in for its stored one."""
    header, lines, allowances, taxes = document
    head = list(header.values())
    if status is not None:
        head[_STATUS] = status
    body = [head, [list(line.values()) for line in lines], [list(item.values()) for item in allowances],
            sorted(taxes)]
    return hashlib.sha256(_text(body)).hexdigest()


def payment_digests(payment: dict[str, Any], allocations: list[dict[str, Any]], cutoffs: list[int]
                    ) -> dict[int, str]:
    """The seal of a payment with its allocations up to each allocation id in `cutoffs` (allocations in id order)."""
    digest = hashlib.sha256(_text(list(payment.values())))
    result: dict[int, str] = {}
    wanted = sorted(set(cutoffs))
    for allocation in allocations:
        while wanted and allocation["id"] > wanted[0]:
            result[wanted.pop(0)] = digest.hexdigest()
        digest.update(b"\n" + _text(list(allocation.values())))
    for cutoff in wanted:
        result[cutoff] = digest.hexdigest()
    return result


def seal_for(conn: Connection, entity: str, entity_id: str, everything: bool, *,
             written_document: integrity.Document | None = None,
             written_payment: integrity.PaymentRows | None = None) -> dict[str, Any] | None:
    """What an audit event on `entity` seals (None: nothing); `everything` adds a bulk seal of all. `written_document`
    / `written_payment`: the issued document or the new payment as this transaction wrote it (integrity's
    written_document, written_payment), sealed without reading it back."""
    documents: dict[str, list[str]] = {}
    payments: dict[str, list[Any]] = {}
    if entity == "invoice" and entity_id.isdigit():
        document = written_document or integrity.issued_document(conn, int(entity_id))
        if document is not None:
            header = document[0]
            documents[entity_id] = [header["status"], document_digest(document)]
            if header["credited_invoice_id"] is not None:
                _seal_payments(integrity.payments_allocated_to(conn, header["credited_invoice_id"]), payments)
    elif entity == "payment" and entity_id.isdigit():
        _seal_payments([written_payment] if written_payment is not None
                       else integrity.payment_with_reversals(conn, int(entity_id)), payments)
    sealed: dict[str, Any] = {}
    if documents:
        sealed["documents"] = documents
    if payments:
        sealed["payments"] = payments
    if everything:
        bulk = _bulk_seal(conn)
        if bulk is not None:
            sealed["bulk"] = bulk
    return sealed or None


def _seal_payments(found: list[tuple[dict[str, Any], list[dict[str, Any]]]], into: dict[str, list[Any]]) -> None:
    for payment, allocations in found:
        through = allocations[-1]["id"] if allocations else 0
        into[str(payment["id"])] = [through, payment_digests(payment, allocations, [through])[through]]


def _bulk_seal(conn: Connection) -> dict[str, Any] | None:
    last_document, last_payment, last_allocation = integrity.last_ids(conn)
    if not last_document and not last_payment:
        return None
    documents, payments = _Buckets(), _Buckets()
    # Column-wise (bulk_seals): the digests document_digest and payment_digests give, at a fraction of the cost.
    for batch in integrity.document_batches(conn, 0, last_document):
        for document_id, digest in bulk_seals.document_digests(batch):
            documents.add(document_id, digest)
    for payments_batch in integrity.payment_batches(conn, 0, last_payment):
        for payment_id, digest in bulk_seals.payment_digests(payments_batch):  # all its allocations: <= the last
            payments.add(payment_id, digest)
    return {"documents_through": last_document, "payments_through": last_payment,
            "allocations_through": last_allocation, "documents": documents.digests(),
            "payments": payments.digests()}


class _Buckets:
    """Digests of entities grouped by id // BUCKET, each bucket one digest of its (id, digest) pairs."""

    def __init__(self) -> None:
        self._hashes: dict[int, Any] = {}

    def add(self, entity_id: int, digest: str) -> None:
        bucket = entity_id // BUCKET
        if bucket not in self._hashes:
            self._hashes[bucket] = hashlib.sha256()
        self._hashes[bucket].update(f"{entity_id}:{digest}\n".encode())

    def digests(self) -> dict[str, str]:
        return {str(bucket): value.hexdigest() for bucket, value in sorted(self._hashes.items())}


@dataclass
class _DocumentSeals:
    first_event: int
    first_status: str
    last_event: int
    last_digest: str
    void_event: int | None = None


@dataclass
class _Bulk:
    event: int
    documents_through: int
    payments_through: int
    allocations_through: int
    documents: dict[str, str]
    payments: dict[str, str]


@dataclass
class SealBook:
    """The seals of a chain, collected while it is walked; then checked against the current rows.

    `complete`: every issued document and payment must be sealed (the chain has keyed events; an
    unkeyed chain of an older version sealed nothing yet).
    """

    complete: bool = False
    documents: dict[int, _DocumentSeals] = field(default_factory=dict)
    payments: dict[int, list[tuple[int, int, str]]] = field(default_factory=lambda: defaultdict(list))
    bulk: _Bulk | None = None
    problems: list[str] = field(default_factory=list)
    _seen_documents: set[int] = field(default_factory=set)
    _seen_payments: set[int] = field(default_factory=set)
    _document_buckets: _Buckets = field(default_factory=_Buckets)
    _payment_buckets: _Buckets = field(default_factory=_Buckets)

    def add_event(self, event: dict[str, Any]) -> None:
        """Collect the seals of one (verified) event."""
        text = event["after"]
        if not text or '"sealed"' not in text:
            return
        try:
            after = json.loads(text)
            sealed = after.get("sealed") if isinstance(after, dict) else None
            if sealed is None:
                return
            self._add(int(event["id"]), sealed)
        except (ValueError, TypeError, KeyError, AttributeError):
            self.problems.append(f"Audit event {event['id']}: its seal cannot be read")

    def _add(self, event_id: int, sealed: dict[str, Any]) -> None:
        for key, (status, digest) in sealed.get("documents", {}).items():
            document_id = int(key)
            seals = self.documents.get(document_id)
            if seals is None:
                seals = self.documents[document_id] = _DocumentSeals(event_id, str(status), event_id, str(digest))
            seals.last_event, seals.last_digest = event_id, str(digest)
            if status == logic.VOID and seals.void_event is None:
                seals.void_event = event_id
        for key, (through, digest) in sealed.get("payments", {}).items():
            self.payments[int(key)].append((event_id, int(through), str(digest)))
        if "bulk" in sealed:
            bulk = sealed["bulk"]
            self.bulk = _Bulk(event_id, int(bulk["documents_through"]), int(bulk["payments_through"]),
                              int(bulk["allocations_through"]), dict(bulk["documents"]), dict(bulk["payments"]))

    def check_document(self, document: integrity.Document, digest: str | None = None) -> Iterator[str]:
        """Problems of one issued or voided document (documents come in id order); `digest`: its
        `document_digest`, when already computed."""
        header = document[0]
        document_id = int(header["id"])
        self._seen_documents.add(document_id)
        label = header["number"] or f"document {document_id}"
        seals = self.documents.get(document_id)
        digest = digest or document_digest(document)
        if seals is not None and seals.last_digest != digest:
            yield (f"{label}: its number, amounts, lines or VAT differ from what audit event {seals.last_event} "
                   "sealed (changed outside the program)")
        bulk = self.bulk
        in_bulk = (bulk is not None and document_id <= bulk.documents_through
                   and not (seals is not None and seals.first_event > bulk.event
                            and seals.first_status == logic.ISSUED))
        if bulk is not None and in_bulk:
            voided_since = seals is not None and seals.void_event is not None and seals.void_event > bulk.event
            self._document_buckets.add(document_id, document_digest(document, logic.ISSUED) if voided_since else digest)
        if seals is None and not in_bulk and self.complete:
            yield f"{label}: no audit event seals it (written outside the program)"

    def check_payment(self, payment: dict[str, Any], allocations: list[dict[str, Any]]) -> Iterator[str]:
        """Problems of one payment with its allocations (payments come in id order)."""
        payment_id = int(payment["id"])
        self._seen_payments.add(payment_id)
        seals = self.payments.get(payment_id, [])
        bulk = self.bulk
        in_bulk = bulk is not None and payment_id <= bulk.payments_through
        cutoffs = [through for _, through, _ in seals] + ([bulk.allocations_through] if bulk and in_bulk else [])
        digests = payment_digests(payment, allocations, cutoffs)
        for event_id, through, digest in seals:
            if digests[through] != digest:
                yield (f"payment {payment_id}: its amount, date or allocations differ from what audit event "
                       f"{event_id} sealed (changed outside the program)")
                break
        if bulk is not None and in_bulk:
            self._payment_buckets.add(payment_id, digests[bulk.allocations_through])
        if not self.complete:
            return
        if not cutoffs:
            yield f"payment {payment_id}: no audit event seals it (written outside the program)"
        elif allocations and allocations[-1]["id"] > max(cutoffs):
            yield (f"payment {payment_id}: allocation {allocations[-1]['id']} was written without an audit event "
                   "that seals it")

    def finish(self) -> Iterator[str]:
        """What only shows once every document and payment was seen."""
        yield from self.problems
        for document_id, seals in self.documents.items():
            if document_id not in self._seen_documents:
                yield (f"document {document_id}: audit event {seals.last_event} sealed it, but it is now a draft "
                       "or gone")
        for payment_id, payment_seals in self.payments.items():
            if payment_id not in self._seen_payments:
                yield f"payment {payment_id}: audit event {payment_seals[-1][0]} sealed it, but it is gone"
        if self.bulk is not None:
            for kind, expected, found in (("documents", self.bulk.documents, self._document_buckets.digests()),
                                          ("payments", self.bulk.payments, self._payment_buckets.digests())):
                for bucket in sorted({*expected, *found}, key=int):
                    if expected.get(bucket) != found.get(bucket):
                        low = int(bucket) * BUCKET
                        yield (f"{kind} {max(low, 1):,}-{low + BUCKET - 1:,}: differ from what audit event "
                               f"{self.bulk.event} sealed (changed outside the program)")
