"""API collectors against a real HTTP server on 127.0.0.1 answering in the real APIs' JSON shapes.

The fixtures in tests/resources/indicators/api/ follow the public answers of
GET https://huggingface.co/api/models/{repo} and GET https://api.github.com/repos/{owner}/{repo}
(field names and types; the counts are illustrative).
"""

from __future__ import annotations

import email.utils
from pathlib import Path

import pytest

from pipeline.indicators.stage import ApiCollector, load_definitions, parse_definitions
from pipeline.infra.config import Settings
from tests.support.httpserver import Response

API = Path(__file__).resolve().parents[1] / "resources" / "indicators" / "api"
JSON = {"Content-Type": "application/json; charset=utf-8"}
HF_REPO = "Qwen/Qwen2.5-7B-Instruct"
GH_REPO = "ollama/ollama"


# The test servers listen on 127.0.0.1: the client's address guard must let them through.
LOCAL = {"NEWSMON_ALLOW_PRIVATE_NETWORKS": "true", "NEWSMON_HOST_DELAY": "0"}


def _settings(server, **env) -> Settings:
    base = {"NEWSMON_HF_API_URL": server.base, "NEWSMON_GITHUB_API_URL": server.base, "NEWSMON_HTTP_TIMEOUT": "2",
            **LOCAL}
    return Settings.from_env({**base, **env}, dotenv=False)


def _defs(*sources):
    defs = load_definitions()
    data = {
        "indicators": [{"key": i.key, "kind": i.kind, "unit": i.unit,
                        "api": {"provider": i.api.provider, "field": i.api.field}}
                       for i in defs.indicators if i.api],
        "api_sources": [{"provider": p, "repo": r} for p, r in sources],
    }
    return parse_definitions(data)


class Sleeps(list):
    """Records the waits instead of sleeping them (the HTTP exchanges stay real)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def _module_server():
    from tests.support.httpserver import LocalServer

    server = LocalServer().start()
    yield server
    server.stop()


@pytest.fixture
def http_server(_module_server):
    """One 127.0.0.1 server for the module (its shutdown costs half a second), fresh routes per test."""
    _module_server.routes.clear()
    _module_server.requests.clear()
    return _module_server


@pytest.fixture
def collector_for(http_server):
    made = []

    def make(*sources, env=None, **kwargs):
        kwargs.setdefault("sleep", Sleeps())
        kwargs.setdefault("backoff_s", 0.01)
        c = ApiCollector(_settings(http_server, **(env or {})), _defs(*sources), **kwargs)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def test_huggingface_downloads_and_likes(http_server, collector_for):
    path = f"/api/models/{HF_REPO}"
    http_server.route(path, Response(200, (API / "hf_model.json").read_bytes(), JSON))
    c = collector_for(("huggingface", HF_REPO), env={"NEWSMON_HF_TOKEN": "hf_SECRETtoken"})
    source = c_source = _defs(("huggingface", HF_REPO)).api_sources[0]
    out = c.fetch(c_source)
    assert out.ok and out.http_status == 200 and out.attempts == 1
    assert out.url == http_server.url(path)
    assert sorted(c.readings(out)) == [("hf_downloads", HF_REPO, 1834562, "count"),
                                       ("hf_likes", HF_REPO, 742, "count")]
    _, _, headers = http_server.requests[-1]
    assert headers["Authorization"] == "Bearer hf_SECRETtoken"
    assert headers["User-Agent"].startswith("newsmon/")
    assert source.subject == HF_REPO


def test_github_stars_with_token_and_api_headers(http_server, collector_for):
    http_server.route(f"/repos/{GH_REPO}", Response(200, (API / "github_repo.json").read_bytes(), JSON))
    c = collector_for(("github", GH_REPO), env={"NEWSMON_GITHUB_TOKEN": "ghp_SECRET"})
    out = c.fetch(_defs(("github", GH_REPO)).api_sources[0])
    assert out.ok
    assert c.readings(out) == [("github_stars", GH_REPO, 143210, "count")]
    _, _, headers = http_server.requests[-1]
    assert headers["Authorization"] == "Bearer ghp_SECRET"
    assert headers["Accept"] == "application/vnd.github+json"


def test_no_token_no_authorization_header(http_server, collector_for):
    http_server.route(f"/repos/{GH_REPO}", Response(200, (API / "github_repo.json").read_bytes(), JSON))
    c = collector_for(("github", GH_REPO))
    assert c.fetch(_defs(("github", GH_REPO)).api_sources[0]).ok
    assert "Authorization" not in http_server.requests[-1][2]


def test_429_retry_after_seconds_is_waited_then_succeeds(http_server, collector_for):
    path = f"/api/models/{HF_REPO}"
    answers = [Response(429, "slow down", {"Retry-After": "3"}),
               Response(200, (API / "hf_model.json").read_bytes(), JSON)]
    http_server.route(path, lambda handler: answers.pop(0))
    sleeps = Sleeps()
    c = collector_for(("huggingface", HF_REPO), sleep=sleeps, max_retry_wait_s=10)
    out = c.fetch(_defs(("huggingface", HF_REPO)).api_sources[0])
    assert out.ok and out.attempts == 2
    assert sleeps == [3.0]
    assert http_server.hits(path) == 2


def test_429_with_http_date_and_github_403_rate_limit(http_server, collector_for):
    now = 1_790_000_000.0  # an injected wall clock: the waits are exact, however slow the machine
    when = email.utils.formatdate(now + 5, usegmt=True)
    answers = [Response(429, "", {"Retry-After": when}),
               Response(403, (API / "github_rate_limited.json").read_bytes(),
                        {**JSON, "x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(now) + 2)}),
               Response(200, (API / "github_repo.json").read_bytes(), JSON)]
    http_server.route(f"/repos/{GH_REPO}", lambda handler: answers.pop(0))
    sleeps = Sleeps()
    c = collector_for(("github", GH_REPO), sleep=sleeps, max_retry_wait_s=30, clock=lambda: now)
    out = c.fetch(_defs(("github", GH_REPO)).api_sources[0])
    assert out.ok and out.attempts == 3
    assert sleeps == [5.0, 2.0]


def test_429_with_too_long_retry_after_gives_up_without_waiting(http_server, collector_for):
    path = f"/api/models/{HF_REPO}"
    http_server.route(path, Response(429, "", {"Retry-After": "3600"}))
    sleeps = Sleeps()
    c = collector_for(("huggingface", HF_REPO), sleep=sleeps, max_retry_wait_s=60)
    out = c.fetch(_defs(("huggingface", HF_REPO)).api_sources[0])
    assert not out.ok and out.http_status == 429
    assert "rate limited (retry after 3600s)" in out.error and sleeps == []
    assert http_server.hits(path) == 1


def test_persistent_429_is_bounded(http_server, collector_for):
    path = f"/api/models/{HF_REPO}"
    http_server.route(path, Response(429, "", {"Retry-After": "1"}))
    sleeps = Sleeps()
    c = collector_for(("huggingface", HF_REPO), sleep=sleeps, max_retries=2, max_retry_wait_s=60)
    out = c.fetch(_defs(("huggingface", HF_REPO)).api_sources[0])
    assert not out.ok and out.attempts == 3 and sleeps == [1.0, 1.0]


def test_404_is_a_recorded_failure_without_retry(http_server, collector_for):
    path = "/api/models/nobody/nothing"
    http_server.route(path, Response(404, (API / "hf_not_found.json").read_bytes(), JSON))
    c = collector_for(("huggingface", "nobody/nothing"))
    out = c.fetch(_defs(("huggingface", "nobody/nothing")).api_sources[0])
    assert not out.ok and out.http_status == 404 and out.error == "HTTP 404 not found"
    assert http_server.hits(path) == 1


def test_500_is_retried_then_recorded(http_server, collector_for):
    path = f"/repos/{GH_REPO}"
    http_server.route(path, Response(500, "oops"))
    c = collector_for(("github", GH_REPO), max_retries=2)
    out = c.fetch(_defs(("github", GH_REPO)).api_sources[0])
    assert not out.ok and out.http_status == 500 and out.attempts == 3
    assert http_server.hits(path) == 3


def test_500_then_success(http_server, collector_for):
    answers = [Response(502, "bad gateway"), Response(200, (API / "github_repo.json").read_bytes(), JSON)]
    http_server.route(f"/repos/{GH_REPO}", lambda handler: answers.pop(0))
    out = collector_for(("github", GH_REPO)).fetch(_defs(("github", GH_REPO)).api_sources[0])
    assert out.ok and out.attempts == 2


@pytest.mark.parametrize("body, error", [
    (b'{"downloads": 12, "likes": ', "malformed JSON"),
    (b"<html>maintenance</html>", "malformed JSON"),
    (b"[1, 2, 3]", "expected a JSON object"),
    (b'{"id": "Qwen/Qwen2.5-7B-Instruct", "downloads": "many", "likes": true}', "missing or not a count"),
])
def test_malformed_answers_are_failures(http_server, collector_for, body, error):
    http_server.route(f"/api/models/{HF_REPO}", Response(200, body, JSON))
    out = collector_for(("huggingface", HF_REPO)).fetch(_defs(("huggingface", HF_REPO)).api_sources[0])
    assert not out.ok and error in out.error


def test_timeout_is_a_failure(http_server, collector_for):
    http_server.route(f"/repos/{GH_REPO}", Response(200, b"{}", JSON, delay=1.0))
    c = collector_for(("github", GH_REPO), env={"NEWSMON_HTTP_TIMEOUT": "0.2"}, max_retries=0)
    out = c.fetch(_defs(("github", GH_REPO)).api_sources[0])
    assert not out.ok and out.error.startswith("timeout")


def test_unreachable_server_is_a_failure(collector_for):
    c = ApiCollector(Settings.from_env({"NEWSMON_GITHUB_API_URL": "http://127.0.0.1:9", **LOCAL}, dotenv=False),
                     _defs(("github", GH_REPO)), max_retries=1, backoff_s=0, sleep=Sleeps())
    out = c.fetch(_defs(("github", GH_REPO)).api_sources[0])
    c.close()
    assert not out.ok and out.error.startswith("network error") and out.unreachable and out.attempts == 1


def test_api_requests_go_through_the_address_guard(http_server):
    """The API base URLs are configuration, but the guarded client still refuses private addresses."""
    http_server.route(f"/repos/{GH_REPO}", Response(200, (API / "github_repo.json").read_bytes(), JSON))
    strict = Settings.from_env({"NEWSMON_GITHUB_API_URL": http_server.base, "NEWSMON_GITHUB_TOKEN": "ghp_SECRET"},
                               dotenv=False)
    with ApiCollector(strict, _defs(("github", GH_REPO)), sleep=Sleeps()) as c:
        out = c.fetch(_defs(("github", GH_REPO)).api_sources[0])
    assert not out.ok and out.unreachable and out.attempts == 1
    assert "non-public address" in out.error and "SECRET" not in out.error
    assert http_server.requests == []


def test_token_stays_with_the_api_origin_on_a_redirect(http_server, collector_for):
    # 127.0.0.1 and localhost are different origins of the same test server
    elsewhere = http_server.base.replace("127.0.0.1", "localhost") + "/moved"
    http_server.route(f"/repos/{GH_REPO}", Response(301, "", {"Location": elsewhere}))
    http_server.route("/moved", Response(200, (API / "github_repo.json").read_bytes(), JSON))
    c = collector_for(("github", GH_REPO), env={"NEWSMON_GITHUB_TOKEN": "ghp_SECRET"})
    out = c.fetch(_defs(("github", GH_REPO)).api_sources[0])
    assert out.ok
    (_, first, first_headers), (_, second, second_headers) = http_server.requests
    assert first == f"/repos/{GH_REPO}" and first_headers["Authorization"] == "Bearer ghp_SECRET"
    assert second == "/moved" and "Authorization" not in second_headers


def test_oversized_answer_is_a_failure_without_retry(http_server, collector_for):
    from pipeline.infra.http import MAX_API_BYTES

    http_server.route(f"/api/models/{HF_REPO}", Response(200, b" " * (MAX_API_BYTES + 1), JSON))
    out = collector_for(("huggingface", HF_REPO)).fetch(_defs(("huggingface", HF_REPO)).api_sources[0])
    assert not out.ok and "exceeds the api cap" in out.error
    assert http_server.hits(f"/api/models/{HF_REPO}") == 1
