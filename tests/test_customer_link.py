"""The customer's link: the document, its PDF and how to pay it without signing in; unguessable, expiring,
revocable; recorded when first opened; nothing else reachable."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader
from sqlalchemy.engine import Connection
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.customer_link import ROUTES
from billing import customers, document_links, mailing, payments, settings
from billing.einvoice.validation import validate_bytes
from billing.store import outbox as store
from billing.store.db import Database, forget_database, get_database
from tests.conftest import ADMIN, Billed, Seed, database_url, header

NOW = datetime(2025, 3, 10, 9, 30)
IBAN = "DE89370400440532013000"


@pytest.fixture
def served(db_path: Path, billed: Billed, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Database, TestClient]]:
    url = database_url(db_path)
    monkeypatch.setenv("BILLING_DATABASE_URL", url)
    database = get_database(url)
    company = settings.get_company(database) or {}
    settings.save_company(database, ADMIN, {**{k: company[k] for k in ("legal_name", "country", "tax_id",
                                                                       "base_currency", "timezone")},
                                            "iban": IBAN, "bic": "COBADEFFXXX",
                                            "address": "Hauptstr. 1\n10115 Berlin <b>x</b>"})
    with patch("api.customer_link.utcnow", return_value=NOW + timedelta(days=1)):
        yield database, TestClient(Starlette(routes=ROUTES))
    forget_database(url)


def link_token(db: Database, document_id: int, days: int = 90) -> tuple[int, str]:
    def work(conn: Connection) -> tuple[int, str]:
        link_id = document_links.create_link(conn, document_id, NOW, days)
        return link_id, document_links.token_for_link(conn, link_id)
    return db.transaction(work)


def test_page_shows_the_document_status_and_how_to_pay(served: tuple[Database, TestClient], billed: Billed) -> None:
    db, client = served
    _, token = link_token(db, billed.a)
    answer = client.get(f"/d/{token}")
    assert answer.status_code == 200
    page = answer.text
    assert "Invoice INV-2025-00001 from Example GmbH" in page and "Acme GmbH" in page
    assert "€119.00" in page and "Open" in page
    assert "DE89 3704 0044 0532 0130 00" in page and "COBADEFFXXX" in page and "RF" in page
    assert "<svg" in page and "Download PDF" in page
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page  # the seller's text is escaped
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script" not in csp
    assert answer.headers["referrer-policy"] == "no-referrer" and answer.headers["cache-control"] == "no-store"


def scanned_svg(page: str, folder: Path) -> str:
    """The page's QR code as a phone reads it: its SVG's dark rectangles drawn into an image, decoded by zbar."""
    svg = page[page.index("<svg"):page.index("</svg>")]
    side = int(re.search(r'width="(\d+)"', svg).group(1))  # type: ignore[union-attr]
    image = Image.new("L", (side, side), 255)
    draw = ImageDraw.Draw(image)
    for x, y, width, height in re.findall(r'<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)"/>', svg):
        draw.rectangle((int(x), int(y), int(x) + int(width) - 1, int(y) + int(height) - 1), fill=0)
    image.save(folder / "qr.png")
    found = subprocess.run(["zbarimg", "--raw", "-q", "-Sbinary", "-Sdisable", "-Sqrcode.enable",
                            str(folder / "qr.png")], capture_output=True, check=True)
    return found.stdout.decode("utf-8")


@pytest.mark.skipif(not shutil.which("zbarimg"), reason="needs zbarimg (Debian's zbar-tools, in scripts/test.sh)")
def test_a_partly_paid_invoice_asks_for_what_is_still_due(served: tuple[Database, TestClient], billed: Billed,
                                                          seeded: Seed, tmp_path: Path) -> None:
    db, client = served
    payments.record_payment(db, ADMIN, {"customer_id": seeded.acme, "currency": "EUR", "amount": "19.00",
                                        "received_on": NOW.date(), "method": "bank_transfer"}, [(billed.a, "19.00")])
    _, token = link_token(db, billed.a)
    page = client.get(f"/d/{token}").text
    how = page[page.index("How to pay"):]
    assert "<th>Amount</th><td>€100.00</td>" in how and "<th>BIC</th><td>COBADEFFXXX</td>" in how
    assert scanned_svg(page, tmp_path).split("\n") == ["BCD", "002", "1", "SCT", "COBADEFFXXX", "Example GmbH", IBAN,
                                                        "EUR100.00", "", "RF81INV202500001"]


def test_pdf_downloads(served: tuple[Database, TestClient], billed: Billed) -> None:
    db, client = served
    _, token = link_token(db, billed.a)
    answer = client.get(f"/d/{token}/pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert 'filename="INV-2025-00001.pdf"' in answer.headers["content-disposition"]
    assert "INV-2025-00001" in PdfReader(io.BytesIO(answer.content)).pages[0].extract_text()


def test_first_opening_is_recorded(served: tuple[Database, TestClient], billed: Billed) -> None:
    db, client = served
    link_id, token = link_token(db, billed.a)
    client.get(f"/d/{token}")
    client.get(f"/d/{token}")
    [link] = mailing.mail_history(db, ADMIN, billed.a).links
    assert link.id == link_id and link.first_opened_at == NOW + timedelta(days=1) and link.open_count == 2


def test_only_the_hash_is_stored(served: tuple[Database, TestClient], billed: Billed) -> None:
    db, _ = served
    link_id, token = link_token(db, billed.a)
    with db.connect() as conn:
        row = store.link(conn, link_id) or {}
    assert token not in str(row.values()) and row["token_hash"] == document_links.hash_of(token)
    assert len(token) >= 43  # 256 bits


@pytest.mark.parametrize("case", ["expired", "revoked", "unknown", "other-suffix", "tampered"])
def test_invalid_links_open_nothing(served: tuple[Database, TestClient], billed: Billed, case: str) -> None:
    db, client = served
    link_id, token = link_token(db, billed.a, days=1 if case == "expired" else 90)
    if case == "revoked":
        document_links.revoke_link(db, ADMIN, link_id, NOW)
    path = {"unknown": "/d/" + "A" * 43, "other-suffix": f"/d/{token}/edit",
            "tampered": f"/d/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}"}.get(case, f"/d/{token}")
    for suffix in ("", "/pdf") if case != "other-suffix" else ("",):
        answer = client.get(path + suffix)
        assert answer.status_code == 404
        assert "INV-2025" not in answer.text and "Acme" not in answer.text


def test_the_e_invoice_downloads_in_the_customers_format_only(served: tuple[Database, TestClient],
                                                              billed: Billed) -> None:
    db, client = served
    _, token = link_token(db, billed.a)
    assert "Download e-invoice" not in client.get(f"/d/{token}").text
    assert client.get(f"/d/{token}/einvoice").status_code == 404  # the customer prefers no format
    acme = customers.get_customer(db, ADMIN, header(db, billed.a).customer_id)
    customers.update_customer(db, ADMIN, acme["id"], {
        **{key: acme[key] for key in ("name", "email", "address", "country", "tax_id", "currency", "terms_days")},
        "einvoice_format": "cii"})
    assert "Download e-invoice (UN/CEFACT CII (EN 16931))" in client.get(f"/d/{token}").text
    answer = client.get(f"/d/{token}/einvoice")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/xml"
    assert 'filename="INV-2025-00001-cii.xml"' in answer.headers["content-disposition"]
    assert validate_bytes(answer.content).valid
    assert answer.headers["content-security-policy"].startswith("default-src 'none'")
    assert client.get("/d/not-a-token/einvoice").status_code == 404
