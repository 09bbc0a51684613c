"""Reports: receivables aging as of a day, revenue by period, the tax report (billing.reports)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query

from api.auth import ActorDep, DatabaseDep
from api.pagination import MAX_ID, book_date
from api.routing import ApiRoute
from api.schemas import AgingRow, RevenueRow, TaxReportRow
from billing import reports
from billing.reports.receivables import bucket_labels

router = APIRouter(prefix="/reports", tags=["reports"], route_class=ApiRoute)
Currencies = Annotated[list[str], Query(max_length=20, description="Only these currencies (repeat the parameter)")]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): (None if v is None or v is pd.NA else v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]


@router.get("/aging", response_model=list[AgingRow], summary="Receivables aging per currency as of a day")
def aging(db: DatabaseDep, actor: ActorDep, as_of: date, currency: Currencies = []) -> list[dict[str, Any]]:  # noqa: B006
    frame = reports.aging(db, actor, book_date(as_of, "as_of"), currencies=tuple(currency))
    labels = bucket_labels()
    return [{"currency": row["currency"], "buckets": {label: row[label] for label in labels}, "total": row["Total"],
             "open_invoices": row["open_invoices"]} for row in _records(frame)]


@router.get("/revenue", response_model=list[RevenueRow], summary="Revenue invoiced and collected by period")
def revenue(db: DatabaseDep, actor: ActorDep, date_from: date, date_to: date,
            granularity: Annotated[str, Query(pattern="^(day|week|month|quarter|year)$")] = "month",
            currency: Currencies = [],  # noqa: B006
            customer_id: Annotated[list[Annotated[int, Query(ge=1, le=MAX_ID)]], Query(max_length=100)] = [],  # noqa: B006
            ) -> list[dict[str, Any]]:
    filters = reports.ReportFilters(book_date(date_from, "date_from"), book_date(date_to, "date_to"),
                                    customer_ids=tuple(customer_id), currencies=tuple(currency))
    rows = _records(reports.revenue_series(db, actor, filters, granularity))
    return [{**row, "group_id": None if row["group_id"] is None else str(row["group_id"])} for row in rows]


@router.get("/tax", response_model=list[TaxReportRow], summary="VAT by category and rate for a period")
def tax(db: DatabaseDep, actor: ActorDep, date_from: date, date_to: date,
        currency: Currencies = []) -> list[dict[str, Any]]:  # noqa: B006
    frame = reports.tax_report(db, actor, book_date(date_from, "date_from"), book_date(date_to, "date_to"),
                               tuple(currency))
    return _records(frame)
