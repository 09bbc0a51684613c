"""The files of Streamlit's frontend that the dashboard needs, for the sign-in page to prefetch while the user types.

Streamlit serves them content-hashed and cached for a year, so a file fetched on the sign-in page is taken from
the browser's cache after the click, and a browser that never saw the portal does not wait for 140 requests
(measured at L in Chromium: benchmarks/bench_browser.py). The names are read from the installed Streamlit at
start-up: the files its index.html loads, and the chunks of the elements the dashboard shows with every module
they import.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import streamlit

STATIC = Path(streamlit.__file__).parent / "static"
# The chunks of the elements on the dashboard (metrics, filters, the chart, the overdue table, links, buttons).
DASHBOARD_CHUNKS = ("Metric", "Selectbox", "Multiselect", "Button", "DownloadButton", "PageLink",
                    "ArrowVegaLiteChart", "loadVegaEmbed", "embed", "vega-interpreter", "DataFrame")
# Plotly's, which the report pages draw with: prefetched too, so their first visit waits for no 4.7 MB download.
REPORT_CHUNKS = ("PlotlyChart",)
_INDEX_FILES = re.compile(r'(?:src|href)="\./(static/[\w./-]+)"')
_IMPORTS = re.compile(r'(?:from|import)\s*"\./([\w.-]+\.js)"')
_CHUNK = re.compile(r"^(?P<name>.+)\.[\w-]{8}\.(?:js|css)$")


def _imports(folder: Path, name: str, seen: set[str]) -> None:
    """`name` and every module it imports statically, into `seen`."""
    if name in seen or not (folder / name).is_file():
        return
    seen.add(name)
    for imported in _IMPORTS.findall((folder / name).read_text(encoding="utf-8", errors="replace")):
        _imports(folder, imported, seen)


def _index_files(static: Path) -> list[str]:
    try:
        return list(dict.fromkeys(_INDEX_FILES.findall((static / "index.html").read_text(encoding="utf-8"))))
    except OSError:
        return []


@functools.cache
def element_modules(chunks: tuple[str, ...] = DASHBOARD_CHUNKS, static: Path = STATIC) -> tuple[str, ...]:
    """Paths (`static/js/...`) of the named element chunks and every module they import, but those Streamlit's
    index.html loads itself."""
    try:
        files = sorted((static / "static" / "js").iterdir())
    except OSError:
        return ()
    scripts: set[str] = set()
    for file in files:
        match = _CHUNK.match(file.name)
        if match and match["name"] in chunks:
            _imports(file.parent, file.name, scripts)
    loaded = set(_index_files(static))
    return tuple(path for path in (f"static/js/{name}" for name in sorted(scripts)) if path not in loaded)


@functools.cache
def dashboard_assets(static: Path = STATIC) -> tuple[str, ...]:
    """Paths (below the server's root, `static/...`) of the files the portal's first page loads, and Plotly's;
    () when Streamlit's frontend is not where it should be (nothing is prefetched then)."""
    paths = _index_files(static)
    if not paths:
        return ()
    paths += element_modules(DASHBOARD_CHUNKS + REPORT_CHUNKS, static)
    for folder, kinds in (("css", (".css",)), ("media", (".woff2",))):
        for file in sorted((static / "static" / folder).glob("*")):
            match = _CHUNK.match(file.name) if kinds == (".css",) else None
            if (match and match["name"] in DASHBOARD_CHUNKS) or file.name.startswith("MaterialSymbols-Rounded"):
                paths.append(f"static/{folder}/{file.name}")
    return tuple(paths)
