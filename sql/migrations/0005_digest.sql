-- Digest: the day's articles are selected by coalesce(published_at, fetched_at) (the time an
-- article belongs to when its page gave no date), so index that expression: the digest reads
-- one day plus a 14-day chart window out of an ever-growing table.
CREATE INDEX IF NOT EXISTS articles_day_ts_idx ON articles ((coalesce(published_at, fetched_at)));
