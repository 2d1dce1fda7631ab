-- Ingestion: indexes for the work queues and the duplicate search.

-- extract_pending pages through pending articles in article_id order.
CREATE INDEX articles_extract_pending_idx ON articles (article_id) WHERE extract_status = 'pending';
-- mark_duplicates compares a new article with earlier ones fetched in the last 30 days.
CREATE INDEX articles_fetched_at_idx ON articles (fetched_at) WHERE extract_status = 'ok';
-- fetch_feeds picks each feed's pending entries.
CREATE INDEX feed_entries_feed_pending_idx ON feed_entries (feed_id) WHERE fetch_status = 'pending';
