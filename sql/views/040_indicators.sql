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
       o.source_url
FROM indicator_observations o
JOIN indicator_definitions d USING (indicator);
