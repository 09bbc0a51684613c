"""The outbox's public entry: messages written in the caller's transaction, de-duplicated, checked."""

from __future__ import annotations

from datetime import datetime

import pytest

from billing import customers, outbox
from billing.errors import StateError, ValidationError
from billing.models import CustomerIn
from billing.store.db import Database
from tests.conftest import ADMIN, Billed, Seed, draft, line

NOW = datetime(2025, 3, 10, 9, 30)


def queue(db: Database, document_id: int, **extra: object) -> int:
    return db.transaction(lambda conn: outbox.enqueue_document(conn, "invoice", document_id, now=NOW,
                                                               created_by="alice", **extra))  # type: ignore[arg-type]


def message(db: Database, message_id: int) -> outbox.OutboxMessage:
    with db.connect() as conn:
        return outbox.from_row(outbox.store.message(conn, message_id) or {})


def test_invoice_is_queued_to_the_customer_with_template_filled_and_pdf(db: Database, billed: Billed) -> None:
    sent = message(db, queue(db, billed.a, cc=["boss@acme.example"]))
    assert sent.recipients == ("ap@acme.example",) and sent.cc == ("boss@acme.example",)
    assert sent.subject == "Invoice INV-2025-00001 from Example GmbH"
    assert "€119.00" in sent.body and "March 24, 2025" in sent.body and "{link}" in sent.body
    assert [spec.kind for spec in sent.attachments] == ["document_pdf"]
    assert sent.status == outbox.QUEUED and sent.attempts == 0 and sent.link_id is not None
    assert sent.message_id.startswith("<") and sent.message_id.endswith(">")


def test_same_dedupe_key_queues_once(db: Database, billed: Billed) -> None:
    first = queue(db, billed.a, dedupe_key="reminder:1:7")
    assert queue(db, billed.a, dedupe_key="reminder:1:7") == first
    assert queue(db, billed.a, dedupe_key="reminder:1:14") != first


def test_draft_is_refused(db: Database, seeded: Seed) -> None:
    with pytest.raises(StateError, match="issued"):
        queue(db, draft(db, seeded.acme, line(seeded.s19)))


@pytest.mark.parametrize(("to", "problem"), [([], "at least one"), (["not-an-address"], "not an e-mail"),
                                              (["a@b.example, x y@z"], "not an e-mail")])
def test_bad_recipients_are_refused(db: Database, billed: Billed, to: list[str], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        queue(db, billed.a, to=to)


def test_braces_typed_or_filled_in_stay_as_they_are(db: Database, billed: Billed) -> None:
    sent = message(db, queue(db, billed.a, subject="Invoice {number} {EU}", body="{customer}: {total:>10}"))
    assert sent.subject == "Invoice INV-2025-00001 {EU}" and sent.body == "Acme GmbH: {total:>10}"


def test_an_empty_subject_is_refused(db: Database, billed: Billed) -> None:
    with pytest.raises(ValidationError, match="subject and a body"):
        queue(db, billed.a, subject=" ")


def test_a_german_customer_gets_the_e_mail_in_german_with_german_amounts_and_dates(db: Database, seeded: Seed,
                                                                                 billed: Billed) -> None:
    """No template of its own for German: the built-in German wording, the amount and date as Germany writes them."""
    current = customers.get_customer(db, ADMIN, seeded.acme)
    kept = {name: current[name] for name in CustomerIn.model_fields if name in current}
    customers.update_customer(db, ADMIN, seeded.acme, kept | {"language": "de", "country": "DE"})
    sent = message(db, queue(db, billed.a))
    assert sent.subject == "Rechnung INV-2025-00001 von Example GmbH" and sent.body.startswith("Guten Tag Acme GmbH,")
    assert "119,00\xa0€" in sent.body and "24. März 2025" in sent.body and "{link}" in sent.body
