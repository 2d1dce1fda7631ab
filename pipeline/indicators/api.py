"""API collectors: Hugging Face model repositories and GitHub repositories.

Fields relied on (everything else in the answers is ignored):

- Hugging Face ``GET {NEWSMON_HF_API_URL}/api/models/{owner}/{name}``: a JSON object with
  ``downloads`` (integer: downloads over the last 30 days) and ``likes`` (integer).
- GitHub ``GET {NEWSMON_GITHUB_API_URL}/repos/{owner}/{name}``: a JSON object with
  ``stargazers_count`` (integer); ``forks_count`` and ``subscribers_count`` may be configured too.

Tokens (NEWSMON_HF_TOKEN, NEWSMON_GITHUB_TOKEN) go into the Authorization header only; they never
appear in a URL, a log line or an error message. Each request has the configured timeout; a 429
(or GitHub's 403 with ``x-ratelimit-remaining: 0``) is retried after ``Retry-After`` (seconds or an
HTTP date; GitHub's ``x-ratelimit-reset`` as fallback) when that wait fits the bound, 5xx and
network errors are retried with a short backoff, and anything else is one failed fetch: recorded,
and the run goes on.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import time
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import quote

import httpx

from pipeline import __version__ as _pkg_version
from pipeline.infra.config import Settings
from pipeline.indicators.defs import ApiSource, Definitions

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 2 * 1024 * 1024


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
                 sleep: Callable[[float], None] = time.sleep, client: httpx.Client | None = None):
        self.settings = settings
        self.fields = {}
        for ind in definitions.indicators:
            if ind.api is not None:
                self.fields.setdefault(ind.api.provider, []).append((ind.api.field, ind.key, ind.unit))
        self.max_retries = max_retries
        self.max_retry_wait_s = max_retry_wait_s
        self.backoff_s = backoff_s
        self.sleep = sleep
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(settings.http_timeout_s),
            follow_redirects=True,
            headers={"User-Agent": f"newsmon/{_pkg_version} (+{settings.contact_url})"},
        )
        self._own_client = client is None

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    def __enter__(self) -> "ApiCollector":
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

    def readings(self, outcome: FetchOutcome) -> list[tuple[str, str, int, str]]:
        """(indicator, subject, value, unit) rows of a successful fetch."""
        return [(key, outcome.source.subject, outcome.values[fld], unit)
                for fld, key, unit in self.fields.get(outcome.source.provider, []) if fld in outcome.values]

    def fetch(self, source: ApiSource) -> FetchOutcome:
        url = self.url_for(source)
        out = FetchOutcome(source, url, ok=False)
        waited = 0.0
        while True:
            out.attempts += 1
            retry_in: float | None = None
            try:
                resp = self._client.get(url, headers=self._headers(source.provider))
            except httpx.TimeoutException:
                out.error, out.http_status = f"timeout after {self.settings.http_timeout_s:g}s", None
                retry_in = self.backoff_s * out.attempts
            except httpx.ConnectError as exc:
                # DNS failure or connection refused: retrying now will not help (offline, wrong URL)
                out.error, out.http_status, out.unreachable = f"network error: {type(exc).__name__}", None, True
                return out
            except httpx.HTTPError as exc:
                out.error, out.http_status = f"network error: {type(exc).__name__}", None
                retry_in = self.backoff_s * out.attempts
            else:
                out.http_status = resp.status_code
                if resp.status_code == 200:
                    return self._parse(out, resp)
                limited = resp.status_code == 429 or (
                    resp.status_code == 403 and resp.headers.get("x-ratelimit-remaining") == "0")
                if limited:
                    wait = _retry_after(resp.headers)
                    out.error = "rate limited" + (f" (retry after {wait:g}s)" if wait is not None else "")
                    retry_in = wait if wait is not None else self.backoff_s * out.attempts
                    if retry_in > self.max_retry_wait_s - waited:
                        out.error += f"; not waiting longer than {self.max_retry_wait_s:g}s"
                        return out
                elif resp.status_code >= 500:
                    out.error = f"HTTP {resp.status_code} server error"
                    retry_in = self.backoff_s * out.attempts
                else:
                    out.error = f"HTTP {resp.status_code}" + (" not found" if resp.status_code == 404 else "")
                    return out
            if out.attempts > self.max_retries or retry_in is None:
                return out
            retry_in = min(max(retry_in, 0.0), max(self.max_retry_wait_s - waited, 0.0))
            log.info("%s %s: %s; retrying in %.1fs", source.provider, source.repo, out.error, retry_in)
            self.sleep(retry_in)
            waited += retry_in

    def _parse(self, out: FetchOutcome, resp: httpx.Response) -> FetchOutcome:
        if len(resp.content) > MAX_BODY_BYTES:
            out.error = f"answer larger than {MAX_BODY_BYTES} bytes"
            return out
        try:
            data = resp.json()
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


def _retry_after(headers: httpx.Headers) -> float | None:
    raw = headers.get("retry-after")
    if raw:
        raw = raw.strip()
        if raw.isdigit():
            return float(raw)
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())
    reset = headers.get("x-ratelimit-reset")
    if reset and reset.strip().isdigit():
        return max(0.0, int(reset) - time.time())
    return None
