"""A small news site on the test HTTP server: good feeds (RSS 2.0, Atom, a recoverable
malformed one) and every kind of bad input the ingest must record without crashing."""

from __future__ import annotations

from email.utils import format_datetime
from datetime import datetime, timezone
from pathlib import Path

from tests.support.httpserver import LocalServer, Response

RES = Path(__file__).resolve().parents[1] / "resources" / "ingest"
HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS_TYPE = {"Content-Type": "application/rss+xml"}
LAST_MODIFIED = format_datetime(datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc), usegmt=True)


def page(name: str, content_type: str = "text/html; charset=utf-8") -> Response:
    return Response(200, (RES / name).read_bytes(), {"Content-Type": content_type})


def rss(items: list[tuple[str, str, str]], title: str = "Good news") -> str:
    """items: (guid, title, link); links are put in verbatim (they may be relative)."""
    body = "".join(
        f"<item><guid isPermaLink='false'>{g}</guid><title>{t}</title><link>{l}</link>"
        f"<pubDate>Wed, 25 Nov 2026 08:00:00 GMT</pubDate><description>Summary of {t}</description></item>"
        for g, t, l in items
    )
    return f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{title}</title>" \
           f"<link>http://example.invalid/</link><description>x</description>{body}</channel></rss>"


def atom(items: list[tuple[str, str, str]]) -> str:
    body = "".join(
        f"<entry><id>{g}</id><title>{t}</title><link rel='alternate' href='{l}'/>"
        f"<updated>2026-11-26T06:30:00Z</updated><summary>About {t}</summary></entry>"
        for g, t, l in items
    )
    return ("<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
            "<title>Atom news</title><id>urn:test:atom</id><updated>2026-11-26T06:30:00Z</updated>"
            f"{body}</feed>")


def conditional(body: str, headers: dict) -> callable:
    """A feed route that answers 304 to a matching If-None-Match / If-Modified-Since."""
    etag = '"v1"'

    def handler(request) -> Response:
        if request.headers.get("If-None-Match") == etag or request.headers.get("If-Modified-Since") == LAST_MODIFIED:
            return Response(304, b"", {"ETag": etag})
        return Response(200, body, {**headers, "ETag": etag, "Last-Modified": LAST_MODIFIED})

    return handler


def build_site(server: LocalServer) -> dict[str, str]:
    """Routes everything; returns {name: url} of the feeds (good and bad)."""
    b = server.base
    huge_title = "Chip " * 20000
    server.route("/robots.txt", Response(200, "User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"}))
    # -- article pages
    server.route("/articles/export-rules-chip-tools", page("en_chips.html"))
    server.route("/de/halbleiter-selbstversorgung", page("de_latin1.html", "text/html; charset=ISO-8859-1"))
    server.route("/science/open-model-downloads", page("en_open_source.html", "text/html"))  # no charset
    server.route("/partner/export-rules.html", page("syndicated_copy.html"))
    server.route("/docs/report.pdf", Response(200, b"%PDF-1.7\n" + b"0" * 2000, {"Content-Type": "application/pdf"}))
    server.route("/img/chart.png", Response(200, b"\x89PNG\r\n\x1a\n" + b"0" * 100, {"Content-Type": "image/png"}))
    server.route("/huge/page.html", Response(200, b"<html>" + b"x" * (50 * 1024 * 1024), HTML))
    server.route("/private/leak.html", page("en_open_source.html"))
    server.route("/slow/page.html", Response(200, "<html>late</html>", HTML, delay=4))
    server.route("/moved/old.html", Response(301, "", {"Location": "/de/halbleiter-selbstversorgung?utm_source=moved"}))
    # /missing.html is not routed: 404
    good_rss = rss([
        ("g-1", "Export rules squeeze chip tool makers", f"{b}/articles/export-rules-chip-tools?utm_source=rss&utm_medium=feed"),
        ("g-2", "Peking setzt auf Selbstversorgung", "/de/halbleiter-selbstversorgung"),  # relative link
        ("g-3", "Annual report (PDF)", f"{b}/docs/report.pdf"),
        ("g-4", "A chart", f"{b}/img/chart.png"),
        ("g-5", "Fifty megabytes", f"{b}/huge/page.html"),
        ("g-6", "Robots say no", f"{b}/private/leak.html"),
        ("g-7", "Gone missing", f"{b}/missing.html"),
        ("g-8", "Too slow", f"{b}/slow/page.html"),
        ("g-9", "Bad link", "javascript:alert(1)"),
        ("g-10", "Null\x00title " + huge_title, f"{b}/moved/old.html"),
    ]).replace("\x00", "&#0;")
    good_atom = atom([
        ("urn:a:1", "Export rules squeeze chip tool makers", f"{b}/articles/export-rules-chip-tools#comments"),
        ("urn:a:2", "Open model downloads keep climbing", f"{b}/science/open-model-downloads"),
        ("urn:a:3", "Export rules (partner copy)", f"{b}/partner/export-rules.html"),
    ])
    server.route("/feeds/good.rss", conditional(good_rss, RSS_TYPE))
    server.route("/feeds/good.atom", conditional(good_atom, {"Content-Type": "application/atom+xml"}))
    # Recoverable: an unescaped ampersand; feedparser's loose parser still yields the entries.
    bozo = rss([("b-1", "Chips & trade", f"{b}/science/open-model-downloads?utm_campaign=x")]).replace("&amp;", "&")
    server.route("/feeds/bozo.rss", Response(200, bozo, {"Content-Type": "text/xml"}))
    # -- bad feeds
    server.route("/feeds/html.xml", Response(200, (RES / "en_chips.html").read_bytes(), HTML))
    server.route("/feeds/broken.xml", Response(200, "<?xml version='1.0'?><rss><channel><title>x</ti", RSS_TYPE))
    server.route("/feeds/error.xml", Response(500, "boom", {"Content-Type": "text/plain"}))
    server.route("/feeds/gone.xml", Response(410, "gone", {"Content-Type": "text/plain"}))
    server.route("/feeds/hang.xml", Response(200, good_rss, RSS_TYPE, delay=4))
    server.route("/feeds/loop-a.xml", Response(302, "", {"Location": "/feeds/loop-b.xml"}))
    server.route("/feeds/loop-b.xml", Response(302, "", {"Location": "/feeds/loop-a.xml"}))
    server.route("/feeds/pdf.xml", Response(200, b"%PDF-1.4", {"Content-Type": "application/pdf"}))
    return {
        "good-rss": f"{b}/feeds/good.rss",
        "good-atom": f"{b}/feeds/good.atom",
        "bozo": f"{b}/feeds/bozo.rss",
        "html-page": f"{b}/feeds/html.xml",
        "broken-xml": f"{b}/feeds/broken.xml",
        "server-error": f"{b}/feeds/error.xml",
        "gone": f"{b}/feeds/gone.xml",
        "hangs": f"{b}/feeds/hang.xml",
        "redirect-loop": f"{b}/feeds/loop-a.xml",
        "not-found": f"{b}/feeds/nothing-here.xml",
        "pdf-feed": f"{b}/feeds/pdf.xml",
    }


def write_feed_list(path: Path, feeds: dict[str, str], languages: dict[str, str] | None = None) -> Path:
    languages = languages or {}
    lines = [f"- name: {name}\n  url: \"{url}\"\n  language: {languages.get(name, 'en')}\n" for name, url in feeds.items()]
    path.write_text("".join(lines), encoding="utf-8")
    return path
