"""TCP_NODELAY set on the process's listening sockets reaches the connections accepted on them."""

from __future__ import annotations

import socket
import sys

import pytest

from api.sockets import set_nodelay_on_listeners

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="a connection inherits the option on Linux")


def test_a_connection_accepted_on_a_socket_bound_as_streamlit_binds_it_sends_without_delay() -> None:
    with socket.socket(socket.AF_INET) as listener, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        other.bind(("127.0.0.1", 0))  # not a listening TCP socket: left alone
        assert listener.proto == 0  # so asyncio would not set TCP_NODELAY on its connections
        assert set_nodelay_on_listeners() >= 1
        with socket.create_connection(listener.getsockname()) as _client:
            accepted, _ = listener.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        assert listener.fileno() >= 0 and other.fileno() >= 0  # the descriptors are still open
