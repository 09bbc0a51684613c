"""Streamlit's index.html as the portal's pages are served: with a style that keeps the grey app skeleton hidden.

Streamlit shows a grey skeleton of a page when its app has not drawn anything 0.5 s after it started, in the
full width of the window; the sidebar the first script run brings then pushes it aside and the page's own content
replaces it: measured at L in Chromium (benchmarks/bench_browser.py) a layout shift of 0.3-0.4 after every sign-in
(web-vitals call more than 0.25 poor) and a skeleton up to 3 s on a loaded machine. Without it the main area stays
empty until the page draws (Streamlit's running indicator still shows), and nothing moves. Elements' own
placeholders (a chart while its code loads) are kept: they have the element's size.
"""

from __future__ import annotations

import functools
from html import escape

from starlette.responses import HTMLResponse

from signin.assets import STATIC, element_modules

# The header and main area are kept hidden until the sidebar is there (2 s at most, should a page have none):
# drawn before it, they moved 300 px aside when it came (CLS 0.2 at every sign-in). Pages without a sidebar (the
# set-up, a first password to choose) get Streamlit's own page (signin/routes.py).
STYLE = """<style>
[data-testid="stAppSkeleton"] { display: none; }
[data-testid="stAppViewContainer"]:not(:has([data-testid="stSidebar"])) > * {
  animation: portal-sidebar-first 2s step-end; }
@keyframes portal-sidebar-first { from { visibility: hidden; } to { visibility: visible; } }
</style>"""


@functools.cache
def index_html() -> str | None:
    """Streamlit's page with the style added, and the dashboard's element modules preloaded: fetched and compiled
    while the page connects and the server runs the script, they are ready when the first elements arrive (each
    element type otherwise shows a grey placeholder while its module loads). None when Streamlit's frontend is
    not where it should be."""
    try:
        page = (STATIC / "index.html").read_text(encoding="utf-8")
    except OSError:
        return None
    preload = "\n".join(f'<link rel="modulepreload" crossorigin href="./{escape(path)}">' for path in element_modules())
    return page.replace("</head>", f"{preload}\n{STYLE}\n</head>", 1) if "</head>" in page else None


def portal_response() -> HTMLResponse | None:
    """The page to answer a portal path with (never kept by the browser: a new Streamlit brings a new one)."""
    page = index_html()
    return None if page is None else HTMLResponse(page, headers={"Cache-Control": "no-cache"})
