"""An extraction task does not end while another claimer holds pending pages: a killed
worker's claims are retaken once the lease (``NEWSMON_CLAIM_LEASE``) runs out, in the same
run, instead of being left for the next one. Time passes through the injected ``sleep``,
which ages the claims on the database's clock (the one the lease is measured on)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

import pytest

from pipeline.demo import DEMO_DIR, resolve_demo_feeds, serve_directory
from pipeline.infra.progress import NullReporter
from pipeline.infra.runtime import Runtime
from pipeline.ingest.stage import (
    CLAIM_WAIT_POLL_S,
    extract_pending,
    fetch_feeds,
    sync_feeds,
)
from pipeline.store import articles as article_store

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
LEASE_S = 60.0
DEAD = "other-host:4242:deadbeef"  # a claimer on another host: its process cannot be checked


@pytest.fixture
def rt(settings, db_url, tmp_path):
    runtime = Runtime.open(dataclasses.replace(settings, extract_workers=1, claim_lease_s=LEASE_S), url=db_url,
                           auto_upgrade=False, progress=NullReporter())
    with serve_directory(DEMO_DIR / "site") as base:
        fetch_feeds(runtime, sync_feeds(runtime, resolve_demo_feeds(base, tmp_path / "feeds.yaml"), now=NOW), now=NOW)
    yield runtime
    runtime.close()


def rows(rt, query, *params):
    with rt.pool.connection() as conn:
        return conn.execute(query, params).fetchall()


def test_a_dead_claimers_pages_are_retaken_after_the_lease_in_the_same_run(rt):
    with rt.pool.connection() as conn:
        dead = article_store.claim_pending(conn, DEAD, 7)  # its worker was SIGKILLed just after
    assert len(dead) == 7
    waits = []

    def time_passes(seconds):
        waits.append(seconds)
        held = rows(rt, "SELECT count(*) FROM articles WHERE extract_claimed_by = %s", DEAD)[0][0]
        step = "'30 seconds'" if len(waits) == 1 else "'31 seconds'"  # the lease ends on the second wait
        with rt.pool.connection() as conn:
            conn.execute(f"UPDATE articles SET extract_claimed_at = extract_claimed_at - interval {step} "
                         "WHERE extract_claimed_by = %s", (DEAD,))
        waits.append(held)

    result = extract_pending(rt, sleep=time_passes)

    # the 28 free pages first, then a wait while the claims live (a poll at most), then they are retaken
    assert [w for w in waits[1::2]] == [7, 7] and all(0 < w <= CLAIM_WAIT_POLL_S for w in waits[0::2])
    assert result.counts["extracted"] == 35 and result.counts["claim_waits"] == 2
    assert not result.counts.get("extract_claims_lost")
    assert rows(rt, "SELECT extract_status, count(*) FROM articles GROUP BY 1") == [("ok", 35)]
    assert rows(rt, "SELECT count(*) FROM articles WHERE extract_claimed_by IS NOT NULL") == [(0,)]
    # each retaken page counts the dead claim and the one that extracted it; the others one
    attempts = dict(rows(rt, "SELECT article_id, extract_attempts FROM articles"))
    assert {a for a, n in attempts.items() if n == 2} == set(dead)
    assert set(attempts.values()) == {1, 2}
    assert rows(rt, "SELECT status, count(*) FROM stage_runs WHERE stage = 'ingest_extract' GROUP BY 1") == [("ok", 1)]


def test_no_wait_without_claims_of_others_and_none_for_a_limited_run(rt):
    def never(seconds):
        raise AssertionError(f"waited {seconds} s with nothing held elsewhere")

    with rt.pool.connection() as conn:
        article_store.claim_pending(conn, DEAD, 5)
    assert extract_pending(rt, limit=10, sleep=never).counts["extracted"] == 10  # --limit: no waiting
    with rt.pool.connection() as conn:  # the dead claimer's claims ran out long ago
        conn.execute("UPDATE articles SET extract_claimed_at = extract_claimed_at - interval '1 hour' "
                     "WHERE extract_claimed_by = %s", (DEAD,))
    result = extract_pending(rt, sleep=never)
    assert result.counts["extracted"] == 25 and "claim_waits" not in result.counts
