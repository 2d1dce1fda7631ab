-- Entities (issue 13): the canonical companies, chips, models, countries, funds ... that figures
-- are about, their links from observations, candidates for figures whose subject is no known
-- entity, the entities each article names, and dated target statements.

-- Seeded from pipeline/data/entities.yaml by the indicators stage (upsert by name). An entity
-- that leaves the YAML is kept (observations point at it) with active = false.
CREATE TABLE entities (
    entity_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    entity_type text NOT NULL,            -- the first type: model, group, chip, company, country, bloc, region, fund, agency
    types       text[] NOT NULL,          -- every type ("DeepSeek" is a model family and a company)
    aliases     text[] NOT NULL DEFAULT '{}',
    patterns    text[] NOT NULL DEFAULT '{}',
    counts_as   text,                     -- a fund or agency: the state its money is recorded on
    active      boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE indicator_observations
    ADD COLUMN entity_id bigint REFERENCES entities (entity_id),
    ADD COLUMN reference_entity text,     -- performance ratios: the chip compared against
    ADD COLUMN value_usd numeric;         -- amounts: value at the reference rate of the observation's date
CREATE INDEX indicator_observations_entity_idx ON indicator_observations (entity_id, indicator, observed_at DESC);

-- A figure whose subject is not a known entity: kept with a guessed subject phrase, so that an
-- analyst sees what the gazetteer misses. Re-read (and dropped here) once entities.yaml changes.
CREATE TABLE indicator_candidates (
    candidate_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id     bigint NOT NULL REFERENCES articles (article_id) ON DELETE CASCADE,
    indicator      text NOT NULL REFERENCES indicator_definitions (indicator),
    subject_phrase text NOT NULL,
    value          numeric NOT NULL,
    unit           text NOT NULL,
    target_year    integer,
    approximate    boolean NOT NULL DEFAULT false,
    observed_at    timestamptz NOT NULL,
    article_url    text,
    quote          text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (article_id, indicator, subject_phrase, value, unit)
);

-- The entities an article names, with how often ("everything on the Ascend 910C").
CREATE TABLE article_entities (
    article_id bigint NOT NULL REFERENCES articles (article_id) ON DELETE CASCADE,
    entity_id  bigint NOT NULL REFERENCES entities (entity_id) ON DELETE CASCADE,
    mentions   integer NOT NULL CHECK (mentions > 0),
    PRIMARY KEY (article_id, entity_id)
);
CREATE INDEX article_entities_entity_idx ON article_entities (entity_id);

-- Articles are re-read when the entity list changed (a new alias turns candidates into observations).
ALTER TABLE indicator_article_progress ADD COLUMN entities_digest text;

-- When a declared (YAML) target was stated, so that the newest target statement wins over older ones.
ALTER TABLE indicator_targets ADD COLUMN stated_on date;
