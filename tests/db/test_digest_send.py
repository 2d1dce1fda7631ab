"""Sending the digest to a real SMTP server on 127.0.0.1 (aiosmtpd): the message as received,
idempotency per (day, recipient), failures recorded and retried, STARTTLS / TLS with AUTH."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import email.utils
import re

import psycopg
import pytest

from pipeline.digest.stage import DigestSendError, run_digest
from tests.support.digest_data import HOSTILE_TITLE, at, seed_day
from tests.support.smtpserver import (
    SmtpServer,
    free_port,
    password_authenticator,
    self_signed_cert,
    server_tls_context,
)

DAY = dt.date(2026, 11, 27)
AS_OF = at(DAY + dt.timedelta(days=1), 6)
READERS = ("Jürgen Müller <juergen@example.org>", "ops@example.org")
# the top story's headline, then the counts spelled out (never "+9", which reads as nine more stories)
SUBJECT = "newsmon digest 2026-11-27: Nvidia darf H20-Chips wieder nach China liefern – Behörde prüft Ausfuhr · 4 stories, 9 articles"


def _runtime(runtime, smtp_url: str, to=READERS):
    settings = dataclasses.replace(runtime.settings, smtp_url=smtp_url, digest_to=tuple(to),
                                   digest_from="newsmon Digest <digest@newsmon.example>")
    return dataclasses.replace(runtime, settings=settings)


def _sends(db_url):
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT recipient, status, attempts, last_error, message_id, sent_at IS NOT NULL "
            "FROM digest_sends WHERE day = %s ORDER BY recipient", (DAY,)).fetchall()
    return {r[0]: r[1:] for r in rows}


@pytest.fixture
def seeded(db_url):
    return seed_day(db_url, DAY)


def test_mail_as_received_and_second_run_sends_nothing(runtime, seeded, db_url):
    with SmtpServer() as server:
        rt = _runtime(runtime, f"smtp://127.0.0.1:{server.port}")
        result = run_digest(rt, day=DAY, send=True, as_of=AS_OF)
        assert result.counts["sent"] == 2 and result.counts["failed"] == 0
        assert sorted(r for m in server.messages for r in m.rcpt_tos) == ["juergen@example.org", "ops@example.org"]

        received = server.messages[0]
        assert received.mail_from == "digest@newsmon.example" and not received.tls
        msg = email.message_from_bytes(received.data, policy=email.policy.default)
        assert msg["Subject"] == SUBJECT  # umlauts and the dash survive the encoding
        assert msg["To"] == READERS[0]
        assert email.utils.parsedate_to_datetime(msg["Date"]).tzinfo is not None
        assert re.fullmatch(r"<digest-2026-11-27\.[0-9a-f]{16}@newsmon\.example>", msg["Message-ID"])
        assert msg["Message-ID"] != email.message_from_bytes(server.messages[1].data)["Message-ID"]

        # multipart/alternative: text/plain + multipart/related(text/html + the chart by Content-ID)
        assert msg.get_content_type() == "multipart/alternative"
        plain, related = msg.get_payload()
        assert plain.get_content_type() == "text/plain" and plain.get_content_charset() == "utf-8"
        assert related.get_content_type() == "multipart/related"
        html_part, chart = related.get_payload()
        assert html_part.get_content_type() == "text/html" and chart.get_content_type() == "image/png"
        png = chart.get_content()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
        cid = chart["Content-ID"].strip("<>")
        html = html_part.get_content()
        assert f'src="cid:{cid}"' in html

        # untrusted text: escaped, no extra images, no script, no javascript: link
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
        assert "<script" not in html.lower() and "onerror=alert(1)>" not in html
        assert len(re.findall(r"<img\b", html)) == 1 and "javascript:" not in html
        assert all(u.startswith(("https://", "http://")) for u in re.findall(r'href="([^"]*)"', html))
        text = " ".join(plain.get_content().split())  # the text part is wrapped at 76 columns
        assert HOSTILE_TITLE in text and "Für Nvidia geht es um Milliarden." in text

        rows = _sends(db_url)
        assert {r: row[:3] for r, row in rows.items()} == {READERS[0]: ("sent", 1, None), READERS[1]: ("sent", 1, None)}
        assert rows[READERS[0]][3] == msg["Message-ID"] and rows[READERS[0]][4]

        again = run_digest(rt, day=DAY, send=True, as_of=AS_OF)
        assert len(server.messages) == 2
        assert again.counts["already_sent"] == 2 and "sent" not in again.counts
        assert _sends(db_url)[READERS[0]][1] == 1  # no new attempt recorded
    assert (rt.settings.digests_dir / "digest-2026-11-27.html").exists()


def test_refused_recipient_recorded_then_retried(runtime, seeded, db_url):
    with SmtpServer() as server:
        server.handler.reject.add("ops@example.org")
        rt = _runtime(runtime, f"smtp://127.0.0.1:{server.port}")
        result = run_digest(rt, day=DAY, send=True, as_of=AS_OF)
        assert result.counts["sent"] == 1 and result.counts["failed"] == 1
        assert any(n.startswith("send to ops@example.org failed") for n in result.notes)
        status, attempts, error, *_ = _sends(db_url)["ops@example.org"]
        assert (status, attempts) == ("failed", 1) and error.startswith("550")

        server.handler.reject.clear()
        retry = run_digest(rt, day=DAY, send=True, as_of=AS_OF)
        assert retry.counts["sent"] == 1 and retry.counts["already_sent"] == 1
        assert [m.rcpt_tos for m in server.messages] == [["juergen@example.org"], ["ops@example.org"]]
        assert _sends(db_url)["ops@example.org"][:3] == ("sent", 2, None)


def test_unreachable_server_fails_the_run_and_is_retried(runtime, seeded, db_url):
    port = free_port()  # nothing listens here
    rt = _runtime(runtime, f"smtp://127.0.0.1:{port}")
    with pytest.raises(DigestSendError, match=f"127.0.0.1:{port} not usable"):
        run_digest(rt, day=DAY, send=True, as_of=AS_OF)
    rows = _sends(db_url)
    assert {r: row[:2] for r, row in rows.items()} == {READERS[0]: ("failed", 1), READERS[1]: ("failed", 1)}
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT status FROM stage_runs WHERE stage = 'digest'").fetchone()[0] == "failed"
    assert (rt.settings.digests_dir / "digest-2026-11-27.html").exists()  # written before sending

    with SmtpServer() as server:
        result = run_digest(_runtime(runtime, f"smtp://127.0.0.1:{server.port}"), day=DAY, send=True, as_of=AS_OF)
        assert result.counts["sent"] == 2 and len(server.messages) == 2
    assert {r: row[:3] for r, row in _sends(db_url).items()} == {READERS[0]: ("sent", 2, None),
                                                                 READERS[1]: ("sent", 2, None)}


@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
def test_tls_with_auth_from_url_userinfo(runtime, seeded, db_url, tmp_path, scheme):
    cert, key = self_signed_cert(tmp_path)
    tls = server_tls_context(cert, key)
    user, password = "digest@newsmon.example", "p@ss:w/rd%"
    # (aiosmtpd's auth_require_tls only knows STARTTLS; with implicit TLS the whole session is TLS)
    tls_kwargs = ({"tls_context": tls, "require_starttls": True, "auth_require_tls": True}
                  if scheme == "smtp+starttls" else {"ssl_context": tls, "auth_require_tls": False})
    with SmtpServer(authenticator=password_authenticator(user, password), **tls_kwargs) as server:
        url = (f"{scheme}://digest%40newsmon.example:p%40ss%3Aw%2Frd%25@127.0.0.1:{server.port}"
               f"?cafile={cert}")
        result = run_digest(_runtime(runtime, url, to=["ops@example.org"]), day=DAY, send=True, as_of=AS_OF)
        assert result.counts["sent"] == 1
        (received,) = server.messages
        assert received.tls and received.login == user
        assert email.message_from_bytes(received.data, policy=email.policy.default)["Subject"] == SUBJECT

    # without trusting the self-signed CA the certificate check fails: nothing sent in clear text
    with SmtpServer(**tls_kwargs) as server:
        bad = _runtime(runtime, f"{scheme}://127.0.0.1:{server.port}", to=["other@example.org"])
        with pytest.raises(DigestSendError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            run_digest(bad, day=DAY, send=True, as_of=AS_OF)
        assert server.messages == []
