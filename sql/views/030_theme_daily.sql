-- analytics.theme_daily: articles per day (Europe/Berlin), primary theme and language; duplicates
-- excluded. Each article counts once, under its primary theme (secondary themes: analytics.articles.themes).
CREATE VIEW analytics.theme_daily AS
SELECT (coalesce(a.published_at, a.fetched_at) AT TIME ZONE 'Europe/Berlin')::date AS day,
       coalesce(t.theme, 'other') AS theme,
       a.language,
       count(*)::integer AS article_count
FROM articles a
LEFT JOIN article_themes t USING (article_id)
WHERE a.extract_status = 'ok' AND a.duplicate_of IS NULL
GROUP BY 1, 2, 3;
