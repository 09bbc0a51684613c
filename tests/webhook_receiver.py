"""A webhook receiver on 127.0.0.1 for tests: records every POST and checks its signature; answers as told."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from billing.webhooks.signing import HEADER, verify_signature


@dataclass
class Received:
    """One POST as the receiver got it, and whether its signature verified with the receiver's secret."""

    headers: dict[str, str]
    body: bytes
    signed: bool

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    """What to answer (`status`, after `delay` seconds) and what came in. `secret`: set once the endpoint exists."""

    url: str = ""
    secret: str = ""
    status: int = 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    first_request: threading.Event = field(default_factory=threading.Event)

    def event_ids(self) -> set[str]:
        return {item.event["id"] for item in self.received}


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.first_request.set()
            if state.delay:
                time.sleep(state.delay)
            signed = verify_signature(state.secret, body, self.headers.get(HEADER, ""), int(time.time()))
            state.received.append(Received(dict(self.headers), body, signed))
            self.send_response(state.status)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks?source=billing"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
