"""Decoding, cleaning, dates, language, fingerprints and the extraction unit of work."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipeline.ingest.extract import (
    choose_published, clean_title, compress, decode_html, detect_language, extract_page, fingerprint,
    shingle_containment, simhash,
)
from pipeline.records import ExtractJob

RES = Path(__file__).resolve().parents[1] / "resources" / "ingest"
FETCHED = datetime(2026, 11, 26, 12, tzinfo=timezone.utc)


def job(body: bytes, charset=None, feed_language="en", feed_published=None, title="Feed title"):
    return ExtractJob(7, "https://news.example/a", compress(body), charset, feed_language, title, feed_published, FETCHED)


def test_clean_title():
    assert clean_title("  Big\nnews\t\x00 ") == "Big news"
    long = clean_title("word " * 1000)
    assert len(long) <= 500 and long.endswith("…") and not long.endswith(" …")
    assert clean_title("\x00 ") is None


def test_decode_html():
    latin = "<p>Größe: 5 €</p>".encode("cp1252")
    assert decode_html(latin, "iso-8859-1")[0] == "<p>Größe: 5 €</p>"  # latin-1 label means windows-1252
    assert decode_html("<p>Größe</p>".encode("utf-8"), "iso-8859-1") == ("<p>Größe</p>", "utf-8")  # mislabelled
    meta = b'<meta charset="windows-1252"><p>' + "Münster".encode("cp1252")
    assert "Münster" in decode_html(meta, None)[0]
    assert "Münster" in decode_html(b'<meta charset="utf-8"><p>' + "Münster".encode("latin-1"), "utf-8")[0]  # wrong label
    assert decode_html(b"\xef\xbb\xbf<p>x</p>", None) == ("<p>x</p>", "utf-8")


def test_published_choice():
    page = datetime(2026, 11, 24, 9, tzinfo=timezone.utc)
    feed = datetime(2026, 11, 25, 8, tzinfo=timezone.utc)
    assert choose_published(page, feed, FETCHED) == page  # the page's own timestamp wins
    noon = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)  # a bare day from the page
    assert choose_published(noon, feed, FETCHED, page_has_time=False) == feed
    future = FETCHED + timedelta(days=3)
    assert choose_published(future, feed, FETCHED) == feed
    assert choose_published(future, future, FETCHED) is None
    assert choose_published(None, FETCHED + timedelta(hours=20), FETCHED) == FETCHED + timedelta(hours=20)


def test_language_detector():
    assert detect_language("Die Bundesregierung will die Förderung für die Chipfabrik neu verhandeln, sagte ein Sprecher am Montag.") == "de"
    assert detect_language("The government said on Monday that it would renegotiate the subsidy for the chip plant.") == "en"
    assert detect_language("El gobierno anunció el lunes una nueva estrategia para los semiconductores del país y sus fábricas.") == "other"
    assert detect_language("Nvidia H100", fallback="de") == "de"  # too short: the feed's language


def test_fingerprints():
    a = (RES / "en_chips.html").read_bytes()
    b = (RES / "syndicated_copy.html").read_bytes()
    ra, rb = extract_page(job(a)), extract_page(job(b))
    assert ra.fingerprint != rb.fingerprint  # the copy adds a credit line
    assert shingle_containment(ra.body_text, rb.body_text) > 0.9
    assert bin((ra.simhash ^ rb.simhash) & (2**64 - 1)).count("1") <= 12
    other = extract_page(job((RES / "en_open_source.html").read_bytes()))
    assert shingle_containment(ra.body_text, other.body_text) < 0.1
    assert fingerprint("Hello, World!") == fingerprint("hello world")
    assert -(2**63) <= simhash("some text here") < 2**63


def test_extract_page():
    r = extract_page(job((RES / "de_latin1.html").read_bytes(), charset="iso-8859-1", feed_language="en"))
    assert r.status == "ok" and r.language == "de"  # detected from the text, not the feed
    assert r.title == "Halbleiter: Peking setzt auf Selbstversorgung"
    assert r.author == "Jörg Weißmüller"
    assert r.published_at == datetime(2026, 11, 24, 9, 15, tzinfo=timezone.utc)
    assert "Cookies" not in r.body_text and "Impressum" not in r.body_text and "Glühwein" not in r.body_text
    assert r.word_count > 100
    empty = extract_page(job(b"<html><body><nav><a href='/'>Home</a></nav></body></html>"))
    assert empty.status == "failed" and empty.error
    assert extract_page(ExtractJob(1, "u", b"not zlib", None, None, None, None, FETCHED)).status == "failed"
    teaser = extract_page(job(b"<html><body><article><p>Read more soon.</p></article></body></html>"))
    assert teaser.status == "failed" and ("too short" in teaser.error or "no main text" in teaser.error)
