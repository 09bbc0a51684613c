"""The PDF document every PDF of the portal is drawn on (fpdf2): page set-up, footer with page numbers,
and DejaVu Sans, a Unicode TrueType font shipped in `billing/fonts/` and embedded (subset).

Fonts are parsed and cut into subsets once per process (Latin, European, wide) and the smallest cut
covering a document's text is embedded, which keeps a warm invoice around 20 ms. Documents may be
rendered in many threads at once (one per browser session): what they share of a parsed font is only
read. A character the font has no glyph for is reported as a `MissingGlyphWarning` (fpdf2 itself
only logs it and prints a blank).
"""

from __future__ import annotations

import copy
import functools
import io
import threading
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from fontTools import subset as font_subset
from fontTools import ttLib
from fpdf import FPDF
from fpdf.enums import Align
from fpdf.fonts import SubsetMap, TTFFont

from billing.pdf_fonts import DocumentTTFont, FontOutput

FONT_DIR = Path(__file__).parent / "fonts"
FONT_FAMILY = "dejavu"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}

# Documents are set in the smallest cut of DejaVu that covers their text: each glyph a font
# holds costs time in every document's font subsetting (fontTools, in fpdf2's `output()`).
# Warm, an invoice takes ~24 ms with the Latin cut (~680 glyphs), ~37 ms with the wide one (~2,600).
LATIN_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E), (0x00A0, 0x024F),  # ASCII, Latin-1, Latin Extended-A and -B
    (0x2010, 0x205E), (0x20A0, 0x20C0),  # punctuation, currency signs
    (0x2116, 0x2116), (0x2122, 0x2122), (0xFFFD, 0xFFFD),  # numero, trade mark, replacement character
)
EUROPEAN_RANGES: tuple[tuple[int, int], ...] = (*LATIN_RANGES, (0x0370, 0x03FF), (0x0400, 0x04FF))  # + Greek, Cyrillic
# Scripts that print correctly left to right without text shaping (Latin, Greek, Cyrillic,
# Armenian, Georgian) and common symbols. Hebrew and Arabic need bidi and shaping, which these
# documents do not do: leaving them out gets them reported as missing, not printed wrongly.
WIDE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E), (0x00A0, 0x058F),  # Latin, IPA, combining marks, Greek, Cyrillic, Armenian
    (0x10A0, 0x10FF), (0x1E00, 0x1EFF),  # Georgian, Latin Extended Additional (Vietnamese)
    (0x2000, 0x22FF),  # punctuation, super/subscripts, currency, letterlike, number forms, arrows, math
    (0x2460, 0x24FF), (0x25A0, 0x25FF), (0x2C60, 0x2C7F), (0xA720, 0xA7FF),
    (0xFB00, 0xFB06), (0xFFFD, 0xFFFD),
)
FONT_CUTS = (LATIN_RANGES, EUROPEAN_RANGES, WIDE_RANGES)


def _code_points(ranges: tuple[tuple[int, int], ...]) -> frozenset[int]:
    return frozenset(code for first, last in ranges for code in range(first, last + 1))


_CUT_CODE_POINTS = tuple(_code_points(ranges) for ranges in FONT_CUTS)

GREY = (110, 110, 110)
LIGHT_FILL = (240, 240, 240)
LINE_COLOUR = (190, 190, 190)


class MissingGlyphWarning(UserWarning):
    """Some characters are not in the PDF font and print as blanks."""


# --- fonts: parsed once per process -------------------------------------------------------------

@dataclass(frozen=True)
class _ParsedFont:
    """A font parsed once (metrics, character map, widths) and what a document needs to embed it.

    fpdf2 subsets the fontTools object of each document in place and closes it on output, so every
    document gets a fresh one, opened lazily from `data`; the parsing is what is shared. Shared means
    read by documents in several threads at once: whatever `output()` writes to is the document's own.
    """

    font: TTFFont
    data: bytes  # the font without glyph names (post format 3): decoding 2,600 names costs ~5 ms
    glyph_order: tuple[str, ...]  # ... so the names come from here
    source: tuple[str, ...]  # which cut of which font file: names `data` (billing.pdf_fonts.SubsetCache)


def _font_cut(path: Path, ranges: tuple[tuple[int, int], ...]) -> tuple[bytes, bytes, tuple[str, ...]]:
    """The font reduced to `ranges`: with glyph names, without them, and the names."""
    # Closed when done: a font file left open is reported as a ResourceWarning whenever it is collected.
    with ttLib.TTFont(path, recalcTimestamp=False, lazy=True) as font:
        # Tables fpdf2 drops from embedded fonts anyway (kern too: PDF positions every glyph itself);
        # deleted before subsetting, they are never parsed.
        for tag in ("FFTM", "GDEF", "GPOS", "GSUB", "MATH", "kern"):
            if tag in font:
                del font[tag]
        options = font_subset.Options(glyph_names=True, notdef_outline=True, recommended_glyphs=True,
                                      layout_features=[])
        subsetter = font_subset.Subsetter(options)
        subsetter.populate(unicodes=_code_points(ranges))
        subsetter.subset(font)
        cmap = font["cmap"]
        cmap.tables = [table for table in cmap.tables if (table.platformID, table.platEncID) == (3, 1)]
        named, unnamed = io.BytesIO(), io.BytesIO()
        font.save(named)
        glyph_order = tuple(font.getGlyphOrder())
        font["post"].formatType = 3.0
        font.save(unnamed)
    return named.getvalue(), unnamed.getvalue(), glyph_order


_PARSING = threading.Lock()


def _fonts_of_cut(cut: int) -> tuple[_ParsedFont, ...]:
    # One thread parses a cut (~0.5 s); threads asking for it meanwhile wait rather than parse it again.
    with _PARSING:
        return _parsed_fonts(cut)


def warm_fonts(cut: int) -> None:
    """Parse the fonts of a cut now (a drawing process's start) rather than in the first document that needs them."""
    _fonts_of_cut(cut)


@functools.cache
def _parsed_fonts(cut: int) -> tuple[_ParsedFont, ...]:
    holder = FPDF()
    parsed = []
    for style, file_name in _FONT_FILES.items():
        named, unnamed, glyph_order = _font_cut(FONT_DIR / file_name, FONT_CUTS[cut])
        # TTFFont hands its "path" straight to fontTools, which reads file objects as well.
        font = TTFFont(holder, cast(Path, io.BytesIO(named)), f"{FONT_FAMILY}{style}", style)
        holder.fonts[font.fontkey] = font
        parsed.append(_ParsedFont(font, unnamed, glyph_order, (file_name, str(cut))))
    return tuple(parsed)


def _document_font(parsed: _ParsedFont, index: int) -> TTFFont:
    font = copy.copy(parsed.font)  # shares the read-only metrics: widths, character map, glyph ids
    font.i = index
    # output() numbers the descriptor as one of the document's objects and hangs the document's font
    # subset on it: shared, threads rendering at once numbered each other's (KeyError in output()).
    font.desc = copy.copy(parsed.font.desc)
    # recalcBBoxes=False: recomputing bounds decompiles and recompiles every glyph used (~20 ms per
    # font); the whole font's bounding box and maxima stay valid for any subset of it.
    font.ttfont = DocumentTTFont(io.BytesIO(parsed.data), recalcTimestamp=False, recalcBBoxes=False, lazy=True)
    font.ttfont.setGlyphOrder(list(parsed.glyph_order))
    font.ttfont.source = parsed.source  # the same bytes for the same name: its subsets are kept
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font.subset = SubsetMap(font)
    return font


def font_cut_for(text: str) -> int:
    """The smallest font cut that has every character of `text` (the widest when none has)."""
    # Line breaks and other control characters are never printed as glyphs.
    code_points = {ord(char) for char in set(unicodedata.normalize("NFC", text)) if char >= " "}
    return next((cut for cut, covered in enumerate(_CUT_CODE_POINTS) if code_points <= covered),
                len(FONT_CUTS) - 1)


# --- the document ------------------------------------------------------------------------------

class Document(FPDF):
    """A page set-up for the portal's PDFs: DejaVu embedded, a footer line and "Page X of Y"."""

    def __init__(self, *, page_size: str = "A4", landscape: bool = False, footer_text: str = "",
                 font_cut: int = 0, page_label: str = "Page {page} of {pages}", compliance: str | None = None) -> None:
        # compliance "PDF/A-3B": fpdf2 then refuses anything PDF/A forbids and writes the sRGB output intent and
        # the XMP metadata (pdfaid part and conformance) a PDF/A needs; DejaVu is embedded either way.
        super().__init__(orientation="landscape" if landscape else "portrait", unit="mm", format=page_size,
                         enforce_compliance=compliance)
        for index, parsed in enumerate(_fonts_of_cut(font_cut), start=1):
            self.fonts[parsed.font.fontkey] = _document_font(parsed, index)
        self.font_cut = font_cut
        self.footer_text = footer_text
        self.page_label = page_label
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)
        self.set_font(FONT_FAMILY, size=9)
        self.set_creator("billing-portal")

    def footer(self) -> None:
        self.set_y(-13)
        with self.local_context(text_color=GREY):
            self.set_font(FONT_FAMILY, "", 7.5)
            self.cell(self.epw * 0.75, 5, self.footer_text)
            self.cell(self.epw * 0.25, 5, self.page_label.format(page=self.page_no(), pages="{nb}"), align=Align.R)

    def normalize_text(self, text: str) -> str:
        # Composed (NFC) form: without text shaping a letter followed by a combining accent prints
        # badly, or not at all when the accent is outside the font cut; its precomposed form does not.
        text = super().normalize_text(text)
        return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)

    def text_width(self, text: str) -> float:
        """What get_string_width returns for plain text, without building text fragments (~15x faster)."""
        widths = cast(TTFFont, self.current_font).cw
        return sum(widths[ord(char)] for char in text) * self.font_size / 1000

    def fitted(self, text: str, width: float) -> str:
        """`text` shortened with "…" to fit a cell of `width` in the current font (a long description, a label
        longer in another language than in English)."""
        room = width - 2 * self.c_margin
        if self.get_string_width(text) <= room:
            return text
        while text and self.get_string_width(text + "…") > room:
            text = text[:-1]
        return text + "…"

    def missing_characters(self) -> list[str]:
        """The characters drawn so far that the font has no glyph for."""
        return sorted({chr(code) for font in self.fonts.values() if isinstance(font, TTFFont)
                       for code in font.missing_glyphs})


def build_pdf(draw: Callable[[Document], None], *, text: str = "", page_size: str = "A4", landscape: bool = False,
              footer_text: str = "", page_label: str = "Page {page} of {pages}",
              compliance: str | None = None) -> bytes:
    """Run `draw` on a fresh Document and return the PDF.

    `text` (what the document will print, as far as the caller knows) picks the font cut; should
    the drawing need more, it is done again with the wide cut. Characters even that one lacks
    raise a MissingGlyphWarning: fpdf2 only logs them, and prints blanks. `page_label` is the footer's
    "Page {page} of {pages}" in the document's language; `compliance` as fpdf2's `enforce_compliance` (e.g.
    "PDF/A-3B").
    """
    cut = font_cut_for(text + footer_text + page_label)
    while True:
        pdf = Document(page_size=page_size, landscape=landscape, footer_text=footer_text, font_cut=cut,
                       page_label=page_label, compliance=compliance)
        draw(pdf)
        missing = pdf.missing_characters()
        if not missing or cut == len(FONT_CUTS) - 1:
            break
        cut = len(FONT_CUTS) - 1
    if missing:
        shown = ", ".join(f"{char!r} (U+{ord(char):04X})" for char in missing[:10])
        warnings.warn(f"The PDF font has no glyph for {shown}: they print as blanks.", MissingGlyphWarning,
                      stacklevel=3)
    return bytes(pdf.output(output_producer_class=FontOutput))
