"""AppTest of the Webhooks page (admin): an endpoint added (its secret shown once), changed; a delivery with its
attempts, resent."""

from __future__ import annotations

from portal import AS_OF, app_as, ok

from billing import invoices
from billing.permissions import SYSTEM, Actor
from billing.store.db import Database
from billing.webhooks import endpoints, worker
from ui.pages import pages_for


def test_only_admins_see_the_page() -> None:
    assert [p.title for p in pages_for(Actor("x", "admin")) if p.title == "Webhooks"] == ["Webhooks"]
    assert all(p.title != "Webhooks" for role in ("accountant", "analyst") for p in pages_for(Actor("x", role)))


def test_an_admin_adds_an_endpoint_and_follows_its_deliveries(db: Database) -> None:
    at = ok(app_as("admin", "app_pages/webhooks.py"))
    assert "No webhook endpoints yet." in [c.value for c in at.caption]
    next(t for t in at.text_input if t.label == "Endpoint URL").input("https://erp.example.com/hooks")
    next(t for t in at.text_input if t.label == "Description").input("ERP")
    next(m for m in at.multiselect if m.label == "Events").set_value(["invoice.issued"])
    at = ok(next(b for b in at.button if b.label == "Add endpoint").click().run())
    secret = at.code[0].value
    [endpoint] = endpoints.list_endpoints(db, SYSTEM)
    assert secret.startswith("whsec_") and endpoint.url == "https://erp.example.com/hooks"
    draft = invoices.list_invoices(db, SYSTEM, AS_OF, status="draft")[0][0].id
    invoices.issue_invoice(db, SYSTEM, draft, today=AS_OF)
    worker.run_once(db, as_of=AS_OF)  # example.com does not resolve here, or answers 405: an attempt that failed
    at = ok(app_as("admin", "app_pages/webhooks.py"))
    assert secret not in str([c.value for c in at.code])
    deliveries = at.dataframe[-2].value
    assert deliveries["Event"].tolist() == ["invoice.issued"] and deliveries["Attempts"].tolist() == [1]
    assert at.dataframe[-1].value["HTTP status"].size == 1  # the attempt
    at = ok(next(b for b in at.button if b.label == "Resend").click().run())
    assert endpoints.deliveries_before(db, SYSTEM, before_id=None, limit=1)[0].status == "pending"
    next(c for c in at.checkbox if c.label.startswith("Active")).uncheck()
    at = ok(next(b for b in at.button if b.label == "Save endpoint").click().run())
    assert not endpoints.list_endpoints(db, SYSTEM)[0].active


def test_a_private_url_is_refused_on_the_page(db: Database) -> None:
    at = app_as("admin", "app_pages/webhooks.py")
    next(t for t in at.text_input if t.label == "Endpoint URL").input("http://169.254.169.254/")
    at = next(b for b in at.button if b.label == "Add endpoint").click().run()
    assert any("loopback or private" in e.value for e in at.error)
    assert endpoints.list_endpoints(db, SYSTEM) == []
