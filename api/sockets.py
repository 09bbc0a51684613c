"""TCP_NODELAY on the server's listening sockets, so that an answer's body does not wait for an ACK of its headers.

`streamlit run app.py` serves st.App with uvicorn on a socket Streamlit binds itself (`socket.socket(family)`,
protocol 0). asyncio turns Nagle's algorithm off only on connections whose protocol is IPPROTO_TCP, and uvicorn
writes an answer's headers and its body in two sends: there the body waited for the client's delayed ACK of the
headers, about 40 ms on every call. On Linux a connection inherits TCP_NODELAY from the socket it was accepted on,
so setting it on the listening socket while the server starts fixes every connection. Under `uvicorn app:app` the
server binds its own socket (protocol IPPROTO_TCP) after the lifespan starts, and asyncio sets the option itself.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path


def _open_descriptors() -> Iterator[int]:
    for folder in (Path("/proc/self/fd"), Path("/dev/fd")):
        if folder.is_dir():
            yield from (int(name) for name in os.listdir(folder) if name.isdigit())
            return


def set_nodelay_on_listeners() -> int:
    """Set TCP_NODELAY on every listening TCP socket of this process; how many there were."""
    count = 0
    for descriptor in _open_descriptors():
        try:
            sock = socket.socket(fileno=descriptor)  # not a socket (or closed meanwhile): OSError, nothing changed
        except OSError:
            continue
        try:
            if (sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM
                    and sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                count += 1
        except OSError:
            pass
        finally:
            sock.detach()  # the descriptor stays open: it is the server's
    return count
