-- analytics.articles: one row per stored article with its theme and story.
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
       a.extract_error
FROM articles a
LEFT JOIN article_themes t USING (article_id)
LEFT JOIN story_members m USING (article_id);

COMMENT ON VIEW analytics.articles IS 'One row per article: extracted text, theme and story. Times are timestamptz (UTC on display unless your session sets a time zone).';
