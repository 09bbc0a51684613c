"""Quotes by e-mail and the customer's answer through the quote's link: the message with the quote PDF, the page,
Accept / Decline as POST forms guarded by a SameSite=Strict nonce, expired and answered quotes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import pytest
from pypdf import PdfReader
from sqlalchemy.engine import Connection
from starlette.applications import Starlette
from starlette.testclient import TestClient

from api.customer_link import MAX_FORM, ROUTES
from billing import attachments, audit, document_links, mailing, quotes
from billing.outbox import OutboxMessage
from billing.store.db import Database, forget_database, get_database
from tests.conftest import ADMIN, Billed, Seed, database_url, line

NOW = datetime(2025, 3, 10, 9, 30)
TODAY = NOW.date() + timedelta(days=1)  # the day the customer opens the link
BODY = "Hello {customer},\nquote {number} for {total}, valid until {due_date}:\n{link}"


@pytest.fixture
def served(db_path: Path, billed: Billed, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Database, TestClient]]:
    url = database_url(db_path)
    monkeypatch.setenv("BILLING_DATABASE_URL", url)
    with patch("api.customer_link.utcnow", return_value=NOW + timedelta(days=1)):
        yield get_database(url), TestClient(Starlette(routes=ROUTES))
    forget_database(url)


def new_quote(db: Database, seed: Seed, **extra: object) -> int:
    return quotes.create_quote(db, ADMIN, {"customer_id": seed.acme, "lines": [line(seed.s19, "3", "33.33")],
                                           **extra})


def mail_quote(db: Database, quote_id: int) -> OutboxMessage:
    message_id = mailing.send_document(db, ADMIN, "quote", quote_id, to=["buyer@acme.example"], cc=[],
                                       subject="Quote {number} from {company}", body=BODY, now=NOW)
    [message] = mailing.mail_history(db, ADMIN, quote_id, document_links.QUOTE).messages
    assert message.id == message_id
    return message


def token_of(db: Database, message: OutboxMessage) -> str:
    assert message.link_id is not None

    def work(conn: Connection) -> str:
        return document_links.token_for_link(conn, message.link_id or 0)
    return db.transaction(work)


def form_nonce(page: str) -> str:
    return page.split('name=nonce value="', 1)[1].split('"', 1)[0]


def test_sending_a_draft_quote_numbers_it_and_queues_it_with_its_pdf(served: tuple[Database, TestClient],
                                                                     seeded: Seed) -> None:
    db, _ = served
    quote_id = new_quote(db, seeded)
    draft = mailing.draft_for_document(db, ADMIN, "quote", quote_id, NOW.date())
    assert draft.to == ("ap@acme.example",) and "{number}" in draft.subject  # numbered when it is sent
    message = mail_quote(db, quote_id)
    sent = quotes.get_quote(db, ADMIN, quote_id)
    assert (sent.status, sent.number, sent.valid_until) == ("sent", "QUO-2025-00001", date(2025, 4, 9))
    assert (message.kind, message.recipients, message.subject) == (
        "quote", ("buyer@acme.example",), "Quote QUO-2025-00001 from Example GmbH")
    assert "€118.99" in message.body and "April 9, 2025" in message.body and "{link}" in message.body
    [spec] = message.attachments
    pdf = attachments.render(db, spec)
    assert pdf.filename == "QUO-2025-00001.pdf"
    text = PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text()
    assert "QUOTE" in text and "QUO-2025-00001" in text
    [link] = mailing.mail_history(db, ADMIN, quote_id, document_links.QUOTE).links
    assert link.document_kind == "quote" and link.id == message.link_id
    events, _ = audit.list_events(db, ADMIN, entity="quote")
    assert {"quote.send", "quote.mail"} <= {event["action"] for event in events}


def test_an_invoice_with_the_same_id_keeps_its_own_history(served: tuple[Database, TestClient], seeded: Seed,
                                                           billed: Billed) -> None:
    db, _ = served
    quote_id = new_quote(db, seeded)
    assert quote_id == billed.a  # quotes and invoices count their ids apart
    mail_quote(db, quote_id)
    history = mailing.mail_history(db, ADMIN, billed.a)
    assert history.messages == () and history.links == ()


def test_sending_a_quote_through_the_automation_uses_the_outbox(served: tuple[Database, TestClient],
                                                                seeded: Seed) -> None:
    db, _ = served
    quote_id = new_quote(db, seeded)
    quotes.send_quote(db, ADMIN, quote_id, NOW.date())
    [message] = mailing.mail_history(db, ADMIN, quote_id, document_links.QUOTE).messages
    assert message.recipients == ("ap@acme.example",) and message.subject == "Quote QUO-2025-00001 from Example GmbH"


def test_the_page_shows_the_quote_and_its_answer_forms(served: tuple[Database, TestClient], seeded: Seed) -> None:
    db, client = served
    quote_id = new_quote(db, seeded, notes="<script>x</script>")
    token = token_of(db, mail_quote(db, quote_id))
    answer = client.get(f"/d/{token}")
    assert answer.status_code == 200
    page = answer.text
    assert "Quote QUO-2025-00001 from Example GmbH" in page and "Acme GmbH" in page
    assert "Valid until 2025-04-09" in page and "€99.99" in page and "€118.99" in page
    assert f'action="{token}/accept"' in page and f'action="{token}/decline"' in page and "<script" not in page
    assert "form-action 'self'" in answer.headers["content-security-policy"]
    assert "script-src" not in answer.headers["content-security-policy"]
    cookie = answer.headers["set-cookie"].lower()
    assert "samesite=strict" in cookie and "httponly" in cookie and f"path=/d/{token}".lower() in cookie
    pdf = client.get(f"/d/{token}/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "QUOTE" in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()


@pytest.mark.parametrize(("action", "status", "said"), [("accept", "accepted", "You accepted this quote on"),
                                                        ("decline", "declined", "You declined this quote on")])
def test_the_customer_answers_once(served: tuple[Database, TestClient], seeded: Seed, action: str, status: str,
                                   said: str) -> None:
    db, client = served
    quote_id = new_quote(db, seeded)
    message = mail_quote(db, quote_id)
    token = token_of(db, message)
    nonce = form_nonce(client.get(f"/d/{token}").text)
    answer = client.post(f"/d/{token}/{action}", data={"nonce": nonce}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, f"/d/{token}")
    decided = quotes.get_quote(db, ADMIN, quote_id)
    assert (decided.status, decided.decided_on) == (status, TODAY)
    assert decided.decided_by == f"customer via link {message.link_id}"
    events, _ = audit.list_events(db, ADMIN, entity="quote", action=f"quote.{action}")
    assert len(events) == 1
    page = client.get(f"/d/{token}").text
    assert said in page and "/accept" not in page
    other = "decline" if action == "accept" else "accept"
    nonce = form_nonce(client.get(f"/d/{token}").text) if "nonce" in page else nonce
    client.post(f"/d/{token}/{other}", data={"nonce": nonce})
    assert quotes.get_quote(db, ADMIN, quote_id).status == status  # answered once


def test_a_forged_post_without_the_pages_nonce_changes_nothing(served: tuple[Database, TestClient],
                                                               seeded: Seed) -> None:
    db, client = served
    quote_id = new_quote(db, seeded)
    token = token_of(db, mail_quote(db, quote_id))
    assert client.post(f"/d/{token}/accept", data={"nonce": "guess"}, follow_redirects=False).status_code == 303
    nonce = form_nonce(client.get(f"/d/{token}").text)
    client.cookies.clear()  # another site's form: the SameSite=Strict cookie is not sent with it
    client.post(f"/d/{token}/accept", data={"nonce": nonce})
    assert quotes.get_quote(db, ADMIN, quote_id).status == "sent"


def test_an_oversized_answer_is_refused(served: tuple[Database, TestClient], seeded: Seed) -> None:
    db, client = served
    quote_id = new_quote(db, seeded)
    token = token_of(db, mail_quote(db, quote_id))
    nonce = form_nonce(client.get(f"/d/{token}").text)
    padded = client.post(f"/d/{token}/accept", content=f"nonce={nonce}&pad={'x' * MAX_FORM}",
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert padded.status_code == 413 and quotes.get_quote(db, ADMIN, quote_id).status == "sent"


def test_an_expired_quote_says_so_and_takes_no_answer(served: tuple[Database, TestClient], seeded: Seed) -> None:
    db, client = served
    quote_id = new_quote(db, seeded, issue_date="2025-03-01", valid_until="2025-03-05")
    token = token_of(db, mail_quote(db, quote_id))
    page = client.get(f"/d/{token}").text
    assert "This quote expired on 2025-03-05" in page and "/accept" not in page
    client.cookies.set("quote_answer", "n", path=f"/d/{token}")
    client.post(f"/d/{token}/accept", data={"nonce": "n"})
    assert quotes.get_quote(db, ADMIN, quote_id).status == "sent"


def test_a_revoked_quote_link_opens_nothing(served: tuple[Database, TestClient], seeded: Seed) -> None:
    db, client = served
    quote_id = new_quote(db, seeded)
    message = mail_quote(db, quote_id)
    token = token_of(db, message)
    document_links.revoke_link(db, ADMIN, message.link_id or 0, NOW)
    assert client.get(f"/d/{token}").status_code == 404
    client.cookies.set("quote_answer", "n", path=f"/d/{token}")
    assert client.post(f"/d/{token}/accept", data={"nonce": "n"}).status_code == 404
    assert quotes.get_quote(db, ADMIN, quote_id).status == "sent"
