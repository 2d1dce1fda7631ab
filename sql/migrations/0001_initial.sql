-- newsmon initial schema. Raw tables live in "public"; analysts read the "analytics" views.
-- Append-only: later changes go into new numbered files.

CREATE EXTENSION IF NOT EXISTS vector;

-- Feeds: the list from feeds.yaml, plus conditional-GET state and health (Miniflux style).
CREATE TABLE feeds (
    feed_id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                 text NOT NULL UNIQUE,
    url                  text NOT NULL,
    language             text NOT NULL CHECK (language IN ('de', 'en')),
    tags                 text[] NOT NULL DEFAULT '{}',
    enabled              boolean NOT NULL DEFAULT true,
    disabled_reason      text,
    etag                 text,
    last_modified        text,
    last_status          integer,          -- HTTP status of the last attempt (NULL: network error)
    last_checked_at      timestamptz,
    last_success_at      timestamptz,
    consecutive_failures integer NOT NULL DEFAULT 0,
    last_error           text,
    parse_warning        text,             -- feedparser bozo message of the last fetch
    next_check_at        timestamptz,      -- backoff: not fetched before this time
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Articles: one row per canonical URL.
CREATE TABLE articles (
    article_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url            text NOT NULL,              -- URL as first linked from a feed
    canonical_url  text NOT NULL UNIQUE,
    final_url      text,                       -- after redirects
    title          text,
    author         text,
    site_name      text,
    source         text,                       -- the feed (outlet) that first delivered it
    language       text,                       -- de, en or other (detected; feed language as fallback)
    published_at   timestamptz,
    body_text      text,
    word_count     integer,
    fingerprint    text,                       -- hash of normalised text (exact syndicated copies)
    simhash        bigint,                     -- near-duplicate hash
    duplicate_of   bigint REFERENCES articles (article_id) ON DELETE SET NULL,
    extract_status text NOT NULL DEFAULT 'pending'
                   CHECK (extract_status IN ('pending', 'ok', 'failed', 'skipped')),
    extract_error  text,
    http_status    integer,
    fetched_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX articles_published_at_idx ON articles (published_at);
CREATE INDEX articles_fingerprint_idx ON articles (fingerprint) WHERE fingerprint IS NOT NULL;
CREATE INDEX articles_duplicate_of_idx ON articles (duplicate_of) WHERE duplicate_of IS NOT NULL;

-- Which feed entries point at which article (the same article in two feeds: two rows here).
CREATE TABLE feed_entries (
    feed_id       bigint NOT NULL REFERENCES feeds (feed_id) ON DELETE CASCADE,
    entry_key     text NOT NULL,               -- guid/id, else the link
    link          text NOT NULL,
    canonical_url text NOT NULL,
    title         text,
    summary       text,
    published_at  timestamptz,
    article_id    bigint REFERENCES articles (article_id) ON DELETE SET NULL,
    fetch_status  text NOT NULL DEFAULT 'pending'
                  CHECK (fetch_status IN ('pending', 'fetched', 'failed', 'skipped')),
    fetch_error   text,
    attempts      integer NOT NULL DEFAULT 0,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (feed_id, entry_key)
);
CREATE INDEX feed_entries_article_idx ON feed_entries (article_id);
CREATE INDEX feed_entries_canonical_idx ON feed_entries (canonical_url);
CREATE INDEX feed_entries_pending_idx ON feed_entries (fetch_status) WHERE fetch_status = 'pending';

-- Raw pages, compressed, so extraction can be re-run (newsmon ingest --reextract).
CREATE TABLE raw_pages (
    article_id   bigint PRIMARY KEY REFERENCES articles (article_id) ON DELETE CASCADE,
    url          text NOT NULL,
    content_type text,
    charset      text,
    body_gz      bytea NOT NULL,
    size_bytes   integer NOT NULL,
    fetched_at   timestamptz NOT NULL DEFAULT now()
);

-- Embeddings: one vector per article and model; vectors of different models never mix.
CREATE TABLE embedding_models (
    model      text PRIMARY KEY,
    dims       integer NOT NULL,
    backend    text NOT NULL,
    active     boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX embedding_models_one_active ON embedding_models (active) WHERE active;

CREATE TABLE embeddings (
    article_id  bigint NOT NULL REFERENCES articles (article_id) ON DELETE CASCADE,
    model       text NOT NULL REFERENCES embedding_models (model),
    embedding   vector NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (article_id, model)
);

-- Theme per article.
CREATE TABLE article_themes (
    article_id  bigint PRIMARY KEY REFERENCES articles (article_id) ON DELETE CASCADE,
    theme       text NOT NULL,
    theme_score real NOT NULL CHECK (theme_score >= 0 AND theme_score <= 1),
    scores      jsonb NOT NULL DEFAULT '{}',   -- score per theme, for inspection
    model       text,
    assigned_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX article_themes_theme_idx ON article_themes (theme);

-- Stories and their members.
CREATE TABLE stories (
    story_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    label         text,
    theme         text,
    first_seen    timestamptz,
    last_seen     timestamptz,
    article_count integer NOT NULL DEFAULT 0,
    languages     text[] NOT NULL DEFAULT '{}',
    model         text,
    centroid      vector,
    merged_into   bigint REFERENCES stories (story_id),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stories_last_seen_idx ON stories (last_seen);

CREATE TABLE story_members (
    article_id bigint PRIMARY KEY REFERENCES articles (article_id) ON DELETE CASCADE,
    story_id   bigint NOT NULL REFERENCES stories (story_id),
    similarity real,
    added_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX story_members_story_idx ON story_members (story_id);

-- Indicators: definitions from indicators.yaml, observations from articles and APIs.
CREATE TABLE indicator_definitions (
    indicator    text PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('downloads', 'self_sufficiency_target',
                                               'performance_ratio', 'market_share', 'investment')),
    unit         text NOT NULL CHECK (unit IN ('count', 'percent', 'usd', 'ratio')),
    subjects     text[] NOT NULL DEFAULT '{}',
    target_value numeric,
    target_year  integer,
    description  text,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE indicator_observations (
    observation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    indicator      text NOT NULL REFERENCES indicator_definitions (indicator),
    subject        text NOT NULL,
    value          numeric NOT NULL,
    unit           text NOT NULL,
    target_year    integer,
    approximate    boolean NOT NULL DEFAULT false,
    observed_at    timestamptz NOT NULL,
    article_id     bigint REFERENCES articles (article_id) ON DELETE CASCADE,
    article_url    text,
    quote          text,
    source_kind    text NOT NULL CHECK (source_kind IN ('article', 'api')),
    source_url     text,
    created_at     timestamptz NOT NULL DEFAULT now()
);
-- Re-running adds nothing: one row per (article, indicator, subject, value) ...
CREATE UNIQUE INDEX indicator_observations_article_key
    ON indicator_observations (article_id, indicator, subject, value) WHERE source_kind = 'article';
-- ... and one API reading per (indicator, subject, timestamp).
CREATE UNIQUE INDEX indicator_observations_api_key
    ON indicator_observations (indicator, subject, observed_at) WHERE source_kind = 'api';
CREATE INDEX indicator_observations_latest_idx ON indicator_observations (indicator, subject, observed_at DESC);

-- Progress of each stage over articles (so any stage can resume where it stopped).
CREATE TABLE stage_runs (
    run_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    stage       text NOT NULL,
    status      text NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    counts      jsonb NOT NULL DEFAULT '{}',
    error       text
);
CREATE INDEX stage_runs_stage_idx ON stage_runs (stage, started_at DESC);

-- Digest sends: idempotent per (day, recipient).
CREATE TABLE digest_sends (
    day         date NOT NULL,
    recipient   text NOT NULL,
    status      text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    message_id  text,
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text,
    sent_at     timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, recipient)
);
