"""The customer's link: GET /d/<token> (the document as a plain HTML page), /d/<token>/pdf and /d/<token>/einvoice
(in the customer's preferred format, if any), without signing in;
for a quote also POST /d/<token>/accept and /d/<token>/decline.

Served as Starlette routes beside the portal (app.py), not as a Streamlit page: no session, no websocket,
no script run and nothing of the portal's navigation can reach the customer; the page is static HTML with
every value escaped and a Content-Security-Policy that allows no script at all.

The link's token is the credential of a quote's answer. Against a forged cross-site POST the page also sets a
fresh random nonce both as a SameSite=Strict cookie (limited to the link's path) and as a hidden field of its
forms: an answer counts only when the two match, which another site can neither read nor make a browser send.
Anyone may post to a link: a post without the cookie is not read, and one over MAX_FORM bytes is refused (413)
after its first chunk over the limit, never held in memory whole.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import date, datetime
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from api.bodylimit import read_limited
from api.customer_page import NOT_VALID, render_page
from api.customer_quote_page import NONCE_FIELD, render_quote_page
from billing import customer_view
from billing.errors import BillingError
from billing.store.db import get_database, utcnow

NONCE_COOKIE = "quote_answer"
MAX_FORM = 2048  # the answer form holds one nonce
TOO_LARGE = "<!doctype html><html lang=en><title>Too large</title><p>This request is too large.</p></html>"

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                                "form-action 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never pass it on to another site
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}
# A quote's page posts its answer to its own link; still no script.
QUOTE_POLICY = SECURITY_HEADERS["Content-Security-Policy"].replace("form-action 'none'", "form-action 'self'")


def _moment() -> tuple[datetime, date]:
    now = utcnow()
    return now, now.date()


def document_page(request: Request) -> Response:
    now, today = _moment()
    opened = customer_view.open_link(get_database(), str(request.path_params["token"]), now, today)
    if opened is None:
        return HTMLResponse(NOT_VALID, status_code=404, headers=SECURITY_HEADERS)
    if isinstance(opened, customer_view.CustomerDocument):
        return HTMLResponse(render_page(opened, today), headers=SECURITY_HEADERS)
    nonce = secrets.token_urlsafe(24)
    headers = {**SECURITY_HEADERS, "Content-Security-Policy": QUOTE_POLICY}
    response = HTMLResponse(render_quote_page(opened, today, nonce), headers=headers)
    response.set_cookie(NONCE_COOKIE, nonce, path=request.url.path, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


def _answer(token: str, accept: bool) -> customer_view.CustomerQuote | customer_view.CustomerDocument | None:
    now, today = _moment()
    try:
        return customer_view.answer_quote(get_database(), token, now, today, accept=accept)
    except BillingError:  # answered before, or expired meanwhile: the page says so
        return customer_view.open_link(get_database(), token, now, today, record_open=False)


async def answer_quote(request: Request) -> Response:
    """Accept or decline the quote of a link (POST from its page); back to the page, which shows the outcome."""
    page = request.url.path.rsplit("/", 1)[0]
    expected = request.cookies.get(NONCE_COOKIE, "")
    body = await read_limited(request, MAX_FORM) if expected else b""
    if body is None:
        return HTMLResponse(TOO_LARGE, status_code=413, headers=SECURITY_HEADERS)
    sent = parse_qs(body.decode("utf-8", "replace")).get(NONCE_FIELD, [""])[0]
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return RedirectResponse(page, status_code=303, headers=SECURITY_HEADERS)  # answered from elsewhere
    token, accept = str(request.path_params["token"]), request.url.path.endswith("/accept")
    answered = await run_in_threadpool(_answer, token, accept)  # the database is blocking: off the event loop
    if answered is None:
        return HTMLResponse(NOT_VALID, status_code=404, headers=SECURITY_HEADERS)
    return RedirectResponse(page, status_code=303, headers=SECURITY_HEADERS)


def document_pdf(request: Request) -> Response:
    now, today = _moment()
    found = customer_view.document_pdf(get_database(), str(request.path_params["token"]), now, today)
    if found is None:
        return HTMLResponse(NOT_VALID, status_code=404, headers=SECURITY_HEADERS)
    name, pdf = found
    safe_name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return Response(pdf, media_type="application/pdf",
                    headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{safe_name}"'})


def document_einvoice(request: Request) -> Response:
    now, today = _moment()
    found = customer_view.document_einvoice(get_database(), str(request.path_params["token"]), now, today)
    if found is None:
        return HTMLResponse(NOT_VALID, status_code=404, headers=SECURITY_HEADERS)
    name, media_type, data = found
    safe_name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return Response(data, media_type=media_type,
                    headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{safe_name}"'})


ROUTES = [Route("/d/{token}", document_page, methods=["GET"]), Route("/d/{token}/pdf", document_pdf, methods=["GET"]),
          Route("/d/{token}/einvoice", document_einvoice, methods=["GET"]),
          Route("/d/{token}/accept", answer_quote, methods=["POST"]),
          Route("/d/{token}/decline", answer_quote, methods=["POST"])]
