-- analytics.indicators_latest: the latest fact per indicator and entity, and the change against
-- the previous comparable fact (same unit, same target year: a target is compared with the
-- previous statement of that target, a reading with the previous reading). Facts, not reports:
-- the German and English report of one figure are one fact, so neither is the other's "previous".
CREATE VIEW analytics.indicators_latest AS
WITH ranked AS (
    SELECT f.*,
           row_number() OVER (PARTITION BY f.indicator, f.entity
                              ORDER BY f.first_reported_at DESC, f.fact_id DESC) AS rn,
           count(*) OVER (PARTITION BY f.indicator, f.entity) AS fact_count,
           sum(f.report_count) OVER (PARTITION BY f.indicator, f.entity) AS reports
    FROM analytics.indicator_facts f
)
SELECT l.indicator,
       l.entity AS subject,
       l.kind,
       l.value,
       l.unit,
       l.target_year,
       l.first_reported_at AS observed_at,
       l.source_kind,
       coalesce(l.article_url, l.source_url) AS source,
       l.quote,
       p.value AS previous_value,
       p.first_reported_at AS previous_observed_at,
       l.value - p.value AS change,
       CASE WHEN p.value <> 0 THEN round(100 * (l.value - p.value) / abs(p.value), 2) END AS change_pct,
       l.reports::integer AS observation_count,
       l.approximate,
       l.article_url,
       l.source_url,
       l.entity_id,
       l.entity,
       l.fact_id,
       l.fact_count::integer AS fact_count,
       l.report_count,
       l.sources_label,
       l.value_usd,
       p.fact_id AS previous_fact_id
FROM ranked l
LEFT JOIN LATERAL (
    SELECT f.value, f.first_reported_at, f.fact_id
    FROM analytics.indicator_facts f
    WHERE f.indicator = l.indicator AND f.entity = l.entity AND f.unit = l.unit
      AND f.target_year IS NOT DISTINCT FROM l.target_year AND f.fact_id <> l.fact_id
      AND (f.first_reported_at, f.fact_id) < (l.first_reported_at, l.fact_id)
    ORDER BY f.first_reported_at DESC, f.fact_id DESC
    LIMIT 1
) p ON true
WHERE l.rn = 1;

COMMENT ON VIEW analytics.indicators_latest IS 'Latest fact per indicator and entity (subject = entity name); previous_value/change/change_pct compare it with the previous fact of the same unit and target year (NULL when there is none). observation_count: reports of all facts; fact_count: facts.';

-- analytics.indicator_progress: the newest reported value (a fact without a target year in the
-- indicator's unit, from the news or an API) against the newest target statement: a target
-- declared in indicators.yaml (dated by its `stated`; undated ones count as oldest) or a target
-- reported in the news (dated by its first report). target_source says which. years_left counts
-- from the year of the current value (reproducible); years_left_from_today from current_date.
CREATE VIEW analytics.indicator_progress AS
WITH facts AS (
    SELECT f.*, d.unit AS definition_unit
    FROM analytics.indicator_facts f JOIN indicator_definitions d USING (indicator)
), current_value AS (
    SELECT DISTINCT ON (f.indicator, f.entity)
           f.indicator, f.entity, f.value, f.last_reported_at AS observed_at,
           coalesce(f.article_url, f.source_url) AS source, f.source_kind
    FROM facts f
    WHERE f.target_year IS NULL AND f.unit = f.definition_unit
    ORDER BY f.indicator, f.entity, f.last_reported_at DESC, f.fact_id DESC
), statements AS (
    SELECT t.indicator, t.subject AS entity, t.target_value, t.target_year, t.note,
           t.stated_on::timestamptz AS stated_at, 'definition'::text AS target_source
    FROM indicator_targets t
    UNION ALL
    SELECT d.indicator, s.entity, d.target_value, d.target_year, NULL, NULL, 'definition'
    FROM indicator_definitions d
    JOIN (SELECT DISTINCT indicator, entity FROM facts) s USING (indicator)
    WHERE d.target_value IS NOT NULL AND d.target_year IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM indicator_targets t WHERE t.indicator = d.indicator AND t.subject = s.entity)
    UNION ALL
    SELECT f.indicator, f.entity, f.value, f.target_year, f.quote, f.first_reported_at, 'article'
    FROM facts f
    WHERE f.target_year IS NOT NULL AND f.unit = f.definition_unit AND f.source_kind = 'article'
), target AS (
    SELECT DISTINCT ON (s.indicator, s.entity) s.*
    FROM statements s
    ORDER BY s.indicator, s.entity, s.stated_at DESC NULLS LAST, s.target_year DESC
)
SELECT g.indicator,
       g.entity AS subject,
       d.kind,
       d.unit,
       c.value AS current_value,
       c.observed_at AS current_observed_at,
       g.target_value,
       g.target_year,
       g.target_source,
       g.target_value - c.value AS gap,
       round(100 * c.value / nullif(g.target_value, 0), 1) AS pct_of_target,
       g.target_year - extract(year FROM c.observed_at AT TIME ZONE 'UTC')::integer AS years_left,
       g.target_year - extract(year FROM current_date)::integer AS years_left_from_today,
       c.source AS current_source,
       g.note AS target_note,
       g.stated_at AS target_stated_at,
       c.source_kind AS current_source_kind
FROM target g
JOIN indicator_definitions d USING (indicator)
LEFT JOIN current_value c USING (indicator, entity);

COMMENT ON VIEW analytics.indicator_progress IS 'Newest reported value vs newest target statement per indicator and entity. target_source: definition (indicators.yaml, dated by stated_on; undated counts as oldest) or article (a target reported in the news, dated by its first report). current_source_kind: article or api. years_left: target_year minus the year of current_observed_at; years_left_from_today: minus the current year.';
