"""Processes on this host, as extraction claims and the embedded server's pid file name them."""

from __future__ import annotations

import os
import socket

__all__ = ["host_name", "pid_running"]


def host_name() -> str:
    """This host's name as a claim records it (``host:pid:token``)."""
    return socket.gethostname()[:100]


def pid_running(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (someone else's process counts: it runs)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
