"""`python -m billing api-key create|list|revoke`: the REST API's keys from the command line (as the system)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from billing import api_access
from billing.permissions import ROLES, SYSTEM
from billing.store.db import Database


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], database: Callable[[], Database]) -> None:
    """Register `api-key` and its subcommands; `database` opens the installation's database."""
    keys = sub.add_parser("api-key", help="create, list or revoke the REST API's keys")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key for a user (the key is printed once, never stored)")
    create.add_argument("username", help="the user the key acts as")
    create.add_argument("--role", choices=ROLES, required=True, help="at most the user's own role")
    create.add_argument("--name", required=True, help="what the key is for, e.g. the system that uses it")
    create.set_defaults(func=lambda args: _create(database(), args))
    listing = actions.add_parser("list", help="list keys: id (prefix), user, role, last used, revoked")
    listing.add_argument("--user", help="only this user's keys")
    listing.set_defaults(func=lambda args: _list(database(), args))
    revoke = actions.add_parser("revoke", help="revoke a key by its id (the part after bk_)")
    revoke.add_argument("key_id")
    revoke.set_defaults(func=lambda args: _revoke(database(), args))


def _create(db: Database, args: argparse.Namespace) -> int:
    key, secret = api_access.create_key(db, SYSTEM, args.username, args.role, args.name)
    print(f"Created API key {key.id} for {key.username} ({key.role}). It is shown this once; store it now:")
    print(secret)
    return 0


def _list(db: Database, args: argparse.Namespace) -> int:
    keys = api_access.list_keys(db, SYSTEM, args.user)
    if not keys:
        print("No API keys.")
    for key in keys:
        used = key.last_used_at.isoformat(timespec="seconds") if key.last_used_at else "never"
        state = f"revoked {key.revoked_at.isoformat(timespec='seconds')}" if key.revoked_at else "live"
        print(f"{key.id}  {key.username:<20} {key.role:<10} last used {used:<19}  {state}  {key.name}")
    return 0


def _revoke(db: Database, args: argparse.Namespace) -> int:
    api_access.revoke_key(db, SYSTEM, args.key_id)
    print(f"Revoked API key {args.key_id}.")
    return 0
