"""The sign-in page as plain HTML: one form, styled like the portal, every value written into it escaped."""

from __future__ import annotations

from html import escape

from signin.assets import dashboard_assets
from signin.links import NOTICES, SIGN_IN_PATH

# Nothing but this page's own inline style may load; the form posts to this server only; no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_STYLE = """
:root { color-scheme: light; --primary: #2563eb; --text: #31333f; --muted: #6b6f7b; --line: #d5d8de; }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: flex; align-items: flex-start; justify-content: center;
       background: #f6f7f9; color: var(--text); font: 16px/1.5 "Source Sans Pro", "Source Sans 3", system-ui,
       -apple-system, "Segoe UI", Roboto, sans-serif; }
main { width: 100%; max-width: 420px; margin: 12vh 16px 32px; }
h1 { font-size: 1.6rem; font-weight: 600; margin: 0 0 4px; overflow-wrap: anywhere; }
.subtitle { color: var(--muted); font-size: .92rem; margin: 0 0 20px; }
form { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 24px; }
h2 { font-size: 1rem; font-weight: 600; margin: 0 0 16px; }
label { display: block; font-size: .88rem; margin: 0 0 4px; }
input[type=text], input[type=password] { width: 100%; font: inherit; padding: 8px 12px; margin: 0 0 16px;
       border: 1px solid var(--line); border-radius: 8px; background: #fff; color: var(--text); }
input:focus { outline: 2px solid var(--primary); outline-offset: 0; border-color: var(--primary); }
button { width: 100%; font: inherit; font-weight: 600; padding: 9px 12px; border: 0; border-radius: 8px;
         background: var(--primary); color: #fff; cursor: pointer; }
button:hover { background: #1d4ed8; }
.message { border-radius: 8px; padding: 12px 16px; margin: 0 0 16px; font-size: .95rem; }
.notice { background: #e8f0fe; color: #174ea6; }
.error { background: #fdecea; color: #8a1c12; }
"""


def _prefetch_links() -> str:
    """The portal's frontend files, fetched into the browser's cache while the user types (relative to the
    form's path, so they resolve below a proxy's path prefix too)."""
    return "\n".join(f'<link rel="prefetch" href="../{escape(path)}" crossorigin>' for path in dashboard_assets())


def sign_in_html(*, company: str | None, csrf: str, next_path: str, username: str = "", notice: str | None = None,
                 error: str | None = None) -> str:
    """The whole page. `notice` is a key of NOTICES; `error` a message of the app's own (escaped anyway)."""
    title = escape(company) if company else "Billing portal"
    subtitle = '<p class="subtitle">Billing portal: invoices, payments and reports</p>' if company else ""
    messages = ""
    if notice in NOTICES:
        messages += f'<div class="message notice" role="status">{escape(NOTICES[notice])}</div>'
    if error:
        messages += f'<div class="message error" role="alert">{escape(error)}</div>'
    focus_password = " autofocus" if username else ""
    focus_username = "" if username else " autofocus"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Sign in · {title}</title>
<style>{_STYLE}</style>
{_prefetch_links()}
</head>
<body>
<main>
<h1>{title}</h1>
{subtitle}
{messages}
<form method="post" action="{SIGN_IN_PATH}" autocomplete="on">
<h2>Sign in</h2>
<input type="hidden" name="csrf" value="{escape(csrf)}">
<input type="hidden" name="next" value="{escape(next_path)}">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="{escape(username)}" autocomplete="username"
 autocapitalize="none" spellcheck="false" maxlength="100" required{focus_username}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" maxlength="200"
 required{focus_password}>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
"""
