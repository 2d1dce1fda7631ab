-- analytics.search(query, lang): full-text search over titles and texts, best match first.
--
-- Each article is matched in its own language's text-search configuration (German stemming
-- and stop words for German articles, English for English; sql/migrations/0007 stores the
-- vector). `query` is web-search syntax: words, "a phrase", OR, -excluded. `lang` is 'de',
-- 'en', or NULL for both. Syndicated copies (duplicate_of set) are left out. SECURITY DEFINER
-- because the stored vector lives in the raw table the analyst cannot read; the search_path
-- is pinned so that nothing the caller creates can stand in for a table or function here.
CREATE FUNCTION analytics.search(query text, lang text DEFAULT NULL, max_results integer DEFAULT 20)
RETURNS TABLE (
    article_id   bigint,
    title        text,
    url          text,
    language     text,
    published_at timestamptz,
    rank         real,
    snippet      text,
    source       text
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
-- plan each call with its own query and language: a cached generic plan cannot fold them into
-- index conditions and would scan every article
SET plan_cache_mode = force_custom_plan
AS $fn$
#variable_conflict use_column
BEGIN
    IF lang IS NOT NULL AND lang NOT IN ('de', 'en') THEN
        RAISE EXCEPTION 'analytics.search: lang must be ''de'', ''en'' or NULL, not %', quote_literal(lang)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
    WITH q AS (
        SELECT websearch_to_tsquery('pg_catalog.german', query)  AS de,
               websearch_to_tsquery('pg_catalog.english', query) AS en
    ),
    hits AS (
        SELECT a.article_id, a.title, a.url, a.language, a.published_at, a.source, a.body_text,
               CASE a.language WHEN 'de' THEN 'pg_catalog.german'::regconfig
                               ELSE 'pg_catalog.english'::regconfig END AS cfg,
               CASE a.language WHEN 'de' THEN q.de ELSE q.en END AS tsq,
               ts_rank_cd(a.search_vector, CASE a.language WHEN 'de' THEN q.de ELSE q.en END, 32) AS rank
        FROM articles a, q
        WHERE ((a.language = 'de' AND coalesce(lang, 'de') = 'de' AND a.search_vector @@ q.de)
            OR (a.language = 'en' AND coalesce(lang, 'en') = 'en' AND a.search_vector @@ q.en))
          AND a.duplicate_of IS NULL
        ORDER BY rank DESC, a.published_at DESC NULLS LAST, a.article_id
        LIMIT greatest(max_results, 0)
    )
    SELECT h.article_id, h.title, h.url, h.language, h.published_at, h.rank,
           ts_headline(h.cfg, coalesce(nullif(h.body_text, ''), h.title, ''), h.tsq,
                       'MaxFragments=2, MinWords=5, MaxWords=15, FragmentDelimiter=" … ", StartSel=**, StopSel=**'),
           h.source
    FROM hits h
    ORDER BY h.rank DESC, h.published_at DESC NULLS LAST, h.article_id;
END
$fn$;

COMMENT ON FUNCTION analytics.search(text, text, integer) IS
    'Full-text search (German/English configurations) over title and text; rank in [0,1), snippet with **matches**.';
