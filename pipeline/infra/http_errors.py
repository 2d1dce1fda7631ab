"""What a fetch through the one HTTP client can fail with.

Every failure is a ``FetchError`` with a one-line ``reason`` for the record (never a request
header, so never a token); ``permanent`` says whether retrying later could help.
"""

from __future__ import annotations

from pipeline.infra.config import mask_urls_in

__all__ = [
    "BlockedAddress", "ConnectFailed", "FetchError", "HostDeferred", "HttpStatusError", "NetworkError",
    "NetworkTimeout", "RobotsDisallowed", "TooLarge", "TooManyRedirects", "UnsupportedContent",
]


class FetchError(Exception):
    """A fetch that did not produce a usable body. ``reason`` is one line for the record."""

    permanent = False
    kind = "fetch_error"  # one word for the record (analytics.fetch_problems groups by it)

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None,
                 kind: str | None = None):
        # A reason may quote a URL (a redirect target, a feed URL with ?token=): its secrets are
        # masked here, once, for every record, log line and API answer that shows it.
        reason = mask_urls_in(reason)[:1000]
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        if kind:
            self.kind = kind


class BlockedAddress(FetchError):
    permanent = True
    kind = "blocked_address"


class RobotsDisallowed(FetchError):
    permanent = True
    kind = "robots"


class TooLarge(FetchError):
    permanent = True
    kind = "too_large"


class UnsupportedContent(FetchError):
    """Wrong content type or encoding (kind ``wrong_type``), or a redirect to a non-http(s) URL
    (kind ``bad_scheme``)."""

    permanent = True
    kind = "wrong_type"


class TooManyRedirects(FetchError):
    permanent = True
    kind = "redirects"


class NetworkError(FetchError):
    """Timeouts, refused connections, resets, bad TLS: may work next time."""

    kind = "network"


class NetworkTimeout(NetworkError):
    """No answer (connect, read or the overall deadline) in time."""

    kind = "timeout"


class ConnectFailed(NetworkError):
    """No connection at all (DNS failure, connection refused): the host is unreachable right now,
    so other requests to it in this run would fail the same way."""

    kind = "connect"


class HostDeferred(FetchError):
    """The host asked us (429/503 Retry-After) to come back later."""

    kind = "deferred"


class HttpStatusError(FetchError):
    """An answer with an error status; ``headers`` (lower-case names) are the answer's, for
    callers that read provider signals such as ``x-ratelimit-remaining``."""

    def __init__(self, status: int, reason: str, retry_after: float | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(reason, status=status, retry_after=retry_after, kind=f"http_{status}")
        self.headers = headers or {}
        # 408/429 and 5xx are worth retrying; other 4xx (404, 410, 403) are not.
        self.permanent = 400 <= status < 500 and status not in (408, 425, 429)
