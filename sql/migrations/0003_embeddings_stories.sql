-- Embeddings, themes and stories: state the incremental story clustering keeps per story.
-- (The per-model HNSW indexes on embeddings are created by `newsmon embed`, since a model's
-- dimension is known only once it is loaded: see pipeline/store/embeddings.py.)

-- Term counts of a story's members (content words, lower-cased, umlauts and compounds kept):
-- the label (c-TF-IDF over the window) and the lexical evidence for placing new articles are
-- computed from these, so a run never re-reads the texts of the whole window.
ALTER TABLE stories ADD COLUMN terms jsonb NOT NULL DEFAULT '{}';
-- Members whose vector is summed into the centroid (syndicated copies are not: same text twice).
ALTER TABLE stories ADD COLUMN vector_count integer NOT NULL DEFAULT 0;
-- Share of the members per theme, for inspection; stories.theme is the leading one.
ALTER TABLE stories ADD COLUMN theme_shares jsonb NOT NULL DEFAULT '{}';

CREATE INDEX stories_merged_into_idx ON stories (merged_into) WHERE merged_into IS NOT NULL;
CREATE INDEX stories_live_last_seen_idx ON stories (last_seen) WHERE merged_into IS NULL;
-- Where a member sits in time (published_at, else fetched_at), so windows need no join.
ALTER TABLE story_members ADD COLUMN placed_at timestamptz;
CREATE INDEX story_members_placed_at_idx ON story_members (placed_at);
