-- Indexes behind analytics.search and the example queries in docs/analysts.md
-- (bench/analytics.py times each of them on 100,000 generated articles).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Full text: one stored vector per article in its own language's configuration (German
-- stemming and stop words for German articles, English for English, 'simple' otherwise);
-- title weighted above body. Stored, so ranking many hits reads it instead of re-parsing the
-- text. The body is capped: a tsvector may not exceed 1 MB, and an over-long article must
-- never make its INSERT fail.
ALTER TABLE articles ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector(CASE language WHEN 'de' THEN 'pg_catalog.german'::regconfig
                                        WHEN 'en' THEN 'pg_catalog.english'::regconfig
                                        ELSE 'pg_catalog.simple'::regconfig END,
                          coalesce(left(title, 2000), '')), 'A')
    || setweight(to_tsvector(CASE language WHEN 'de' THEN 'pg_catalog.german'::regconfig
                                           WHEN 'en' THEN 'pg_catalog.english'::regconfig
                                           ELSE 'pg_catalog.simple'::regconfig END,
                             coalesce(left(body_text, 100000), '')), 'B')
) STORED;
CREATE INDEX articles_search_idx ON articles USING gin (search_vector);

-- Finding an article by a fragment of its title (ILIKE '%...%') without a scan of every body.
CREATE INDEX articles_title_trgm_idx ON articles USING gin (title gin_trgm_ops);


-- Analytics scans read a few narrow columns of every article (day, language, outlet, status),
-- but an article row also carries its text and search vector. This covering index lets those
-- scans (analytics.theme_daily, per-outlet and per-story aggregates) read 7 MB of index per
-- 100,000 articles instead of the whole table (index-only scans), and serves time windows on
-- published_at directly.
CREATE INDEX articles_analytics_cover_idx ON articles (published_at)
    INCLUDE (article_id, fetched_at, language, source, extract_status, duplicate_of);
