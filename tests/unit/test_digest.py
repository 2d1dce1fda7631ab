"""Digest pieces without a database: cleaning, ranking, rendering, the MIME message, SMTP URLs."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipeline.infra.config import ConfigError, Settings
from pipeline.digest.stage import build_digest, output_paths, resolve_day
from pipeline.digest.gather import (
    day_bounds,
    first_sentences,
    format_value,
    group_stories,
    safe_url,
)
from pipeline.digest.mail import build_message, message_id_for, parse_smtp_url
from pipeline.digest.model import DailySeries, DigestData, Headline, StoryItem, ThemeSummary

BERLIN = ZoneInfo("Europe/Berlin")
DAY = dt.date(2026, 11, 27)
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'


@pytest.mark.parametrize("url,ok", [
    ("https://example.org/a?b=1", True),
    ("HTTP://example.org/", True),
    ("javascript:alert(1)", False),
    ("JaVaScRiPt:alert(1)", False),
    ("data:text/html,<script>", False),
    ("mailto:a@b.c", False),
    ("/relative/path", False),
    ("//example.org/x", False),
    ("https://", False),
    ("https://exa mple.org/", False),
    ("https://example.org/\x00", False),
    ("https://example.org/\u202e", False),
    ("", False),
])
def test_safe_url_allows_only_absolute_http_links(url, ok):
    assert (safe_url(url) is not None) == ok


def test_first_sentences():
    body = ("Die Regierung hat z.B. neue Regeln erlassen. Sie gelten ab Montag. Ein dritter Satz folgt.")
    assert first_sentences(body) == "Die Regierung hat z.B. neue Regeln erlassen. Sie gelten ab Montag."
    assert first_sentences("One. Two. Three.", max_sentences=1) == "One."
    # a first sentence that only repeats the headline is skipped
    assert first_sentences("Chips rules tightened. The U.S. acted on Monday. More.",
                           title="Chips rules tightened") == "The U.S. acted on Monday. More."
    long = first_sentences("x" * 1000)
    assert len(long) <= 280


def test_format_value():
    assert format_value(70, "percent") == "70 %"
    assert format_value(1234567, "count") == "1.23 M"
    assert format_value(950, "count") == "950"
    assert format_value(2.5e9, "usd") == "USD 2.5 bn"
    assert format_value(0.6, "ratio") == "0.6"


def test_day_bounds_follow_daylight_saving():
    start, end = day_bounds(dt.date(2026, 3, 29), BERLIN)  # clocks go forward: 23 hours
    assert end.astimezone(dt.timezone.utc) - start.astimezone(dt.timezone.utc) == dt.timedelta(hours=23)
    assert start.utcoffset() == dt.timedelta(hours=1) and end.utcoffset() == dt.timedelta(hours=2)


def test_resolve_day():
    settings = Settings()
    as_of = dt.datetime(2026, 11, 27, 23, 30, tzinfo=dt.timezone.utc)  # 00:30 on the 28th in Berlin
    assert resolve_day(None, settings, as_of) == DAY
    assert resolve_day("2026-11-20", settings, as_of) == dt.date(2026, 11, 20)
    late = dt.datetime(2026, 11, 19, 23, 30, tzinfo=dt.timezone.utc)
    assert resolve_day(late, settings, as_of) == dt.date(2026, 11, 20)
    with pytest.raises(ConfigError):
        resolve_day("yesterday", settings, as_of)


def test_output_paths():
    assert output_paths(Path("out/d.html")) == (Path("out/d.html"), Path("out/d.eml"))
    assert output_paths(Path("d.eml")) == (Path("d.html"), Path("d.eml"))
    assert output_paths(Path("digest.2026-11-27")) == (Path("digest.2026-11-27.html"), Path("digest.2026-11-27.eml"))


def _row(article_id, *, story=None, lang="en", source="A", hour=9, theme="chips", title=None):
    return {"article_id": article_id, "story_id": story, "language": lang, "source": source, "site_name": None,
            "title": title or f"Title {article_id}", "url": f"https://{source.lower()}.example/{article_id}",
            "final_url": None, "canonical_url": f"https://{source.lower()}.example/{article_id}",
            "ts": dt.datetime.combine(DAY, dt.time(hour), tzinfo=BERLIN), "body": "Body one. Body two.",
            "theme": theme, "story_label": None, "story_theme": None, "story_first_seen": None,
            "story_article_count": None}


def test_ranking_prefers_coverage_across_outlets_and_languages_then_recency():
    start, _ = day_bounds(DAY, BERLIN)
    rows = [
        # story 1: five articles from one outlet, one language -> 5 + 2 = 7
        *[_row(i, story=1, source="Mill") for i in range(1, 6)],
        # story 2: three articles, three outlets, both languages -> 3 + 6 + 3 = 12
        _row(10, story=2, lang="de", source="Heise"), _row(11, story=2, source="Reuters"),
        _row(12, story=2, source="AP", theme="sanctions"),
        # two lone articles, equal coverage: the later one ranks higher
        _row(20, hour=8), _row(21, hour=17),
    ]
    stories = group_stories(rows, start, DAY, BERLIN)
    assert [s.key for s in stories] == ["s2", "s1", "a21", "a20"]
    s2 = stories[0]
    assert s2.theme == "chips"  # majority theme of its articles when the story has none
    assert s2.languages == ("de", "en") and [h.language for h in s2.headlines] == ["de", "en"]
    assert s2.outlets == ("Heise", "Reuters", "AP")


def _data(title: str = HOSTILE, url: str = "javascript:alert(1)") -> DigestData:
    story = StoryItem(
        key="a1", label=title, theme="chips", articles=1, outlets=("Ö-Outlet",), languages=("de",),
        headlines=(Headline("de", title, url, "Ö-Outlet"),), extract="Größere Ausfuhr. Zweiter Satz.",
        latest=dt.datetime(2026, 11, 27, 9, tzinfo=BERLIN), first_seen=None, total_articles=1, score=3.0,
    )
    days = tuple(DAY - dt.timedelta(days=k) for k in range(13, -1, -1))
    return DigestData(
        day=DAY, timezone="Europe/Berlin", as_of=dt.datetime(2026, 11, 28, 6, tzinfo=BERLIN), total_articles=1,
        themes=[ThemeSummary("chips", "Chips", 1, {"de": 1}, 0.5, (story,), 0)],
        series=DailySeries(days, {"chips": tuple(range(14))}),
    )


def test_render_escapes_untrusted_text_and_drops_unsafe_links():
    rendered = build_digest(_data())
    for html in (rendered.html, rendered.html_file):
        assert "<script" not in html.lower()
        assert "onerror=alert(1)>" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
        assert "javascript:" not in html
        assert len(re.findall(r"<img\b", html)) == 1  # the chart, nothing else
    assert 'src="cid:chart-2026-11-27@newsmon"' in rendered.html
    assert 'src="data:image/png;base64,' in rendered.html_file
    assert "Größere Ausfuhr." in rendered.text and HOSTILE in rendered.text
    assert rendered.subject.startswith("newsmon digest 2026-11-27: ")


def test_chart_png_has_the_expected_size():
    from PIL import Image

    png = build_digest(_data()).chart_png
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.size == (750, 330)
        assert len(set(image.convert("RGB").getdata())) > 20  # lines and text, not a blank canvas


def test_message_structure_and_utf8_headers():
    rendered = build_digest(_data(title="Überraschung bei Exportkontrollen – Händler atmen auf"))
    msg = build_message(rendered, sender="Digest <d@newsmon.example>", to="Jörg <j@example.org>",
                        message_id=message_id_for(DAY, "j@example.org", "d@newsmon.example"),
                        date=dt.datetime(2026, 11, 28, 6, tzinfo=BERLIN), day=DAY)
    raw = msg.as_bytes()
    assert raw.isascii()  # 7-bit clean on the wire: encoded words and quoted-printable/base64 bodies
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == rendered.subject and "Händler atmen auf" in parsed["Subject"]
    assert parsed["To"] == "Jörg <j@example.org>"
    assert parsed["Date"] == "Sat, 28 Nov 2026 06:00:00 +0100"
    assert parsed["Message-ID"] == message_id_for(DAY, "Other Name <J@example.org>", "d@newsmon.example")
    assert [p.get_content_type() for p in parsed.walk()] == [
        "multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png"]
    assert "Überraschung" in parsed.get_body(("html",)).get_content()


@pytest.mark.parametrize("url,expected", [
    ("smtp://mail.example.org", ("smtp", "mail.example.org", 25, None, None)),
    ("smtp+starttls://u:p@mail.example.org", ("smtp+starttls", "mail.example.org", 587, "u", "p")),
    ("smtps://user%40example.org:p%40ss%3Aw%2F@mail.example.org:2465",
     ("smtps", "mail.example.org", 2465, "user@example.org", "p@ss:w/")),
])
def test_parse_smtp_url(url, expected):
    target = parse_smtp_url(url)
    assert (target.scheme, target.host, target.port, target.username, target.password) == expected
    assert "p@ss" not in repr(target)


def test_parse_smtp_url_options_and_errors():
    target = parse_smtp_url("smtps://h?cafile=/etc/ca.pem&timeout=5")
    assert (target.cafile, target.timeout, target.verify) == ("/etc/ca.pem", 5.0, True)
    assert parse_smtp_url("smtps://h?verify=false").verify is False
    with pytest.raises(ConfigError, match="unknown option"):
        parse_smtp_url("smtp://h?tls=1")
    with pytest.raises(ConfigError, match="NEWSMON_SMTP_URL") as err:
        parse_smtp_url("http://u:secret@h")
    assert "secret" not in str(err.value)


def test_extract_skips_bylines_and_datelines_but_not_prose():
    from pipeline.digest.gather import first_sentences, short_description

    body = "Von Anna Lindqvist | 26.11.2026, 08:50 Uhr\nDas Ministerium hat die Ausfuhr verboten. Mehr folgt."
    assert first_sentences(body).startswith("Das Ministerium hat die Ausfuhr verboten.")
    assert first_sentences("By Jane Doe\nUpdated 26/11/2026 09:00\nThe ministry said so.") == "The ministry said so."
    assert first_sentences("By the numbers, chips are up. Second.").startswith("By the numbers")
    assert short_description("Downloads of open-weight models (model families) reported.") == "Downloads of open-weight models"
