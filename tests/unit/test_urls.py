"""Canonical URLs, link cleaning, rel=canonical."""

from __future__ import annotations

import pytest

from pipeline.infra.urls import (canonical_url, find_canonical_link, link_problem, pick_canonical, pick_source, safe_link,
                                 same_site)


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("HTTPS://Example.COM:443/a/b?id=3#top", "https://example.com/a/b?id=3"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/x", "http://example.com:8080/x"),
        ("https://news.example/story?utm_source=rss&utm_medium=feed&id=7&fbclid=abc&gclid=1", "https://news.example/story?id=7"),
        ("https://news.example/story?b=2&a=1", "https://news.example/story?b=2&a=1"),  # order kept
        ("https://news.example/story/amp", "https://news.example/story"),
        ("https://news.example/story.amp.html", "https://news.example/story.html"),
        ("https://news.example/story?amp=1", "https://news.example/story"),
        ("https://amp.news.example/story", "https://news.example/story"),
        ("https://amp.theguardian.com/world/x", "https://theguardian.com/world/x"),
        # hosts that merely begin with amp. or m. are sites of their own
        ("https://amp.dev/about", "https://amp.dev/about"),
        ("https://amp.co.uk/x", "https://amp.co.uk/x"),
        ("https://ampere.example/x", "https://ampere.example/x"),
        ("https://m.example/x", "https://m.example/x"),
        ("https://m.spiegel.de/x", "https://m.spiegel.de/x"),
        ("https://m.co.uk/x", "https://m.co.uk/x"),
        # an escaped slash is data, not a path separator; unreserved escapes are decoded
        ("https://x.example/a%2Fb/c", "https://x.example/a%2Fb/c"),
        ("https://x.example/a%2fb", "https://x.example/a%2Fb"),
        ("https://x.example/q%3Fx%23y", "https://x.example/q%3Fx%23y"),
        ("https://x.example/%41%2D%5f", "https://x.example/A-_"),
        ("https://x.example/a b", "https://x.example/a%20b"),
        ("https://news.example/%7Euser/caf%C3%A9", "https://news.example/~user/caf%C3%A9"),
        ("https://bücher.example/x", "https://xn--bcher-kva.example/x"),
        ("  https://example.com/x?q=a%20b  ", "https://example.com/x?q=a+b"),
    ],
)
def test_canonical_url(raw, expected):
    assert canonical_url(raw) == expected


@pytest.mark.parametrize("bad", ["ftp://example.com/x", "javascript:alert(1)", "http://", "mailto:a@b.c"])
def test_canonical_url_rejects(bad):
    with pytest.raises(ValueError):
        canonical_url(bad)


def test_safe_link():
    assert safe_link("/a/b", "https://site.example/feed.xml") == "https://site.example/a/b"
    assert safe_link("javascript:alert(1)", "https://site.example/") is None
    assert safe_link("mailto:x@y.z") is None
    assert safe_link("data:text/html,hi") is None
    assert safe_link("https://x.example/" + "a" * 7900) == "https://x.example/" + "a" * 7900  # RFC 9110: 8,000
    assert safe_link("https://x.example/" + "a" * 8000) is None
    assert safe_link("https://x.example:99999/") is None
    assert safe_link(None) is None
    assert safe_link("  https://x.example/\n a  ") == "https://x.example/a"


def test_same_site_and_pick_canonical():
    assert same_site("https://www.bbc.co.uk/a", "https://bbc.co.uk/b")
    assert not same_site("https://bbc.co.uk/a", "https://itv.co.uk/b")
    assert same_site("https://m.spiegel.de/x", "https://www.spiegel.de/y")
    final = "https://www.site.example/story?utm_source=x"
    assert pick_canonical(final, final, "https://site.example/story-canonical") == "https://site.example/story-canonical"
    # a canonical on another site (e.g. pointing at a partner) is not trusted
    assert pick_canonical(final, final, "https://other.example/story") == "https://www.site.example/story"
    assert pick_canonical(final, final, None) == "https://www.site.example/story"


def test_find_canonical_link():
    page = b"""<html><head><meta charset=utf-8><LINK href='/s?id=1&amp;p=2' REL="canonical"></head>
               <body><link rel=canonical href=/wrong></body></html>"""
    assert find_canonical_link(page, "https://a.example/x") == "https://a.example/s?id=1&p=2"
    assert find_canonical_link(b"<link rel=canonical href=/c>", "https://a.example/x") == "https://a.example/c"
    assert find_canonical_link(b"<link rel='alternate' href='/feed'>", "https://a.example/") is None
    assert find_canonical_link(b"<link rel=canonical href='javascript:x'>", "https://a.example/") is None


def test_pick_source_own_host_then_site_then_smallest_name():
    article = "https://www.outlet.example/2026/story"
    own = ("zeta", "https://outlet.example/feed.xml")  # www. does not matter
    same_site_feed = ("mid", "https://rss.outlet.example/all")
    aggregator = ("alpha", "https://news.aggregator.example/rss")
    other = ("beta", "https://blog.example/atom")
    for feeds in ([own, same_site_feed, aggregator, other], [other, aggregator, same_site_feed, own]):
        assert pick_source(article, feeds) == "zeta"
    assert pick_source(article, [aggregator, same_site_feed, other]) == "mid"
    assert pick_source(article, [other, aggregator]) == "alpha"
    assert pick_source(article, [("b", "https://outlet.example/x"), ("a", "https://www.outlet.example/y")]) == "a"
    assert pick_source(article, []) is None


@pytest.mark.parametrize(
    "link, kind",
    [
        ("https://x.example/" + "a" * 8000, "url_too_long"),
        ("javascript:alert(1)", "bad_scheme"),
        ("mailto:a@b.example", "bad_scheme"),
        ("ftp://x.example/f", "bad_scheme"),
        ("https://x.example:99999/", "bad_url"),
        ("", "empty"),
        (None, "empty"),
    ],
)
def test_link_problem_names_the_reason(link, kind):
    problem = link_problem(link, "https://feed.example/rss")
    assert problem is not None and problem[0] == kind and problem[1]
    assert safe_link(link, "https://feed.example/rss") is None


def test_link_problem_none_for_usable_links():
    assert link_problem("/a", "https://feed.example/rss") is None
    assert link_problem("https://x.example/" + "a" * 7000) is None
