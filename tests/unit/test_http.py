"""The HTTP client against servers on 127.0.0.1: guard, caps, deadlines, politeness."""

from __future__ import annotations

import dataclasses
import http.server
import socket
import threading
import time

import pytest

from pipeline.infra.config import Settings
from pipeline.infra.http import (BlockedAddress, ConnectFailed, HostDeferred, HttpClient, HttpStatusError, NetworkError,
                                 NetworkTimeout, RobotsDisallowed, TooLarge, TooManyRedirects, UnsupportedContent,
                                 parse_retry_after)
from tests.support.httpserver import Response

LOCAL = Settings.from_env({"NEWSMON_ALLOW_PRIVATE_NETWORKS": "true", "NEWSMON_HOST_DELAY": "0",
                           "NEWSMON_HTTP_TIMEOUT": "1.5"})


def test_user_agent_conditional_headers_and_304(http_server):
    seen = {}

    def feed(request):
        seen.update(request.headers)
        if request.headers.get("If-None-Match") == '"abc"':
            return Response(304, b"")
        return Response(200, "<rss/>", {"ETag": '"abc"', "Content-Type": "application/rss+xml"})

    http_server.route("/f", feed)
    with HttpClient(LOCAL) as client:
        first = client.fetch(http_server.url("/f"), kind="feed")
        second = client.fetch(http_server.url("/f"), kind="feed", etag=first.headers["etag"], last_modified="Wed, 25 Nov 2026 08:00:00 GMT")
    assert first.status == 200 and second.not_modified
    assert LOCAL.contact_url in seen["User-Agent"] and seen["If-Modified-Since"].startswith("Wed")


def test_private_addresses_refused_unless_allowed(http_server):
    http_server.route("/p", Response(200, "<html>x</html>", {"Content-Type": "text/html"}))
    strict = dataclasses.replace(LOCAL, allow_private_networks=False)
    with HttpClient(strict) as client:
        for url in (http_server.url("/p"), f"http://localhost:{http_server.url('/p').split(':')[2]}",
                    "http://[::1]:9/", "http://10.1.2.3/", "http://169.254.169.254/latest/meta-data/"):
            with pytest.raises(BlockedAddress):
                client.fetch(url, kind="feed")
    assert http_server.hits("/p") == 0


def test_every_redirect_hop_is_checked(http_server):
    # Allowed private networks still never reach a cloud metadata endpoint, even via a redirect.
    http_server.route("/r", Response(302, "", {"Location": "http://169.254.169.254/latest/meta-data/"}))
    with HttpClient(LOCAL) as client, pytest.raises(BlockedAddress):
        client.fetch(http_server.url("/r"), kind="feed")


def test_dns_answer_with_any_private_address_is_refused(monkeypatch):
    real = socket.getaddrinfo

    def rebinding(host, *args, **kwargs):
        if host == "rebind.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with HttpClient(dataclasses.replace(LOCAL, allow_private_networks=False)) as client:
        with pytest.raises(BlockedAddress, match="127.0.0.1"):
            client.fetch("http://rebind.test/feed", kind="feed")


def test_redirects_limited_and_followed(http_server):
    for i in range(7):
        http_server.route(f"/hop{i}", Response(301, "", {"Location": f"/hop{i + 1}"}))
    http_server.route("/hop7", Response(200, "<html>end</html>", {"Content-Type": "text/html"}))
    with HttpClient(LOCAL) as client:
        with pytest.raises(TooManyRedirects):
            client.fetch(http_server.url("/hop0"))
        done = client.fetch(http_server.url("/hop3"))
    assert done.final_url.endswith("/hop7") and done.url.endswith("/hop3")


def test_content_type_and_status_errors(http_server):
    http_server.route("/pdf", Response(200, b"%PDF-1.4", {"Content-Type": "application/pdf"}))
    http_server.route("/disguised", Response(200, b"%PDF-1.4 ...", {"Content-Type": "text/html"}))
    http_server.route("/big", Response(200, b"x" * 5000, {"Content-Type": "text/html"}))
    http_server.route("/gone", Response(410, "gone"))
    http_server.route("/err", Response(502, "bad gateway"))
    small = dataclasses.replace(LOCAL, max_page_bytes=4096)
    with HttpClient(small) as client:
        with pytest.raises(UnsupportedContent):
            client.fetch(http_server.url("/pdf"))
        with pytest.raises(UnsupportedContent):
            client.fetch(http_server.url("/disguised"))
        with pytest.raises(TooLarge):
            client.fetch(http_server.url("/big"))
        with pytest.raises(HttpStatusError) as gone:
            client.fetch(http_server.url("/gone"))
        with pytest.raises(HttpStatusError) as err:
            client.fetch(http_server.url("/err"))
    assert gone.value.permanent and gone.value.status == 410
    assert not err.value.permanent


class _Streaming(http.server.BaseHTTPRequestHandler):
    """Chunked bodies with no Content-Length: endless (/endless) or dripping (/drip)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/robots.txt":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"x" * 65536 if self.path == "/endless" else b"x"
        try:
            for _ in range(100000):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
                if self.path == "/drip":
                    time.sleep(0.2)
        except OSError:
            pass


@pytest.fixture
def streaming_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Streaming)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_caps_and_deadline_enforced_while_streaming(streaming_server):
    with HttpClient(dataclasses.replace(LOCAL, max_page_bytes=1024 * 1024)) as client:
        with pytest.raises(TooLarge, match="stopped reading"):
            client.fetch(streaming_server + "/endless")
        with pytest.raises(NetworkError, match="deadline"):
            client.fetch(streaming_server + "/drip")


def test_hanging_server_times_out(http_server):
    http_server.route("/hang", Response(200, "late", delay=3))
    with HttpClient(dataclasses.replace(LOCAL, http_timeout_s=0.5)) as client:
        with pytest.raises(NetworkError, match="timeout"):
            client.fetch(http_server.url("/hang"))


def test_robots_cached_per_host_and_honoured(http_server):
    http_server.route("/robots.txt", Response(200, "User-agent: newsmon\nDisallow: /closed/\n\nUser-agent: *\nDisallow: /\n"))
    http_server.route("/open/a", Response(200, "<html>a</html>", {"Content-Type": "text/html"}))
    http_server.route("/open/b", Response(200, "<html>b</html>", {"Content-Type": "text/html"}))
    http_server.route("/closed/feed.xml", Response(200, "<rss/>", {"Content-Type": "text/xml"}))
    with HttpClient(LOCAL) as client:
        client.fetch(http_server.url("/open/a"))
        client.fetch(http_server.url("/open/b"))
        with pytest.raises(RobotsDisallowed):
            client.fetch(http_server.url("/closed/x"))
        client.fetch(http_server.url("/closed/feed.xml"), kind="feed")  # feeds are subscribed on purpose
    assert http_server.hits("/robots.txt") == 1


def test_unreachable_robots_means_disallow(http_server):
    http_server.route("/robots.txt", Response(503, "down"))
    http_server.route("/page", Response(200, "<html>p</html>", {"Content-Type": "text/html"}))
    with HttpClient(LOCAL) as client, pytest.raises(RobotsDisallowed, match="unreachable"):
        client.fetch(http_server.url("/page"))
    assert http_server.hits("/page") == 0


def test_per_host_concurrency_and_delay(http_server):
    active, peak, starts, lock = [0], [0], [], threading.Lock()

    def slow(_request):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            starts.append(time.monotonic())
        time.sleep(0.15)
        with lock:
            active[0] -= 1
        return Response(200, "<rss/>", {"Content-Type": "application/rss+xml"})

    http_server.route("/s", slow)
    polite = dataclasses.replace(LOCAL, per_host_concurrency=2, host_delay_s=0.05, http_concurrency=8)
    with HttpClient(polite) as client:
        threads = [threading.Thread(target=client.fetch, args=(http_server.url("/s"),), kwargs={"kind": "feed"}) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert peak[0] == 2
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert min(gaps) >= 0.045  # the minimum delay between two requests to one host


def test_retry_after_defers_the_host(http_server):
    http_server.route("/busy", Response(429, "", {"Retry-After": "600"}))
    http_server.route("/other", Response(200, "<rss/>"))
    with HttpClient(LOCAL) as client:
        with pytest.raises(HttpStatusError) as first:
            client.fetch(http_server.url("/busy"), kind="feed")
        with pytest.raises(HostDeferred):
            client.fetch(http_server.url("/other"), kind="feed")
    assert first.value.retry_after == 600 and http_server.hits("/other") == 0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    assert parse_retry_after("120") == 120 and parse_retry_after("soon") is None


def test_gzip_kept_as_sent_and_bombs_stopped_at_the_cap(http_server):
    import gzip
    import zlib

    page = ("<html><body>" + "<p>Chips and export rules.</p>" * 400 + "</body></html>").encode()
    http_server.route("/gz", Response(200, gzip.compress(page), {"Content-Type": "text/html", "Content-Encoding": "gzip"}))
    bomb = gzip.compress(b"<html>" + b" " * (20 * 1024 * 1024))  # 20 KB on the wire, 20 MB inflated
    http_server.route("/bomb", Response(200, bomb, {"Content-Type": "text/html", "Content-Encoding": "gzip"}))
    http_server.route("/bad", Response(200, b"not gzip at all", {"Content-Type": "text/html", "Content-Encoding": "gzip"}))
    with HttpClient(dataclasses.replace(LOCAL, max_page_bytes=1024 * 1024)) as client:
        res = client.fetch(http_server.url("/gz"))
        with pytest.raises(TooLarge):
            client.fetch(http_server.url("/bomb"))
        with pytest.raises(NetworkError, match="gzip"):
            client.fetch(http_server.url("/bad"))
    assert res.body == page and zlib.decompress(res.body_gz, wbits=47) == page


def test_api_kind_extra_headers_and_credentials_stay_with_the_origin(http_server):
    other = http_server.base.replace("127.0.0.1", "localhost")
    http_server.route("/api", Response(302, "", {"Location": "/api2"}))
    http_server.route("/api2", Response(302, "", {"Location": other + "/api3"}))
    http_server.route("/api3", Response(200, b'{"n": 1}'))
    with HttpClient(LOCAL) as client:
        res = client.fetch(http_server.url("/api"), kind="api", headers={"Authorization": "Bearer T", "X-Api": "1"})
        with pytest.raises(ValueError):
            client.fetch(http_server.url("/api3"), kind="api", headers={"User-Agent": "someone else"})
    assert res.body == b'{"n": 1}' and res.final_url == other + "/api3"
    hops = [h for _, path, h in http_server.requests if path.startswith("/api")]
    assert [h.get("Authorization") for h in hops] == ["Bearer T", "Bearer T", None]  # same origin, then not
    assert all(h["X-Api"] == "1" and h["Accept"] == "application/json" for h in hops)


def test_api_kind_rate_limit_is_left_to_the_caller(http_server):
    http_server.route("/limited", Response(429, "", {"Retry-After": "600", "X-RateLimit-Remaining": "0"}))
    http_server.route("/next", Response(200, b"{}"))
    with HttpClient(LOCAL) as client:
        with pytest.raises(HttpStatusError) as limited:
            client.fetch(http_server.url("/limited"), kind="api")
        assert client.fetch(http_server.url("/next"), kind="api").status == 200  # the host is not deferred
    assert limited.value.retry_after == 600 and limited.value.headers["x-ratelimit-remaining"] == "0"


def test_refused_connection_and_timeout_are_told_apart(http_server):
    http_server.route("/slow", Response(200, "late", delay=1))
    with HttpClient(dataclasses.replace(LOCAL, http_timeout_s=0.3)) as client:
        with pytest.raises(ConnectFailed):
            client.fetch("http://127.0.0.1:9/", kind="feed")
        with pytest.raises(NetworkTimeout):
            client.fetch(http_server.url("/slow"), kind="feed")
