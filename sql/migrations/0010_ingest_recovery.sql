-- Ingestion recovery (issue 15): page fetches back off instead of failing for good, every
-- refusal is recorded with its kind, and URLs up to 8,000 characters are stored.

-- A page whose fetch failed for a transient reason (timeout, reset, 5xx, 429) is retried after
-- a backoff (10 min doubling, capped at 48 h: pipeline.ingest.fetch.page_backoff); after
-- pipeline.store.articles.MAX_ATTEMPTS such failures it is given up ('failed', gave_up_at set),
-- which `newsmon feeds retry` undoes. problem_kind names the problem in one word (robots,
-- too_large, wrong_type, bad_scheme, url_too_long, blocked_address, timeout, http_503, ...).
ALTER TABLE feed_entries
    ADD COLUMN problem_kind text,
    ADD COLUMN last_attempt_at timestamptz,
    ADD COLUMN next_attempt_at timestamptz,
    ADD COLUMN gave_up_at timestamptz;

COMMENT ON COLUMN feed_entries.problem_kind IS
    'Why the page was not stored, in one word (robots, too_large, wrong_type, bad_scheme, url_too_long, blocked_address, timeout, connect, network, http_NNN); NULL once fetched.';
COMMENT ON COLUMN feed_entries.next_attempt_at IS
    'A pending page is not fetched again before this time (backoff after a transient failure).';
COMMENT ON COLUMN feed_entries.gave_up_at IS
    'Set when a page was given up after repeated transient failures; `newsmon feeds retry` makes it pending again.';

-- Pending pages are picked across all feeds on every run, whether or not their feed is due.
DROP INDEX IF EXISTS feed_entries_pending_idx;
CREATE INDEX feed_entries_pending_idx ON feed_entries (feed_id, next_attempt_at) WHERE fetch_status = 'pending';

-- Feed problems: since when the feed fails, and the kind of its last failure.
ALTER TABLE feeds
    ADD COLUMN failing_since timestamptz,
    ADD COLUMN problem_kind text;

-- URLs up to 8,000 characters (RFC 9110 section 4.1). A btree entry holds at most ~2,700 bytes,
-- so uniqueness moves to a SHA-256 of the canonical URL and equality lookups to hash indexes
-- (which take values of any length). url_key is IMMUTABLE: the database encoding is UTF-8 and
-- never changes, so convert_to always gives the same bytes.
CREATE FUNCTION url_key(url text) RETURNS bytea
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN sha256(convert_to(url, 'UTF8'));

ALTER TABLE articles DROP CONSTRAINT articles_canonical_url_key;
CREATE UNIQUE INDEX articles_canonical_url_key ON articles (url_key(canonical_url));
CREATE INDEX articles_canonical_url_hash_idx ON articles USING hash (canonical_url);

DROP INDEX feed_entries_canonical_idx;
CREATE INDEX feed_entries_canonical_idx ON feed_entries USING hash (canonical_url);
