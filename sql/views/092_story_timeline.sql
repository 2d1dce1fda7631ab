-- analytics.story_timeline(story_id): a story's articles in the order they appeared.
--
-- Time order is published_at (the fetch time when an article has no date), then article_id.
-- hours_after_first counts from the story's first article; position 1 broke the story.
-- Plain (invoker) SQL over analytics.articles: the analyst's own rights suffice.
CREATE FUNCTION analytics.story_timeline(story_id bigint)
RETURNS TABLE (
    "position"        integer,
    article_id        bigint,
    published_at      timestamptz,
    source            text,
    language          text,
    title             text,
    url               text,
    hours_after_first numeric,
    duplicate_of      bigint
)
LANGUAGE sql STABLE
AS $fn$
    SELECT (row_number() OVER w)::integer,
           a.article_id,
           coalesce(a.published_at, a.fetched_at),
           a.source,
           a.language,
           a.title,
           a.url,
           round((extract(epoch FROM coalesce(a.published_at, a.fetched_at)
                  - first_value(coalesce(a.published_at, a.fetched_at)) OVER w) / 3600)::numeric, 1),
           a.duplicate_of
    FROM analytics.articles a
    WHERE a.story_id = story_timeline.story_id
    WINDOW w AS (ORDER BY coalesce(a.published_at, a.fetched_at) NULLS LAST, a.article_id)
    ORDER BY 1;
$fn$;

COMMENT ON FUNCTION analytics.story_timeline(bigint) IS
    'Members of one story in time order with outlet (source) and language; position 1 broke the story.';
