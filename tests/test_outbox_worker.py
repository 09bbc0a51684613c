"""Sending the outbox to a real SMTP server: what arrives, retries, failures, the lease."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from pypdf import PdfReader

from billing import customer_view, customers, drawing_pool, leases, mailing, outbox, outbox_worker
from billing.einvoice import export
from billing.einvoice.validation import validate_bytes
from billing.mail_settings import MailSettings, save_mail_settings
from billing.store.db import Database
from tests.conftest import ADMIN, Billed, Seed, header
from tests.mail_server import Mailbox, dropping_server, free_port, smtp_server

NOW = datetime(2025, 3, 10, 9, 30)


def configure(db: Database, url: str) -> None:
    save_mail_settings(db, ADMIN, MailSettings(smtp_url=url, sender_name="Example GmbH",
                                               sender_email="billing@example.com", reply_to="ar@example.com",
                                               public_url="https://billing.example.com"), password=None, now=NOW)


def send(db: Database, document_id: int, **extra: object) -> int:
    values: dict[str, object] = {"to": ["ap@acme.example"], "cc": [], "subject": "Invoice {number}",
                                 "body": "Pay {total} by {due_date}: {link}", **extra}
    return mailing.send_document(db, ADMIN, "invoice", document_id, now=NOW, **values)  # type: ignore[arg-type]


def status(db: Database, message_id: int) -> outbox.OutboxMessage:
    with db.connect() as conn:
        return outbox.from_row(outbox.store.message(conn, message_id) or {})


@pytest.fixture
def mailbox(db: Database) -> Iterator[Mailbox]:
    with smtp_server() as (url, box):
        configure(db, url)
        yield box


def test_message_arrives_with_recipients_subject_body_and_pdf(db: Database, billed: Billed, mailbox: Mailbox) -> None:
    message_id = send(db, billed.a, cc=["boss@acme.example"])
    report = outbox_worker.send_due(db, NOW)
    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [item] = mailbox.received
    assert item.sender == "billing@example.com"
    assert sorted(item.recipients) == ["ap@acme.example", "boss@acme.example"]
    message = item.message
    assert message["Subject"] == "Invoice INV-2025-00001" and message["Cc"] == "boss@acme.example"
    assert message["From"] == "Example GmbH <billing@example.com>" and message["Reply-To"] == "ar@example.com"
    assert message["Message-ID"] == status(db, message_id).message_id
    body = message.get_body(("plain",)).get_content()
    assert "Pay €119.00 by March 24, 2025: https://billing.example.com/d/" in body
    [pdf] = list(message.iter_attachments())
    assert pdf.get_filename() == "INV-2025-00001.pdf" and pdf.get_content_type() == "application/pdf"
    text = PdfReader(io.BytesIO(pdf.get_content())).pages[0].extract_text()
    assert "INV-2025-00001" in text
    sent = status(db, message_id)
    assert (sent.status, sent.attempts, sent.sent_at) == (outbox.SENT, 1, NOW)
    assert outbox_worker.send_due(db, NOW + timedelta(hours=1)).sent == 0  # never twice


def test_history_shows_the_message_and_its_link(db: Database, billed: Billed, mailbox: Mailbox) -> None:
    send(db, billed.a)
    outbox_worker.send_due(db, NOW)
    history = mailing.mail_history(db, ADMIN, billed.a)
    assert [m.status for m in history.messages] == [outbox.SENT]
    assert history.messages[0].recipients == ("ap@acme.example",)
    [link] = history.links
    assert link.first_opened_at is None and link.expires_at == NOW + timedelta(days=90)


def test_temporary_refusal_is_retried_with_backoff_then_sent(db: Database, billed: Billed, mailbox: Mailbox) -> None:
    message_id = send(db, billed.a)
    mailbox.reply = "451 4.3.0 Try again later"
    report = outbox_worker.send_due(db, NOW)
    assert report.retried == 1
    waiting = status(db, message_id)
    assert waiting.status == outbox.QUEUED and "451" in waiting.last_error
    assert waiting.next_attempt_at == NOW + timedelta(minutes=1)
    assert outbox_worker.send_due(db, NOW + timedelta(seconds=30)).retried == 0  # not due yet
    mailbox.reply = "250 OK"
    assert outbox_worker.send_due(db, NOW + timedelta(minutes=1)).sent == 1
    assert len(mailbox.received) == 1 and status(db, message_id).attempts == 2


def test_permanent_refusal_fails_with_the_servers_reply_and_can_be_sent_again(
        db: Database, billed: Billed, mailbox: Mailbox) -> None:
    message_id = send(db, billed.a)
    mailbox.reply = "550 5.1.1 Mailbox unavailable"
    assert outbox_worker.send_due(db, NOW).failed == 1
    failed = status(db, message_id)
    assert failed.status == outbox.FAILED and failed.last_error == "550 5.1.1 Mailbox unavailable"
    mailbox.reply = "250 OK"
    mailing.resend(db, ADMIN, message_id, NOW + timedelta(minutes=5))
    assert outbox_worker.send_due(db, NOW + timedelta(minutes=5)).sent == 1
    assert mailbox.message_ids() == [failed.message_id]


@pytest.mark.parametrize("server", ["refused", "dropped"])
def test_unreachable_server_leads_to_retries_then_failed_not_a_lost_message(
        db: Database, billed: Billed, server: str) -> None:
    def run(url: str) -> outbox.OutboxMessage:
        configure(db, url)
        message_id = send(db, billed.a)
        moment = NOW
        for _ in range(outbox_worker.MAX_ATTEMPTS):
            outbox_worker.send_due(db, moment)
            moment += outbox_worker.LONGEST_RETRY
        return status(db, message_id)

    if server == "refused":
        final = run(f"smtp://127.0.0.1:{free_port()}")
    else:
        with dropping_server() as url:
            final = run(url)
    assert final.status == outbox.FAILED and final.attempts == outbox_worker.MAX_ATTEMPTS
    assert final.last_error.startswith(f"Gave up after {outbox_worker.MAX_ATTEMPTS} attempts: Connection to 127.0.0.1")


def test_nothing_is_sent_while_another_runner_holds_the_lease(db: Database, billed: Billed, mailbox: Mailbox) -> None:
    send(db, billed.a)
    assert leases.acquire(db, outbox_worker.LEASE, "other-process", NOW, timedelta(minutes=2))
    assert outbox_worker.send_due(db, NOW, holder="me").busy
    assert outbox_worker.send_due(db, NOW + timedelta(minutes=3), holder="me").sent == 1


def test_an_attempt_cut_off_is_sent_again_with_the_same_message_id(db: Database, billed: Billed,
                                                                    mailbox: Mailbox) -> None:
    message_id = send(db, billed.a)
    assert db.transaction(lambda conn: outbox.store.claim(conn, [message_id], NOW, NOW + outbox_worker.ATTEMPT_TIME))
    assert outbox_worker.send_due(db, NOW + timedelta(minutes=1), holder="restarted").sent == 0
    assert outbox_worker.send_due(db, NOW + outbox_worker.ATTEMPT_TIME, holder="restarted").sent == 1
    assert mailbox.message_ids() == [status(db, message_id).message_id]


def queue_plain(db: Database, count: int) -> None:
    db.transaction(lambda conn: [outbox.enqueue(conn, kind="test", to=[f"c{n}@example.com"], subject=f"Message {n}",
                                                body="Hello", now=NOW, created_by="test") for n in range(count)])


def test_each_message_is_taken_only_once_the_one_before_is_recorded_as_sent(db: Database, mailbox: Mailbox) -> None:
    queue_plain(db, 4)
    recorded_when_taken: list[int] = []

    def count_sent() -> None:
        with db.connect() as conn:
            recorded_when_taken.append(outbox.store.counts_by_status(conn).get(outbox.SENT, 0))

    mailbox.on_receive = count_sent
    assert outbox_worker.send_due(db, NOW).sent == 4
    assert recorded_when_taken == [0, 1, 2, 3]  # never two messages taken and not yet recorded


def test_lines_starting_with_a_dot_arrive_as_written(db: Database, mailbox: Mailbox) -> None:
    body = ".\n.. two dots\n.one\nend\n"  # a lone dot would end the message if it were not doubled on the wire
    db.transaction(lambda conn: outbox.enqueue(conn, kind="test", to=["c@example.com"], subject="Dots", body=body,
                                               now=NOW, created_by="test"))
    assert outbox_worker.send_due(db, NOW).sent == 1
    [item] = mailbox.received
    assert item.message.get_body(("plain",)).get_content().replace("\r\n", "\n") == body


def test_a_full_batch_says_more_is_due_and_the_rest_follows(db: Database, mailbox: Mailbox) -> None:
    queue_plain(db, 3)
    first = outbox_worker.send_due(db, NOW, limit=2)
    assert (first.sent, first.more_due) == (2, True)
    second = outbox_worker.send_due(db, NOW, limit=2)
    assert (second.sent, second.more_due) == (1, False)
    assert len(mailbox.received) == 3


def test_no_smtp_server_keeps_messages_queued(db: Database, billed: Billed) -> None:
    message_id = send(db, billed.a)
    report = outbox_worker.send_due(db, NOW)
    assert report.not_configured and status(db, message_id).status == outbox.QUEUED


def without_moment(pdf: bytes) -> bytes:
    """A PDF without the time it was drawn (to the second) and the file id derived from it: drawn twice, the same."""
    return re.sub(rb"/ID \[<[0-9A-F]+><[0-9A-F]+>\]", b"/ID []",
                  re.sub(rb"/CreationDate \(D:[^)]*\)", b"/CreationDate ()", pdf))


def test_pdfs_drawn_in_the_drawing_processes_are_the_customers_download(
        db: Database, billed: Billed, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(drawing_pool, "POOL_FROM", 2)
    documents = [billed.a, billed.b, billed.c, billed.a]
    for document_id in documents:
        send(db, document_id)
    try:
        assert outbox_worker.send_due(db, NOW).sent == len(documents)
        assert (drawing_pool._pool is not None) == (drawing_pool.processes() > 0)  # drawn in other processes
    finally:
        drawing_pool.shutdown()
    for document_id, item in zip(documents, mailbox.received, strict=True):
        token = item.message.get_body(("plain",)).get_content().split("/d/")[1].split()[0]
        name, download = customer_view.document_pdf(db, token, NOW, NOW.date()) or ("", b"")
        [pdf] = list(item.message.iter_attachments())
        assert pdf.get_filename() == name == f"{header(db, document_id).number}.pdf"
        assert without_moment(pdf.get_content()) == without_moment(download)
    assert len({without_moment(pdf) for item in mailbox.received for pdf in
                [next(item.message.iter_attachments()).get_content()]}) == 3  # three invoices, one sent twice


def test_a_pool_that_cannot_take_work_leaves_the_drawing_to_the_sender(db: Database, billed: Billed) -> None:
    from concurrent.futures import ProcessPoolExecutor

    from billing import attachments

    [drawing] = attachments.read_all(db, attachments.document_specs("invoice", billed.a, NOW.date()))
    assert isinstance(drawing, attachments.Drawing)
    stopped = ProcessPoolExecutor(1)
    stopped.shutdown()
    drawn = drawing_pool.submit(drawing, stopped)  # refused by the stopped pool: drawn here
    assert drawn.done() and drawing_pool.result(drawn, drawing).data.startswith(b"%PDF")


def prefer(db: Database, customer_id: int, fmt: str) -> None:
    current = customers.get_customer(db, ADMIN, customer_id)
    customers.update_customer(db, ADMIN, customer_id, {
        **{key: current[key] for key in ("name", "email", "address", "country", "tax_id", "currency", "terms_days",
                                         "notes")}, "einvoice_format": fmt})


def test_the_e_invoice_in_the_customers_format_is_attached_as_its_download(
        db: Database, seeded: Seed, billed: Billed, mailbox: Mailbox) -> None:
    prefer(db, seeded.acme, "ubl")
    assert mailing.draft_for_document(db, ADMIN, "invoice", billed.a, NOW.date()).einvoice_format == "ubl"
    send(db, billed.a)
    assert outbox_worker.send_due(db, NOW).sent == 1
    [item] = mailbox.received
    pdf, xml = item.message.iter_attachments()
    assert pdf.get_filename() == "INV-2025-00001.pdf"
    assert (xml.get_filename(), xml.get_content_type()) == ("INV-2025-00001-ubl.xml", "application/xml")
    name, media_type, download = export.export_document(db, ADMIN, billed.a, "ubl", today=lambda: NOW.date())
    assert (name, media_type) == (xml.get_filename(), xml.get_content_type())
    assert xml.get_content() == download and validate_bytes(download).valid


def test_an_e_invoice_the_document_cannot_give_fails_the_message_saying_why(
        db: Database, seeded: Seed, billed: Billed, mailbox: Mailbox) -> None:
    prefer(db, seeded.acme, "xrechnung-ubl")  # needs a buyer reference, the seller's contact... which are not set
    message_id = send(db, billed.a)
    report = outbox_worker.send_due(db, NOW)
    assert (report.sent, report.failed, mailbox.received) == (0, 1, [])
    failed = status(db, message_id)
    assert failed.status == outbox.FAILED and "XRechnung 3.0 (UBL) needs" in failed.last_error


def test_a_credit_note_and_a_statement_arrive_with_their_pdfs(db: Database, seeded: Seed, billed: Billed,
                                                              mailbox: Mailbox) -> None:
    from datetime import date

    from billing import credit_notes
    from billing.reports.statements import customer_statement

    note = credit_notes.create_credit_note(db, ADMIN, billed.c, NOW.date())
    mailing.send_document(db, ADMIN, "credit_note", note, to=["ap@acme.example"], cc=[], subject="Credit {number}",
                          body="{link}", now=NOW)
    statement = customer_statement(db, ADMIN, seeded.acme, "EUR", date(2025, 1, 1), NOW.date())
    mailing.send_statement(db, ADMIN, statement, to=["ap@acme.example"], cc=[], subject="Your statement",
                           body="Attached.", now=NOW)
    assert outbox_worker.send_due(db, NOW).sent == 2
    credit, sent_statement = mailbox.received
    [pdf] = list(credit.message.iter_attachments())
    number = header(db, note).number
    assert credit.message["Subject"] == f"Credit {number}" and pdf.get_filename() == f"{number}.pdf"
    assert number in PdfReader(io.BytesIO(pdf.get_content())).pages[0].extract_text()
    [link] = mailing.mail_history(db, ADMIN, note).links
    assert link.expires_at == NOW + timedelta(days=90)  # the default
    [listing] = list(sent_statement.message.iter_attachments())
    assert listing.get_filename() == f"statement-{seeded.acme}-EUR-{NOW.date().isoformat()}.pdf"
    assert "INV-2025-00001" in PdfReader(io.BytesIO(listing.get_content())).pages[0].extract_text()
