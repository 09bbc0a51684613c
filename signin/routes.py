"""The sign-in route and the page gate on the portal's server (app.py's `st.App`): the session cookie is set
by an HTTP response, so the Streamlit script only reads it (`st.context.cookies`) and never reruns for it.

- `GET /auth/sign-in`: the form (`next`: the portal page to open afterwards, `notice`, `username`).
- `POST /auth/sign-in`: checks the password with `billing.users.authenticate` (its lockout), records the session
  in the database, sets the cookie (HttpOnly, SameSite=Lax, Path=/, Secure over HTTPS) and answers 303 to `next`.
  Login CSRF is refused with a double-submit token (a cookie of its own and a form field that must match).
- `SignInRequired`: a page of the portal requested without a live session is answered with 303 to the form,
  before Streamlit's page is sent: nothing of the portal loads for a browser that is not signed in. With a live
  session it answers with Streamlit's page as `signin/portal_page.py` serves it.
Sign-out happens in the script (ui/auth.py: the tab's session revoked at once); the form's page then drops a
cookie whose session is no longer live.
"""

from __future__ import annotations

import functools
import hmac
import logging
import secrets
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from api.bodylimit import read_limited
from billing import auth_keys, settings, users
from billing.errors import BillingError
from billing.store.db import Database, get_database
from signin.links import PAGE_PATHS, SIGN_IN_PATH, safe_next, sign_in_url
from signin.page import SECURITY_HEADERS, sign_in_html
from signin.portal_page import portal_response

log = logging.getLogger("billing.signin")

CSRF_COOKIE = "billing_csrf"
MAX_FORM_BYTES = 4096
_UNAVAILABLE = "Signing in is not possible right now. Please try again."
_EXPIRED_FORM = "The sign-in form had expired. Please sign in again."


def _database() -> Database:
    return get_database()  # the process's one Database, the one the portal's sessions use


@functools.cache
def _cookie_key(database_url: str) -> str:
    return auth_keys.cookie_key(database_url)


def _is_https(request: Request) -> bool:
    # A proxy in front (NGINX) terminating TLS says so; a client lying about it only keeps its own cookie from
    # being sent back over plain HTTP.
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"


def live_user(db: Database, token: str | None) -> users.User | None:
    """The user of a cookie's token if it carries this installation's signature and its session row is live."""
    if not token:
        return None
    username = auth_keys.token_username(_cookie_key(db.url), token)
    if username is None:
        return None
    user = users.session_user(db, token)
    return user if user is not None and user.username == username else None


def is_live(db: Database, token: str | None) -> bool:
    """Whether a cookie's token carries this installation's signature and its session row is live."""
    return live_user(db, token) is not None


def _secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _form_page(request: Request, db: Database, *, next_path: str, username: str = "", notice: str | None = None,
               error: str | None = None, status: int = 200) -> Response:
    """The form, with a CSRF token (the browser's, or a new one) in a cookie and in the form."""
    csrf = request.cookies.get(CSRF_COOKIE, "")
    if len(csrf) != 43:  # token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
    company = (settings.get_company(db) or {}).get("legal_name") or None
    page = sign_in_html(company=company, csrf=csrf, next_path=next_path, username=username, notice=notice,
                        error=error)
    response = _secured(HTMLResponse(page, status_code=status))
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path=SIGN_IN_PATH,
                        secure=_is_https(request))
    token = request.cookies.get(auth_keys.COOKIE_NAME)
    if token and not is_live(db, token):
        response.delete_cookie(auth_keys.COOKIE_NAME, path="/")  # signed out, ended or forged: dropped
    return response


def _show_form(request: Request) -> Response:
    db = _database()
    if not users.has_users(db):
        return RedirectResponse("/", status_code=303)  # the first-run setup comes first
    params = request.query_params
    return _form_page(request, db, next_path=safe_next(params.get("next")),
                      username=(params.get("username") or "")[:100], notice=params.get("notice"))


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}" or (
        _is_https(request) and origin == f"https://{request.url.netloc}")


def _sign_in(request: Request, body: bytes) -> Response:
    db = _database()
    form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
    next_path, username = safe_next(form.get("next")), (form.get("username") or "")[:100]
    csrf = request.cookies.get(CSRF_COOKIE, "")
    if not csrf or not hmac.compare_digest(csrf, form.get("csrf", "")) or not _same_origin(request):
        return _form_page(request, db, next_path=next_path, username=username, error=_EXPIRED_FORM, status=403)
    try:
        user = users.authenticate(db, username, form.get("password", ""))
    except BillingError as exc:  # wrong password, locked, the database refusing
        return _form_page(request, db, next_path=next_path, username=username, error=exc.message, status=401)
    try:
        token, expires = auth_keys.issue_token(_cookie_key(db.url), user.username,
                                               auth_keys.session_lifetime())
        users.start_session(db, user.username, token, expires)  # signed in only once the session row exists
    except Exception:
        log.exception("Could not start a session for %r", user.username)
        return _form_page(request, db, next_path=next_path, username=username, error=_UNAVAILABLE, status=503)
    response = _secured(RedirectResponse(next_path, status_code=303))
    response.set_cookie(auth_keys.COOKIE_NAME, token, max_age=int(auth_keys.session_lifetime().total_seconds()),
                        path="/", httponly=True, samesite="lax", secure=_is_https(request))
    log.info("%s signed in", user.username)
    return response


async def sign_in_page(request: Request) -> Response:
    if request.method == "GET":
        return await run_in_threadpool(_show_form, request)
    body = await read_limited(request, MAX_FORM_BYTES)
    if body is None:
        return _secured(HTMLResponse("The form is too large.", status_code=413))
    return await run_in_threadpool(_sign_in, request, body)


def routes() -> list[Route]:
    return [Route(SIGN_IN_PATH, sign_in_page, methods=["GET", "POST"])]


def _gate(request: Request) -> Response | None:
    """The way to the form for a page requested without a live session; else the page to answer with: the
    portal's (portal_page.py) for a user who gets the menu, None for Streamlit's own (the set-up before the first
    user, a first password to choose: pages without a sidebar, which the portal's page would keep hidden a while).
    """
    try:
        db = _database()
        if not users.has_users(db):
            return None
        token = request.cookies.get(auth_keys.COOKIE_NAME)
        user = live_user(db, token)
        if user is not None:
            return None if user.must_change_password or request.method != "GET" else portal_response()
    except BillingError:
        return None  # the database is refused: the portal's page says why
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    response = RedirectResponse(sign_in_url(safe_next(target), "ended" if token else None), status_code=303)
    response.headers["Cache-Control"] = "no-store"
    if token:
        response.delete_cookie(auth_keys.COOKIE_NAME, path="/")
    return response


class SignInRequired:
    """ASGI middleware: a GET of a portal page without a live session is sent to the sign-in form; with one, it
    gets the portal's page (see `_gate` for when Streamlit's own)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and scope["path"] in PAGE_PATHS:
            answer = await run_in_threadpool(_gate, Request(scope))
            if answer is not None:
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)
