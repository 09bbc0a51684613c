"""Helpers of the API tests that are not fixtures (imported as `from api_harness import ...`)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette

from api.app import api_mount, create_app
from api.ratelimit import TokenBuckets


@dataclass(frozen=True)
class Seeded:
    """The ids of what the API tests' template database holds besides the company and the users."""

    tax_rate_id: int
    customer_id: int
    product_id: int


def mounted(rate_limits: TokenBuckets | None = None) -> Starlette:
    """The API as app.py serves it: under /api (generous rate limits unless given)."""
    return Starlette(routes=[api_mount(create_app(rate_limits or TokenBuckets(rate=1000, burst=1000)))])
