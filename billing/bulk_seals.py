"""Seals of whole tables at once: the digests of `seals.document_digest` and `seals.payment_digests`, built
column-wise over Arrow batches instead of document by document.

A digest is the SHA-256 of the repr of a document's (or payment's) values. Here each column's values are
turned into their repr once per distinct value (Python's own repr of the value the row-wise reading gives:
a Decimal from the trimmed text, a date, a string), the texts of a row and of a document are joined by
Arrow, and only the hashing runs once per document: a bulk seal of a million documents in seconds
rather than minutes, with the very digests `verify` recomputes one document at a time.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from billing.store import integrity

_TAX_COLUMNS = ("vat_category", "vat_rate", "taxable", "tax")


def document_digests(batch: integrity.DocumentBatch) -> Iterator[tuple[int, str]]:
    """(id, seal) of every document of the batch, in id order: `seals.document_digest` of each."""
    ids = batch.headers["id"]
    head = _rows(batch.headers, integrity.HEADER_COLUMNS, "[", "]")
    lines = _per_owner(ids, batch.lines, _rows(batch.lines, integrity.LINE_COLUMNS, "[", "]"), ", ")
    allowances = _per_owner(ids, batch.allowances,
                            _rows(batch.allowances, integrity.ALLOWANCE_COLUMNS, "[", "]"), ", ")
    # sorted(taxes) of document_digest: by category, then the decimals by value.
    taxes = batch.taxes.append_column("rate_value", pc.cast(batch.taxes["vat_rate"], pa.decimal128(38, 10))) \
        .append_column("taxable_value", pc.cast(batch.taxes["taxable"], pa.decimal128(38, 10))) \
        .append_column("tax_value", pc.cast(batch.taxes["tax"], pa.decimal128(38, 10))) \
        .sort_by([("invoice_id", "ascending"), ("vat_category", "ascending"), ("rate_value", "ascending"),
                  ("taxable_value", "ascending"), ("tax_value", "ascending")])
    tax_texts = _per_owner(ids, taxes, _rows(taxes, _TAX_COLUMNS, "(", ")"), ", ")
    texts = pc.binary_join_element_wise("[", head, ", [", lines, "], [", allowances, "], [", tax_texts, "]]", "")
    yield from zip(ids.to_pylist(), _sha256(texts), strict=True)


def payment_digests(batch: integrity.PaymentBatch) -> Iterator[tuple[int, str]]:
    """(id, seal) of every payment of the batch with all its allocations, in id order: what
    `seals.payment_digests` gives for a cutoff at its last allocation."""
    ids = batch.payments["id"]
    head = _rows(batch.payments, integrity.PAYMENT_COLUMNS, "[", "]")
    allocations = _rows(batch.allocations, integrity.ALLOCATION_COLUMNS, "\n[", "]")
    texts = pc.binary_join_element_wise(head, _per_owner(ids, batch.allocations, allocations, ""), "")
    yield from zip(ids.to_pylist(), _sha256(texts), strict=True)


def _rows(table: pa.Table, columns: tuple[str, ...], opening: str, closing: str) -> pa.ChunkedArray:
    """The repr of each row's values in `columns` (a list's or a tuple's, by `opening` and `closing`)."""
    texts = [_reprs(table[name], integrity.holds_decimals(table.schema.field(name))) for name in columns]
    joined = pc.binary_join_element_wise(*texts, ", ") if texts else pa.array([""] * table.num_rows)
    result: pa.ChunkedArray = pc.binary_join_element_wise(opening, joined, closing, "")
    return result


# A decimal's text as the store trims it (integrity._plain_text), of at most six decimals: Decimal(text) prints
# as Decimal('text') (Python switches to an exponent only below 1E-6).
_PLAIN_DECIMAL = r"^-?[0-9]+(\.[0-9]{0,5}[1-9])?$"


def _reprs(column: pa.ChunkedArray, numeric: bool) -> pa.Array:
    """repr() of each value of a column as the row-wise reading gives it, None for NULL."""
    values = column.combine_chunks()
    if pa.types.is_integer(values.type):
        return pc.fill_null(pc.cast(values, pa.string()), "None")
    if numeric and pc.all(pc.match_substring_regex(values, _PLAIN_DECIMAL)).as_py() is not False:
        return pc.fill_null(pc.binary_join_element_wise("Decimal('", values, "')", ""), "None")
    encoded = pc.dictionary_encode(values)
    distinct = encoded.dictionary.to_pylist()
    texts = pa.array([repr(Decimal(value)) if numeric else repr(value) for value in distinct], pa.string())
    return pc.fill_null(texts.take(encoded.indices), "None")


def _per_owner(ids: pa.ChunkedArray, rows: pa.Table, texts: pa.ChunkedArray, separator: str) -> pa.Array:
    """The texts of each owner's rows joined by `separator`, one per id of `ids` ('' for none); `rows` are
    ordered by their owner (first column), and may hold rows of other owners."""
    owners = rows.column(0)
    kept = pc.is_in(owners, value_set=ids.combine_chunks())
    owner_ids = owners.filter(kept).to_numpy()
    starts = np.searchsorted(owner_ids, ids.to_numpy(), side="left")
    offsets = np.append(starts, len(owner_ids)).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), texts.filter(kept).combine_chunks())
    result: pa.Array = pc.binary_join(lists, separator)
    return result


def _sha256(texts: pa.ChunkedArray | pa.Array) -> list[str]:
    """The SHA-256 of each text's UTF-8 bytes, as hex."""
    array = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
    array = array.cast(pa.large_string())
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset:array.offset + len(array) + 1]
    data = memoryview(array.buffers()[2] or b"")
    return [hashlib.sha256(data[start:end]).hexdigest() for start, end in itertools.pairwise(offsets.tolist())]
