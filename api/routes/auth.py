"""Access tokens: a username and password for a 15-minute token (the sign-in form's checks and lockout)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.auth import DatabaseDep
from api.routing import PublicRoute
from api.schemas import TokenOut, TokenRequest
from billing import api_access

router = APIRouter(prefix="/auth", tags=["authentication"], route_class=PublicRoute)


@router.post("/token", response_model=TokenOut, summary="Get an access token (valid 15 minutes)")
def issue_token(request: Request, db: DatabaseDep, body: TokenRequest) -> dict[str, Any]:
    # Rate limited per username like every other call (the lockout counts failures; this counts calls).
    request.app.state.rate_limits.take(f"token:{body.username.strip().lower()}")
    token = api_access.issue_token(db, body.username, body.password)
    return {"access_token": token.token, "expires_in": int(api_access.TOKEN_LIFETIME.total_seconds()),
            "expires_at": token.expires_at, "role": token.role}
