-- Which text a vector was computed from (0.9.6): the title and lead of the article cut at
-- text_chars characters (pipeline/embed/stage.py DEFAULT_MAX_CHARS). Vectors written before
-- 0.9.6 were computed from 600 characters. A vector of the active model whose text_chars
-- differs from the model's current one is stale: the embed stage recomputes it, after the
-- articles that have no vector yet.
ALTER TABLE embeddings ADD COLUMN IF NOT EXISTS text_chars integer DEFAULT 600;
ALTER TABLE embeddings ALTER COLUMN text_chars DROP DEFAULT;
-- The text length the embed stage writes for this model now: set on each embed run; 0.9.6's
-- length from the start, so analytics.backlogs counts the older vectors as stale at once.
ALTER TABLE embedding_models ADD COLUMN IF NOT EXISTS text_chars integer;
UPDATE embedding_models SET text_chars = 400 WHERE text_chars IS NULL;
