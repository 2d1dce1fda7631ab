"""Feed list validation and feed parsing (RSS 0.91/1.0/2.0, Atom, malformed, not-a-feed)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pipeline.infra.config import DATA_DIR, UserError
from pipeline.ingest.feeds import FeedListError, FeedParseError, load_feed_list, parse_feed

NOW = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)


def write(tmp_path, text):
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_list(tmp_path):
    path = write(tmp_path, """
- name: heise
  url: https://www.heise.de/rss/heise-atom.xml
  language: DE
  tags: [tech]
- {name: reg, url: "https://www.theregister.com/headlines.atom", language: en, enabled: false}
""")
    feeds = load_feed_list(path)
    assert [(f.name, f.language, f.tags, f.enabled) for f in feeds] == [("heise", "de", ("tech",), True), ("reg", "en", (), False)]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("- {name: a, url: 'https://a.example/f', language: en, langauge: en}", "entry 1 ('a'): unknown key 'langauge'"),
        ("- {name: a, url: 'https://a.example/f', language: en}\n- {name: a, url: 'https://b.example/f', language: de}",
         "entry 2 ('a'): duplicate name 'a' (first used by entry 1)"),
        ("- {name: a, url: 'https://a.example/f', language: fr}", "entry 1 ('a'): language must be one of de, en"),
        ("- {name: a, language: en}", "entry 1 ('a'): missing 'url'"),
        ("- {url: 'https://a.example/f', language: en}", "entry 1: missing 'name'"),
        ("- {name: a, url: 'ftp://a.example/f', language: en}", "url must be an absolute http(s) URL"),
        ("- {name: a, url: '/relative', language: en}", "url must be an absolute http(s) URL"),
        ("- {name: a, url: 'https://a.example/f', language: en, enabled: maybe}", "enabled must be true or false"),
        ("- just a string", "entry 1: expected a mapping"),
        ("name: a\nurl: b", "expected a YAML list"),
        ("- {name: a, url: [", "not valid YAML"),
    ],
)
def test_bad_lists_name_the_entry(tmp_path, text, fragment):
    with pytest.raises(FeedListError) as info:
        load_feed_list(write(tmp_path, text))
    assert fragment in str(info.value)
    assert isinstance(info.value, UserError) and "\n" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(FeedListError, match="not found"):
        load_feed_list(tmp_path / "nope.yaml")


def test_bundled_lists_are_valid(tmp_path):
    feeds = load_feed_list(DATA_DIR / "feeds.yaml")
    assert sum(f.language == "de" for f in feeds) >= 6 and sum(f.language == "en" for f in feeds) >= 6
    demo = (DATA_DIR / "demo" / "feeds.yaml").read_text().replace("{base}", "http://127.0.0.1:8000")
    assert len(load_feed_list(write(tmp_path, demo))) >= 3


RSS091 = b"""<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title><link>http://o.example/</link>
<description>d</description><item><title>One</title><link>http://o.example/1</link></item></channel></rss>"""
RSS10 = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
xmlns:dc="http://purl.org/dc/elements/1.1/"><channel rdf:about="http://r.example/"><title>R</title><link>http://r.example/</link>
<description>d</description></channel><item rdf:about="http://r.example/a"><title>A</title><link>http://r.example/a</link>
<dc:date>2026-11-25T10:00:00Z</dc:date></item></rdf:RDF>"""
RSS20 = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>
<item><title>Rel\u00e4tiv</title><link>/news/1?utm_source=rss</link><guid>id-1</guid><pubDate>Wed, 25 Nov 2026 08:00:00 GMT</pubDate>
<description>&lt;p&gt;Some &lt;b&gt;summary&lt;/b&gt;&lt;/p&gt;</description></item>
<item><title>Future</title><link>https://s.example/2</link><pubDate>Fri, 01 Jan 2027 08:00:00 GMT</pubDate></item>
<item><title>Script</title><link>javascript:alert(1)</link></item>
<item><title>No guid</title><link>https://s.example/3</link></item>
</channel></rss>""".encode()
ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:x</id>
<updated>2026-11-26T00:00:00Z</updated><entry><id>urn:x:1</id><title type="html">Caf&amp;eacute; &amp;amp; chips</title>
<link rel="alternate" href="https://a.example/1"/><link rel="enclosure" href="https://a.example/1.mp3"/>
<updated>2026-11-26T06:30:00Z</updated></entry></feed>"""


def test_parse_formats():
    assert [e.link for e in parse_feed(RSS091, "http://o.example/feed", now=NOW).entries] == ["http://o.example/1"]
    rdf = parse_feed(RSS10, "http://r.example/feed", now=NOW).entries
    assert rdf[0].published_at == datetime(2026, 11, 25, 10, tzinfo=timezone.utc)
    rss = parse_feed(RSS20, "https://s.example/feed.xml", now=NOW)
    # an RSS 2.0 guid is a permalink unless it says otherwise: feedparser resolves it
    assert [e.entry_key for e in rss.entries] == ["https://s.example/id-1", "https://s.example/2", "https://s.example/3"]
    first = rss.entries[0]
    assert first.link == "https://s.example/news/1?utm_source=rss" and first.canonical_url == "https://s.example/news/1"
    assert first.summary == "Some summary" and first.title == "Relätiv"
    assert rss.entries[1].published_at is None  # more than a day in the future: dropped
    assert rss.skipped == 1 and rss.warning is None
    atom = parse_feed(ATOM, "https://a.example/atom", now=NOW).entries
    assert atom[0].title == "Café & chips" and atom[0].link == "https://a.example/1"


def test_malformed_feeds():
    bozo = RSS20.replace(b"<title>T</title>", b"<title>T & Co</title>")
    parsed = parse_feed(bozo, "https://s.example/feed.xml", now=NOW)
    assert parsed.warning and len(parsed.entries) == 3
    with pytest.raises(FeedParseError, match="HTML page"):
        parse_feed(b"<!DOCTYPE html><html><head><title>Home</title></head><body>hi</body></html>", "https://x.example/")
    with pytest.raises(FeedParseError, match="broken XML"):
        parse_feed(b"<?xml version='1.0'?><rss><channel><title>x</ti", "https://x.example/")
    with pytest.raises(FeedParseError):
        parse_feed(b"\x00\x01binary garbage", "https://x.example/")
    empty = parse_feed(b"<?xml version='1.0'?><rss version='2.0'><channel><title>Quiet</title></channel></rss>", "https://q.example/")
    assert empty.entries == [] and empty.title == "Quiet"


def test_titles_cleaned_at_the_boundary():
    huge = ("Chips " * 30000).encode()
    body = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><item><title>A&#0;B " + huge + \
           b"</title><link>https://s.example/1</link></item></channel></rss>"
    entry = parse_feed(body, "https://s.example/f", now=NOW).entries[0]
    assert "\x00" not in entry.title and len(entry.title) <= 500 and entry.title.startswith("AB Chips")


def _rss_items(*items: tuple[str | None, str]) -> bytes:
    body = "".join((f"<item><guid isPermaLink='false'>{g}</guid>" if g else "<item>")
                   + f"<title>T</title><link>{link}</link></item>" for g, link in items)
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>F</title>{body}</channel></rss>".encode()


def test_unfetchable_links_are_refused_with_their_reason_not_dropped():
    long_ok = "https://s.example/" + "a" * 7000
    too_long = "https://s.example/" + "b" * 8100
    feed = _rss_items(("ok", long_ok), ("long", too_long), ("js", "javascript:alert(1)"),
                      ("mail", "mailto:x@y.example"), ("port", "https://s.example:99999/x"))
    parsed = parse_feed(feed, "https://s.example/feed.xml", now=NOW)
    assert [e.link for e in parsed.entries] == [long_ok] and parsed.entries[0].canonical_url == long_ok
    refused = {r.entry_key: (r.kind, r.reason, r.link) for r in parsed.refused}
    assert refused["long"][0] == "url_too_long" and "8,118 characters" in refused["long"][1]
    assert len(refused["long"][2]) == 8000  # kept for the record, cut to what is stored
    assert refused["js"][:2] == ("bad_scheme", "not an http(s) link (scheme 'javascript')")
    assert refused["mail"][0] == "bad_scheme" and refused["port"][0] == "bad_url"
    assert parsed.skipped == 4


def test_long_entry_keys_stay_distinct():
    base = "https://s.example/" + "c" * 1200
    parsed = parse_feed(_rss_items((None, base + "1"), (None, base + "2")), "https://s.example/feed.xml", now=NOW)
    keys = [e.entry_key for e in parsed.entries]
    assert len(keys) == 2 and len(set(keys)) == 2 and all(len(k) <= 1000 for k in keys)
