"""Who may do what: one permission table (data, not scattered ifs), checked by every service.

The portal builds its navigation from the same table, so hiding a page and refusing the
operation behind it can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing.errors import PermissionDeniedError

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
    "settings.read": "See company settings",
    "settings.write": "Change company settings and numbering",
    "users.manage": "Manage users",
    "audit.read": "Browse and verify the audit trail",
}

PERMISSIONS: dict[str, frozenset[str]] = {
    ADMIN: frozenset(ACTIONS),
    ACCOUNTANT: frozenset({
        "customers.read", "customers.write", "products.read", "products.write",
        "invoices.read", "invoices.write", "payments.read", "payments.write",
        "reports.read", "exports.run", "settings.read",
    }),
    ANALYST: frozenset({
        "customers.read", "invoices.read", "payments.read", "products.read", "reports.read", "exports.run",
    }),
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a signed-in user, or the system (CLI, demo, migrations)."""

    username: str
    role: str


SYSTEM = Actor("system", ADMIN)


def can(actor: Actor, action: str) -> bool:
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}")
    return action in PERMISSIONS.get(actor.role, frozenset())


def require(actor: Actor, action: str) -> None:
    """Raise PermissionDeniedError unless the actor's role allows the action."""
    if not can(actor, action):
        raise PermissionDeniedError(f"Your role ({actor.role}) does not allow this: {ACTIONS[action].lower()}.")
