"""Request body size limits: the API's (a body over MAX_BODY_BYTES is refused with 413 before it is read), and
`read_limited` for the small forms anyone may post (the sign-in form, a quote link's answer)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors

MAX_BODY_BYTES = 1024 * 1024  # the largest API body (an invoice of many lines) is a few tens of kB


class BodyLimitMiddleware:
    """Refuse a body over `limit` bytes with 413 problem+json, before authentication or parsing.

    A Content-Length over the limit is refused without reading a byte. Any other body (chunked, or a
    Content-Length that lies) is read here first, counting, and at most limit + 1 bytes are ever held: over the
    limit it is refused, else handed on to the API as it came.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if any(name.lower() == b"content-length" and _over(value, self.limit) for name, value in scope["headers"]):
            await self._refuse(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            if message["type"] != "http.request" or not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = errors.problem(Request(scope), 413, "payload_too_large",
                                f"The request body is too large: the API takes at most {self.limit // 1024} kB.",
                                headers={"Connection": "close"})
        await answer(scope, receive, send)


def _over(value: bytes, limit: int) -> bool:
    text = value.decode("latin-1").strip()
    return text.isdigit() and text.isascii() and int(text) > limit


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The request's body, or None if it is over `limit` bytes: a declared length over it is refused unread, any
    other body after its first chunk over it, so that no body is ever held in memory whole."""
    if _over(request.headers.get("content-length", "").encode("latin-1"), limit):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return body
