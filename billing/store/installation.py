"""SQL of the installation id: which installation this database file belongs to (one row).

The table is outside `schema.metadata` on purpose: it belongs to the database file, not to the books,
so a backup never carries it and a restore never replaces it (the restored books stay this
installation's, whichever installation made the backup).
"""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

installation = sa.Table(
    "installation", sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1
    sa.Column("installation_id", sa.String, nullable=False),
    sa.Column("bound_at", sa.DateTime, nullable=False),
)


def new_installation_id() -> str:
    return secrets.token_hex(16)


def create_table(conn: Connection, now: datetime) -> None:
    """Migration 5: the table, holding a new random id (the installation's file is written after)."""
    installation.create(conn, checkfirst=True)
    if read_installation_id(conn) is None:
        conn.execute(installation.insert().values(id=1, installation_id=new_installation_id(), bound_at=now))


def read_installation_id(conn: Connection) -> str | None:
    """The database's installation id; None before migration 5 or if the row was removed."""
    exists = conn.execute(sa.text("SELECT count(*) FROM information_schema.tables WHERE table_name = 'installation'"))
    if not exists.scalar_one():
        return None
    value = conn.execute(sa.select(installation.c.installation_id).where(installation.c.id == 1)).scalar()
    return None if value is None else str(value)


def bind_installation(conn: Connection, installation_id: str, now: datetime) -> None:
    """Make the database carry this installation id (the explicit adopt step)."""
    installation.create(conn, checkfirst=True)
    conn.execute(installation.delete())
    conn.execute(installation.insert().values(id=1, installation_id=installation_id, bound_at=now))
