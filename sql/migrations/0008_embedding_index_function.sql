-- The per-model HNSW index is created by the embed stage the first time a model is used.
-- CREATE INDEX needs table ownership, which newsmon_app (the pipeline's role) does not have:
-- this owner-run function creates exactly that kind of index and nothing else.
CREATE FUNCTION newsmon_ensure_embedding_index(index_name text, model_name text, dims integer)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $fn$
BEGIN
    IF index_name !~ '^embeddings_hnsw_[a-z0-9_]+$' OR dims < 1 OR dims > 16000 THEN
        RAISE EXCEPTION 'invalid embedding index request: % (% dims)', index_name, dims;
    END IF;
    IF to_regclass(index_name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format(
        'CREATE INDEX IF NOT EXISTS %I ON embeddings USING hnsw ((embedding::vector(%s)) vector_cosine_ops) WHERE model = %L',
        index_name, dims, model_name);
    RETURN true;
END
$fn$;

REVOKE ALL ON FUNCTION newsmon_ensure_embedding_index(text, text, integer) FROM PUBLIC;
DO $grant$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'newsmon_app') THEN
        GRANT EXECUTE ON FUNCTION newsmon_ensure_embedding_index(text, text, integer) TO newsmon_app;
    END IF;
END
$grant$;
