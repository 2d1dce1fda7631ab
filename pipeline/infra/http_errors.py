"""What a fetch through the one HTTP client can fail with.

Every failure is a ``FetchError`` with a one-line ``reason`` for the record (never a request
header, so never a token); ``permanent`` says whether retrying later could help.
"""

from __future__ import annotations

__all__ = [
    "BlockedAddress", "ConnectFailed", "FetchError", "HostDeferred", "HttpStatusError", "NetworkError",
    "NetworkTimeout", "RobotsDisallowed", "TooLarge", "TooManyRedirects", "UnsupportedContent",
]


class FetchError(Exception):
    """A fetch that did not produce a usable body. ``reason`` is one line for the record."""

    permanent = False

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason[:1000]
        self.status = status
        self.retry_after = retry_after


class BlockedAddress(FetchError):
    permanent = True


class RobotsDisallowed(FetchError):
    permanent = True


class TooLarge(FetchError):
    permanent = True


class UnsupportedContent(FetchError):
    permanent = True


class TooManyRedirects(FetchError):
    permanent = True


class NetworkError(FetchError):
    """Timeouts, refused connections, resets, bad TLS: may work next time."""


class NetworkTimeout(NetworkError):
    """No answer (connect, read or the overall deadline) in time."""


class ConnectFailed(NetworkError):
    """No connection at all (DNS failure, connection refused): the host is unreachable right now,
    so other requests to it in this run would fail the same way."""


class HostDeferred(FetchError):
    """The host asked us (429/503 Retry-After) to come back later."""


class HttpStatusError(FetchError):
    """An answer with an error status; ``headers`` (lower-case names) are the answer's, for
    callers that read provider signals such as ``x-ratelimit-remaining``."""

    def __init__(self, status: int, reason: str, retry_after: float | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(reason, status=status, retry_after=retry_after)
        self.headers = headers or {}
        # 408/429 and 5xx are worth retrying; other 4xx (404, 410, 403) are not.
        self.permanent = 400 <= status < 500 and status not in (408, 425, 429)
