"""API collectors: Hugging Face model repositories and GitHub repositories.

Fields relied on (everything else in the answers is ignored):

- Hugging Face ``GET {NEWSMON_HF_API_URL}/api/models/{owner}/{name}``: a JSON object with
  ``downloads`` (integer: downloads over the last 30 days) and ``likes`` (integer).
- GitHub ``GET {NEWSMON_GITHUB_API_URL}/repos/{owner}/{name}``: a JSON object with
  ``stargazers_count`` (integer); ``forks_count`` and ``subscribers_count`` may be configured too.

Every request goes through the one HTTP client (pipeline/infra/http.py: User-Agent, address guard,
body cap while streaming, per-host limits). Tokens (NEWSMON_HF_TOKEN, NEWSMON_GITHUB_TOKEN) go into
the Authorization header only, and only to the API's own origin; they never appear in a URL, a
log line or an error message. Each request has the configured timeout; a 429
(or GitHub's 403 with ``x-ratelimit-remaining: 0``) is retried after ``Retry-After`` (seconds or an
HTTP date; GitHub's ``x-ratelimit-reset`` as fallback) when that wait fits the bound, 5xx and
timeouts and network errors are retried with a short backoff; a host that cannot be reached at
all (DNS failure, connection refused, a refused address) is not retried, and the caller skips the
provider's other repositories. Anything else is one failed fetch: recorded, and the run goes on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from pipeline.indicators.defs import ApiSource, Definitions
from pipeline.infra.config import Settings
from pipeline.infra.http import (BlockedAddress, ConnectFailed, FetchError, HttpClient, HttpStatusError, NetworkTimeout,
                                 parse_retry_after)
from pipeline.store.indicators import ApiRow

log = logging.getLogger(__name__)


@dataclass
class FetchOutcome:
    source: ApiSource
    url: str
    ok: bool
    values: dict[str, int] = field(default_factory=dict)
    http_status: int | None = None
    attempts: int = 0
    error: str | None = None
    unreachable: bool = False   # could not connect at all: the caller skips the provider's other repos


class ApiCollector:
    """Fetches one configured repository at a time, with bounded retries."""

    def __init__(self, settings: Settings, definitions: Definitions, *, max_retries: int = 2,
                 max_retry_wait_s: float = 60.0, backoff_s: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep, client: HttpClient | None = None,
                 clock: Callable[[], float] = time.time):
        self.settings = settings
        self.fields = {}
        for ind in definitions.indicators:
            if ind.api is not None:
                self.fields.setdefault(ind.api.provider, []).append((ind.api.field, ind.key, ind.unit))
        self.max_retries = max_retries
        self.max_retry_wait_s = max_retry_wait_s
        self.backoff_s = backoff_s
        self.sleep = sleep
        self.clock = clock  # wall-clock seconds: Retry-After dates and x-ratelimit-reset are absolute
        self._client = client or HttpClient(settings)
        self._own_client = client is None

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    def __enter__(self) -> ApiCollector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def url_for(self, source: ApiSource) -> str:
        repo = quote(source.repo, safe="/")
        if source.provider == "huggingface":
            return f"{self.settings.hf_api_url}/api/models/{repo}"
        return f"{self.settings.github_api_url}/repos/{repo}"

    def _headers(self, provider: str) -> dict[str, str]:
        if provider == "github":
            headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
            token = self.settings.github_token
        else:
            headers = {"Accept": "application/json"}
            token = self.settings.hf_token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def readings(self, outcome: FetchOutcome) -> list[ApiRow]:
        """The (indicator, subject, value, unit) rows of a successful fetch."""
        return [ApiRow(key, outcome.source.subject, outcome.values[fld], unit)
                for fld, key, unit in self.fields.get(outcome.source.provider, []) if fld in outcome.values]

    def fetch(self, source: ApiSource) -> FetchOutcome:
        url = self.url_for(source)
        out = FetchOutcome(source, url, ok=False)
        waited = 0.0
        while True:
            out.attempts += 1
            try:
                result = self._client.fetch(url, kind="api", headers=self._headers(source.provider))
            except FetchError as exc:
                retry_in = self._failed_attempt(out, exc, self.max_retry_wait_s - waited)
            else:
                out.http_status = result.status
                if result.status != 200:
                    out.error = f"HTTP {result.status}"
                    return out
                return self._parse(out, result.body)
            if out.attempts > self.max_retries or retry_in is None:
                return out
            retry_in = min(max(retry_in, 0.0), max(self.max_retry_wait_s - waited, 0.0))
            log.info("%s %s: %s; retrying in %.1fs", source.provider, source.repo, out.error, retry_in)
            self.sleep(retry_in)
            waited += retry_in

    def _failed_attempt(self, out: FetchOutcome, exc: FetchError, wait_left: float) -> float | None:
        """Record a failed attempt on ``out``; the seconds to wait before the next one, or None to
        give up. Errors name the failure only (the client's reasons never carry request headers)."""
        out.http_status = exc.status
        backoff = self.backoff_s * out.attempts
        if isinstance(exc, NetworkTimeout):
            out.error = f"timeout after {self.settings.http_timeout_s:g}s"
            return backoff
        if isinstance(exc, ConnectFailed | BlockedAddress):
            # retrying now will not help (offline, wrong URL, an address the guard refuses)
            out.error, out.unreachable = f"network error: {exc.reason}", True
            return None
        if not isinstance(exc, HttpStatusError):
            out.error = exc.reason if exc.permanent else f"network error: {exc.reason}"
            return None if exc.permanent else backoff
        status = exc.status
        if status == 429 or (status == 403 and exc.headers.get("x-ratelimit-remaining") == "0"):
            wait = _rate_limit_wait(exc.headers, self.clock())
            out.error = "rate limited" + (f" (retry after {wait:g}s)" if wait is not None else "")
            retry_in = wait if wait is not None else backoff
            if retry_in > wait_left:
                out.error += f"; not waiting longer than {self.max_retry_wait_s:g}s"
                return None
            return retry_in
        if status >= 500:
            out.error = f"HTTP {status} server error"
            return backoff
        out.error = f"HTTP {status}" + (" not found" if status == 404 else "")
        return None

    def _parse(self, out: FetchOutcome, body: bytes) -> FetchOutcome:
        try:
            data = json.loads(body)
        except ValueError:
            out.error = "malformed JSON"
            return out
        if not isinstance(data, dict):
            out.error = f"expected a JSON object, got {type(data).__name__}"
            return out
        missing = []
        for fld, _, _ in self.fields.get(out.source.provider, []):
            value = data.get(fld)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                missing.append(fld)
            else:
                out.values[fld] = value
        if missing:
            out.error = f"field(s) missing or not a count: {', '.join(missing)}"
            if not out.values:
                return out
        out.ok = True
        return out


def _rate_limit_wait(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds until the API takes requests again: Retry-After, else GitHub's x-ratelimit-reset."""
    raw = headers.get("retry-after")
    if raw:
        return parse_retry_after(raw, now)
    reset = (headers.get("x-ratelimit-reset") or "").strip()
    return max(0.0, int(reset) - now) if reset.isdigit() else None
