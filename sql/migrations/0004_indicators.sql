-- Indicators: which articles the extractor has read, each API fetch's outcome, and declared
-- targets per subject (from indicators.yaml; indicator_definitions holds the indicator-wide one).

-- One row per article the indicator stage has looked at (so re-runs only read new or changed
-- articles). A newer extractor_version or a changed articles.updated_at makes it pending again.
CREATE TABLE indicator_article_progress (
    article_id         bigint PRIMARY KEY REFERENCES articles (article_id) ON DELETE CASCADE,
    status             text NOT NULL CHECK (status IN ('ok', 'failed', 'skipped')),
    claims             integer NOT NULL DEFAULT 0,
    error              text,
    extractor_version  integer NOT NULL,
    article_updated_at timestamptz,
    processed_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX indicator_article_progress_failed_idx
    ON indicator_article_progress (status) WHERE status <> 'ok';

-- One row per API repository and run time: what was fetched, and why it failed if it did.
CREATE TABLE indicator_api_fetches (
    provider    text NOT NULL CHECK (provider IN ('huggingface', 'github')),
    repo        text NOT NULL,
    observed_at timestamptz NOT NULL,
    status      text NOT NULL CHECK (status IN ('ok', 'failed')),
    http_status integer,
    attempts    integer NOT NULL DEFAULT 1,
    error       text,
    source_url  text NOT NULL,
    fetched_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, repo, observed_at)
);
CREATE INDEX indicator_api_fetches_failed_idx ON indicator_api_fetches (observed_at DESC) WHERE status = 'failed';

-- Declared targets per subject ("China: 70 % by 2025"); these win over the indicator-wide target.
CREATE TABLE indicator_targets (
    indicator    text NOT NULL REFERENCES indicator_definitions (indicator) ON DELETE CASCADE,
    subject      text NOT NULL,
    target_value numeric NOT NULL,
    target_year  integer NOT NULL,
    note         text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (indicator, subject)
);
