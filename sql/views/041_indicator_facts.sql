-- analytics.indicator_facts: one figure, all its reports. Reports (observations) of the same
-- indicator, entity, unit, target year and compared chip whose values agree to two significant
-- digits ("1.6 million" = "1,6 Mio." = "1.600.000") are one fact as long as each comes within 14
-- days of the one before. Every API reading is its own fact (a point of a series). The digest
-- shows one line per fact with sources_label ("Technikblatt (de), Valley Wire (en)").
CREATE VIEW analytics.indicator_facts AS
WITH reports AS (
    SELECT o.observation_id, o.indicator, o.entity_id, coalesce(e.name, o.subject) AS entity, o.value, o.unit,
           o.value_usd, o.target_year, o.reference_entity, o.approximate, o.observed_at, o.article_id,
           o.article_url, o.source_url, o.quote, o.source_kind,
           CASE WHEN o.source_kind = 'api' THEN split_part(o.source_url, '/', 3)
                ELSE coalesce(a.source, a.site_name, split_part(o.article_url, '/', 3)) END AS outlet,
           a.language,
           CASE WHEN o.value = 0 THEN 0
                ELSE round(o.value, 1 - floor(log(abs(o.value)))::integer) END AS rounded,
           CASE WHEN o.source_kind = 'api' THEN o.observation_id END AS reading
    FROM indicator_observations o
    LEFT JOIN entities e USING (entity_id)
    LEFT JOIN articles a USING (article_id)
), starts AS (
    SELECT r.*,
           CASE WHEN lag(r.observed_at) OVER w IS NULL
                  OR r.observed_at - lag(r.observed_at) OVER w > interval '14 days' THEN 1 ELSE 0 END AS new_fact
    FROM reports r
    WINDOW w AS (PARTITION BY r.indicator, r.entity, r.unit, r.target_year, r.reference_entity, r.rounded, r.reading
                 ORDER BY r.observed_at, r.observation_id)
), numbered AS (
    SELECT s.*,
           sum(s.new_fact) OVER (PARTITION BY s.indicator, s.entity, s.unit, s.target_year, s.reference_entity,
                                              s.rounded, s.reading
                                 ORDER BY s.observed_at, s.observation_id) AS fact_seq
    FROM starts s
)
SELECT md5(concat_ws('|', n.indicator, n.entity, n.unit, n.target_year, n.reference_entity, n.rounded, n.reading,
                     min(n.observed_at))) AS fact_id,
       n.indicator,
       d.kind,
       min(n.entity_id) AS entity_id,
       n.entity,
       (array_agg(n.value ORDER BY n.approximate, n.observed_at, n.observation_id))[1] AS value,
       n.unit,
       (array_agg(n.value_usd ORDER BY n.approximate, n.observed_at, n.observation_id))[1] AS value_usd,
       n.target_year,
       n.reference_entity,
       bool_and(n.approximate) AS approximate,
       min(n.observed_at) AS first_reported_at,
       max(n.observed_at) AS last_reported_at,
       count(*)::integer AS report_count,
       coalesce(array_agg(DISTINCT n.language) FILTER (WHERE n.language IS NOT NULL), '{}') AS languages,
       coalesce(array_agg(DISTINCT n.outlet) FILTER (WHERE n.outlet IS NOT NULL), '{}') AS outlets,
       string_agg(DISTINCT coalesce(n.outlet, '?') || coalesce(' (' || n.language || ')', ''), ', ') AS sources_label,
       jsonb_agg(jsonb_build_object('observation_id', n.observation_id, 'article_id', n.article_id,
                                    'article_url', coalesce(n.article_url, n.source_url), 'outlet', n.outlet,
                                    'language', n.language, 'quote', n.quote, 'value', n.value,
                                    'observed_at', n.observed_at)
                 ORDER BY n.observed_at, n.observation_id) AS sources,
       (array_agg(n.quote ORDER BY n.observed_at, n.observation_id))[1] AS quote,
       min(n.source_kind) AS source_kind,
       (array_agg(n.article_url ORDER BY n.observed_at, n.observation_id))[1] AS article_url,
       (array_agg(n.source_url ORDER BY n.observed_at, n.observation_id))[1] AS source_url,
       array_agg(n.observation_id ORDER BY n.observed_at, n.observation_id) AS observation_ids
FROM numbered n
JOIN indicator_definitions d USING (indicator)
GROUP BY n.indicator, d.kind, n.entity, n.unit, n.target_year, n.reference_entity, n.rounded, n.reading, n.fact_seq;

COMMENT ON VIEW analytics.indicator_facts IS 'One row per fact: reports of the same indicator, entity, unit, target year and reference chip whose values agree to two significant digits, each within 14 days of the previous one. sources: every report (article, outlet, language, quote); sources_label: "Outlet (de), Outlet (en)". API readings are one fact each.';
