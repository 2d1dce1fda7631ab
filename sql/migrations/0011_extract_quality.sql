-- Extraction quality (issue 15): walls are not articles; poison pages are not claimed forever.
--
-- extract_status 'blocked': the page held only a consent dialog, a paywall teaser or an
-- "enable JavaScript"/bot-check stub (pipeline.ingest.walls); block_reason says which. Such a
-- row keeps no body_text and is never an article (not in analytics.articles, not embedded).
--
-- extract_attempts: how many times the page was claimed for extraction. A page whose worker
-- crashed or ran past NEWSMON_EXTRACT_TIMEOUT is retried once; on its second such attempt it
-- is 'failed' with the reason, and a page is never claimed a third time.
ALTER TABLE articles DROP CONSTRAINT IF EXISTS articles_extract_status_check;
ALTER TABLE articles
    ADD CONSTRAINT articles_extract_status_check
        CHECK (extract_status IN ('pending', 'ok', 'failed', 'skipped', 'blocked')),
    ADD COLUMN block_reason text
        CONSTRAINT articles_block_reason_check CHECK (block_reason IN ('consent', 'paywall', 'javascript')),
    ADD COLUMN extract_attempts integer NOT NULL DEFAULT 0;

COMMENT ON COLUMN articles.block_reason IS
    'For extract_status = ''blocked'': the wall the page showed instead of an article (consent, paywall, javascript).';
COMMENT ON COLUMN articles.extract_attempts IS
    'Times the page was claimed for extraction; a page is never claimed a third time.';
COMMENT ON COLUMN articles.language IS
    'ISO 639-1 code detected from the text (py3langid: de, en, fr, es, zh, ...); the feed''s language where the text is too short or the model unsure; ''other'' when neither.';
