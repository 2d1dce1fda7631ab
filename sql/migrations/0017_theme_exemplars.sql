-- The theme set's vectors for a model that ships none (pipeline/themes/exemplars.py): encoded
-- once by the first themes run or `newsmon calibrate` and read by every later one, on any worker.
-- One row per model: float16 vectors in an .npz, with the digest of the labelled set they encode.
CREATE TABLE IF NOT EXISTS theme_exemplars (
    model      text PRIMARY KEY,
    digest     text NOT NULL,
    vectors    bytea NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now()
);
