"""The lines of a recurring schedule or a quote, entered in one editable table (description, quantity, price, VAT)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from billing import catalog
from ui import context


def _rate_label(rate: dict[str, Any]) -> str:
    return f"{rate['name']} ({rate['category']} {rate['percent'].normalize():f} %)"


def lines_input(key: str) -> list[dict[str, Any]]:
    """An editable table of lines; the rows filled in, as the services take them (text kept as typed, so a
    wrong number is named by the service's message, never turned into a float)."""
    rates = [rate for rate in catalog.list_tax_rates(context.db(), context.actor()) if rate["active"]]
    labels = {_rate_label(rate): int(rate["id"]) for rate in rates}
    empty = pd.DataFrame({"Description": pd.Series(["" for _ in range(3)], dtype="string"),
                          "Quantity": pd.Series(["1", "", ""], dtype="string"),
                          "Unit price": pd.Series(["" for _ in range(3)], dtype="string"),
                          "VAT": pd.Series([next(iter(labels), None), None, None], dtype="object")})
    edited = st.data_editor(
        empty, key=key, num_rows="dynamic", hide_index=True, width="stretch",
        column_config={"Description": st.column_config.TextColumn(required=True, max_chars=500),
                       "Quantity": st.column_config.TextColumn(help="e.g. 1 or 2.5"),
                       "Unit price": st.column_config.TextColumn(help="Net, in the customer's currency, e.g. 99.90"),
                       "VAT": st.column_config.SelectboxColumn(options=list(labels), required=True)})
    lines: list[dict[str, Any]] = []
    for row in edited.to_dict("records"):
        description = str(row.get("Description") or "").strip()
        if not description:
            continue
        lines.append({"description": description, "quantity": str(row.get("Quantity") or "").strip(),
                      "unit_price": str(row.get("Unit price") or "").strip(),
                      "tax_rate_id": labels.get(str(row.get("VAT")), 0)})
    return lines
