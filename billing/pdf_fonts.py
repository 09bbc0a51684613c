"""Embedding the portal's TrueType fonts at PDF output faster than fpdf2 2.8.9 does, with the same PDF objects.

fpdf2's `OutputProducer._add_fonts` spends about half of a warm invoice's CPU time on its two fonts: the fontTools
subsetting, whose table bookkeeping sorts the font's table tags again on every lookup, and a CIDToGIDMap built as
a list of 131,072 one-character strings. `FontOutput` writes the same objects, in the same order, with the same
subsetting options, from a document font whose table list is sorted once (`DocumentTTFont`) and a map built as
bytes. Fonts other than plain TrueType ones (core, CFF, colour) and PDF/A-1 (which adds a CIDSet) are left to fpdf2.

A document font that names its source (`DocumentTTFont.source`: the same font bytes every time) has its subsets
kept per set of glyphs (`SubsetCache`): documents with the same glyphs embed the same program, cut once.
"""

from __future__ import annotations

import functools
import io
import logging
import threading
from collections import OrderedDict
from typing import Any

from fontTools import subset as font_subset
from fontTools import ttLib
from fpdf.fonts import TTFFont
from fpdf.output import (
    CIDSystemInfo,
    OutputProducer,
    PDFFont,
    PDFFontStream,
    _build_cmap_blocks,
    _tt_font_widths,
)
from fpdf.syntax import Name, PDFArray, PDFContentStream

LOGGER = logging.getLogger("fpdf.output")  # where fpdf2 itself reports missing glyphs

# What fpdf2 2.8.9 drops from embedded fonts (its `_add_fonts`): the same subset, the same bytes.
DROPPED_TABLES = ("FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta", "sbix", "CBDT", "CBLC", "EBDT", "EBLC",
                  "EBSC", "SVG ", "CPAL", "COLR")
TO_UNICODE_HEAD = ("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo\n"
                   "<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n/CMapName /Adobe-Identity-UCS def\n"
                   "/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
TO_UNICODE_TAIL = "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"


@functools.lru_cache(maxsize=64)
def _sorted_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(ttLib.ttFont.sortedTagList(list(tags)))


class DocumentTTFont(ttLib.TTFont):  # type: ignore[misc]  # fontTools is untyped
    """A fontTools font whose `keys()` sorts its table tags once per set of tables, not on every call (the
    subsetter asks thousands of times; each sort compares tags in Python). `source` names the bytes it was read
    from when they are always the same for that name (its subsets are then kept), else None."""

    source: tuple[str, ...] | None = None

    def keys(self) -> list[str]:
        tags = set(self.tables)
        if self.reader:
            tags.update(self.reader.keys())
        tags.discard("GlyphOrder")
        return ["GlyphOrder", *_sorted_tags(tuple(sorted(tags)))]


class SubsetCache:
    """Subset font programs by (source, glyph names), the `size` used last: a subset is a pure function of the
    two (fontTools with the same options on the same bytes), so a document with the same glyphs as an earlier
    one embeds the same bytes without subsetting again (~4 ms a font)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._subsets: OrderedDict[tuple[Any, ...], tuple[bytes, dict[str, int]]] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> tuple[bytes, dict[str, int]] | None:
        with self._lock:
            found = self._subsets.get(key)
            if found is not None:
                self._subsets.move_to_end(key)
            return found

    def put(self, key: tuple[Any, ...], subset: tuple[bytes, dict[str, int]]) -> None:
        with self._lock:
            self._subsets[key] = subset
            while len(self._subsets) > self.size:
                self._subsets.popitem(last=False)


SUBSETS = SubsetCache(256)  # a subset of an invoice's two fonts is some 20-40 kB


def _subset(font: TTFFont) -> tuple[bytes, dict[str, int]]:
    """The font's program cut to the document's glyphs, and each glyph's id in it (as fpdf2 2.8.9 cuts it)."""
    glyph_names = font.subset.get_all_glyph_names()
    source = getattr(font.ttfont, "source", None)
    key = (source, tuple(sorted(set(glyph_names))))
    found = SUBSETS.get(key) if source is not None else None
    if found is not None:
        return found
    options = font_subset.Options(notdef_outline=True, recommended_glyphs=True)
    options.drop_tables += list(DROPPED_TABLES)
    subsetter = font_subset.Subsetter(options)
    subsetter.populate(glyphs=glyph_names)
    subsetter.subset(font.ttfont)
    glyph_ids = {name: font.ttfont.getGlyphID(name) for name in key[1]}
    program = io.BytesIO()
    font.ttfont.save(program)
    subset = (program.getvalue(), glyph_ids)
    if source is not None:
        SUBSETS.put(key, subset)
    return subset


def _to_unicode(font: TTFFont) -> str:
    entries = []
    for glyph, code in font.subset.items():
        if glyph is None or not isinstance(glyph.unicode, tuple) or not glyph.unicode:
            continue
        text = "".join(chr(point).encode("utf-16-be").hex().upper() for point in glyph.unicode)
        entries.append(f"<{code:04X}> <{text}>\n")
    return f"{TO_UNICODE_HEAD}{_build_cmap_blocks(entries, 'bfchar')}{TO_UNICODE_TAIL}"


def _cid_to_gid_map(code_to_glyph: dict[int, int]) -> bytes:
    mapping = bytearray(256 * 256 * 2)
    for code, glyph_id in code_to_glyph.items():
        mapping[code * 2:code * 2 + 2] = glyph_id.to_bytes(2, "big")
    return bytes(mapping)


class FontOutput(OutputProducer):
    """fpdf2's output, with plain TrueType fonts embedded by `_add_truetype_font`."""

    def _add_fonts(self, *args: Any) -> dict[int, Any]:
        fonts = sorted(self.fpdf.fonts.values(), key=lambda font: font.i)
        truetype = [font for font in fonts if isinstance(font, TTFFont) and not font.color_font and not font.is_cff]
        compliance = self.fpdf._compliance
        if len(truetype) < len(fonts) or (compliance and compliance.profile == "PDFA" and compliance.part == 1):
            return dict(super()._add_fonts(*args))
        return {font.i: self._add_truetype_font(font) for font in truetype}

    def _add_truetype_font(self, font: TTFFont) -> PDFFont:
        fontname = f"MPDFAA+{font.name}"
        if font.missing_glyphs:
            LOGGER.warning("Font %s is missing the following glyphs: %s", fontname,
                           ", ".join(repr(chr(code)) for code in font.missing_glyphs[:10]))
        program, glyph_ids = _subset(font)
        code_to_glyph = {code: glyph_ids[glyph.glyph_name] for glyph, code in font.subset.items() if glyph is not None}

        composite = PDFFont(subtype="Type0", base_font=fontname, encoding="Identity-H")
        self._add_pdf_obj(composite, "fonts")
        cid_font = PDFFont(subtype="CIDFontType2", base_font=fontname, d_w=font.desc.missing_width,
                           w=_tt_font_widths(font))
        self._add_pdf_obj(cid_font, "fonts")
        composite.descendant_fonts = PDFArray([cid_font])
        to_unicode = PDFContentStream(_to_unicode(font).encode("latin-1"))
        self._add_pdf_obj(to_unicode, "fonts")
        composite.to_unicode = to_unicode
        system_info = CIDSystemInfo()
        self._add_pdf_obj(system_info, "fonts")
        cid_font.c_i_d_system_info = system_info
        descriptor = font.desc
        descriptor.font_name = Name(fontname)
        self._add_pdf_obj(descriptor, "fonts")
        cid_font.font_descriptor = descriptor
        cid_to_gid = PDFContentStream(contents=_cid_to_gid_map(code_to_glyph), compress=True)
        self._add_pdf_obj(cid_to_gid, "fonts")
        cid_font.c_i_d_to_g_i_d_map = cid_to_gid
        font_file = PDFFontStream(contents=program)
        self._add_pdf_obj(font_file, "fonts")
        descriptor.font_file2 = font_file  # type: ignore[attr-defined]  # as fpdf2 sets it

        font.subset.pick.cache_clear()
        font.subset.get_glyph.cache_clear()
        font.close()
        return composite
