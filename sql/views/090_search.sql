-- analytics.search(query, lang, max_results, semantic): full-text search over titles and texts
-- in both languages for one query, best match first; every hit says how it matched.
--
-- 1. text: each article is matched in its own language's text-search configuration (German
--    stemming and stop words for German articles, English for English; sql/migrations/0007
--    stores the vector). `query` is web-search syntax: words, "a phrase", or, -excluded.
-- 2. expansion: a plain query (no quotes, `or` or `-`) is also expanded across languages
--    through analytics.search_terms, concept groups of German and English terms ("export
--    controls" <-> "Exportkontrollen", "USA" <-> "Vereinigte Staaten"), and through the entity
--    aliases of analytics.entities ("Tongyi Qianwen" -> Qwen): each run of 1-3 query words whose
--    stems equal a term's stems (an entity: its name or an alias, ignoring case) is replaced by
--    "any term of its concept", in each language; other words stay as they are. A hit found only this way is `expansion`, and
--    `match_note` names the concepts used. (The theme lexicons in pipeline/data/themes.yaml are
--    per-theme keyword lists, not aligned translations, so they are not used here.)
-- 3. semantic (only with semantic => true): the nearest articles by embedding (active model,
--    similarity >= 0.5) of the five best text/expansion hits, at most max_results more.
--
-- `lang` is 'de', 'en', or NULL for both. Syndicated copies (duplicate_of set) are left out.
-- Hostile input is bounded: the query is cut to 1,000 characters, repeated words count once
-- and at most 32 distinct words are kept before any work (the expansion also stops after 64
-- words); websearch_to_tsquery/phraseto_tsquery never raise on &, |, !, quotes or brackets.
-- SECURITY DEFINER because the stored vector lives in the raw table the analyst cannot read;
-- the search_path is pinned so that nothing the caller creates can stand in for a table or
-- function here.

CREATE TABLE analytics.search_terms (
    concept  text NOT NULL,
    language text NOT NULL CHECK (language IN ('de', 'en', 'any')),
    term     text NOT NULL,
    -- the term's stems in each configuration: a query span matches when its stems are equal
    key_de   text[] GENERATED ALWAYS AS (tsvector_to_array(to_tsvector('pg_catalog.german', term))) STORED,
    key_en   text[] GENERATED ALWAYS AS (tsvector_to_array(to_tsvector('pg_catalog.english', term))) STORED,
    PRIMARY KEY (concept, language, term)
);

COMMENT ON TABLE analytics.search_terms IS
    'Concept groups of German and English terms that analytics.search expands a query through (rebuilt from sql/views/090_search.sql on every upgrade).';

INSERT INTO analytics.search_terms (concept, language, term) VALUES
    ('export controls', 'en', 'export controls'), ('export controls', 'en', 'export control'),
    ('export controls', 'en', 'export restrictions'), ('export controls', 'de', 'Exportkontrollen'),
    ('export controls', 'de', 'Exportbeschränkungen'), ('export controls', 'de', 'Ausfuhrkontrollen'),
    ('export ban', 'en', 'export ban'), ('export ban', 'en', 'halts exports'), ('export ban', 'de', 'Exportverbot'),
    ('export ban', 'de', 'Ausfuhrverbot'), ('export ban', 'de', 'Ausfuhrstopp'),
    ('exports', 'en', 'exports'), ('exports', 'de', 'Exporte'), ('exports', 'de', 'Ausfuhr'),
    ('sanctions', 'en', 'sanctions'), ('sanctions', 'de', 'Sanktionen'),
    ('sanctions package', 'en', 'sanctions package'), ('sanctions package', 'de', 'Sanktionspaket'),
    ('entity list', 'en', 'entity list'), ('entity list', 'de', 'Entity List'), ('entity list', 'de', 'Handelsliste'),
    ('tariffs', 'en', 'tariffs'), ('tariffs', 'de', 'Zölle'), ('tariffs', 'de', 'Strafzölle'),
    ('chips', 'en', 'chips'), ('chips', 'en', 'semiconductors'), ('chips', 'de', 'Chips'), ('chips', 'de', 'Halbleiter'),
    ('AI chips', 'en', 'AI chips'), ('AI chips', 'de', 'KI-Chips'),
    ('memory chips', 'en', 'memory chips'), ('memory chips', 'de', 'Speicherchips'),
    ('chip factory', 'en', 'chip plant'), ('chip factory', 'en', 'chip factory'), ('chip factory', 'en', 'fab'),
    ('chip factory', 'de', 'Chipfabrik'), ('chip factory', 'de', 'Chip-Werk'), ('chip factory', 'de', 'Chipwerk'),
    ('chipmaker', 'en', 'chipmaker'), ('chipmaker', 'de', 'Chiphersteller'),
    ('foundry', 'en', 'foundry'), ('foundry', 'de', 'Auftragsfertiger'),
    ('accelerator', 'en', 'accelerator'), ('accelerator', 'de', 'Beschleuniger'),
    ('lithography', 'en', 'lithography'), ('lithography', 'de', 'Lithografie'),
    ('self-sufficiency', 'en', 'self-sufficiency'), ('self-sufficiency', 'de', 'Selbstversorgung'),
    ('self-sufficiency', 'de', 'Selbstversorgungsgrad'), ('self-sufficiency', 'de', 'Autarkie'),
    ('market share', 'en', 'market share'), ('market share', 'de', 'Marktanteil'),
    ('investment', 'en', 'investment'), ('investment', 'de', 'Investition'),
    ('subsidies', 'en', 'subsidies'), ('subsidies', 'de', 'Subventionen'), ('subsidies', 'de', 'Fördermittel'),
    ('open source', 'en', 'open source'), ('open source', 'en', 'open-source'), ('open source', 'de', 'Open Source'),
    ('open source', 'de', 'quelloffen'),
    ('open weights', 'en', 'open weights'), ('open weights', 'en', 'open-weight'), ('open weights', 'de', 'offene Gewichte'),
    ('language model', 'en', 'language model'), ('language model', 'de', 'Sprachmodell'),
    ('downloads', 'en', 'downloads'), ('downloads', 'en', 'downloaded'), ('downloads', 'de', 'Downloads'),
    ('downloads', 'de', 'heruntergeladen'),
    ('artificial intelligence', 'en', 'artificial intelligence'), ('artificial intelligence', 'en', 'AI'),
    ('artificial intelligence', 'de', 'künstliche Intelligenz'), ('artificial intelligence', 'de', 'KI'),
    ('supercomputer', 'en', 'supercomputer'), ('supercomputer', 'de', 'Supercomputer'), ('supercomputer', 'de', 'Rechenzentrum'),
    ('rare earths', 'en', 'rare earths'), ('rare earths', 'de', 'seltene Erden'),
    ('gallium', 'any', 'gallium'), ('germanium', 'any', 'germanium'),
    ('United States', 'en', 'United States'), ('United States', 'en', 'US'), ('United States', 'any', 'USA'),
    ('United States', 'en', 'Washington'), ('United States', 'de', 'Vereinigte Staaten'), ('United States', 'de', 'US-Regierung'),
    ('China', 'any', 'China'), ('China', 'en', 'Beijing'), ('China', 'de', 'Peking'),
    ('Germany', 'en', 'Germany'), ('Germany', 'de', 'Deutschland'), ('Germany', 'en', 'Berlin'), ('Germany', 'de', 'Bund'),
    ('European Union', 'en', 'European Union'), ('European Union', 'any', 'EU'), ('European Union', 'de', 'Europäische Union'),
    ('Netherlands', 'en', 'Netherlands'), ('Netherlands', 'de', 'Niederlande'),
    ('Japan', 'any', 'Japan'), ('Taiwan', 'any', 'Taiwan'), ('Taiwan', 'en', 'Taiwanese'), ('Taiwan', 'de', 'taiwanisch'),
    ('South Korea', 'en', 'South Korea'), ('South Korea', 'de', 'Südkorea'),
    ('Russia', 'en', 'Russia'), ('Russia', 'de', 'Russland'),
    ('commerce ministry', 'en', 'commerce ministry'), ('commerce ministry', 'de', 'Handelsministerium');


-- One query expanded across languages (see the header): per language the AND of its parts,
-- where a part is "any term of the concept" for a run of words that names a concept, or the
-- word itself. A word that is a stop word in either language is left out of the expansion
-- (English "for" would otherwise have to occur in German articles). `concepts` is NULL when
-- nothing was expanded.
CREATE TYPE analytics.search_expansion AS (de tsquery, en tsquery, concepts text[]);

-- The stems of a run of query words, to compare with a term's key; empty when a stem repeats
-- ("controls export controls" must not pass for the two-word term "export controls").
CREATE FUNCTION analytics.search_span_key(cfg regconfig, span text) RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, public, pg_temp
AS $fn$
    SELECT CASE WHEN (SELECT count(*) FROM unnest(v) AS u, unnest(u.positions) AS p) = length(v)
                THEN tsvector_to_array(v) ELSE '{}' END
    FROM to_tsvector(cfg, span) AS v;
$fn$;

CREATE FUNCTION analytics.expand_search_query(query text)
RETURNS analytics.search_expansion
LANGUAGE plpgsql STABLE SECURITY DEFINER  -- reads the raw entities table
SET search_path = pg_catalog, public, pg_temp
AS $fn$
DECLARE
    -- at most 1,000 characters, cut at a word boundary (half a word would have to match too)
    q            text := CASE WHEN length(query) > 1000 THEN regexp_replace(left(query, 1001), '\S*$', '')
                              ELSE coalesce(query, '') END;
    words        text[];
    n            integer;
    i            integer := 1;
    matched_len  integer;
    span         text;
    span_de      text[];
    span_en      text[];
    concept_name text;
    part_de      tsquery;
    part_en      tsquery;
    term_row     record;
    entity_terms text[];
    entity_names jsonb;  -- lower(name or alias) -> name, read once per call
    used         text[] := '{}';  -- concepts and words already in the expansion (ANDed once)
    result       analytics.search_expansion;
BEGIN
    -- web-search operators say exactly what the analyst wants: no expansion then
    IF q ~ '"' OR q ~* '(^|\s)or(\s|$)' OR q ~ '(^|\s)-[^\s-]' THEN
        RETURN result;
    END IF;
    words := ARRAY(SELECT w FROM regexp_split_to_table(q, '[^[:alnum:]_-]+') AS w WHERE w <> '' LIMIT 64);
    IF to_regclass('public.entities') IS NOT NULL THEN  -- sql/migrations/0014
        EXECUTE 'SELECT jsonb_object_agg(lower(x), e.name ORDER BY e.name DESC)  -- shared alias: first name
                 FROM entities e, unnest(e.name || e.aliases) AS x
                 WHERE e.active' INTO entity_names;
    END IF;
    n := coalesce(cardinality(words), 0);
    WHILE i <= n LOOP
        concept_name := NULL;
        matched_len := 1;
        FOR span_len IN REVERSE least(3, n - i + 1)..1 LOOP
            span := array_to_string(words[i:i + span_len - 1], ' ');
            span_de := analytics.search_span_key('pg_catalog.german', span);
            span_en := analytics.search_span_key('pg_catalog.english', span);
            SELECT t.concept INTO concept_name
            FROM analytics.search_terms t
            WHERE (cardinality(span_de) > 0 AND t.key_de = span_de)
               OR (cardinality(span_en) > 0 AND t.key_en = span_en)
            ORDER BY t.concept
            LIMIT 1;
            entity_terms := NULL;
            IF concept_name IS NULL AND entity_names ? lower(span) THEN
                -- names do not inflect: an entity matches by its name or an alias, ignoring case
                concept_name := entity_names ->> lower(span);
                EXECUTE 'SELECT e.name || e.aliases FROM entities e WHERE e.name = $1'
                    INTO entity_terms USING concept_name;
            END IF;
            IF concept_name IS NOT NULL THEN
                matched_len := span_len;
                EXIT;
            END IF;
        END LOOP;
        IF concept_name IS NOT NULL AND ('concept:' || concept_name) = ANY (used) THEN
            part_de := NULL;  -- ANDing the same concept twice changes nothing but the cost
            part_en := NULL;
        ELSIF concept_name IS NOT NULL THEN
            used := used || ('concept:' || concept_name);
            part_de := NULL;
            part_en := NULL;
            FOR term_row IN
                SELECT t.language, t.term FROM analytics.search_terms t
                WHERE entity_terms IS NULL AND t.concept = concept_name
                UNION ALL
                SELECT 'any', x FROM unnest(entity_terms) AS x
            LOOP
                IF term_row.language IN ('de', 'any') AND numnode(phraseto_tsquery('pg_catalog.german', term_row.term)) > 0 THEN
                    part_de := CASE WHEN part_de IS NULL THEN phraseto_tsquery('pg_catalog.german', term_row.term)
                                    ELSE part_de || phraseto_tsquery('pg_catalog.german', term_row.term) END;
                END IF;
                IF term_row.language IN ('en', 'any') AND numnode(phraseto_tsquery('pg_catalog.english', term_row.term)) > 0 THEN
                    part_en := CASE WHEN part_en IS NULL THEN phraseto_tsquery('pg_catalog.english', term_row.term)
                                    ELSE part_en || phraseto_tsquery('pg_catalog.english', term_row.term) END;
                END IF;
            END LOOP;
            result.concepts := array_append(coalesce(result.concepts, '{}'), concept_name);
        ELSIF numnode(plainto_tsquery('pg_catalog.german', words[i])) = 0
              OR numnode(plainto_tsquery('pg_catalog.english', words[i])) = 0
              OR ('word:' || lower(words[i])) = ANY (used) THEN
            part_de := NULL;  -- a stop word in one of the languages, or a repeated word
            part_en := NULL;
        ELSE
            used := used || ('word:' || lower(words[i]));
            part_de := plainto_tsquery('pg_catalog.german', words[i]);
            part_en := plainto_tsquery('pg_catalog.english', words[i]);
        END IF;
        IF part_de IS NOT NULL THEN
            result.de := CASE WHEN result.de IS NULL THEN part_de ELSE result.de && part_de END;
        END IF;
        IF part_en IS NOT NULL THEN
            result.en := CASE WHEN result.en IS NULL THEN part_en ELSE result.en && part_en END;
        END IF;
        i := i + matched_len;
    END LOOP;
    IF result.concepts IS NULL THEN
        RETURN (NULL, NULL, NULL)::analytics.search_expansion;
    END IF;
    RETURN result;
END
$fn$;

COMMENT ON FUNCTION analytics.expand_search_query(text) IS
    'The German and English tsquery analytics.search adds for a plain query, and the concepts it expanded through.';

CREATE FUNCTION analytics.search(query text, lang text DEFAULT NULL, max_results integer DEFAULT 20,
                                 semantic boolean DEFAULT false)
RETURNS TABLE (
    article_id   bigint,
    title        text,
    url          text,
    language     text,
    published_at timestamptz,
    rank         real,
    snippet      text,
    source       text,
    matched_by   text,
    match_note   text
)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp
-- plan each call with its own query and language: a cached generic plan cannot fold them into
-- index conditions and would scan every article
SET plan_cache_mode = force_custom_plan
-- an expanded query ORs several terms, and the planner then over-estimates its hits and reads
-- (and de-TOASTs) every article's vector instead of the GIN index: 263 ms instead of 54 ms on
-- 100,000 articles (bench/analytics.py data). The index is right for every search query.
SET enable_seqscan = off
AS $fn$
#variable_conflict use_column
DECLARE
    q          text := CASE WHEN length(query) > 1000 THEN regexp_replace(left(query, 1001), '\S*$', '')
                            ELSE coalesce(query, '') END;
    wanted     integer := least(greatest(coalesce(max_results, 0), 0), 1000);
    direct_de  tsquery;
    direct_en  tsquery;
    expanded   analytics.search_expansion;
BEGIN
    IF lang IS NOT NULL AND lang NOT IN ('de', 'en') THEN
        RAISE EXCEPTION 'analytics.search: lang must be ''de'', ''en'' or NULL, not %', quote_literal(lang)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- repeated words count once, and at most 32 distinct words are kept: the cost of ranking
    -- grows with the query's size times its hits, and no analyst's question needs more
    q := coalesce((SELECT string_agg(w.t, ' ' ORDER BY w.first)
                   FROM (SELECT x.t, min(x.n) AS first
                         FROM regexp_split_to_table(q, '\s+') WITH ORDINALITY AS x(t, n)
                         WHERE x.t <> '' GROUP BY x.t ORDER BY first LIMIT 32) w), '');
    direct_de := websearch_to_tsquery('pg_catalog.german', q);
    direct_en := websearch_to_tsquery('pg_catalog.english', q);
    expanded := analytics.expand_search_query(q);
    RETURN QUERY
    WITH q AS (
        SELECT direct_de AS direct_de, direct_en AS direct_en, expanded.de AS exp_de, expanded.en AS exp_en,
               CASE WHEN expanded.de IS NULL THEN direct_de ELSE direct_de || expanded.de END AS de,
               CASE WHEN expanded.en IS NULL THEN direct_en ELSE direct_en || expanded.en END AS en
    ),
    hits AS (
        SELECT a.article_id, a.title, a.url, a.language, a.published_at, a.source, a.body_text,
               CASE a.language WHEN 'de' THEN 'pg_catalog.german'::regconfig
                               ELSE 'pg_catalog.english'::regconfig END AS cfg,
               CASE a.language WHEN 'de' THEN q.de ELSE q.en END AS tsq,
               d.direct,
               -- a direct hit ranks by the query itself (as before the expansion existed), an
               -- expansion hit by the expanded query alone
               CASE WHEN d.direct
                    THEN ts_rank_cd(a.search_vector, CASE a.language WHEN 'de' THEN q.direct_de ELSE q.direct_en END, 32)
                    ELSE ts_rank_cd(a.search_vector, CASE a.language WHEN 'de' THEN q.exp_de ELSE q.exp_en END, 32)
               END AS rank
        FROM articles a, q,
             LATERAL (SELECT a.search_vector @@ CASE a.language WHEN 'de' THEN q.direct_de ELSE q.direct_en END
                      AS direct) d
        WHERE ((a.language = 'de' AND coalesce(lang, 'de') = 'de' AND a.search_vector @@ q.de)
            OR (a.language = 'en' AND coalesce(lang, 'en') = 'en' AND a.search_vector @@ q.en))
          AND a.duplicate_of IS NULL
        ORDER BY rank DESC, a.published_at DESC NULLS LAST, a.article_id
        LIMIT wanted
    ),
    seeds AS (
        SELECT h.article_id, h.rank FROM hits h
        WHERE semantic
        ORDER BY h.rank DESC, h.published_at DESC NULLS LAST, h.article_id
        LIMIT 5
    ),
    neighbours AS (
        SELECT DISTINCT ON (n.article_id) n.article_id, n.title, n.url, n.language, n.published_at, n.source,
               (s.rank * n.similarity)::real AS rank,
               format('similar to article %s (%s)', s.article_id, round(n.similarity::numeric, 2)) AS note
        FROM seeds s, analytics.nearest_articles(s.article_id, 10) n
        WHERE n.similarity >= 0.5
          AND n.language IN ('de', 'en') AND coalesce(lang, n.language) = n.language
          AND n.article_id NOT IN (SELECT h.article_id FROM hits h)
        ORDER BY n.article_id, s.rank * n.similarity DESC
    ),
    semantic_hits AS (
        SELECT * FROM neighbours nb ORDER BY nb.rank DESC, nb.article_id LIMIT wanted
    )
    SELECT h.article_id, h.title, h.url, h.language, h.published_at, h.rank,
           ts_headline(h.cfg, coalesce(nullif(h.body_text, ''), h.title, ''), h.tsq,
                       'MaxFragments=2, MinWords=5, MaxWords=15, FragmentDelimiter=" … ", StartSel=**, StopSel=**'),
           h.source,
           CASE WHEN h.direct THEN 'text' ELSE 'expansion' END,
           CASE WHEN h.direct THEN NULL ELSE 'via ' || array_to_string(expanded.concepts, ', ') END
    FROM hits h
    UNION ALL
    SELECT sh.article_id, sh.title, sh.url, sh.language, sh.published_at, sh.rank,
           left(coalesce(a.body_text, a.title, ''), 200), sh.source, 'semantic', sh.note
    FROM semantic_hits sh JOIN articles a ON a.article_id = sh.article_id
    ORDER BY 6 DESC, 5 DESC NULLS LAST, 1;
END
$fn$;

COMMENT ON FUNCTION analytics.search(text, text, integer, boolean) IS
    'Full-text search in German and English for one query: own-language stemming, expansion through analytics.search_terms, optional embedding neighbours; matched_by says how each hit matched.';
