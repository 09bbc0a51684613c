"""CSV import of customers and products: all rows or none, every error listed by row and column.

A large file must not hold up the other users' writes (the portal's writes take turns: one long
transaction made every sign-in and invoice wait for it). So the rows are validated first, then staged
beside their table in batches of short transactions, and moved in with the audit event in one short
last transaction. Until that one commits the rows are nowhere in the books; on any failure (or a
rerun of the page that started it) the staged rows are deleted again, and those of an import whose
process was killed are deleted by the next import.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import secrets
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pydantic
import sqlalchemy as sa

from billing import audit
from billing.errors import ValidationError
from billing.models import CustomerIn, ProductIn, describe_error, friendly_message
from billing.permissions import Actor, require
from billing.store import imports as import_store
from billing.store.db import Database, utcnow
from billing.store.schema import customers, products

MAX_ROWS = 100_000
MAX_BYTES = 20_000_000
# The longest cell read: the csv module's own default limit. Its limit is raised (for the whole process;
# it only ever grows) so that a longer cell is read and named by row and column, not a bare csv error.
MAX_CELL = 131_072
csv.field_size_limit(max(csv.field_size_limit(), MAX_BYTES))
# Rows staged per transaction: 10k take ~40 ms to write (~0.2 s on a loaded machine).
BATCH_ROWS = 10_000
# On PostgreSQL other processes may be importing too: staged rows are taken for a dead import's only
# this long after they were staged (an import of MAX_ROWS takes well under a minute).
ABANDONED_AFTER = timedelta(hours=1)
KINDS: dict[str, type[pydantic.BaseModel]] = {"customers": CustomerIn, "products": ProductIn}
TABLES = {"customers": customers, "products": products}
log = logging.getLogger("billing.imports")

# Called with the share of the work done (0 to 1) and what is being done, e.g. to move a progress bar.
Progress = Callable[[float, str], None]

# Imports running in this process: their staged rows are not a dead import's.
_running: set[str] = set()
_running_lock = threading.Lock()


class ImportProblemsError(ValidationError):
    """Collects every problem of an import file; the message lists them by row and column."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        shown = "\n".join(self.problems[:50])
        more = f"\n... and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"Nothing was imported. {len(self.problems)} problem(s):\n{shown}{more}")


def _quiet(_done: float, _what: str) -> None:
    """A progress callback that shows nothing."""


def parse_csv(kind: str, content: bytes, progress: Progress = _quiet) -> list[pydantic.BaseModel]:
    """Validate every row of a CSV file; raise one error naming each bad row and column.

    Rows are numbered as a spreadsheet shows them, the header being row 1.
    """
    model = KINDS.get(kind)
    if model is None:
        raise ValidationError("You can import customers or products.")
    if len(content) > MAX_BYTES:
        raise ValidationError("The file is larger than 20 MB.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text. Save it as 'CSV UTF-8' and try again.") from None
    # newline="": the csv module itself takes CR, LF and CRLF as row ends, and keeps them inside quoted cells.
    reader = csv.reader(io.StringIO(text, newline=""))
    header = _header(model, next((cells for cells in reader if cells), []))
    required = {n for n, f in model.model_fields.items() if f.is_required()}
    expected = max(text.count("\n"), 1)  # about the number of rows, for the progress shown
    rows: list[pydantic.BaseModel] = []
    problems: list[str] = []
    first_row_of_sku: dict[str, int] = {}
    for number, cells in _records(reader):
        if number - 1 > MAX_ROWS:
            raise ValidationError(f"A file can hold at most {MAX_ROWS} rows.")
        if number % 5_000 == 0:
            progress(min(number / expected, 1.0), f"Checked {number:,} rows")
        row_problems = _cell_problems(number, header, cells)
        if row_problems:
            problems += row_problems
            continue
        data = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
        data = {k: v for k, v in data.items() if v != "" or k in required}
        try:
            row = model.model_validate(data)
        except pydantic.ValidationError as exc:
            problems += [f"Row {number}: {describe_error(e['loc'], friendly_message(e))}" for e in exc.errors()]
            continue
        except ValidationError as exc:
            problems.append(f"Row {number}: {exc.message}")
            continue
        if isinstance(row, ProductIn):
            first = first_row_of_sku.setdefault(row.sku, number)
            if first != number:
                problems.append(f"Row {number}: SKU: '{row.sku}' is also in row {first}")
        rows.append(row)
    if problems:
        raise ImportProblemsError(problems)
    if not rows:
        raise ValidationError("The file has no data rows.")
    return rows


def _header(model: type[pydantic.BaseModel], cells: list[str]) -> list[str]:
    """The column names of the header row, refused when repeated, unknown or short of a required one."""
    header = [cell.strip() for cell in cells]
    repeated = [f"Row 1: {describe_error((name,), _columns_named(header, name))}"
                for name, times in Counter(header).items() if name and times > 1]
    if repeated:
        raise ImportProblemsError(repeated)
    known = list(model.model_fields)
    unknown = [h for h in header if h not in known]
    missing = [n for n, f in model.model_fields.items() if f.is_required() and n not in header]
    if not header or unknown or missing:
        raise ValidationError(
            "The header row must name the columns. "
            + (f"Unknown column(s): {', '.join(unknown)}. " if unknown else "")
            + (f"Missing column(s): {', '.join(missing)}. " if missing else "")
            + f"Allowed: {', '.join(known)}."
        )
    return header


def _columns_named(header: list[str], name: str) -> str:
    positions = [str(n) for n, cell in enumerate(header, start=1) if cell == name]
    return f"the header names this column {len(positions)} times (columns {', '.join(positions)}): name it once"


def _records(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of each data row, the header being row 1; blank lines are skipped."""
    return enumerate((cells for cells in reader if cells), start=2)


def _cell_problems(number: int, header: list[str], cells: list[str]) -> list[str]:
    """Cells beyond the header's columns that hold something, and cells longer than MAX_CELL."""
    problems = [f"Row {number}: Column {position}: an extra cell ('{_shortened(cell)}'); the header names "
                f"{len(header)} columns"
                for position, cell in enumerate(cells[len(header):], start=len(header) + 1) if cell.strip()]
    problems += [f"Row {number}: " + describe_error((name,), f"the cell holds {len(cell):,} characters; "
                                                             f"a cell can hold at most {MAX_CELL:,}")
                 for name, cell in zip(header, cells, strict=False) if len(cell) > MAX_CELL]
    return problems


def _shortened(text: str, limit: int = 40) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def import_csv(db: Database, actor: Actor, kind: str, content: bytes, progress: Progress = _quiet) -> int:
    """Import a CSV of customers or products, all rows or none; returns the number of rows.

    Other writes wait at most one batch (BATCH_ROWS rows) or the last transaction, which moves the
    staged rows into their table and records the audit event. `progress` is told how far the import is.
    """
    permission = "customers.write" if kind == "customers" else "products.write"
    require(db, actor, permission)
    rows = parse_csv(kind, content, lambda done, what: progress(done * 0.6, what))
    table = TABLES[kind]
    extra = {"archived": False, **({"created_at": utcnow()} if kind == "customers" else {})}
    with _registered() as import_id:
        db.transaction(lambda conn: _prepare(db, conn, table))
        try:
            for start in range(0, len(rows), BATCH_ROWS):
                batch = [{**row.model_dump(), **extra} for row in rows[start:start + BATCH_ROWS]]
                db.transaction(functools.partial(import_store.stage, table=table, import_id=import_id,
                                                 first_position=start, rows=batch, staged_at=utcnow()))
                progress(0.6 + 0.35 * (start + len(batch)) / len(rows), f"Saved {start + len(batch):,} of "
                         f"{len(rows):,} rows")
            progress(0.95, f"Adding the {len(rows):,} {kind}")
            db.transaction(lambda conn: _move_in(db, conn, actor, permission, kind, import_id, len(rows)))
        except BaseException:
            _unstage(db, table, import_id)
            raise
        _unstage(db, table, import_id)  # moved in: what is left is a copy
    progress(1.0, f"Imported {len(rows):,} {kind}")
    return len(rows)


def _unstage(db: Database, table: sa.Table, import_id: str) -> None:
    try:
        db.transaction(lambda conn: import_store.unstage(conn, table, import_id))
    except Exception:  # the import's own outcome stands; the next import deletes what is left
        log.exception("Deleting the staged rows of import %s failed", import_id)


@contextmanager
def _registered() -> Iterator[str]:
    import_id = secrets.token_hex(8)
    with _running_lock:
        _running.add(import_id)
    try:
        yield import_id
    finally:
        with _running_lock:
            _running.discard(import_id)


def _prepare(db: Database, conn: sa.Connection, table: sa.Table) -> None:
    # DuckDB has one writing process, this one: rows of any import not running here are a dead one's.
    with _running_lock:
        running = set(_running)
    import_store.prepare(conn, table, running, None if db.is_duckdb else utcnow() - ABANDONED_AFTER)


def _move_in(db: Database, conn: sa.Connection, actor: Actor, permission: str, kind: str, import_id: str,
             count: int) -> None:
    """The last transaction: check what other users may have changed since the rows were checked, then
    move the rows in and record the import."""
    require(db, actor, permission)  # the user may have been signed out or demoted meanwhile
    if kind == "products":
        problems = [f"Row {position + 2}: SKU: '{sku}' already exists"
                    for position, sku in import_store.taken_skus(conn, import_id)]
        problems += [f"Row {position + 2}: tax rate: {rate} does not exist"
                     for position, rate in import_store.unknown_tax_rates(conn, import_id)]
        if problems:
            raise ImportProblemsError(problems)
    import_store.move_staged(conn, TABLES[kind], import_id)
    audit.record(conn, actor, f"{kind}.import", kind, "csv", after={"rows": count})


__all__ = ["KINDS", "ImportProblemsError", "Progress", "import_csv", "parse_csv"]
