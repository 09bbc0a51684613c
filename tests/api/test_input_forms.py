"""The forms the API takes its input in: ASCII digits only, currency codes checked, a broken JSON body named as such."""

from __future__ import annotations

from collections.abc import Callable

from api_harness import Seeded
from fastapi.testclient import TestClient
from test_errors import assert_problem

Headers = dict[str, str]
V1 = "/api/v1"


def test_an_amount_in_unicode_digits_is_refused(client: TestClient, seeded: Seeded,
                                                auth: Callable[[str], Headers]) -> None:
    product = {"name": "Audit day", "sku": "AUD-1", "unit": "d", "currency": "EUR", "tax_rate_id": seeded.tax_rate_id}
    for price in ("١٢.٣٠", "12.٣٠", "１２.30"):  # Arabic-Indic and full-width digits
        answer = client.post(f"{V1}/products", headers=auth("admin"), json={**product, "unit_price": price})
        assert_problem(answer, 422, "invalid_field", "unit_price")
    created = client.post(f"{V1}/products", headers=auth("admin"), json={**product, "unit_price": "12.30"})
    assert created.status_code == 201, created.text
    assert created.json()["unit_price"] == "12.30"


def test_a_date_time_in_unicode_digits_is_refused(client: TestClient, auth: Callable[[str], Headers]) -> None:
    answer = client.get(f"{V1}/customers?updated_since=٢٠٢٦-01-31T09:30:00Z", headers=auth("admin"))
    assert_problem(answer, 422, "invalid_field", "updated_since")


def test_the_statement_currency_must_be_a_currency(client: TestClient, seeded: Seeded,
                                                   auth: Callable[[str], Headers]) -> None:
    url = f"{V1}/customers/{seeded.customer_id}/statement"
    for currency in ("\x00\x00\x00", "XYZ", "E;R"):
        answer = client.get(url, params={"currency": currency}, headers=auth("admin"))
        body = assert_problem(answer, 422, "validation_error", "currency")
        assert body["detail"] == ("currency: not a known currency: use a three-letter ISO 4217 code such as EUR.")
        assert "\x00" not in answer.text and "XYZ" not in answer.text
    for currency in ("EUR", "eur"):
        answer = client.get(url, params={"currency": currency}, headers=auth("admin"))
        assert answer.status_code == 200, answer.text
        assert answer.json()["currency"] == "EUR"


def test_a_body_that_is_not_json_names_no_field(client: TestClient, auth: Callable[[str], Headers]) -> None:
    answer = client.post(f"{V1}/customers", content=b'{"name": "X",, "currency": "EUR"}',
                         headers={**auth("admin"), "Content-Type": "application/json"})
    body = assert_problem(answer, 422, "invalid_json", None)
    assert body["detail"] == ("The request body is not valid JSON (Expecting property name enclosed in double "
                              "quotes at character 13).")
    assert [error["param"] for error in body["errors"]] == [None]  # type: ignore[attr-defined]
