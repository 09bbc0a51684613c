"""E-invoice files for the tests: the official examples in ../shared (beside the clone), small copies in
tests/data/einvoice, a Factur-X PDF made on the fly, and the hostile inputs an upload may be."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "einvoice"
VALID_UBL = DATA / "01.01a-INVOICE_ubl.xml"
VALID_CII = DATA / "01.01a-INVOICE_uncefact.xml"
BAD_BR_CO_16 = DATA / "05.01a-INVOICE_ubl.xml"


def shared_folder() -> Path | None:
    """shared/ beside the clone (CI), or beside the main checkout when this is a git worktree (sessions)."""
    candidates = [ROOT.parent / "shared"]
    git = ROOT / ".git"
    if git.is_file() and git.read_text().startswith("gitdir:"):  # .../main/.git/worktrees/<name>
        candidates.append(Path(git.read_text().split(":", 1)[1].strip()).parents[2].parent / "shared")
    return next((path.resolve() for path in candidates if (path / "einvoice" / "examples").is_dir()), None)


SHARED = shared_folder()
NO_SHARED = "../shared (the official e-invoice examples beside the clone) is missing"
EXAMPLES = SHARED / "einvoice" / "examples" if SHARED else DATA
CEN_UBL = sorted((SHARED / "en16931" / "ubl").glob("*.xml")) if SHARED else []
CEN_CII = sorted((EXAMPLES / "cen-cii").glob("*.xml")) if SHARED else []
XRECHNUNG = sorted((EXAMPLES / "xrechnung").glob("*.xml")) if SHARED else []
PEPPOL = sorted((EXAMPLES / "peppol").glob("*.xml")) if SHARED else []
ALL_EXAMPLES = CEN_UBL + CEN_CII + XRECHNUNG + PEPPOL
needs_shared = pytest.mark.skipif(SHARED is None, reason=NO_SHARED)


def example_ids(paths: list[Path]) -> list[str]:
    return [f"{path.parent.name}/{path.name}" for path in paths]


def facturx_pdf(xml: bytes) -> bytes:
    """A one-page PDF carrying `xml` as factur-x.xml (made with fpdf2 and the factur-x library)."""
    import facturx
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Invoice")
    return bytes(facturx.generate_from_binary(bytes(pdf.output()), xml, flavor="factur-x", level="en16931",
                                              check_xsd=False))


def plain_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text="Just a letter")
    return bytes(pdf.output())


BILLION_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
                  + b"".join(b' <!ENTITY lol%d "%s">\n' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
                             for n in range(1, 10))
                  + b']>\n<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&lol9;</Invoice>')
EXTERNAL_ENTITY = (b'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
                   b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&xxe;</Invoice>')
NETWORK_DTD = (b'<?xml version="1.0"?>\n<!DOCTYPE Invoice SYSTEM "http://example.invalid/evil.dtd">\n'
               b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>')
RANDOM_BYTES = bytes(range(256)) * 40
NOT_AN_INVOICE = b'<?xml version="1.0"?><Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>'
