"""CSV import of customers and products: all rows or none, every error listed by row and column."""

from __future__ import annotations

import csv
import io
from typing import Any

import pydantic

from billing import audit
from billing.errors import ValidationError
from billing.models import CustomerIn, ProductIn, describe_error, friendly_message
from billing.permissions import Actor, require
from billing.store import records
from billing.store.db import Database, utcnow
from billing.store.schema import customers, products, tax_rates

MAX_ROWS = 100_000
MAX_BYTES = 20_000_000
KINDS: dict[str, type[pydantic.BaseModel]] = {"customers": CustomerIn, "products": ProductIn}


class ImportProblemsError(ValidationError):
    """Collects every problem of an import file; the message lists them by row and column."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        shown = "\n".join(self.problems[:50])
        more = f"\n... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"Nothing was imported. {len(self.problems)} problem(s):\n{shown}{more}")


def parse_csv(kind: str, content: bytes) -> list[pydantic.BaseModel]:
    """Validate every row of a CSV file; raise one error naming each bad row and column."""
    model = KINDS.get(kind)
    if model is None:
        raise ValidationError("You can import customers or products.")
    if len(content) > MAX_BYTES:
        raise ValidationError("The file is larger than 20 MB.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text. Save it as 'CSV UTF-8' and try again.") from None
    reader = csv.DictReader(io.StringIO(text))
    known = set(model.model_fields)
    header = [h.strip() for h in (reader.fieldnames or [])]
    unknown = [h for h in header if h not in known]
    required = [n for n, f in model.model_fields.items() if f.is_required()]
    missing = [n for n in required if n not in header]
    if not header or unknown or missing:
        raise ValidationError(
            "The header row must name the columns. "
            + (f"Unknown column(s): {', '.join(unknown)}. " if unknown else "")
            + (f"Missing column(s): {', '.join(missing)}. " if missing else "")
            + f"Allowed: {', '.join(known)}."
        )
    rows, problems = [], []
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            raise ValidationError(f"A file can hold at most {MAX_ROWS} rows.")
        data = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        data = {k: v for k, v in data.items() if v != "" or k in required}
        try:
            rows.append(model.model_validate(data))
        except pydantic.ValidationError as exc:
            problems += [f"Row {number}: {describe_error(e['loc'], friendly_message(e))}" for e in exc.errors()]
        except ValidationError as exc:
            problems.append(f"Row {number}: {exc.message}")
    if problems:
        raise ImportProblemsError(problems)
    if not rows:
        raise ValidationError("The file has no data rows.")
    return rows


def import_csv(db: Database, actor: Actor, kind: str, content: bytes) -> int:
    """Import a CSV of customers or products in one transaction; returns the number of rows."""
    require(db, actor, "customers.write" if kind == "customers" else "products.write")
    rows = parse_csv(kind, content)

    def work(conn: Any) -> int:
        problems = []
        if kind == "products":
            seen: set[str] = set()
            for number, row in enumerate(rows, start=2):
                assert isinstance(row, ProductIn)
                if row.sku in seen or records.count(conn, products, sku=row.sku):
                    problems.append(f"Row {number}: SKU: '{row.sku}' already exists")
                seen.add(row.sku)
                if records.get(conn, tax_rates, row.tax_rate_id) is None:
                    problems.append(f"Row {number}: tax rate: {row.tax_rate_id} does not exist")
        if problems:
            raise ImportProblemsError(problems)
        table = customers if kind == "customers" else products
        extra = {"archived": False, **({"created_at": utcnow()} if kind == "customers" else {})}
        for row in rows:
            records.insert(conn, table, {**row.model_dump(), **extra})
        audit.record(conn, actor, f"{kind}.import", kind, "csv", after={"rows": len(rows)})
        return len(rows)

    return db.transaction(work)
