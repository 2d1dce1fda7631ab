"""Hourly alerts on the real database and a real SMTP server on 127.0.0.1: a story growing fast
against its own history, figures that changed (a new value, a new target), once per reader
(re-runs send nothing), theme choices respected, and a storm of 500 stories as one mail."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy

import psycopg
import pytest

from pipeline.alerts.stage import run_alerts
from tests.support.digest_data import (
    add_article,
    add_indicator,
    add_observation,
    add_story,
)
from tests.support.smtpserver import SmtpServer

NOW = dt.datetime(2026, 11, 27, 14, 0, tzinfo=dt.timezone.utc)


def _ago(**kwargs) -> dt.datetime:
    return NOW - dt.timedelta(**kwargs)


def _story(conn, label: str, theme: str, times: list[dt.datetime]) -> int:
    ids = [add_article(conn, f"{label} article {i}", language="en", source="Wire", published_at=t, theme=theme)
           for i, t in enumerate(times)]
    return add_story(conn, label, theme, ids, first_seen=times[0])


@pytest.fixture
def seeded(db_url):
    with psycopg.connect(db_url) as conn:
        ids = {
            # 2 articles in three days, then 5 in the last hour: grows fast
            "fast": _story(conn, "export ban", "sanctions",
                           [_ago(days=3), _ago(days=2)] + [_ago(minutes=m) for m in (5, 15, 25, 35, 45)]),
            # 2 an hour for ten hours, 3 in the last hour: its usual pace
            "steady": _story(conn, "fab news", "chips",
                             [_ago(hours=10, minutes=-30 * i) for i in range(20)] + [_ago(minutes=m) for m in (10, 20, 30)]),
            # new, but only 2 articles: below NEWSMON_ALERT_MIN_ARTICLES
            "small": _story(conn, "small thing", "chips", [_ago(minutes=10), _ago(minutes=20)]),
            # a backfill: five articles of two days ago fetched in the last hour are no breaking news
            "backfill": _story(conn, "old news", "chips", [_ago(days=2, minutes=m) for m in range(5)]),
        }
        conn.execute("UPDATE articles SET fetched_at = %s WHERE title LIKE 'old news%%'", (_ago(minutes=30),))
        add_indicator(conn, "cn_chip_self_sufficiency", "self_sufficiency_target", "percent",
                      description="China chip self-sufficiency")
        add_indicator(conn, "eu_market_share", "market_share", "percent", description="EU chip market share")
        add_indicator(conn, "model_downloads", "downloads", "count", description="Model downloads")
        add_observation(conn, "cn_chip_self_sufficiency", "China", 30, "percent", _ago(days=20), entity="China")
        add_observation(conn, "cn_chip_self_sufficiency", "China", 70, "percent", _ago(days=20), target_year=2028,
                        entity="China")
        # a new value, reported as "VR China": the same tracked entity
        add_observation(conn, "cn_chip_self_sufficiency", "VR China", 35, "percent", _ago(minutes=30),
                        article_url="https://heise.example/a/35", entity="China")
        add_observation(conn, "cn_chip_self_sufficiency", "China", 80, "percent", _ago(minutes=30),
                        target_year=2030, entity="China")  # a new target
        add_observation(conn, "eu_market_share", "EU", 10, "percent", _ago(days=3), entity="EU")
        add_observation(conn, "eu_market_share", "EU", 10, "percent", _ago(minutes=20), entity="EU")  # same again
        add_observation(conn, "eu_market_share", "Atlantis", 99, "percent", _ago(minutes=20))  # no tracked entity
        # yesterday's news, recorded by the indicators stage in this hour: alerts now
        add_indicator(conn, "chip_investment", "investment", "usd", description="Chip investment")
        add_observation(conn, "chip_investment", "Japan", 2e9, "usd", _ago(hours=20), created_at=_ago(minutes=5),
                        entity="Japan")
        # an archive figure recorded now: no news
        add_observation(conn, "chip_investment", "Korea", 5e9, "usd", _ago(days=30), created_at=_ago(minutes=5),
                        entity="Korea")
        for value, when in ((1000, _ago(days=1)), (1500, _ago(minutes=10))):  # API readings change all the time
            add_observation(conn, "model_downloads", "org/model", value, "count", when, source_kind="api",
                            source_url="https://hf.example/org/model", entity="org/model")
        for email_, themes, alerts in (("all@example.org", [], True), ("oss@example.org", ["open_source"], True),
                                       ("digest-only@example.org", [], False)):
            conn.execute("INSERT INTO subscribers (email, themes, alerts) VALUES (%s, %s, %s)", (email_, themes, alerts))
    return ids


def _rt(runtime, port):
    settings = dataclasses.replace(runtime.settings, smtp_url=f"smtp://127.0.0.1:{port}",
                                   digest_from="newsmon <alerts@newsmon.example>")
    return dataclasses.replace(runtime, settings=settings)


def _ledger(db_url):
    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT recipient, alert_key, status FROM alert_sends ORDER BY 1, 2").fetchall()


def test_alerts_go_out_once_to_those_who_opted_in(runtime, db_url, seeded):
    with SmtpServer() as server:
        rt = _rt(runtime, server.port)
        result = run_alerts(rt, as_of=NOW)
        assert result.counts["alerts"] == 4 and result.counts["mails"] == 2
        mails = {m.rcpt_tos[0]: email.message_from_bytes(m.data, policy=email.policy.default)
                 for m in server.messages}
        assert sorted(mails) == ["all@example.org", "oss@example.org"]  # not the digest-only reader
        everything = mails["all@example.org"]
        assert everything["Subject"] == ("newsmon alerts: 1 story growing fast, 3 figures changed; "
                                         "biggest: export ban article 0")
        body = everything.get_body(("plain",)).get_content()
        assert "5 articles in the last hour" in body
        assert "China · China chip self-sufficiency — now 35 % (was 30 %)" in body
        assert "new target 80 % by 2030 (was 70 % by 2028)" in body
        assert "Japan · Chip investment — now USD 2 bn (first report)" in body and "Korea" not in body
        assert "old news" not in body
        assert "fab news" not in body and "small thing" not in body
        assert "EU" not in body and "Atlantis" not in body and "org/model" not in body
        assert everything["List-Id"] == "newsmon alerts <alerts.newsmon.newsmon.example>"
        # a reader of open source only gets the figures, not the sanctions story
        assert "export ban" not in mails["oss@example.org"].get_body(("plain",)).get_content()

        again = run_alerts(rt, as_of=NOW)  # a retry of the same hour
        later = run_alerts(rt, as_of=NOW + dt.timedelta(minutes=30))  # overlapping: same story, same day
        assert len(server.messages) == 2 and again.counts["mails"] == 0 and later.counts["mails"] == 0
        assert again.counts["already_sent"] == 2
    ledger = _ledger(db_url)
    assert [(r, k.split(":")[0], s) for r, k, s in ledger] == [
        *[("all@example.org", "fact", "sent")] * 3, ("all@example.org", "story", "sent"),
        *[("oss@example.org", "fact", "sent")] * 3]
    assert ledger[3][1] == f"story:{seeded['fast']}:2026-11-27"


def test_without_smtp_alerts_are_counted_not_recorded(runtime, db_url, seeded):
    from pipeline.stages import run_stage

    result = run_stage(runtime, "alerts", as_of=NOW)  # as the DAG's task runs it
    assert result.counts["alerts"] == 4 and any("NEWSMON_SMTP_URL" in n for n in result.notes)
    assert _ledger(db_url) == []


def test_an_alert_storm_is_one_mail(runtime, db_url):
    with psycopg.connect(db_url) as conn:
        conn.execute("INSERT INTO subscribers (email, alerts) VALUES ('desk@example.org', true)")
        conn.execute(
            """WITH a AS (
                   INSERT INTO articles (url, canonical_url, title, source, language, published_at, body_text,
                                         extract_status, fetched_at)
                   SELECT 'https://w.example/' || g, 'https://w.example/' || g, 'Storm story ' || (g / 3),
                          'Wire', 'en', %(now)s - (g %% 3 + 1) * interval '10 minutes', 'x', 'ok',
                          %(now)s - (g %% 3 + 1) * interval '10 minutes'
                   FROM generate_series(0, 1499) g RETURNING article_id, url),
               s AS (
                   INSERT INTO stories (label, theme, first_seen, last_seen, article_count)
                   SELECT 'storm ' || n, 'chips', %(now)s, %(now)s, 3 FROM generate_series(0, 499) n
                   RETURNING story_id, label)
               INSERT INTO story_members (article_id, story_id, similarity)
               SELECT a.article_id, s.story_id, 0.9 FROM a
               JOIN s ON s.label = 'storm ' || (split_part(a.url, '/', 4)::int / 3)""",
            {"now": NOW})
    with SmtpServer() as server:
        result = run_alerts(_rt(runtime, server.port), as_of=NOW)
        assert result.counts["alerts"] == 500 and result.counts["mails"] == 1
        (received,) = server.messages
    msg = email.message_from_bytes(received.data, policy=email.policy.default)
    assert msg["Subject"].startswith("newsmon alerts: 500 stories growing fast; biggest: Storm story")
    assert "and 480 more alerts" in msg.get_body(("plain",)).get_content()
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT message_id) FROM alert_sends "
                            "WHERE status = 'sent'").fetchone() == (500, 1)
