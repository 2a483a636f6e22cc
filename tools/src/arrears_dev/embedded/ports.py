"""Free loopback ports, so parallel runs and tests never collide."""

from __future__ import annotations

import socket
import time

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_open(port: int, host: str = LOOPBACK) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_port_closed(port: int, timeout: float, host: str = LOOPBACK) -> bool:
    """Wait until nothing accepts on host:port; False on timeout."""
    deadline = time.monotonic() + timeout
    while port_is_open(port, host):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
