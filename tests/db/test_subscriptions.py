"""Subscriptions end to end on the real database and a real SMTP server on 127.0.0.1: the CLI,
one filtered digest per reader with their own To: and list headers, a reader with nothing that
matched (no mail, recorded), unsubscribing, and the NEWSMON_DIGEST_TO fallback."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from pipeline import cli
from pipeline.digest.readers import verify_token
from pipeline.digest.stage import run_digest
from pipeline.subscribers import remove
from tests.support.digest_data import TOP_HEADLINE, at, seed_day
from tests.support.smtpserver import SmtpServer

DAY = dt.date(2026, 11, 27)
AS_OF = at(DAY + dt.timedelta(days=1), 6)
SECRET = "unsubscribe-secret-for-tests"


@pytest.fixture
def newsmon(db_url, tmp_path, monkeypatch, capsys):
    """``newsmon ...`` in-process against the test database: (exit code, stdout, stderr)."""
    monkeypatch.setenv("NEWSMON_DATABASE_URL", db_url)
    monkeypatch.setenv("NEWSMON_HOME", str(tmp_path / "home"))

    def run(*argv: str):
        code = cli.main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _subscribers(db_url):
    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT email, themes, language, alerts, unsubscribed_at IS NOT NULL "
                            "FROM subscribers ORDER BY email").fetchall()


def test_cli_add_list_remove(newsmon, db_url):
    assert newsmon("subscribers", "add", "Anna <Anna@Example.org>", "--themes", "chips", "sanctions",
                   "--language", "de", "--alerts")[0] == 0
    assert newsmon("subscribers", "add", "bob@example.org")[0] == 0
    code, out, _ = newsmon("subscribers", "list")
    assert code == 0 and "anna@example.org  chips,sanctions  language de  alerts on" in out and "2 subscriber(s)" in out
    assert newsmon("subscribers", "remove", "BOB@example.org")[1].strip() == "unsubscribed: bob@example.org"
    assert _subscribers(db_url) == [("anna@example.org", ["chips", "sanctions"], "de", True, False),
                                    ("bob@example.org", [], "both", False, True)]
    assert "1 subscriber(s), 2 in all" in newsmon("subscribers", "list", "--all")[1]
    # changing one's choice re-subscribes
    newsmon("subscribers", "add", "bob@example.org", "--language", "en")
    assert _subscribers(db_url)[1] == ("bob@example.org", [], "en", False, False)


def test_cli_refuses_bad_input_and_changes_nothing(newsmon, db_url):
    code, _, err = newsmon("subscribers", "add", "a@example.org\r\nBcc: victim@example.org")
    assert code == 2 and "line break" in err
    code, _, err = newsmon("subscribers", "add", "a@example.org", "--themes", "football")
    assert code == 2 and "unknown theme" in err
    assert newsmon("subscribers", "remove")[0] == 2
    assert _subscribers(db_url) == []


def _settings(runtime, port, **extra):
    settings = dataclasses.replace(
        runtime.settings, smtp_url=f"smtp://127.0.0.1:{port}", digest_from="newsmon <digest@newsmon.example>",
        digest_reply_to="desk@newsmon.example", unsubscribe_url="https://airflow.example/newsmon/unsubscribe",
        unsubscribe_secret=SECRET, **extra)
    return dataclasses.replace(runtime, settings=settings)


def _subscribe(db_url, email_, themes=(), language="both"):
    with psycopg.connect(db_url) as conn:
        conn.execute("INSERT INTO subscribers (email, themes, language) VALUES (%s, %s, %s)",
                     (email_, list(themes), language))


def test_each_reader_gets_their_digest_and_unsubscribing_stops_the_next(runtime, db_url):
    seed_day(db_url, DAY)
    _subscribe(db_url, "de-chips@example.org", ["chips"], "de")
    _subscribe(db_url, "everything@example.org")
    _subscribe(db_url, "en-sanctions@example.org", ["sanctions"], "en")  # the only sanctions story is German
    fallback = ("Ops Desk <ops@example.org>", "everything@example.org")  # a subscriber row wins
    with SmtpServer() as server:
        result = run_digest(_settings(runtime, server.port, digest_to=fallback), day=DAY, send=True, as_of=AS_OF)
        assert result.counts["sent"] == 3 and result.counts["skipped"] == 1
        mails = {m.rcpt_tos[0]: email.message_from_bytes(m.data, policy=email.policy.default)
                 for m in server.messages}
    assert sorted(mails) == ["de-chips@example.org", "everything@example.org", "ops@example.org"]
    assert all(len(m.rcpt_tos) == 1 for m in server.messages)
    for rcpt, msg in mails.items():
        assert rcpt in msg["To"] and "undisclosed" not in msg["To"]
        assert msg["Reply-To"] == "desk@newsmon.example"
        assert msg["List-Id"] == "newsmon digest <digest.newsmon.newsmon.example>"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        mailto, https = [p.strip(" <>") for p in msg["List-Unsubscribe"].split(",")]
        assert mailto == "mailto:desk@newsmon.example?subject=unsubscribe"
        token = parse_qs(urlsplit(https).query)["token"][0]
        assert verify_token(SECRET, token, AS_OF) == rcpt  # each reader's own link
        assert len(msg.as_bytes()) < 102 * 1024  # under Gmail's clipping limit
    assert mails["ops@example.org"]["To"] == "Ops Desk <ops@example.org>"

    german = mails["de-chips@example.org"].get_body(("plain",)).get_content()
    assert TOP_HEADLINE in german and "US lets Nvidia resume" not in german  # German coverage only
    assert "== OPEN SOURCE ==" not in german and "Your selection: Chips; German coverage." in german
    full = mails["everything@example.org"].get_body(("plain",)).get_content()
    assert "US lets Nvidia resume" in full and "== OPEN SOURCE ==" in full

    with psycopg.connect(db_url) as conn:
        skipped = conn.execute("SELECT status, last_error FROM digest_sends WHERE recipient = %s",
                               ("en-sanctions@example.org",)).fetchone()
        assert skipped[0] == "skipped" and "no stories matched" in skipped[1]
        # unsubscribed before the next day's run
        conn.execute("UPDATE subscribers SET unsubscribed_at = now(), unsubscribed_via = 'link' "
                     "WHERE email = 'everything@example.org'")
        conn.execute("DELETE FROM digest_sends")
        # a fallback address unsubscribes too (its link or `subscribers remove`): a row records it
        assert remove(conn, "Ops Desk <OPS@example.org>", "link", AS_OF) is True
    with SmtpServer() as server:
        run_digest(_settings(runtime, server.port, digest_to=fallback), day=DAY, send=True, as_of=AS_OF)
        rcpts = sorted(r for m in server.messages for r in m.rcpt_tos)
    # the unsubscribed readers get nothing, also though their addresses are in the fallback list
    assert rcpts == ["de-chips@example.org"]


def test_a_rerun_sends_nothing_and_skips_stay_skipped(runtime, db_url):
    seed_day(db_url, DAY)
    _subscribe(db_url, "en-sanctions@example.org", ["sanctions"], "en")
    _subscribe(db_url, "reader@example.org")
    with SmtpServer() as server:
        rt = _settings(runtime, server.port)
        run_digest(rt, day=DAY, send=True, as_of=AS_OF)
        again = run_digest(rt, day=DAY, send=True, as_of=AS_OF)
        assert len(server.messages) == 1 and again.counts["already_sent"] == 2 and "sent" not in again.counts


def test_a_preview_is_addressed_to_the_first_reader(runtime, db_url, tmp_path):
    seed_day(db_url, DAY)
    _subscribe(db_url, "first@example.org")
    run_digest(runtime, day=DAY, out=tmp_path / "preview", as_of=AS_OF)
    msg = email.message_from_bytes((tmp_path / "preview.eml").read_bytes(), policy=email.policy.default)
    assert msg["To"] == "first@example.org" and msg["List-Unsubscribe"].startswith("<mailto:")


def test_a_reader_theme_beyond_the_default_digest_is_gathered_with_it_once(runtime, db_url, monkeypatch):
    """The digest is gathered once, with every theme some reader chose; the default digest is
    cut from that (its sections and chart lines only) and never shows the extra theme."""
    from pipeline.digest import stage

    calls = []
    real_gather = stage.gather
    monkeypatch.setattr(stage, "gather", lambda *a, **kw: calls.append(kw["themes"]) or real_gather(*a, **kw))
    seed_day(db_url, DAY)
    _subscribe(db_url, "open@example.org", ["open_source"])
    _subscribe(db_url, "default@example.org")
    with SmtpServer() as server:
        run_digest(_settings(runtime, server.port, digest_themes=("chips",)), day=DAY, send=True, as_of=AS_OF)
        mails = {m.rcpt_tos[0]: email.message_from_bytes(m.data, policy=email.policy.default)
                 for m in server.messages}
    assert calls == [("chips", "open_source")]
    default = mails["default@example.org"].get_body(("plain",)).get_content()
    assert "== CHIPS ==" in default and "== OPEN SOURCE ==" not in default and TOP_HEADLINE in default
    chosen = mails["open@example.org"].get_body(("plain",)).get_content()
    assert "== OPEN SOURCE ==" in chosen and "== CHIPS ==" not in chosen
