"""ui/format.py: `plain` shows user data as typed wherever Streamlit renders Markdown."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from injection import compact, lines, markup_in, payload

from ui import format as fmt

JOINER = "\u2060"


def as_read(markdown: str) -> str:
    """The text a reader sees: escapes resolved, the invisible word joiners left out."""
    return re.sub(r"\\([\s\S])", r"\1", markdown).replace(JOINER, "")


@pytest.mark.parametrize("text", [
    payload("ZqOne"), compact("ZqTwo"), "ZqHead\n===", "ZqHead\n---", "    ZqCode", "\tZqCode", "- ZqList",
    "+ ZqList", "1. ZqList", "> ZqQuote", "# ZqHeading", "HTTPS://EV.IL", "WWW.EV.IL", "mailto:a@ev.il",
    "[ZqLink](http://ev.il)", "<http://ev.il>", ":material_home:", ":streamlit:", "&amp; &#60;b&#62;",
])
def test_plain_leaves_nothing_to_render(text: str) -> None:
    assert markup_in(fmt.plain(text)) == []


def test_plain_lines_leaves_nothing_to_render_on_any_line() -> None:
    assert markup_in(fmt.plain_lines(lines("ZqLines"))) == []


@pytest.mark.parametrize("text", [payload("ZqOne"), compact("ZqTwo"), "1.5 hours at €120 (net) - see #4",
                                  "a_b_c *not* ~~struck~~ `code` | x ^ y", "Ltd.\nsecond line"])
def test_plain_shows_the_text_as_typed(text: str) -> None:
    assert as_read(fmt.plain(text)) == text


@pytest.mark.parametrize(("text", "markdown"), [
    ("$1.00 to $2.00 *bold*", "\\$1.00 to \\$2.00 \\*bold\\*"),
    ("http://ev.il", f"http:{JOINER}//ev.il"),  # GFM makes a link of "http://" even with ":" escaped
    ("www.ev.il", f"www{JOINER}.ev.il"),
    ("ap@ev.il", f"ap{JOINER}@ev.il"),
    (":material/home:", f":{JOINER}material/home:"),  # Streamlit rewrites ":material/" before parsing
    (":red[x] Note: 10:30, {SEQ:05}", f":{JOINER}red\\[x\\] Note: 10:30, {{SEQ:05}}"),
    ("&amp;", "\\&amp;"),
    ("---", "\\---"),
    ("Ltd.\n===", "Ltd.\n\\==="),
    ("1. one", "1\\. one"),
    ("1) one", "1\\) one"),
    ("# Title (draft)", "\\# Title (draft)"),
    ("1.5 hours", "1.5 hours"),
    ("    indented", "indented"),
])
def test_plain_escapes_exactly_what_would_render(text: str, markdown: str) -> None:
    assert fmt.plain(text) == markdown


def test_dates_and_moments_share_one_format() -> None:
    assert fmt.day(date(2026, 12, 4)) == "04 Dec 2026"
    assert fmt.moment(datetime(2026, 12, 4, 14, 5, 9)) == "04 Dec 2026, 14:05"
    assert fmt.moment(datetime(2026, 12, 4, 14, 5, 9), seconds=True) == "04 Dec 2026, 14:05:09"
    assert fmt.moment(None) == fmt.day(None) == ""
