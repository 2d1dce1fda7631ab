-- analytics.similar_articles(article_id, k): the k nearest articles by embedding (cosine).
--
-- Only vectors of the active model (embedding_models.active) are compared, so a database that
-- holds vectors of two models never mixes them. Syndicated copies (duplicate_of set) are left
-- out. similarity = 1 - cosine distance (1: same direction).
--
-- The query is written exactly like the per-model HNSW index `newsmon embed` creates
-- (pipeline/store/embeddings.py: `(embedding::vector(dims)) vector_cosine_ops WHERE model =
-- '<model>'`), with the model and dims spelled out as literals so the planner can use that
-- partial index; iterative index scans keep going until k rows pass the duplicate filter.
-- With the index the neighbours are approximate (HNSW); without it they are exact.
-- SECURITY DEFINER because the vectors live in the raw table the analyst cannot read; the
-- search_path is pinned so that nothing the caller creates can stand in for a table here.
-- (PL/pgSQL forbids an input and an output column of the same name, so the work is done by
-- analytics.nearest_articles(source_article_id, k) and similar_articles names its input
-- article_id, as analysts expect.)
CREATE FUNCTION analytics.nearest_articles(source_article_id bigint, k integer DEFAULT 10)
RETURNS TABLE (
    article_id   bigint,
    title        text,
    url          text,
    language     text,
    published_at timestamptz,
    source       text,
    similarity   double precision,
    story_id     bigint
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
    active_model text;
    dims         integer;
    target       vector;
    wanted       integer := least(greatest(coalesce(k, 0), 0), 1000);
BEGIN
    SELECT m.model, m.dims INTO active_model, dims FROM embedding_models m WHERE m.active;
    IF active_model IS NULL OR wanted = 0 THEN
        RETURN;
    END IF;
    SELECT e.embedding INTO target
    FROM embeddings e
    WHERE e.model = active_model AND e.article_id = source_article_id;
    IF target IS NULL OR vector_dims(target) <> dims THEN
        RETURN;
    END IF;
    -- an HNSW scan returns at most ef_search rows; iterative scans refill after filtering
    PERFORM set_config('hnsw.ef_search', greatest(40, least(2 * wanted, 1000))::text, true);
    PERFORM set_config('hnsw.iterative_scan', 'relaxed_order', true);
    RETURN QUERY EXECUTE format(
        $q$
        SELECT n.article_id, a.title, a.url, a.language, a.published_at, a.source,
               1 - n.distance, m.story_id
        FROM (
            SELECT e.article_id, e.embedding::vector(%1$s) <=> $1::vector(%1$s) AS distance
            FROM embeddings e
            JOIN articles c ON c.article_id = e.article_id
            WHERE e.model = %2$L
              AND e.article_id <> $2
              AND c.duplicate_of IS NULL
            ORDER BY e.embedding::vector(%1$s) <=> $1::vector(%1$s)
            LIMIT $3
        ) n
        JOIN articles a ON a.article_id = n.article_id
        LEFT JOIN story_members m ON m.article_id = n.article_id
        ORDER BY n.distance, n.article_id
        $q$, dims, active_model)
    USING target, source_article_id, wanted;
END
$fn$;

CREATE FUNCTION analytics.similar_articles(article_id bigint, k integer DEFAULT 10)
RETURNS TABLE (
    article_id   bigint,
    title        text,
    url          text,
    language     text,
    published_at timestamptz,
    source       text,
    similarity   double precision,
    story_id     bigint
)
LANGUAGE sql STABLE
AS $fn$
    SELECT * FROM analytics.nearest_articles(similar_articles.article_id, k);
$fn$;

COMMENT ON FUNCTION analytics.nearest_articles(bigint, integer) IS
    'Implementation of analytics.similar_articles (same result).';
COMMENT ON FUNCTION analytics.similar_articles(bigint, integer) IS
    'The k nearest articles to one article by cosine similarity of the active model''s embeddings.';
