"""The API's request body limit (api.bodylimit): a body over 1 MB is refused with 413 before it is read or parsed;
`read_limited`, the limit of the small forms anyone may post."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.types import Message
from test_errors import assert_problem

from api.bodylimit import MAX_BODY_BYTES, read_limited

Headers = dict[str, str]
TWO_MB = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'", "currency": "EUR"}'


def chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """The body as a stream of chunks: sent with Transfer-Encoding chunked, no Content-Length."""
    for start in range(0, len(body), size):
        yield body[start:start + size]


def test_a_body_over_the_limit_is_refused_with_413(client: TestClient, auth: Callable[[str], Headers]) -> None:
    answer = client.post("/api/v1/customers", content=TWO_MB,
                         headers={**auth("admin"), "Content-Type": "application/json"})
    body = assert_problem(answer, 413, "payload_too_large")
    assert body["detail"] == "The request body is too large: the API takes at most 1024 kB."


def test_a_body_over_the_limit_is_refused_before_authentication(client: TestClient) -> None:
    answer = client.post("/api/v1/customers", content=TWO_MB, headers={"Content-Type": "application/json"})
    assert_problem(answer, 413, "payload_too_large")  # not 401: nothing of it was read


def test_a_chunked_body_over_the_limit_is_refused(client: TestClient, auth: Callable[[str], Headers]) -> None:
    for headers in (auth("admin"), {}):
        answer = client.post("/api/v1/customers", content=chunks(TWO_MB),
                             headers={**headers, "Content-Type": "application/json"})
        assert_problem(answer, 413, "payload_too_large")


def test_a_body_within_the_limit_is_handed_on_whole(client: TestClient, auth: Callable[[str], Headers]) -> None:
    small = {"name": "Vandelay Industries", "currency": "EUR"}
    created = client.post("/api/v1/customers", json=small, headers=auth("admin"))
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Vandelay Industries"
    chunked = client.post("/api/v1/customers", content=chunks(json.dumps({**small, "name": "Kramerica"}).encode(), 8),
                          headers={**auth("admin"), "Content-Type": "application/json"})
    assert chunked.status_code == 201, chunked.text
    assert chunked.json()["name"] == "Kramerica"
    near = json.dumps({**small, "name": "y" * (MAX_BODY_BYTES - 100)}).encode()
    assert len(near) <= MAX_BODY_BYTES
    answer = client.post("/api/v1/customers", content=near,
                         headers={**auth("admin"), "Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text  # read and validated (a name that long), not refused as too large
    assert client.get("/api/v1/customers", headers=auth("admin")).status_code == 200


@pytest.mark.parametrize(("declared", "chunks_sent", "expected", "chunks_read"), [
    (None, 2, b"x" * 2048, 2),  # at the limit: the whole body
    (None, 1000, None, 3),  # 1 MB without a length: refused after the first chunk over 2 kB
    (b"1024000", 1000, None, 0),  # a declared length over the limit: refused unread
])
def test_read_limited_never_holds_more_than_the_limit(declared: bytes | None, chunks_sent: int,
                                                      expected: bytes | None, chunks_read: int) -> None:
    read: list[int] = []

    async def receive() -> Message:
        read.append(1)
        return {"type": "http.request", "body": b"x" * 1024, "more_body": len(read) < chunks_sent}

    headers = [(b"content-length", declared)] if declared else []
    request = Request({"type": "http", "method": "POST", "headers": headers}, receive)
    assert asyncio.run(read_limited(request, 2048)) == expected
    assert len(read) == chunks_read
