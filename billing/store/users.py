"""SQL of login attempts and server-side sessions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.store.schema import auth_sessions, login_attempts, users


def record_attempt(conn: Connection, username: str, at: datetime, success: bool) -> int:
    return int(conn.execute(login_attempts.insert().values(username=username, occurred_at=at, success=success)
                            .returning(login_attempts.c.id)).scalar_one())


def mark_success(conn: Connection, attempt_id: int) -> None:
    conn.execute(login_attempts.update().where(login_attempts.c.id == attempt_id).values(success=True))


def failure_times(conn: Connection, username: str, since: datetime) -> list[datetime]:
    """Times of the failed attempts since `since` and after the last successful one, oldest first."""
    last_success = conn.execute(
        sa.select(sa.func.max(login_attempts.c.occurred_at))
        .where(login_attempts.c.username == username, login_attempts.c.success.is_(True))).scalar()
    start = max(since, last_success) if last_success else since
    return list(conn.execute(
        sa.select(login_attempts.c.occurred_at)
        .where(login_attempts.c.username == username, login_attempts.c.success.is_(False),
               login_attempts.c.occurred_at > start)
        .order_by(login_attempts.c.occurred_at)).scalars())


def insert_session(conn: Connection, session_id: str, username: str, created: datetime, expires: datetime) -> None:
    conn.execute(auth_sessions.insert().values(id=session_id, username=username, created_at=created,
                                               expires_at=expires))


def live_session(conn: Connection, session_id: str, now: datetime) -> tuple[str, datetime] | None:
    """(username, created_at) of a session that is neither revoked nor expired."""
    row = conn.execute(sa.select(auth_sessions.c.username, auth_sessions.c.created_at).where(
        auth_sessions.c.id == session_id, auth_sessions.c.revoked_at.is_(None),
        auth_sessions.c.expires_at > now)).first()
    return (str(row.username), row.created_at) if row else None


def live_role(conn: Connection, session_id: str, username: str, now: datetime) -> str | None:
    """The role of `username` if `session_id` is their live session (not revoked, not expired, not older
    than their last password change) and they are active; else None. One query: it runs on every action."""
    row = conn.execute(sa.select(users.c.role).select_from(auth_sessions.join(
        users, users.c.username == auth_sessions.c.username)).where(
        auth_sessions.c.id == session_id, auth_sessions.c.username == username,
        auth_sessions.c.revoked_at.is_(None), auth_sessions.c.expires_at > now,
        auth_sessions.c.created_at >= users.c.password_changed_at, users.c.active.is_(True))).first()
    return str(row.role) if row else None


def revoke_session(conn: Connection, session_id: str, now: datetime) -> None:
    conn.execute(auth_sessions.update().where(auth_sessions.c.id == session_id, auth_sessions.c.revoked_at.is_(None))
                 .values(revoked_at=now))


def revoke_sessions(conn: Connection, username: str, now: datetime, keep: str | None = None) -> None:
    """End every live session of `username`; `keep` (a session id) goes on, renewed as of `now` so that a
    password changed at `now` does not void it."""
    live = sa.and_(auth_sessions.c.username == username, auth_sessions.c.revoked_at.is_(None))
    others = live if keep is None else sa.and_(live, auth_sessions.c.id != keep)
    conn.execute(auth_sessions.update().where(others).values(revoked_at=now))
    if keep is not None:
        conn.execute(auth_sessions.update().where(live, auth_sessions.c.id == keep).values(created_at=now))


def prune(conn: Connection, before: datetime) -> None:
    """Delete login attempts made before `before`, and sessions that expired or were revoked before it."""
    conn.execute(login_attempts.delete().where(login_attempts.c.occurred_at < before))
    conn.execute(auth_sessions.delete().where(sa.or_(auth_sessions.c.expires_at < before,
                                                     auth_sessions.c.revoked_at < before)))
