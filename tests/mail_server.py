"""A real SMTP server on 127.0.0.1 for the e-mail tests and the outbox benchmark (aiosmtpd), and a server
that accepts connections only to drop them."""

from __future__ import annotations

import asyncio
import email
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One message as the server received it: envelope sender and recipients, the parsed message."""

    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class Mailbox:
    """What the server received; `reply` is its answer to DATA ('250 OK', or a 4xx/5xx to refuse)."""

    received: list[Received] = field(default_factory=list)
    reply: str = "250 OK"
    delay: float = 0.0  # seconds the server takes per message (to catch a sender in the middle)
    on_receive: Callable[[], None] | None = None  # called as each message is taken, before the server answers
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # the name aiosmtpd calls
        if not self.reply.startswith("250"):
            return self.reply
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.on_receive is not None:
            self.on_receive()
        parsed = email.message_from_bytes(envelope.content, policy=default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(item.message["Message-ID"]) for item in self.received]


@contextmanager
def smtp_server(port: int = 0) -> Iterator[tuple[str, Mailbox]]:
    """A running SMTP server: its URL (smtp://127.0.0.1:PORT) and its mailbox."""
    mailbox = Mailbox()
    port = port or free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", mailbox
    finally:
        controller.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def dropping_server() -> Iterator[str]:
    """A server that accepts each connection and closes it at once: the URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"smtp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        listener.close()
