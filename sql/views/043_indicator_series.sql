-- analytics.indicator_series: one value per entity, indicator, source and UTC day, for charts.
-- API readings (one per run) give the day's last reading per repository (subject); figures from
-- the news give the day's last reported value (targets excluded).
CREATE VIEW analytics.indicator_series AS
SELECT DISTINCT ON (coalesce(e.name, o.subject), o.indicator, o.subject, o.unit, (o.observed_at AT TIME ZONE 'UTC')::date)
       coalesce(e.name, o.subject) AS entity,
       o.indicator,
       (o.observed_at AT TIME ZONE 'UTC')::date AS day,
       o.value,
       o.source_kind,
       o.subject,
       o.unit,
       o.entity_id,
       d.kind,
       o.observed_at
FROM indicator_observations o
JOIN indicator_definitions d USING (indicator)
LEFT JOIN entities e USING (entity_id)
WHERE o.target_year IS NULL
ORDER BY coalesce(e.name, o.subject), o.indicator, o.subject, o.unit, (o.observed_at AT TIME ZONE 'UTC')::date,
         o.observed_at DESC, o.observation_id DESC;

COMMENT ON VIEW analytics.indicator_series IS 'Daily series per entity and indicator: API readings per repository (subject = repo id, entity = its model family) and reported values from the news (subject = entity). day is the UTC date.';
