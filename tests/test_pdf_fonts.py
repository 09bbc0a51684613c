"""The fonts embedded by billing.pdf_fonts: the same PDF, byte for byte, as fpdf2's own output writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fontTools import ttLib
from fpdf.output import OutputProducer

from billing.pdf_document import FONT_FAMILY, Document, font_cut_for
from billing.pdf_fonts import SUBSETS, DocumentTTFont, FontOutput, SubsetCache, _cid_to_gid_map

# fpdf2's "no date" date: with it, the XMP metadata of a PDF/A states no modification time either (else "now", which
# may tick between the two outputs compared).
NO_DATE = datetime(1969, 12, 31, 19, tzinfo=UTC)
TEXTS = ["Invoice INV-2026-00042 · Total 1.234,50 €", "Zakład Usług Łączności – Łódź", "Ωμέγα · Привет · Բարեւ · ẞ ≠ ∑"]


def _document(text: str, compliance: str | None) -> Document:
    pdf = Document(font_cut=font_cut_for(text), compliance=compliance, footer_text="Acme GmbH")
    pdf.set_creation_date(NO_DATE)
    pdf.add_page()
    pdf.cell(0, 6, text)
    pdf.ln()
    pdf.set_font(FONT_FAMILY, "B", 12)
    pdf.multi_cell(0, 6, text.upper())
    return pdf


@pytest.mark.parametrize("compliance", [None, "PDF/A-3B"])
@pytest.mark.parametrize("text", TEXTS)
def test_fonts_are_embedded_as_fpdf2_embeds_them(text: str, compliance: str | None) -> None:
    ours = bytes(_document(text, compliance).output(output_producer_class=FontOutput))
    theirs = bytes(_document(text, compliance).output(output_producer_class=OutputProducer))
    assert ours == theirs
    assert b"/FontFile2" in ours and b"/CIDToGIDMap" in ours


@pytest.mark.parametrize("text", TEXTS)
def test_a_kept_subset_gives_the_same_pdf_as_a_fresh_one(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("billing.pdf_fonts.SUBSETS", SubsetCache(8))
    from billing import pdf_fonts

    fresh = bytes(_document(text, None).output(output_producer_class=FontOutput))
    assert len(pdf_fonts.SUBSETS._subsets) == 2  # regular and bold, each for its glyphs
    kept = bytes(_document(text, None).output(output_producer_class=FontOutput))
    theirs = bytes(_document(text, None).output(output_producer_class=OutputProducer))
    assert kept == fresh == theirs
    assert len(pdf_fonts.SUBSETS._subsets) == 2
    other = bytes(_document(text + " 7", None).output(output_producer_class=FontOutput))
    assert other != fresh and len(pdf_fonts.SUBSETS._subsets) == 4  # a new glyph in either font: two more subsets


def test_the_subset_cache_keeps_the_subsets_used_last() -> None:
    cache = SubsetCache(2)
    for name in ("a", "b", "c"):
        cache.put((name,), (name.encode(), {}))
        cache.get(("a",))
    assert cache.get(("a",)) == (b"a", {}) and cache.get(("b",)) is None and cache.get(("c",)) == (b"c", {})
    assert SUBSETS.size >= 64


def test_an_unused_bold_font_is_embedded_as_fpdf2_embeds_it() -> None:
    pdf, reference = Document(), Document()
    for document in (pdf, reference):
        document.set_creation_date(NO_DATE)
        document.add_page()
    assert (bytes(pdf.output(output_producer_class=FontOutput))
            == bytes(reference.output(output_producer_class=OutputProducer)))


def test_cid_to_gid_map_holds_each_glyph_id_at_twice_its_code() -> None:
    mapping = _cid_to_gid_map({1: 3, 2: 0x1234, 0xFFFF: 7})
    assert len(mapping) == 2 * 65536
    assert mapping[2:6] == b"\x00\x03\x12\x34"
    assert mapping[-2:] == b"\x00\x07"
    assert mapping.count(0) == len(mapping) - 4  # 03, 12 34, 07


def test_document_font_lists_its_tables_as_fonttools_does() -> None:
    pdf = Document()
    font = next(iter(pdf.fonts.values())).ttfont
    assert isinstance(font, DocumentTTFont)
    tags = font.keys()
    assert tags == ttLib.TTFont.keys(font)
    assert tags[0] == "GlyphOrder" and {"head", "glyf", "loca", "hmtx", "cmap", "name"} <= set(tags)
    del font["name"]
    assert font.keys() == ttLib.TTFont.keys(font) == [tag for tag in tags if tag != "name"]
