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


class FakeTime:
    """A clock that stands still and a sleep that only records: the client's schedule is the
    list of waits it asks for, whatever the machine's speed."""

    def __init__(self, start: float = 1000.0):
        self.now, self.sleeps, self.lock = start, [], threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.sleeps.append(round(seconds, 6))


def test_per_host_concurrency_and_delay(http_server):
    active, peak, started, cond = [0], [0], [0], threading.Condition()

    def slow(_request):
        with cond:
            active[0] += 1
            started[0] += 1
            peak[0] = max(peak[0], active[0])
            cond.notify_all()
            # hold the slot until a second request shares it (or none can come): the overlap is
            # made, not hoped for; a third request in here would mean the limit leaked
            cond.wait_for(lambda: active[0] >= 2 or started[0] == 6, timeout=10)
            active[0] -= 1
        return Response(200, "<rss/>", {"Content-Type": "application/rss+xml"})

    http_server.route("/s", slow)
    polite = dataclasses.replace(LOCAL, per_host_concurrency=2, host_delay_s=0.05, http_concurrency=8)
    fake = FakeTime()
    with HttpClient(polite, clock=fake.clock, sleep=fake.sleep) as client:
        threads = [threading.Thread(target=client.fetch, args=(http_server.url("/s"),), kwargs={"kind": "feed"}) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert peak[0] == 2 and started[0] == 6
    # one send time reserved per request, each the host delay after the one before
    assert sorted(fake.sleeps) == [0.05, 0.1, 0.15, 0.2, 0.25]


def test_crawl_delay_and_short_retry_after_are_waited_out(http_server):
    http_server.route("/robots.txt", Response(200, "User-agent: *\nCrawl-delay: 2\n"))
    ok = Response(200, "<html>ok</html>", {"Content-Type": "text/html"})
    answers = [Response(503, "", {"Retry-After": "3"}), ok, ok]
    http_server.route("/p", lambda _request: answers.pop(0))
    fake = FakeTime()
    with HttpClient(LOCAL, clock=fake.clock, sleep=fake.sleep) as client:
        with pytest.raises(HttpStatusError) as busy:
            client.fetch(http_server.url("/p"))
        assert client.fetch(http_server.url("/p")).status == 200
        assert client.fetch(http_server.url("/p")).status == 200
    # the clock stands still: the retry waits out Retry-After (3 s after the 503), the next
    # page the crawl-delay after that (2 s more)
    assert busy.value.retry_after == 3 and fake.sleeps == [3.0, 5.0]


def test_retry_after_http_date_on_the_injected_wall_clock(http_server):
    import email.utils

    now = 1_790_000_000.0
    http_server.route("/busy", Response(429, "", {"Retry-After": email.utils.formatdate(now + 7, usegmt=True)}))
    with HttpClient(LOCAL, wall_clock=lambda: now) as client, pytest.raises(HttpStatusError) as busy:
        client.fetch(http_server.url("/busy"), kind="feed")
    assert busy.value.retry_after == 7
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True), now) == 0


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


ROBOTS_CASES = [
    # (robots.txt, path, allowed per RFC 9309)
    ("User-agent: *\nDisallow: /*?print=\n", "/story?print=1", False),
    ("User-agent: *\nDisallow: /*?print=\n", "/story?id=3", True),
    ("User-agent: *\nDisallow: /*.pdf$\n", "/files/a.pdf", False),
    ("User-agent: *\nDisallow: /*.pdf$\n", "/files/a.pdf.html", True),
    ("User-agent: *\nDisallow: /news/\nAllow: /news/public/\n", "/news/public/a", True),  # longest match
    ("User-agent: *\nAllow: /news/public/\nDisallow: /news/\n", "/news/public/a", True),  # order does not matter
    ("User-agent: *\nDisallow: /news/\nAllow: /news/public/\n", "/news/private", False),
    ("User-agent: *\nDisallow: /*/amp$\n", "/2026/story/amp", False),
    ("User-agent: newsmon\nDisallow: /x\n\nUser-agent: *\nDisallow: /\n", "/y", True),
    ("User-agent: *\nDisallow:\n", "/anything", True),
]


@pytest.mark.parametrize("robots, path, allowed", ROBOTS_CASES)
def test_robots_rfc9309_wildcards_and_longest_match(http_server, robots, path, allowed):
    http_server.route("/robots.txt", Response(200, robots))
    http_server.route(path.split("?")[0], Response(200, "<html>p</html>", {"Content-Type": "text/html"}))
    with HttpClient(LOCAL) as client:
        if allowed:
            assert client.fetch(http_server.url(path)).status == 200
        else:
            with pytest.raises(RobotsDisallowed):
                client.fetch(http_server.url(path))


def test_urllib_robotparser_misses_what_protego_gets_right():
    """The measurement behind the switch: urllib.robotparser has no wildcards and takes the
    first match, so it answers some of these cases wrongly; protego answers all of them."""
    import urllib.robotparser

    from protego import Protego

    wrong_stdlib = wrong_protego = 0
    for robots, path, allowed in ROBOTS_CASES:
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(robots.splitlines())
        wrong_stdlib += parser.can_fetch("newsmon", "https://h.example" + path) != allowed
        wrong_protego += Protego.parse(robots).can_fetch("https://h.example" + path, "newsmon") != allowed
    assert wrong_protego == 0
    assert wrong_stdlib >= 4  # /*?print=, /*.pdf$, /*/amp$, Allow after Disallow


def test_deflate_inflated_step_by_step_and_bombs_stopped(http_server):
    import zlib

    page = ("<html><body>" + "<p>Chips and export rules.</p>" * 400 + "</body></html>").encode()
    raw = zlib.compressobj(wbits=-15)
    http_server.route("/zlib", Response(200, zlib.compress(page), {"Content-Type": "text/html", "Content-Encoding": "deflate"}))
    http_server.route("/raw", Response(200, raw.compress(page) + raw.flush(),
                                       {"Content-Type": "text/html", "Content-Encoding": "deflate"}))
    bomb = zlib.compress(b"<html>" + b" " * (50 * 1024 * 1024), 9)  # ~50 KB on the wire
    http_server.route("/bomb", Response(200, bomb, {"Content-Type": "text/html", "Content-Encoding": "deflate"}))
    http_server.route("/br", Response(200, b"\x0b\x02\x80hi\x03", {"Content-Type": "text/html", "Content-Encoding": "br"}))
    grown = []
    real = zlib.decompressobj

    class Watched:
        """Records how much each inflate step was allowed to produce."""

        def __init__(self, *a, **kw):
            self._inner = real(*a, **kw)

        def decompress(self, data, max_length=0):
            out = self._inner.decompress(data, max_length)
            grown.append((max_length, len(out)))
            return out

        def __getattr__(self, name):
            return getattr(self._inner, name)

    cap = 1024 * 1024
    with HttpClient(dataclasses.replace(LOCAL, max_page_bytes=cap)) as client:
        assert client.fetch(http_server.url("/zlib")).body == page
        assert client.fetch(http_server.url("/raw")).body == page
        zlib.decompressobj = Watched
        try:
            with pytest.raises(TooLarge):
                client.fetch(http_server.url("/bomb"))
        finally:
            zlib.decompressobj = real
        with pytest.raises(UnsupportedContent, match="br"):
            client.fetch(http_server.url("/br"))
    assert grown and all(0 < limit <= cap + 1 and produced <= limit for limit, produced in grown)
    assert sum(produced for _, produced in grown) <= cap + 1


@pytest.mark.parametrize("address", [
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1", "2002:7f00:1::1", "2002:a9fe:a9fe::1",
    "2001:0:4136:e378:8000:63bf:80ff:fffe", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1",
])
def test_ipv6_addresses_that_embed_private_ipv4_are_refused(monkeypatch, address):
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    strict = dataclasses.replace(LOCAL, allow_private_networks=False)
    with HttpClient(strict) as client, pytest.raises(BlockedAddress):
        client.fetch("http://tricky.example/", kind="feed")


@pytest.mark.parametrize("address", ["169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200",
                                     "64:ff9b::a9fe:a9fe", "::ffff:169.254.170.2", "2002:a9fe:a9fe::1"])
def test_metadata_addresses_refused_even_when_private_networks_are_allowed(monkeypatch, address):
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sockaddr = (address, 80, 0, 0) if ":" in address else (address, 80)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **kw: [(family, socket.SOCK_STREAM, 6, "", sockaddr)])
    with HttpClient(LOCAL) as client, pytest.raises(BlockedAddress, match="metadata"):
        client.fetch("http://metadata.example/latest/", kind="feed")


def test_public_addresses_stay_public():
    import ipaddress

    from pipeline.infra.ssrf import is_metadata_address, is_public_address

    for address in ("8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8"):
        ip = ipaddress.ip_address(address)
        assert is_public_address(ip) and not is_metadata_address(ip)


def test_fetch_errors_mask_secrets_of_the_urls_they_quote(http_server):
    http_server.route("/loop", Response(302, "", {"Location": "/loop?token=t0ps3cret&x=1"}))
    with HttpClient(LOCAL) as client:
        with pytest.raises(TooManyRedirects) as loop:
            client.fetch(http_server.url("/loop?api_key=k3y"), kind="feed")
        with pytest.raises(UnsupportedContent) as scheme:
            client.fetch("ftp://user:pa55@files.example/x?password=pw", kind="feed")
    for err in (loop.value, scheme.value):
        assert not any(s in str(err) or s in err.reason for s in ("t0ps3cret", "k3y", "pa55", "=pw"))
    assert "token=***" in loop.value.reason
