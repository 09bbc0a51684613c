"""Free text the portal takes: which characters a field refuses, and one check naming the field."""

from __future__ import annotations

import unicodedata

from billing.errors import ValidationError

# Bidirectional overrides and isolates reorder what a reader sees ("invoice_fdp.exe"); no name needs them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
LINE_SEPARATORS = frozenset("\u2028\u2029")
ONE_LINE_PROBLEM = "must be one line of text, without line breaks, tabs or control characters"
LINES_PROBLEM = "must not hold control characters"


def xml_unfit(ch: str) -> bool:
    """True for a character XML 1.0 cannot carry (outside its Char production: most C0 controls, surrogates,
    U+FFFE and U+FFFF), so an e-invoice cannot either."""
    code = ord(ch)
    return not (code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000)


def _refused(ch: str, multiline: bool) -> bool:
    if multiline and ch in "\n\r\t":
        return False
    return (unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS or xml_unfit(ch)
            or (not multiline and ch in LINE_SEPARATORS))


def text_problem(value: str, *, multiline: bool) -> str:
    """Why the text cannot be taken ('' when it can): a one-line text refuses line breaks and tabs too."""
    if any(_refused(ch, multiline) for ch in value):
        return LINES_PROBLEM if multiline else ONE_LINE_PROBLEM
    return ""


def check_text(value: str, what: str, *, multiline: bool = False, param: str | None = None) -> str:
    """`value` when every character is fit for the field; else ValidationError naming it (`what`, e.g.
    'Void reason'; `param`: the input field the REST API names)."""
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise ValidationError(f"{what}: {problem}.", param=param)
    return value
