"""The customer's link: GET /d/<token> (the document as a plain HTML page) and /d/<token>/pdf, without signing in.

Served as Starlette routes beside the portal (app.py), not as a Streamlit page: no session, no websocket,
no script run and nothing of the portal's navigation can reach the customer; the page is static HTML with
every value escaped and a Content-Security-Policy that allows no script at all.
"""

from __future__ import annotations

from datetime import date, datetime

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from api.customer_page import NOT_VALID, render_page
from billing import customer_view
from billing.store.db import get_database, utcnow

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                                "form-action 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never pass it on to another site
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


def _moment() -> tuple[datetime, date]:
    now = utcnow()
    return now, now.date()


def document_page(request: Request) -> Response:
    now, today = _moment()
    opened = customer_view.open_document(get_database(), str(request.path_params["token"]), now, today)
    if opened is None:
        return HTMLResponse(NOT_VALID, status_code=404, headers=SECURITY_HEADERS)
    return HTMLResponse(render_page(opened, today), headers=SECURITY_HEADERS)


def document_pdf(request: Request) -> Response:
    now, today = _moment()
    found = customer_view.document_pdf(get_database(), str(request.path_params["token"]), now, today)
    if found is None:
        return HTMLResponse(NOT_VALID, status_code=404, headers=SECURITY_HEADERS)
    name, pdf = found
    safe_name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return Response(pdf, media_type="application/pdf",
                    headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{safe_name}"'})


ROUTES = [Route("/d/{token}", document_page, methods=["GET"]), Route("/d/{token}/pdf", document_pdf, methods=["GET"])]
