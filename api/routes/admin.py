"""Administration (admin only): users, and the audit log read only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.auth import ActorDep, DatabaseDep
from api.pagination import MAX_ID, Limit, Since, after, page, utc
from api.routing import ApiRoute
from api.schemas import AuditEventOut, Page, UserIn, UserOut, UserPatch
from billing import audit, users
from billing.errors import NotFoundError
from billing.permissions import Actor
from billing.store.db import Database

router = APIRouter(tags=["administration"], route_class=ApiRoute)
Username = Annotated[str, Path(min_length=1, max_length=40)]


def _user(db: Database, actor: Actor, username: str) -> users.User:
    found = next((u for u in users.list_users(db, actor) if u.username == username), None)
    if found is None:
        raise NotFoundError(f"User '{username}' does not exist.")
    return found


@router.get("/users", response_model=Page[UserOut], summary="List users (username order)")
def list_users(db: DatabaseDep, actor: ActorDep, limit: Limit = 20,
               starting_after: Annotated[str | None, Query(max_length=40)] = None) -> dict[str, Any]:
    rows = after(users.list_users(db, actor), lambda u: u.username, starting_after, limit)
    return page(rows, limit, lambda u: u.username)


@router.post("/users", response_model=UserOut, status_code=201, summary="Create a user")
def create_user(db: DatabaseDep, actor: ActorDep, body: UserIn) -> users.User:
    return users.create_user(db, actor, body.username, body.password, body.role, name=body.name, email=body.email,
                             must_change_password=True)


@router.get("/users/{username}", response_model=UserOut, summary="Get a user")
def get_user(db: DatabaseDep, actor: ActorDep, username: Username) -> users.User:
    return _user(db, actor, username)


@router.patch("/users/{username}", response_model=UserOut,
              summary="Change a user's role, disable or enable them, or reset their password")
def update_user(db: DatabaseDep, actor: ActorDep, username: Username, body: UserPatch) -> users.User:
    users.update_user(db, actor, _user(db, actor, username).username, role=body.role, active=body.active,
                      password=body.password)
    return _user(db, actor, username)


@router.get("/audit-events", response_model=Page[AuditEventOut], summary="The audit log, newest first")
def list_audit_events(db: DatabaseDep, actor: ActorDep, limit: Limit = 20,
                      starting_after: Annotated[int | None, Query(ge=1, le=MAX_ID,
                                                                  description="The id of the last event seen")] = None,
                      by: Annotated[str | None, Query(max_length=200, description="Who acted")] = None,
                      entity: Annotated[str | None, Query(max_length=50)] = None,
                      action: Annotated[str | None, Query(max_length=100)] = None,
                      since: Since = None, until: Since = None) -> dict[str, Any]:
    rows = audit.events_before(db, actor, before_id=starting_after, limit=limit + 1, actor=by, entity=entity,
                               action=action, since=utc(since), until=utc(until))
    return page(rows, limit, lambda row: row["id"])
