"""Bulk loading and dumping of whole tables through Arrow (demo data, backup and restore, CSV imports).

One Arrow form per table on every engine (`arrow_schema`): DuckDB hands Arrow over directly, PostgreSQL
moves it as CSV through `COPY` (psycopg), never row by row. A table dumped from either engine is the
same Arrow table, so backups and their checksums do not depend on the engine they were made on.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from typing import IO, Any

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store import schema

_COPY_BATCH_ROWS = 100_000
_COPY_READ_BLOCK = 16 << 20


def is_duckdb(conn: Connection) -> bool:
    """Whether the connection is DuckDB's (else PostgreSQL's): the one engine check of bulk transfers."""
    return conn.dialect.name == "duckdb"


@contextmanager
def _driver_errors(statement: str) -> Iterator[None]:
    """A failure of the driver's own API (Arrow registration, COPY) as SQLAlchemy's DBAPIError, like any
    other statement's: `Database.transaction` retries a conflict and names a full disk either way."""
    try:
        yield
    except (duckdb.Error, psycopg.Error) as exc:
        raise sa.exc.DBAPIError(statement, None, exc) from exc


def arrow_type(column_type: sa.types.TypeEngine[Any]) -> pa.DataType:
    """The Arrow type a column is read into, on every engine (what DuckDB's own Arrow export gives)."""
    if isinstance(column_type, sa.Numeric):
        return pa.decimal128(column_type.precision or 18, column_type.scale or 0)
    if isinstance(column_type, sa.BigInteger):
        return pa.int64()
    if isinstance(column_type, sa.Integer):
        return pa.int32()
    if isinstance(column_type, sa.Boolean):
        return pa.bool_()
    if isinstance(column_type, sa.DateTime):
        return pa.timestamp("us")
    if isinstance(column_type, sa.Date):
        return pa.date32()
    if isinstance(column_type, sa.LargeBinary):
        return pa.binary()
    if isinstance(column_type, sa.String):
        return pa.string()
    raise TypeError(f"No Arrow type for the column type {column_type!r}")


def arrow_schema(table: sa.Table) -> pa.Schema:
    return pa.schema([pa.field(column.name, arrow_type(column.type)) for column in table.columns])


def load_arrow(conn: Connection, table: sa.Table, data: pa.Table, scaled: dict[str, str] | None = None) -> int:
    """Append an Arrow table to a database table (its columns of the table's; ids as given).

    `scaled` maps a column to the name of an Arrow column holding its decimal scale factor (e.g. 0.01
    for cents): the stored value is the integer column times that factor.
    """
    columns = [c.name for c in table.columns if c.name in data.column_names]
    values = pa.table({name: _scaled(data, name, scaled[name], table) if scaled and name in scaled else data[name]
                       for name in columns})
    if is_duckdb(conn):
        _insert_duckdb(conn, table, values)
    else:
        _copy_in(conn, table, values)
    return int(data.num_rows)


def _scaled(data: pa.Table, column: str, scale: str, table: sa.Table) -> pa.ChunkedArray:
    """Integer minor units times their decimal factor, exactly (a DECIMAL product is exact; a division
    would not be: DuckDB gives DOUBLE)."""
    product = pc.multiply(data[column].cast(pa.decimal128(19, 0)), data[scale])
    result: pa.ChunkedArray = product.cast(arrow_type(table.c[column].type))
    return result


def driver_connection(conn: Connection) -> Any:
    """The driver's own connection under a SQLAlchemy one (DuckDB's for Arrow, psycopg's for COPY)."""
    return conn.connection.dbapi_connection


def _insert_duckdb(conn: Connection, table: sa.Table, values: pa.Table) -> None:
    raw = driver_connection(conn)
    name = f"_load_{table.name}"
    quoted = ", ".join(f'"{c}"' for c in values.column_names)
    statement = f"INSERT INTO {table.name} ({quoted}) SELECT {quoted} FROM {name}"
    with _driver_errors(statement):
        raw.register(name, values)
    try:
        conn.exec_driver_sql(statement)
    finally:
        with suppress(duckdb.Error):  # refused in a transaction the failed insert aborted: the error is that one
            raw.unregister(name)


def _copy_in(conn: Connection, table: sa.Table, values: pa.Table) -> None:
    """PostgreSQL: `COPY ... FROM STDIN` in CSV, written by Arrow in batches. Arrow quotes every string and
    leaves a null empty and unquoted, which is how PostgreSQL's CSV tells NULL from ''."""
    for index, field in enumerate(values.schema):
        if pa.types.is_binary(field.type):  # bytea in PostgreSQL's hex input form
            values = values.set_column(index, field.name, pa.array(
                [None if v is None else "\\x" + v.hex() for v in values[field.name].to_pylist()], pa.string()))
    quoted = ", ".join(f'"{c}"' for c in values.column_names)
    options = pa_csv.WriteOptions(include_header=False, quoting_style="needed")
    statement = f"COPY {table.name} ({quoted}) FROM STDIN (FORMAT csv)"
    with _driver_errors(statement), driver_connection(conn).cursor() as cursor, cursor.copy(statement) as copy:
        for batch in values.to_batches(max_chunksize=_COPY_BATCH_ROWS):
            sink = io.BytesIO()
            pa_csv.write_csv(batch, sink, options)
            copy.write(sink.getbuffer())


def allow_big_sorts(conn: Connection) -> None:
    """For the rest of a transaction that loads and rebuilds whole tables on PostgreSQL: memory enough to
    sort and hash a million documents' rows in place. With the default 4 MB the rebuilds of the report
    data sorted on disk (external merges of 30-40 MB at scale M). DuckDB sizes its memory itself."""
    if not is_duckdb(conn):
        conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '512MB'")


def without_jit(conn: Connection) -> None:
    """For the rest of a transaction that scans whole tables on PostgreSQL (verify, the proof of a copy):
    no JIT compilation. PostgreSQL compiles a query it costs as expensive with LLVM first, seconds each time
    (2.1 of the 10.6 s of verify's recomputation of the report data at scale M), which a single scan never
    earns back. DuckDB compiles nothing."""
    if not is_duckdb(conn):
        conn.exec_driver_sql("SET LOCAL jit = off")


@contextmanager
def indexes_deferred(conn: Connection, names: Iterable[str]) -> Iterator[None]:
    """PostgreSQL: load tables without their indexes, then build each index once from the loaded rows.

    For a transaction that fills empty tables in bulk (demo, copy-to): the tables' indexes, primary keys
    and unique constraints are dropped and made again as they were when the block ends (PostgreSQL's DDL
    is transactional: a failure rolls the drop back too). Building an index over a loaded table is a
    few times cheaper than maintaining it row by row, and a duplicate key still fails the load, when
    the index is made. The tables stay locked until the commit. DuckDB keeps its indexes as they are.
    """
    if is_duckdb(conn):
        yield
        return
    quote = conn.dialect.identifier_preparer.quote
    statements: list[str] = []
    for name in names:
        constraints = conn.execute(sa.text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:table AS regclass) AND contype IN ('p', 'u')"), {"table": name}).all()
        indexes = conn.execute(sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = :table"),
            {"table": name}).all()
        owned = {constraint for constraint, _ in constraints}
        for constraint, definition in constraints:
            conn.exec_driver_sql(f"ALTER TABLE {quote(name)} DROP CONSTRAINT {quote(constraint)}")
            statements.append(f"ALTER TABLE {quote(name)} ADD CONSTRAINT {quote(constraint)} {definition}")
        for index, definition in indexes:
            if index not in owned:
                conn.exec_driver_sql(f"DROP INDEX {quote(index)}")
                statements.append(definition)
    yield
    for statement in statements:
        conn.exec_driver_sql(statement)


def refresh_statistics(conn: Connection, names: Iterable[str]) -> None:
    """After a bulk load, before querying what was loaded: PostgreSQL plans with the statistics its
    autovacuum gathers only after the commit; without them the demo's rebuild of the sales facts at
    scale M ran for over ten minutes instead of seconds. ANALYZE sees the transaction's own rows.
    DuckDB keeps its statistics up to date itself."""
    if not is_duckdb(conn):
        conn.exec_driver_sql("ANALYZE " + ", ".join(names))


def advance_sequence(conn: Connection, sequence: str, to_value: int) -> None:
    """Make a sequence hand out values above `to_value` (after loading explicit ids); never moves it back."""
    if is_duckdb(conn):
        current = int(conn.exec_driver_sql(f"SELECT nextval('{sequence}')").scalar_one())
        missing = int(to_value) - int(current)
        if missing > 0:
            conn.exec_driver_sql(f"SELECT max(nextval('{sequence}')) FROM range({missing})")
    elif to_value > 0:
        conn.execute(sa.text(f"SELECT setval('{sequence}', :value) FROM {sequence} "
                             "WHERE CASE WHEN is_called THEN last_value ELSE last_value - 1 END < :value"),
                     {"value": int(to_value)})


def advance_sequences(conn: Connection) -> None:
    """After loading rows with their ids: every id sequence hands out values above its table's largest id."""
    for table in schema.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.default, sa.Sequence):
                advance_sequence(conn, column.default.name, max_id(conn, table.name))


def next_ids(conn: Connection, sequence: str, count: int) -> list[int]:
    """`count` new values of a sequence, in one statement (ids for rows loaded in bulk)."""
    rows = f"range({int(count)})" if is_duckdb(conn) else f"generate_series(1, {int(count)})"
    return [int(value) for value in conn.exec_driver_sql(f"SELECT nextval('{sequence}') FROM {rows}").scalars()]


def table_names() -> list[str]:
    return [t.name for t in schema.metadata.sorted_tables]


def dump_table(conn: Connection, name: str) -> pa.Table:
    """A whole table as Arrow (`arrow_schema`), in primary-key order (stable for checksums; text keys in
    byte order on both engines)."""
    table = schema.metadata.tables[name]
    if is_duckdb(conn):
        order = ", ".join(f'"{c.name}"' for c in table.primary_key.columns) or "1"
        # The columns named in the schema's order: a migrated file has the columns it gained at its end.
        columns = ", ".join(f'"{c.name}"' for c in table.columns)
        statement = f"SELECT {columns} FROM {name} ORDER BY {order}"
        with _driver_errors(statement):
            result: pa.Table = driver_connection(conn).sql(statement).to_arrow_table()
        return result.cast(arrow_schema(table))
    return _copy_out(conn, table)


def _copy_out(conn: Connection, table: sa.Table) -> pa.Table:
    """PostgreSQL: a whole table through `_copy_query`, bytea as hex text on the way."""
    target = arrow_schema(table)
    binary = {f.name for f in target if pa.types.is_binary(f.type)}
    selected = ", ".join(f'encode("{c}", \'hex\')' if c in binary else f'"{c}"' for c in target.names)
    order = ", ".join(f'"{c.name}" COLLATE "C"' if isinstance(c.type, sa.String) else f'"{c.name}"'
                      for c in table.primary_key.columns) or "1"
    parsed = _copy_query(conn, f"SELECT {selected} FROM {table.name} ORDER BY {order}",
                         pa.schema([pa.field(f.name, pa.string() if f.name in binary else f.type) for f in target]))
    for name in binary:
        parsed = parsed.set_column(parsed.schema.get_field_index(name), name, pa.array(
            [None if v is None else bytes.fromhex(v) for v in parsed[name].to_pylist()], pa.binary()))
    return parsed.cast(target)


def query_arrow(conn: Connection, query: sa.Select[Any]) -> pa.Table:
    """A query's rows in one Arrow transfer: DuckDB's own export, PostgreSQL's COPY (columns typed by
    `arrow_type`). The query's values are written into its SQL: only for the program's own values (id
    bounds, status names), never for user input."""
    sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
    if is_duckdb(conn):
        with _driver_errors(sql):
            result: pa.Table = driver_connection(conn).sql(sql).to_arrow_table()
        return result
    return _copy_query(conn, sql, pa.schema([pa.field(f"c{n}", arrow_type(column.type))
                                             for n, column in enumerate(query.selected_columns)]))


def _copy_query(conn: Connection, sql: str, columns: pa.Schema) -> pa.Table:
    """PostgreSQL: `COPY (query) TO STDOUT` in CSV, spooled to a temporary file and parsed by Arrow."""
    conn.exec_driver_sql("SET LOCAL datestyle = 'ISO, YMD'")
    statement = f"COPY ({sql}) TO STDOUT (FORMAT csv)"
    with tempfile.TemporaryFile() as spool:
        with _driver_errors(statement), driver_connection(conn).cursor() as cursor, cursor.copy(statement) as copy:
            for chunk in copy:
                spool.write(chunk)
        spool.seek(0)
        return _read_csv(spool, columns)


def _read_csv(source: IO[bytes], columns: pa.Schema) -> pa.Table:
    """PostgreSQL's CSV: NULL empty and unquoted, '' quoted, booleans t/f, line breaks inside quoted values."""
    if not source.read(1):  # Arrow cannot read an empty CSV without a header
        return columns.empty_table()
    source.seek(0)
    return pa_csv.read_csv(
        source, read_options=pa_csv.ReadOptions(column_names=columns.names, block_size=_COPY_READ_BLOCK),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),  # an address of several lines, quoted
        convert_options=pa_csv.ConvertOptions(column_types=columns, null_values=[""], strings_can_be_null=True,
                                              quoted_strings_can_be_null=False, true_values=["t"],
                                              false_values=["f"]))


def table_fingerprint(conn: Connection, name: str) -> tuple[int, int, int]:
    """A table's row count and two sums over its rows of 60-bit slices of each row's MD5, computed by the
    database itself, over a text form of a row that is the same on DuckDB and PostgreSQL.

    Two tables hold the same rows (in any order) when their fingerprints agree: a changed, missing or
    extra row moves both sums, but for a chance of 2^-120. The check of a copy, without reading either
    table out of its database.
    """
    table = schema.metadata.tables[name]
    duck = is_duckdb(conn)
    row = " || '|' || ".join(f"COALESCE({_canonical_text(column, duck)}, '-')" for column in table.columns)
    digest = f"md5({row})" if duck else f"md5(convert_to({row}, 'UTF8'))"  # UTF-8 whatever the server's encoding
    half = ("CAST('0x' || substr(h, {}, 15) AS BIGINT)" if duck else "CAST(CAST('x' || substr(h, {}, 15) AS bit(60)) "
            "AS BIGINT)")
    # OFFSET 0 keeps the subquery whole: PostgreSQL pulled it up and computed each row's MD5 once per sum.
    found = conn.exec_driver_sql(f"SELECT count(*), sum({half.format(1)}), sum({half.format(16)}) "
                                 f"FROM (SELECT {digest} AS h FROM {table.name} OFFSET 0) AS rows").one()
    return int(found[0]), int(found[1] or 0), int(found[2] or 0)


def _canonical_text(column: sa.Column[Any], duck: bool) -> str:
    """A column's values as text, alike on both engines (NULL stays NULL): timestamps as microseconds since
    1970, dates as YYYY-MM-DD, booleans t/f, bytes as lower-case hex, text after its length in characters
    (so no value can pass for two), numbers as the engines print them (the same: 12.3400 in a NUMERIC(18,4))."""
    name = f'"{column.name}"'
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return f"CAST(epoch_us({name}) AS VARCHAR)" if duck else \
            f"CAST(CAST(extract(epoch FROM {name}) * 1000000 AS BIGINT) AS VARCHAR)"
    if isinstance(kind, sa.Date):
        return f"strftime({name}, '%Y-%m-%d')" if duck else f"to_char({name}, 'YYYY-MM-DD')"
    if isinstance(kind, sa.Boolean):
        return f"CASE WHEN {name} THEN 't' WHEN NOT {name} THEN 'f' END"
    if isinstance(kind, sa.LargeBinary):
        return f"lower(hex({name}))" if duck else f"encode({name}, 'hex')"
    if isinstance(kind, sa.String):
        return f"CAST(length({name}) AS VARCHAR) || ':' || {name}"
    return f"CAST({name} AS VARCHAR)"


def count_rows(conn: Connection, name: str) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(schema.metadata.tables[name])).scalar_one())


def truncate_all(conn: Connection) -> None:
    for table in reversed(schema.metadata.sorted_tables):
        if table.name != "schema_version":
            conn.execute(table.delete())


def is_empty_of_documents(conn: Connection) -> bool:
    return count_rows(conn, "invoices") == 0 and count_rows(conn, "customers") == 0


def max_id(conn: Connection, name: str) -> int:
    table = schema.metadata.tables[name]
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one())
