"""The one HTTP client: User-Agent with contact URL, timeouts and an overall deadline, at most
5 redirects, body caps enforced while streaming (gzip and deflate inflated a bounded step at a
time), content-type checks, robots.txt per host (RFC 9309 through ``protego``: ``*`` and ``$``
wildcards, longest match wins),
per-host and global concurrency limits with a minimum delay per host, Retry-After deferral,
and an SSRF guard that checks the address every connection (every redirect hop) really uses.

Thread-safe: one ``HttpClient`` is shared by the fetch threads of a run. Its politeness runs on an
injected ``clock``/``sleep`` pair (``time.monotonic``/``time.sleep`` by default) and Retry-After
dates on ``wall_clock``, so tests check the schedule by the waits it asks for, not by timing it.

``fetch()`` returns a ``FetchResult`` for 2xx and 304, and raises a ``FetchError`` subclass
(pipeline/infra/http_errors.py) for anything else; ``FetchError.permanent`` says whether retrying
later could help. Kind ``api`` is a JSON API GET: the caller's headers (``Authorization`` among
them, never sent on to another origin by a redirect), a JSON body cap, no robots.txt, and the
caller runs its own bounded retries on ``HttpStatusError.retry_after``. The address guard lives
in pipeline/infra/ssrf.py.
"""

from __future__ import annotations

import email.utils
import functools
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import httpx
from protego import Protego

from pipeline import __version__
from pipeline.infra.config import Settings
from pipeline.infra.http_errors import (BlockedAddress, ConnectFailed, FetchError, HostDeferred, HttpStatusError,
                                        NetworkError, NetworkTimeout, RobotsDisallowed, TooLarge, TooManyRedirects,
                                        UnsupportedContent)
from pipeline.infra.ssrf import GuardedTransport, is_public_address

__all__ = [
    "HttpClient", "FetchResult", "FetchError", "BlockedAddress", "RobotsDisallowed", "TooLarge",
    "UnsupportedContent", "HttpStatusError", "NetworkError", "NetworkTimeout", "ConnectFailed", "TooManyRedirects",
    "HostDeferred", "is_public_address", "parse_retry_after",
]

MAX_REDIRECTS = 5
ROBOTS_MAX_BYTES = 512 * 1024
ROBOTS_TTL_S = 3600.0
MAX_RETRY_AFTER_S = 86400.0
MAX_INLINE_WAIT_S = 5.0  # a host deferred for longer than this is skipped for this run
MAX_CRAWL_DELAY_S = 10.0
MAX_API_BYTES = 2 * 1024 * 1024  # a JSON API answer; the ones read are a few KB
# Request headers a redirect to another origin does not carry on (httpx's own rule, kept here
# because this client follows redirects itself).
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
# Headers this client sets itself: a caller cannot replace them.
OWN_HEADERS = frozenset({"user-agent", "host"})
PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
REFUSED_FEED_TYPES = ("image/", "audio/", "video/", "application/pdf", "application/zip", "font/")


# --------------------------------------------------------------------------- politeness


@dataclass
class _Host:
    slots: threading.Semaphore
    client: httpx.Client
    lock: threading.Lock = field(default_factory=threading.Lock)
    next_at: float = 0.0
    deferred_until: float = 0.0
    deferred_reason: str = ""
    crawl_delay: float = 0.0
    robots: Protego | None = None
    robots_error: str | None = None
    robots_at: float = -1e18
    robots_lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class FetchResult:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes = b""
    content_type: str = ""
    charset: str | None = None
    body_gz: bytes | None = None  # the body as the server gzipped it, when it did

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now_dt = datetime.now(timezone.utc) if now is None else datetime.fromtimestamp(now, timezone.utc)
    return max(0.0, min((when - now_dt).total_seconds(), MAX_RETRY_AFTER_S))


@functools.cache
def _ssl_context():
    """Built once per process, on the first https host: loading the CA bundle costs ~35 ms."""
    import ssl

    try:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # certifi comes with httpx; the system store is the fallback
        return ssl.create_default_context()


def _content_type(headers: httpx.Headers) -> tuple[str, str | None]:
    raw = headers.get("content-type", "")
    mime, _, params = raw.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, val = param.strip().partition("=")
        if key.lower() == "charset" and val:
            charset = val.strip().strip("\"'").lower()[:40] or None
    return mime.strip().lower(), charset


class HttpClient:
    """Shared by all fetch threads of one run. Use as a context manager or call ``close()``."""

    def __init__(self, settings: Settings, *, user_agent: str | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 wall_clock: Callable[[], float] = time.time):
        self.settings = settings
        self._clock, self._sleep, self._wall_clock = clock, sleep, wall_clock
        self.user_agent = user_agent or f"newsmon/{__version__} (+{settings.contact_url})"
        self.robots_token = "newsmon"
        self._global = threading.BoundedSemaphore(settings.http_concurrency)
        self._hosts: dict[str, _Host] = {}
        self._hosts_lock = threading.Lock()

    # -- context management
    def close(self) -> None:
        with self._hosts_lock:
            for host in self._hosts.values():
                host.client.close()
            self._hosts.clear()

    def _new_client(self, scheme: str) -> httpx.Client:
        """One connection pool per host: httpcore scans its whole pool for every request, so a
        single pool over many hosts costs O(hosts) per request; per host it stays tiny.
        A pool serves one scheme (the host key includes it): plain http needs no TLS context."""
        timeout = self.settings.http_timeout_s
        slots = self.settings.per_host_concurrency
        return httpx.Client(
            transport=GuardedTransport(
                self.settings.allow_private_networks,
                ssl_context=_ssl_context() if scheme == "https" else None,
                limits=httpx.Limits(max_connections=slots + 1, max_keepalive_connections=slots),
            ),
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            follow_redirects=False,
            trust_env=False,  # an environment proxy would bypass the address guard
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
        )

    def __enter__(self) -> "HttpClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- public API
    def fetch(
        self,
        url: str,
        *,
        kind: str = "page",
        etag: str | None = None,
        last_modified: str | None = None,
        check_robots: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FetchResult:
        """GET ``url`` (kind ``page``, ``feed`` or ``api``), following up to 5 redirects, each hop
        vetted. ``headers`` are added to the request (e.g. ``Authorization`` for an API); they cannot
        replace the User-Agent, and credentials stay with the origin of ``url``."""
        if check_robots is None:
            check_robots = kind == "page"
        cap = {"feed": self.settings.max_feed_bytes, "robots": ROBOTS_MAX_BYTES, "api": MAX_API_BYTES}.get(
            kind, self.settings.max_page_bytes)
        request_headers = {"Accept": _ACCEPT.get(kind, "*/*")}
        for name, value in (headers or {}).items():
            if name.lower() in OWN_HEADERS:
                raise ValueError(f"the HTTP client sets {name} itself")
            request_headers[name] = value
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        origin, current = _origin(url), url
        for _hop in range(MAX_REDIRECTS + 1):
            parts = urlsplit(current)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise UnsupportedContent(f"refusing non-http(s) URL {current[:200]}", kind="bad_scheme")
            if check_robots:
                self._check_robots(current)
            if _origin(current) != origin:
                request_headers = {k: v for k, v in request_headers.items() if k.lower() not in CREDENTIAL_HEADERS}
            response_or_location = self._one_hop(current, request_headers, kind, cap)
            if isinstance(response_or_location, FetchResult):
                response_or_location.url = url
                return response_or_location
            current = response_or_location
        raise TooManyRedirects(f"more than {MAX_REDIRECTS} redirects (last: {current[:200]})")

    def prepare_host(self, url: str) -> None:
        """Load (and cache) the robots.txt of ``url``'s host now, so that the host's first page
        does not wait for it (``fetch_feeds`` calls this while other feeds are still loading).
        Never raises: the page fetch reports what went wrong."""
        try:
            self._check_robots(url)
        except FetchError:
            pass

    # -- internals
    def _host(self, url: str) -> tuple[str, _Host]:
        parts = urlsplit(url)
        key = f"{parts.scheme}://{parts.netloc.lower()}"
        with self._hosts_lock:
            host = self._hosts.get(key)
            if host is None:
                host = self._hosts[key] = _Host(
                    threading.Semaphore(self.settings.per_host_concurrency), client=self._new_client(parts.scheme)
                )
            return key, host

    def _wait_turn(self, host: _Host, key: str) -> None:
        """Reserve this host's next send time (min delay, crawl-delay, Retry-After) and sleep until it."""
        with host.lock:
            now = self._clock()
            if host.deferred_until - now > MAX_INLINE_WAIT_S:
                raise HostDeferred(
                    f"{key} deferred: {host.deferred_reason}", retry_after=host.deferred_until - now
                )
            start = max(now, host.next_at, host.deferred_until)
            host.next_at = start + max(self.settings.host_delay_s, host.crawl_delay)
        if start > now:
            self._sleep(start - now)

    def _one_hop(self, url: str, headers: dict, kind: str, cap: int):
        key, host = self._host(url)
        with host.slots:
            self._wait_turn(host, key)
            with self._global:
                # The deadline starts when the request is sent, not while it queues for its host.
                deadline = time.monotonic() + self.settings.http_timeout_s
                return self._send(url, headers, kind, cap, deadline, host, key)

    def _send(self, url, headers, kind, cap, deadline, host: _Host, key: str):
        remaining = max(0.1, deadline - time.monotonic())
        timeout = httpx.Timeout(remaining, connect=min(10.0, remaining))
        try:
            request = host.client.build_request("GET", url, headers=headers, timeout=timeout)
            response = host.client.send(request, stream=True)
        except FetchError:
            raise
        except httpx.TimeoutException as exc:
            raise NetworkTimeout(f"timeout ({type(exc).__name__}) after {self.settings.http_timeout_s:g}s") from None
        except httpx.ConnectError as exc:
            raise ConnectFailed(f"{type(exc).__name__}: {exc}"[:300]) from None
        except (httpx.HTTPError, OSError) as exc:
            raise NetworkError(f"{type(exc).__name__}: {exc}"[:300]) from None
        try:
            status = response.status_code
            if status in (301, 302, 303, 307, 308):
                location = response.headers.get("location")
                if not location:
                    raise HttpStatusError(status, f"HTTP {status} without Location")
                return urljoin(url, location.strip())
            if status == 304:
                return FetchResult(url, url, 304, dict(response.headers))
            if status in (429, 503):
                retry_after = parse_retry_after(response.headers.get("retry-after"), self._wall_clock())
                # an API caller waits Retry-After out itself before its next request (bounded retries)
                if retry_after is not None and kind != "api":
                    with host.lock:
                        host.deferred_until = max(host.deferred_until, self._clock() + retry_after)
                        host.deferred_reason = f"HTTP {status} Retry-After {retry_after:.0f}s"
                raise HttpStatusError(status, f"HTTP {status}", retry_after=retry_after, headers=dict(response.headers))
            if status >= 400 or status < 200:
                raise HttpStatusError(status, f"HTTP {status}", headers=dict(response.headers))
            mime, charset = _content_type(response.headers)
            self._check_type(kind, mime)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > cap:
                raise TooLarge(f"body of {int(declared):,} bytes exceeds the {kind} cap of {cap:,} bytes")
            encoding = response.headers.get("content-encoding", "").strip().lower()
            if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
                # only gzip and deflate are asked for; a decoder we cannot bound is not run
                raise UnsupportedContent(f"content-encoding {encoding[:40]!r} was not requested")
            try:
                if encoding in ("gzip", "x-gzip"):
                    body, body_gz = self._read_inflated(response, kind, cap, deadline, wbits=31)
                elif encoding == "deflate":
                    body, body_gz = self._read_inflated(response, kind, cap, deadline, wbits=None)[0], None
                else:
                    body, body_gz = self._read_plain(response, kind, cap, deadline), None
            except httpx.TimeoutException:
                raise NetworkTimeout(f"read timeout after {self.settings.http_timeout_s:g}s") from None
            except httpx.HTTPError as exc:
                raise NetworkError(f"{type(exc).__name__} while reading: {exc}"[:300]) from None
            except zlib.error as exc:
                raise NetworkError(f"corrupt {encoding} body: {exc}") from None
            if kind == "page" and body[:5] == b"%PDF-":
                raise UnsupportedContent("body is a PDF document, not an HTML page")
            return FetchResult(url, url, status, dict(response.headers), body, mime, charset, body_gz)
        finally:
            response.close()

    def _too_large(self, kind: str, cap: int) -> TooLarge:
        return TooLarge(f"body exceeds the {kind} cap of {cap:,} bytes (stopped reading)")

    def _read_plain(self, response, kind: str, cap: int, deadline: float) -> bytes:
        chunks, size = [], 0
        for chunk in response.iter_raw():  # identity only: compressed bodies go through _read_inflated
            size += len(chunk)
            if size > cap:
                raise self._too_large(kind, cap)
            if time.monotonic() > deadline:
                raise NetworkTimeout(f"deadline of {self.settings.http_timeout_s:g}s exceeded while reading")
            chunks.append(chunk)
        return b"".join(chunks)

    def _read_inflated(self, response, kind: str, cap: int, deadline: float,
                       wbits: int | None) -> tuple[bytes, bytes | None]:
        """Decompress while streaming, each step bounded by what the cap still allows
        (``max_length``): a gzip or deflate bomb stops at the cap without ever growing past it.
        Keeps the compressed bytes (a gzip body is stored as it came, no recompression).
        ``wbits`` None: deflate, zlib-wrapped (RFC 9110) or raw (what some servers send)."""
        raw, out, size = [], [], 0
        inflater = zlib.decompressobj(wbits=31) if wbits is not None else None
        for chunk in response.iter_raw():
            raw.append(chunk)
            if inflater is None:
                inflater = zlib.decompressobj(wbits=15 if _is_zlib_header(chunk) else -15)
            data = inflater.decompress(chunk, cap - size + 1)
            size += len(data)
            if size > cap or inflater.unconsumed_tail:
                raise self._too_large(kind, cap)
            if time.monotonic() > deadline:
                raise NetworkTimeout(f"deadline of {self.settings.http_timeout_s:g}s exceeded while reading")
            out.append(data)
        if inflater is None:
            return b"", None
        if not inflater.eof:
            raise NetworkError("truncated compressed body")
        body = b"".join(out)
        # A second gzip member (rare): keep the body, recompress on storage instead.
        return body, (None if inflater.unused_data else b"".join(raw))

    def _check_type(self, kind: str, mime: str) -> None:
        if not mime:
            return  # sniffed later
        if kind == "page" and not mime.startswith(PAGE_TYPES):
            raise UnsupportedContent(f"content-type {mime} is not an HTML page; skipped")
        if kind == "feed" and mime.startswith(REFUSED_FEED_TYPES):
            raise UnsupportedContent(f"content-type {mime} is not a feed")

    def _check_robots(self, url: str) -> None:
        parts = urlsplit(url)
        key, host = self._host(url)
        with host.robots_lock:  # one robots.txt fetch per host, the others wait for it
            if self._clock() - host.robots_at > ROBOTS_TTL_S:
                host.robots, host.robots_error = self._load_robots(f"{key}/robots.txt")
                host.robots_at = self._clock()
                if host.robots is not None:
                    delay = host.robots.crawl_delay(self.robots_token)
                    host.crawl_delay = min(float(delay or 0), MAX_CRAWL_DELAY_S)
        if host.robots_error:
            raise RobotsDisallowed(host.robots_error)
        if host.robots is not None and not host.robots.can_fetch(url, self.robots_token):
            raise RobotsDisallowed(f"robots.txt of {parts.netloc} disallows {parts.path or '/'}")

    def _load_robots(self, robots_url: str):
        """(parser, None) on 2xx, (None, None) when absent (4xx: everything allowed), and
        (None, reason) when unreachable (5xx/network: RFC 9309 says assume full disallow)."""
        try:
            result = self.fetch(robots_url, kind="robots", check_robots=False)
        except HttpStatusError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                return None, None
            return None, f"robots.txt unreachable ({exc.reason}); host skipped"
        except BlockedAddress:
            raise
        except (UnsupportedContent, TooLarge):
            return None, None
        except FetchError as exc:
            return None, f"robots.txt unreachable ({exc.reason}); host skipped"
        return Protego.parse(result.body.decode("utf-8", "replace")), None


def _is_zlib_header(chunk: bytes) -> bool:
    """RFC 1950: deflate method (CM 8) and a header checksum that is a multiple of 31."""
    return len(chunk) >= 2 and chunk[0] & 0x0F == 8 and (chunk[0] << 8 | chunk[1]) % 31 == 0


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


_ACCEPT = {
    "api": "application/json",
    "feed": "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
    "page": "text/html, application/xhtml+xml;q=0.9, */*;q=0.5",
    "robots": "text/plain, */*;q=0.5",
}
