"""Who may do what: one permission table (data, not scattered ifs), checked by every service.

The portal builds its navigation from the same table, so hiding a page and refusing the
operation behind it can never disagree. A signed-in browser's actor carries its session, and
`require` reads that session and the user's role from the database at the moment of acting: a
tab left open after its user was signed out, disabled or given another role acts with what the
database says now (dialogs, fragments and download callables run without app.py's gate).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from billing.errors import PermissionDeniedError, SessionEndedError
from billing.store import users as user_store
from billing.store.db import utcnow

if TYPE_CHECKING:
    from billing.store.db import Database

ADMIN, ACCOUNTANT, ANALYST = "admin", "accountant", "analyst"
ROLES: tuple[str, ...] = (ADMIN, ACCOUNTANT, ANALYST)

ACTIONS: dict[str, str] = {
    "customers.read": "See customers",
    "customers.write": "Create, edit and archive customers",
    "products.read": "See products and tax rates",
    "products.write": "Create and edit products and tax rates",
    "invoices.read": "See invoices and credit notes",
    "invoices.write": "Create, edit, issue, void and credit invoices",
    "payments.read": "See payments",
    "payments.write": "Record, allocate, refund and reverse payments",
    "reports.read": "See dashboards and reports",
    "exports.run": "Export tables as CSV or PDF",
    "einvoice.check": "Check e-invoice files against the official rules",
    "settings.read": "See company settings",
    "settings.write": "Change company settings and numbering",
    "users.manage": "Manage users",
    "webhooks.manage": "Register webhook endpoints and see their deliveries",
    "audit.read": "Browse and verify the audit trail",
}

PERMISSIONS: dict[str, frozenset[str]] = {
    ADMIN: frozenset(ACTIONS),
    ACCOUNTANT: frozenset({
        "customers.read", "customers.write", "products.read", "products.write",
        "invoices.read", "invoices.write", "payments.read", "payments.write",
        "reports.read", "exports.run", "settings.read", "einvoice.check",
    }),
    ANALYST: frozenset({
        "customers.read", "invoices.read", "payments.read", "products.read", "reports.read", "exports.run",
    }),
}


@dataclass(frozen=True, slots=True)
class ApiCredential:
    """What a REST API call was authenticated with: an access token (`key_id` None; issued at `issued_at`)
    or the API key `key_id`. Re-checked on every `require` (billing.api_access)."""

    issued_at: datetime | None = None
    key_id: str | None = None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a signed-in user, an API client, or the system (CLI, demo, migrations).

    `session` is the digest of a browser session's token, `api` the credential of an API call: with
    either, the session or credential and the role are re-read on every `require`; without them (the
    CLI, the system, tests) the role given is used.
    """

    username: str
    role: str
    session: str | None = None
    api: ApiCredential | None = None

    @property
    def audit_name(self) -> str:
        """The name the audit trail records: the username, marked "api:" (and the key) for API calls."""
        if self.api is None:
            return self.username
        return f"api:{self.username}" + (f":{self.api.key_id}" if self.api.key_id else "")


SYSTEM = Actor("system", ADMIN)


def rank(role: str) -> int:
    """A role's place in ROLES: 0 is the highest (admin)."""
    return ROLES.index(role) if role in ROLES else len(ROLES)


def can(actor: Actor, action: str) -> bool:
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}")
    return action in PERMISSIONS.get(actor.role, frozenset())


def require(db: Database, actor: Actor, action: str) -> None:
    """Raise PermissionDeniedError unless the actor's role, as stored now, allows the action; raise
    SessionEndedError if the actor's browser session is no longer live (signed out, expired, revoked,
    the user disabled or their password reset)."""
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}")
    if actor.api is not None:
        from billing.api_access import live_role  # the API's credentials are checked there

        role = live_role(db, actor.username, actor.api)
    else:
        role = actor.role if actor.session is None else _live_role(db, actor.username, actor.session)
    if action not in PERMISSIONS.get(role, frozenset()):
        raise PermissionDeniedError(f"Your role ({role}) does not allow this: {ACTIONS[action].lower()}.")


def _live_role(db: Database, username: str, session: str) -> str:
    with db.accounts.connect() as conn:  # the demo sandbox's users are the real installation's
        role = user_store.live_role(conn, session, username, utcnow())
    if role is None:
        raise SessionEndedError()
    return role
