"""The page registry: which page needs which permission. app.py builds st.navigation from it."""

from __future__ import annotations

from dataclasses import dataclass

from billing.permissions import Actor, can


@dataclass(frozen=True)
class PageSpec:
    script: str
    title: str
    icon: str
    action: str  # the permission needed to open the page
    section: str
    url_path: str
    default: bool = False


PAGES: tuple[PageSpec, ...] = (
    PageSpec("app_pages/dashboard.py", "Dashboard", ":material/dashboard:", "reports.read", "Overview", "dashboard",
             default=True),
    PageSpec("app_pages/search.py", "Search", ":material/search:", "customers.read", "Overview", "search"),
    PageSpec("app_pages/invoices.py", "Invoices", ":material/receipt_long:", "invoices.read", "Billing", "invoices"),
    PageSpec("app_pages/quotes.py", "Quotes", ":material/request_page:", "invoices.read", "Billing", "quotes"),
    PageSpec("app_pages/recurring.py", "Recurring invoices", ":material/event_repeat:", "invoices.read", "Billing",
             "recurring"),
    PageSpec("app_pages/reminders.py", "Payment reminders", ":material/notifications_active:", "invoices.read",
             "Billing", "reminders"),
    PageSpec("app_pages/customers.py", "Customers", ":material/groups:", "customers.read", "Billing", "customers"),
    PageSpec("app_pages/payments.py", "Payments", ":material/payments:", "payments.read", "Billing", "payments"),
    PageSpec("app_pages/einvoice_check.py", "Check an e-invoice", ":material/fact_check:", "einvoice.check", "Billing",
             "einvoice-check"),
    PageSpec("app_pages/bank.py", "Bank statements", ":material/account_balance_wallet:", "payments.write", "Billing",
             "bank"),
    PageSpec("app_pages/revenue.py", "Revenue", ":material/bar_chart:", "reports.read", "Reports", "revenue"),
    PageSpec("app_pages/aging.py", "AR aging", ":material/hourglass_bottom:", "reports.read", "Reports", "aging"),
    PageSpec("app_pages/cash_collections.py", "Collections & cash", ":material/savings:", "reports.read", "Reports",
             "collections"),
    PageSpec("app_pages/statements.py", "Statements", ":material/request_quote:", "reports.read", "Reports",
             "statements"),
    PageSpec("app_pages/tax_report.py", "Tax report", ":material/account_balance:", "reports.read", "Reports",
             "tax-report"),
    PageSpec("app_pages/products.py", "Products", ":material/inventory_2:", "products.read", "Catalogue", "products"),
    PageSpec("app_pages/tax_rates.py", "Tax rates", ":material/percent:", "products.read", "Catalogue", "tax-rates"),
    PageSpec("app_pages/settings.py", "Settings", ":material/settings:", "settings.write", "Admin", "settings"),
    PageSpec("app_pages/outbox.py", "Outbox", ":material/outbox:", "settings.write", "Admin", "outbox"),
    PageSpec("app_pages/users.py", "Users", ":material/manage_accounts:", "users.manage", "Admin", "users"),
    PageSpec("app_pages/webhooks.py", "Webhooks", ":material/webhook:", "webhooks.manage", "Admin", "webhooks"),
    PageSpec("app_pages/audit_log.py", "Audit log", ":material/history:", "audit.read", "Admin", "audit-log"),
)

# Every signed-in user's own page (their password), whatever their role: not in the permission table.
ACCOUNT = PageSpec("app_pages/account.py", "My account", ":material/account_circle:", "", "Account", "account")


def pages_for(actor: Actor) -> list[PageSpec]:
    """The pages this actor may open, in menu order (the same table the services check)."""
    return [page for page in PAGES if can(actor, page.action)]
