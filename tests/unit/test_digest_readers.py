"""Readers of the digest without a database: addresses, unsubscribe tokens, the per-reader cut,
honest numbers, the subject line, list headers, sparklines and the alert mail's text."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from pipeline.alerts.detect import Alert
from pipeline.alerts.stage import MAX_LISTED, alert_bodies, alert_subject
from pipeline.digest.figures import sparkline
from pipeline.digest.mail import build_message, unsubscribe_headers
from pipeline.digest.model import DigestData, Headline, StoryItem, ThemeSummary, Title
from pipeline.digest.readers import (
    AddressError,
    TokenError,
    digest_for,
    make_token,
    normalise_address,
    resolve_readers,
    unsubscribe_link,
    verify_token,
)
from pipeline.digest.render import render, subject_for
from pipeline.store.subscribers import Subscriber

BERLIN = ZoneInfo("Europe/Berlin")
DAY = dt.date(2026, 11, 27)
NOW = dt.datetime(2026, 11, 28, 6, tzinfo=dt.timezone.utc)
SECRET = "s3cret-s3cret-s3cret"


@pytest.mark.parametrize("raw", ["a@b.org\r\nBcc: victim@x.org", "a@b.org\n", "a@b.org\x00", "two@a.org, b@c.org",
                                 "no-at-sign", "a@b", ""])
def test_addresses_with_line_breaks_or_lists_are_refused(raw):
    with pytest.raises(AddressError):
        normalise_address(raw)


def test_address_is_bare_and_lower_case():
    assert normalise_address("Jürgen Müller <Juergen@Example.ORG>") == "juergen@example.org"


def test_token_round_trip_and_every_tampering_refused():
    token = make_token(SECRET, "a@b.org", NOW)
    assert verify_token(SECRET, token, NOW + dt.timedelta(days=30)) == "a@b.org"
    payload, signature = token.split(".")
    forged_payload = make_token(SECRET, "other@b.org", NOW).split(".")[0]
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]
    for bad in (f"{forged_payload}.{signature}", f"{payload}.{flipped}", payload, "", "x.y.z", token + "A"):
        with pytest.raises(TokenError):
            verify_token(SECRET, bad, NOW)
    with pytest.raises(TokenError, match="signature"):
        verify_token("another-secret-another", token, NOW)
    with pytest.raises(TokenError, match="expired"):
        verify_token(SECRET, token, NOW + dt.timedelta(days=91))


def test_unsubscribe_link_only_when_configured():
    assert unsubscribe_link(None, SECRET, "a@b.org", NOW) is None
    assert unsubscribe_link("https://x.example/newsmon/unsubscribe", None, "a@b.org", NOW) is None
    link = unsubscribe_link("https://x.example/newsmon/unsubscribe", SECRET, "a@b.org", NOW)
    assert link.startswith("https://x.example/newsmon/unsubscribe?token=")


def _sub(email, themes=(), language="both", unsubscribed=False):
    return Subscriber(email, list(themes), language, False, NOW, NOW, NOW if unsubscribed else None,
                      "cli" if unsubscribed else None)


def test_subscribers_win_over_the_fallback_list():
    readers = resolve_readers(
        [_sub("a@x.org", ["chips"], "de"), _sub("gone@x.org", unsubscribed=True)],
        ("Gone <GONE@x.org>", "Ops <ops@x.org>", "a@x.org"),
    )
    assert [(r.address, r.mailbox, r.themes, r.language, r.subscribed) for r in readers] == [
        ("a@x.org", "a@x.org", ("chips",), "de", True),
        ("ops@x.org", "Ops <ops@x.org>", (), "both", False),
    ]


def _story(key, theme, languages, score):
    heads = tuple(Headline(lang, f"{key} {lang}", f"https://{lang}.example/{key}", f"Outlet {lang}",
                           dt.datetime(2026, 11, 27, 9, tzinfo=BERLIN)) for lang in languages)
    return StoryItem(key=key, label="term · bag", theme=theme, articles=len(languages), outlets=("a",),
                     languages=languages, headlines=heads, extract="Lead.", latest=heads[0].published,
                     first_seen=None, total_articles=len(languages), score=score,
                     titles=tuple(Title(h.language, h.title) for h in heads), sources=heads)


def _data(trailing_mean=0.4):
    chips = ThemeSummary("chips", "Chips", 3, {"de": 2, "en": 1}, trailing_mean,
                         (_story("s1", "chips", ("de", "en"), 9.0), _story("s2", "chips", ("en",), 4.0)), 0)
    sanctions = ThemeSummary("sanctions", "Sanctions", 1, {"de": 1}, 2.0, (_story("s3", "sanctions", ("de",), 5.0),), 0)
    return DigestData(day=DAY, timezone="Europe/Berlin", as_of=NOW, total_articles=12, themes=[chips, sanctions])


def test_the_numbers_add_up_and_a_low_baseline_gets_no_percentage():
    data = _data(trailing_mean=0.4)
    assert data.themed_articles + data.unshown_articles == data.total_articles == 12
    assert data.themes[0].change_pct is None and data.themes[1].change_pct == -50
    rendered = render(data, None)
    assert "+650" not in rendered.html and "3 vs 0.4/day" in rendered.html
    assert "All articles" in rendered.text and "Other topics" in rendered.text


def test_subject_uses_the_top_headline_and_spells_out_counts():
    subject = subject_for(_data())
    assert subject == "newsmon digest 2026-11-27: s1 de · 3 stories, 12 articles"
    assert "(+" not in subject


def test_top_line_has_the_three_biggest_stories():
    assert [s.key for s in _data().top_line] == ["s1", "s3", "s2"]


def test_a_reader_gets_their_themes_and_language_only():
    cut = digest_for(_data(), ("chips",), "en")
    assert [t.theme for t in cut.themes] == ["chips"]
    assert [s.key for s in cut.themes[0].stories] == ["s1", "s2"]
    s1 = cut.themes[0].stories[0]
    assert [t.language for t in s1.titles] == ["en"] and {h.language for h in s1.sources} == {"en"}
    assert cut.total_articles == 12 and cut.unshown_articles == 9  # still adds up
    assert digest_for(_data(), ("sanctions",), "en").story_count == 0  # nothing for this reader
    assert digest_for(_data(), (), "both") is not None


def test_lang_attributes_per_block():
    html = render(_data(), None).html
    assert '<div lang="de"' in html and '<div lang="en"' in html


def test_list_headers_and_one_recipient_per_message():
    headers = unsubscribe_headers("Digest <d@news.example>", "desk@news.example", "https://x.example/u?token=t")
    assert headers == {"List-Unsubscribe": "<mailto:desk@news.example?subject=unsubscribe>, <https://x.example/u?token=t>",
                       "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    assert "List-Unsubscribe-Post" not in unsubscribe_headers("d@news.example", None, None)
    msg = build_message(render(_data(), None), sender="Digest <d@news.example>", to="r@x.org", message_id="<m@x>",
                        date=NOW, day=DAY, reply_to="desk@news.example", unsubscribe_link="https://x.example/u?token=t")
    assert msg["To"] == "r@x.org" and msg["Reply-To"] == "desk@news.example"
    assert msg["List-Id"] == "newsmon digest <digest.newsmon.news.example>"
    with pytest.raises(ValueError):
        build_message(render(_data(), None), sender="d@news.example", to="r@x.org\r\nBcc: v@x.org",
                      message_id="<m@x>", date=NOW, day=DAY)


def test_sparkline_needs_three_points():
    assert sparkline([1, 2]) == ""
    assert sparkline([1, 5, 9]) == "▁▅█"
    assert sparkline([3, 3, 3]) == "▅▅▅"


def test_an_alert_storm_is_one_summarised_mail():
    alerts = [Alert(f"story:{i}:2026-11-27", "story_growth", "chips", f"Story {i}", f"{500 - i} articles", None,
                    float(500 - i)) for i in range(500)]
    alerts.append(Alert("fact:x", "fact_change", None, "China · self-sufficiency", "now 35 %", None, 0.5))
    subject = alert_subject(alerts)
    assert subject == "newsmon alerts: 500 stories growing fast, 1 figure changed; biggest: Story 0"
    text, html = alert_bodies(alerts, NOW, None)
    assert text.count("\n* ") == MAX_LISTED and "and 481 more alerts" in text
    assert html.count("<li>") == MAX_LISTED + 1
    single = alert_subject([dataclasses.replace(alerts[0], detail="7 articles in the last hour (new story)")])
    assert single == "newsmon alert: Story 0 — 7 articles in the last hour"


def test_settings_for_subscriptions_and_alerts():
    from pipeline.infra.config import ConfigError, Settings

    env = {"NEWSMON_UNSUBSCRIBE_URL": "https://airflow.example.org/newsmon/unsubscribe",
           "NEWSMON_UNSUBSCRIBE_SECRET": SECRET, "NEWSMON_DIGEST_REPLY_TO": "Desk <desk@example.org>",
           "NEWSMON_ALERT_GROWTH": "4", "NEWSMON_ALERT_MIN_ARTICLES": "5"}
    s = Settings.from_env(env, dotenv=False)
    assert (s.unsubscribe_url, s.digest_reply_to, s.alert_growth_ratio, s.alert_min_articles) == (
        env["NEWSMON_UNSUBSCRIBE_URL"], "Desk <desk@example.org>", 4.0, 5)
    assert SECRET not in repr(s) and s.describe()["unsubscribe_secret"] == "***"
    for bad, name in (({"NEWSMON_UNSUBSCRIBE_URL": "http://plain.example/u"}, "NEWSMON_UNSUBSCRIBE_URL"),
                      ({"NEWSMON_UNSUBSCRIBE_SECRET": "short"}, "NEWSMON_UNSUBSCRIBE_SECRET"),
                      ({"NEWSMON_ALERT_GROWTH": "0.5"}, "NEWSMON_ALERT_GROWTH")):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env(bad, dotenv=False)


def test_the_busiest_digest_stays_under_gmails_clip():
    """Every section at its cap, every text at its maximum length: the HTML part stays under 102 KB."""
    from pipeline.digest import gather as g
    from pipeline.digest.model import Fact, FactSource, Reading, TargetProgress

    long = "Ü" * 200
    heads = tuple(Headline("de" if i % 2 else "en", long, "https://x.example/" + "p" * 180, "O" * 80,
                           dt.datetime(2026, 11, 27, 9, tzinfo=BERLIN)) for i in range(g.MAX_SOURCES))
    story = StoryItem(key="s1", label=long, theme="chips", articles=40, outlets=tuple(f"O{i}" for i in range(40)),
                      languages=("de", "en"), headlines=heads[:2], extract="x" * 280, latest=heads[0].published,
                      first_seen=DAY - dt.timedelta(days=3), total_articles=90, score=99.0,
                      titles=(Title("de", long), Title("en", long)), sources=heads)
    themes = [ThemeSummary(t, t, 50, {"de": 25, "en": 25}, 10.0, (story,) * g.TOP_STORIES, 30)
              for t in ("chips", "open_source", "sanctions")]
    source = FactSource("O" * 80, "https://x.example/" + "q" * 180, "z" * 300, "de")
    facts = [Fact("i" * 80, "d" * 70, "s" * 80, "USD 1.2 bn", 2030, True, NOW, (source,) * 6, "article")
             ] * g.MAX_OBSERVATIONS
    readings = [Reading("i" * 80, "d" * 70, "s" * 80, "1.23 M", NOW, "https://hf.example/" + "m" * 100, "▁▂▃▄▅▆▇█" + "▁▂▃▄")
                ] * g.MAX_READINGS
    progress = [TargetProgress("i" * 80, "d" * 70, "s" * 80, "35 %", "70 %", 2030, 50, "30 %", NOW, "article",
                               "▁▂▃▄▅▆▇█▁▂▃▄")] * g.MAX_PROGRESS
    data = DigestData(day=DAY, timezone="Europe/Berlin", as_of=NOW, total_articles=300, themes=themes, facts=facts,
                      more_facts=40, readings=readings, more_readings=9, progress=progress, more_progress=5)
    html = render(data, None, unsubscribe_url="https://x.example/u?token=" + "t" * 120).html
    assert len(html.encode("utf-8")) < 102 * 1024, len(html.encode("utf-8"))
    # what did not fit is counted, and the unsubscribe link at the end survives
    assert "more stories on this theme" in html and "Unsubscribe</a>" in html
    assert html.count("continuing since") < 3 * g.TOP_STORIES
