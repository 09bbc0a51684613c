"""Who is calling: `Authorization: Bearer <access token or API key>` resolved to a billing Actor, rate limited."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.ratelimit import TokenBuckets
from billing import api_access
from billing.errors import AuthenticationError
from billing.permissions import Actor
from billing.store.db import Database, get_database

bearer = HTTPBearer(auto_error=False, description="An access token from POST /api/v1/auth/token, or an API key "
                                                  "(bk_...).")


def database() -> Database:
    """The installation's database (process-wide, migrated once)."""
    return get_database()


def authenticate(request: Request, header: HTTPAuthorizationCredentials | None) -> Actor:
    """The request's actor (resolved once per request, then taken from request.state), its rate spent."""
    cached = getattr(request.state, "actor", None)
    if isinstance(cached, Actor):
        return cached
    if header is None:
        raise AuthenticationError("Send an access token or an API key: 'Authorization: Bearer ...'.")
    db = database()
    presented = header.credentials
    actor = (api_access.key_actor(db, presented) if presented.startswith(api_access.KEY_PREFIX + "_")
             else api_access.token_actor(db, presented))
    limits: TokenBuckets = request.app.state.rate_limits
    limits.take(actor.audit_name)
    request.state.actor = actor
    return actor


def current_actor(request: Request,
                  header: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]) -> Actor:
    return authenticate(request, header)


ActorDep = Annotated[Actor, Depends(current_actor)]
DatabaseDep = Annotated[Database, Depends(database)]
