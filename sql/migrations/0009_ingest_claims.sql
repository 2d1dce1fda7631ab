-- Ingestion: claims, so that several extraction tasks (Airflow mapped tasks, Celery workers)
-- running at once never extract the same page twice, and a crashed worker's pages are retaken.
--
-- A task claims a few pending articles at a time (FOR UPDATE SKIP LOCKED, then these two
-- columns are set); a claim older than the lease (pipeline.store.articles.CLAIM_LEASE) counts
-- as abandoned. The result of an extraction is written only while the claim is still held.
ALTER TABLE articles
    ADD COLUMN extract_claimed_by text,
    ADD COLUMN extract_claimed_at timestamptz;

COMMENT ON COLUMN articles.source IS
    'The feed credited with the article: among the feeds that link it, the one whose host is the article''s host (then the same site), ties and the rest by smallest feed name; independent of fetch order.';

-- The raw page is stored compressed already (zlib, or the server's own gzip bytes): TOAST
-- compression would only spend CPU finding that out again.
ALTER TABLE raw_pages ALTER COLUMN body_gz SET STORAGE EXTERNAL;
