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
       o.observation_id,
       o.entity_id,
       e.name AS entity,
       o.reference_entity,
       o.value_usd,
       e.entity_type
FROM indicator_observations o
JOIN indicator_definitions d USING (indicator)
LEFT JOIN entities e USING (entity_id);

COMMENT ON VIEW analytics.indicator_observations IS 'Every figure: from articles (source_kind article: quote, article_url, observed_at = the article''s publication time) and from APIs (source_kind api: source_url, observed_at = the run''s time). Percent is stored as 70, not 0.7; target_year is set for targets ("70 % by 2028"). entity/entity_id: the canonical entity (analytics.entities); reference_entity: the chip a performance ratio compares against; value_usd: amounts at the ECB reference rate of the observation date (NULL without a rate).';

-- indicators_latest and indicator_progress compare facts: 042_indicators_latest.sql.
