"""Where a sign-in may lead: the portal's own page paths, the form's URL with its `next`, and its notices."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from ui.pages import ACCOUNT, PAGES

SIGN_IN_PATH = "/auth/sign-in"
# The portal's own pages: the only places a sign-in may lead to, and the only paths the server's gate guards.
PAGE_PATHS = frozenset({"/", *(f"/{spec.url_path}" for spec in (*PAGES, ACCOUNT))})
# What the form may say above itself, by the code in its `notice` parameter: never text taken from the URL.
NOTICES = {
    "signed-out": "You have signed out.",
    "ended": "Your session has ended. Please sign in again.",
    "ready": "Your portal is ready. Sign in with your new password.",
}


def safe_next(target: str | None) -> str:
    """`target` if it is one of the portal's pages on this server (with its query), else "/": never a redirect
    to another site (`//evil.example`, `https://...`, `/\\evil`) or to a path outside the portal."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path not in PAGE_PATHS:
        return "/"
    query = urlencode(parse_qsl(parts.query, keep_blank_values=True))
    return parts.path + (f"?{query}" if query else "")


def sign_in_url(next_path: str = "/", notice: str | None = None, username: str | None = None) -> str:
    """The form's URL: after signing in it opens `next_path` (checked again by the form)."""
    params = {"next": safe_next(next_path)} if next_path != "/" else {}
    params.update({key: value for key, value in (("notice", notice), ("username", username)) if value})
    return SIGN_IN_PATH + (f"?{urlencode(params)}" if params else "")
