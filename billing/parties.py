"""Seller and buyer of a document: read from the profiles while it is a draft, frozen onto it when it is issued."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, fields
from typing import Any

from sqlalchemy.engine import Connection

from billing.documents import DocumentCustomer, DocumentParty, InvoiceHeader
from billing.errors import NotFoundError
from billing.store import invoices as invoice_store
from billing.store import records
from billing.store.schema import company, customers

_PARTY_FIELDS = frozenset(f.name for f in fields(DocumentParty))
_CUSTOMER_FIELDS = frozenset(f.name for f in fields(DocumentCustomer))


def seller_of_company(row: dict[str, Any]) -> DocumentParty:
    """The company profile as a document's seller."""
    values = {name: row[name] for name in _PARTY_FIELDS if name in row and row[name] is not None}
    return DocumentParty(**{**values, "name": row.get("legal_name") or ""})


def company_as_issued(seller: DocumentParty | None, company: dict[str, Any]) -> dict[str, Any]:
    """The company profile with what a document froze of it (name, address, identifiers, account) in place of
    today's values; the rest (logo, page size) as it is."""
    if seller is None:
        return company
    frozen = {name: value for name, value in asdict(seller).items() if name != "name"}
    return {**company, **frozen, "legal_name": seller.name}


def customer_of_row(row: dict[str, Any]) -> DocumentCustomer:
    """A stored customer as a document's buyer."""
    return DocumentCustomer(**{name: row[name] for name in _CUSTOMER_FIELDS if name in row and row[name] is not None})


def _customer_of_json(text: str) -> DocumentCustomer:
    data = json.loads(text)
    return DocumentCustomer(**{name: value for name, value in data.items() if name in _CUSTOMER_FIELDS})


def _seller_of_json(text: str) -> DocumentParty:
    data = json.loads(text)
    return DocumentParty(**{name: value for name, value in data.items() if name in _PARTY_FIELDS})


def frozen_texts(conn: Connection, customer_ids: Iterable[int]) -> tuple[str, dict[int, str], DocumentParty | None]:
    """The seller and each buyer as JSON, the way a document issued now freezes them (a document's
    `seller_party` and `buyer_party`), for one document or for a batch issued at once; and the seller itself."""
    profile = records.get(conn, company, 1)
    seller = seller_of_company(profile) if profile is not None else None
    seller_text = json.dumps(asdict(seller), ensure_ascii=False) if seller is not None else ""
    wanted = set(customer_ids)
    buyers = {int(row["id"]): json.dumps(asdict(customer_of_row(row)), ensure_ascii=False)
              for row in records.get_many(conn, customers, wanted)}
    missing = wanted - set(buyers)
    if missing:
        raise NotFoundError(f"Customer {min(missing)} does not exist.")
    return seller_text, buyers, seller


def freeze(conn: Connection, invoice_id: int, customer_id: int) -> DocumentParty | None:
    """Freeze seller and buyer onto a document being issued: the profiles as they are now. Returns the seller."""
    seller_text, buyers, seller = frozen_texts(conn, [customer_id])
    invoice_store.set_frozen_parties(conn, invoice_id, seller_text, buyers[customer_id])
    return seller


def parties_of(conn: Connection, header: InvoiceHeader, snapshot: dict[str, Any],
               customer_row: dict[str, Any] | None = None) -> tuple[DocumentParty | None, DocumentCustomer]:
    """(seller, buyer) as the document shows them: frozen at issue when it was issued with them (`snapshot` holds
    its `seller_party` and `buyer_party` columns), else the profiles as they are now (a draft, a bulk-loaded
    document; `customer_row` when the caller already read it)."""
    buyer_text, seller_text = snapshot.get("buyer_party"), snapshot.get("seller_party")
    if not buyer_text and customer_row is None:
        customer_row = records.get(conn, customers, header.customer_id)
        if customer_row is None:
            raise NotFoundError(f"Customer {header.customer_id} does not exist.")
    profile = None if seller_text else records.get(conn, company, 1)
    return parties_from(snapshot, customer_row or {}, profile)


def parties_from(snapshot: dict[str, Any], customer_row: dict[str, Any], company_row: dict[str, Any] | None
                 ) -> tuple[DocumentParty | None, DocumentCustomer]:
    """(seller, buyer) as frozen in `snapshot` (a document's `seller_party` and `buyer_party`), else as the rows
    of the customer and the company profile (None: not set up) are now."""
    buyer_text, seller_text = snapshot.get("buyer_party"), snapshot.get("seller_party")
    buyer = _customer_of_json(buyer_text) if buyer_text else customer_of_row(customer_row)
    if seller_text:
        return _seller_of_json(seller_text), buyer
    return (seller_of_company(company_row) if company_row is not None else None), buyer
