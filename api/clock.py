"""Today as the books see it: the date in the company's time zone (as the portal dates what it issues)."""

from __future__ import annotations

from billing.settings import company_today

__all__ = ["company_today"]
