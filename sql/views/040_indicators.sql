-- analytics.indicator_observations: every figure, from articles and from APIs.
CREATE VIEW analytics.indicator_observations AS
SELECT o.indicator,
       o.subject,
       o.value,
       o.unit,
       o.target_year,
       o.observed_at,
       o.article_url,
       o.quote,
       o.source_kind,
       d.kind,
       o.approximate,
       o.article_id,
       o.source_url,
       o.observation_id
FROM indicator_observations o
JOIN indicator_definitions d USING (indicator);

COMMENT ON VIEW analytics.indicator_observations IS 'Every figure: from articles (source_kind article: quote, article_url, observed_at = the article''s publication time) and from APIs (source_kind api: source_url, observed_at = the run''s time). Percent is stored as 70, not 0.7; target_year is set for targets ("70 % by 2028").';

-- analytics.indicators_latest: the latest observation per indicator and subject, and the change
-- against the previous comparable one (same unit, same target year: a target is compared with
-- the previous statement of that target, a reading with the previous reading).
CREATE VIEW analytics.indicators_latest AS
WITH ranked AS (
    SELECT o.*,
           row_number() OVER w AS rn,
           count(*) OVER (PARTITION BY o.indicator, o.subject) AS observation_count
    FROM indicator_observations o
    WINDOW w AS (PARTITION BY o.indicator, o.subject ORDER BY o.observed_at DESC, o.observation_id DESC)
)
SELECT l.indicator,
       l.subject,
       d.kind,
       l.value,
       l.unit,
       l.target_year,
       l.observed_at,
       l.source_kind,
       coalesce(l.article_url, l.source_url) AS source,
       l.quote,
       p.value AS previous_value,
       p.observed_at AS previous_observed_at,
       l.value - p.value AS change,
       CASE WHEN p.value <> 0 THEN round(100 * (l.value - p.value) / abs(p.value), 2) END AS change_pct,
       l.observation_count::integer AS observation_count,
       l.approximate,
       l.article_url,
       l.source_url
FROM ranked l
JOIN indicator_definitions d USING (indicator)
LEFT JOIN LATERAL (
    SELECT o.value, o.observed_at
    FROM indicator_observations o
    WHERE o.indicator = l.indicator AND o.subject = l.subject AND o.unit = l.unit
      AND o.target_year IS NOT DISTINCT FROM l.target_year
      AND (o.observed_at, o.observation_id) < (l.observed_at, l.observation_id)
    ORDER BY o.observed_at DESC, o.observation_id DESC
    LIMIT 1
) p ON true
WHERE l.rn = 1;

COMMENT ON VIEW analytics.indicators_latest IS 'Latest value per indicator and subject; previous_value/change/change_pct compare it with the previous observation of the same unit and target year (NULL when there is none).';

-- analytics.indicator_progress: the latest reported value (an observation without a target
-- year, in the indicator's unit) against the declared target. Targets come from
-- indicators.yaml (per subject, else indicator-wide for every observed subject), else from the
-- latest news claim that carries a target year. years_left counts from the year of the latest
-- reported value (reproducible: the view does not depend on when it is read);
-- years_left_from_today counts from current_date. Years are taken in UTC.
CREATE VIEW analytics.indicator_progress AS
WITH current_value AS (
    SELECT DISTINCT ON (o.indicator, o.subject)
           o.indicator, o.subject, o.value, o.observed_at, coalesce(o.article_url, o.source_url) AS source
    FROM indicator_observations o
    JOIN indicator_definitions d USING (indicator)
    WHERE o.target_year IS NULL AND o.unit = d.unit
    ORDER BY o.indicator, o.subject, o.observed_at DESC, o.observation_id DESC
), yaml_target AS (
    SELECT t.indicator, t.subject, t.target_value, t.target_year, t.note
    FROM indicator_targets t
    UNION ALL
    SELECT d.indicator, s.subject, d.target_value, d.target_year, NULL
    FROM indicator_definitions d
    JOIN (SELECT DISTINCT indicator, subject FROM indicator_observations) s USING (indicator)
    WHERE d.target_value IS NOT NULL AND d.target_year IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM indicator_targets t WHERE t.indicator = d.indicator AND t.subject = s.subject)
), news_target AS (
    SELECT DISTINCT ON (o.indicator, o.subject)
           o.indicator, o.subject, o.value AS target_value, o.target_year, o.quote AS note
    FROM indicator_observations o
    JOIN indicator_definitions d USING (indicator)
    WHERE o.target_year IS NOT NULL AND o.unit = d.unit
      AND NOT EXISTS (SELECT 1 FROM yaml_target y WHERE y.indicator = o.indicator AND y.subject = o.subject)
    ORDER BY o.indicator, o.subject, o.observed_at DESC, o.observation_id DESC
), target AS (
    SELECT y.*, 'definition'::text AS target_source FROM yaml_target y
    UNION ALL
    SELECT n.*, 'article'::text FROM news_target n
)
SELECT g.indicator,
       g.subject,
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
       g.note AS target_note
FROM target g
JOIN indicator_definitions d USING (indicator)
LEFT JOIN current_value c USING (indicator, subject);

COMMENT ON VIEW analytics.indicator_progress IS 'Latest reported value vs declared target per indicator and subject. target_source: definition (indicators.yaml) or article (latest news claim with a target year). years_left: target_year minus the year of current_observed_at; years_left_from_today: minus the current year.';
