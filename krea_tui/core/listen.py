"""Listening sockets for the servers we run in-process (the simulator, the webhook receiver)."""

from __future__ import annotations

import contextlib
import ipaddress
import socket


def bind_tcp(host: str, port: int) -> socket.socket:
    """A bound TCP socket, so that port 0 resolves to a known port before the server starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be explicit: asyncio only sets TCP_NODELAY on accepted sockets whose proto is
    # IPPROTO_TCP, and without it every answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def url_host(host: str) -> str:
    """The host as it goes in a URL a client can use (wildcards become loopback)."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    return host
