"""SQL of login attempts and server-side sessions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store.schema import auth_sessions, login_attempts


def record_attempt(conn: Connection, username: str, at: datetime, success: bool) -> None:
    conn.execute(login_attempts.insert().values(username=username, occurred_at=at, success=success))


def recent_failures(conn: Connection, username: str, since: datetime) -> int:
    """Failed attempts since `since` and after the last successful one."""
    last_success = conn.execute(
        sa.select(sa.func.max(login_attempts.c.occurred_at))
        .where(login_attempts.c.username == username, login_attempts.c.success.is_(True))).scalar()
    start = max(since, last_success) if last_success else since
    return int(conn.execute(
        sa.select(sa.func.count()).select_from(login_attempts)
        .where(login_attempts.c.username == username, login_attempts.c.success.is_(False),
               login_attempts.c.occurred_at > start)).scalar_one())


def insert_session(conn: Connection, session_id: str, username: str, created: datetime, expires: datetime) -> None:
    conn.execute(auth_sessions.insert().values(id=session_id, username=username, created_at=created,
                                               expires_at=expires))


def live_session_user(conn: Connection, session_id: str, now: datetime) -> str | None:
    row = conn.execute(sa.select(auth_sessions.c.username).where(
        auth_sessions.c.id == session_id, auth_sessions.c.revoked_at.is_(None),
        auth_sessions.c.expires_at > now)).first()
    return str(row.username) if row else None


def revoke_session(conn: Connection, session_id: str, now: datetime) -> None:
    conn.execute(auth_sessions.update().where(auth_sessions.c.id == session_id, auth_sessions.c.revoked_at.is_(None))
                 .values(revoked_at=now))


def revoke_sessions(conn: Connection, username: str, now: datetime) -> None:
    conn.execute(auth_sessions.update().where(auth_sessions.c.username == username,
                                              auth_sessions.c.revoked_at.is_(None)).values(revoked_at=now))
