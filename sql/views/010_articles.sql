-- analytics.articles: one row per stored article with its theme and story. `theme` is the
-- primary theme; `themes` every theme over its threshold (primary first, '{}' for other);
-- `theme_reason` says why an article got no theme without being scored ('language': neither
-- German nor English).
CREATE VIEW analytics.articles AS
SELECT a.article_id,
       a.url,
       a.canonical_url,
       a.title,
       a.language,
       a.published_at,
       a.body_text,
       t.theme,
       t.theme_score,
       m.story_id,
       a.duplicate_of,
       a.source,
       a.fetched_at,
       a.author,
       a.site_name,
       a.word_count,
       a.extract_status,
       a.extract_error,
       coalesce(t.themes, '{}') AS themes,
       t.reason AS theme_reason
FROM articles a
LEFT JOIN article_themes t USING (article_id)
LEFT JOIN story_members m USING (article_id)
WHERE a.extract_status <> 'blocked';  -- a consent/paywall/JavaScript wall is not an article

COMMENT ON VIEW analytics.articles IS 'One row per article: extracted text, primary theme (theme), all themes over their threshold (themes), and story. Times are timestamptz (UTC on display unless your session sets a time zone).';
