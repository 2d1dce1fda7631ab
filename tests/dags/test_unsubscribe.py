"""The plugin's public unsubscribe endpoint against a real database: a signed link unsubscribes
(GET only asks, POST acts, also as RFC 8058 one-click); a tampered or expired token is 403 and
changes nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt

import psycopg
import pytest
from fastapi.testclient import TestClient

from pipeline.digest.readers import make_token

SECRET = "unsubscribe-secret-for-tests"


def _tampered(token: str) -> str:
    payload, signature = token.split(".")
    return f"{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"


@pytest.fixture
def client(settings, db_url):
    from newsmon_api import create_app

    with psycopg.connect(db_url) as conn:
        conn.execute("INSERT INTO subscribers (email, alerts) VALUES ('reader@example.org', true)")
    configured = dataclasses.replace(settings, unsubscribe_secret=SECRET)

    def refuse():  # stands in for Airflow's authentication: the other routes stay closed
        from fastapi import HTTPException

        raise HTTPException(status_code=401, detail="not authenticated")

    from fastapi import Depends

    with TestClient(create_app(lambda: configured, dependencies=[Depends(refuse)])) as c:
        yield c


def _state(db_url):
    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT unsubscribed_at IS NOT NULL, unsubscribed_via FROM subscribers "
                            "WHERE email = 'reader@example.org'").fetchone()


def test_signed_link_unsubscribes_on_post_only(client, db_url):
    token = make_token(SECRET, "reader@example.org", dt.datetime.now(dt.timezone.utc))
    assert client.get("/api/stories").status_code == 401  # the rest still needs a login
    page = client.get("/unsubscribe", params={"token": token})
    assert page.status_code == 200 and "reader@example.org" in page.text and 'method="post"' in page.text
    assert _state(db_url) == (False, None)  # a link scanner's GET changes nothing
    done = client.post("/unsubscribe", params={"token": token}, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "no more newsmon mail" in done.text
    assert _state(db_url) == (True, "link")
    assert client.post("/unsubscribe", params={"token": token}).status_code == 200  # twice is fine


@pytest.mark.parametrize("make", [
    lambda now: _tampered(make_token(SECRET, "reader@example.org", now)),  # tampered signature
    lambda now: make_token("some-other-secret-entirely", "reader@example.org", now),  # forged
    lambda now: make_token(SECRET, "reader@example.org", now - dt.timedelta(days=400)),  # expired
    lambda now: "",
])
def test_tampered_or_expired_token_is_403_and_changes_nothing(client, db_url, make):
    token = make(dt.datetime.now(dt.timezone.utc))
    for method in (client.get, client.post):
        response = method("/unsubscribe", params={"token": token})
        assert response.status_code == 403 and "nothing was changed" in response.text
    assert _state(db_url) == (False, None)
