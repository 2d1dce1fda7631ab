-- analytics.entities: the canonical entities (entities.yaml) with their aliases.
CREATE VIEW analytics.entities AS
SELECT entity_id, name, entity_type, types, aliases, patterns, counts_as, active, updated_at
FROM entities;

COMMENT ON VIEW analytics.entities IS 'Canonical companies, chips, models and families, countries, blocs, regions, funds and agencies with their German and English aliases (from pipeline/data/entities.yaml). counts_as: the state a fund or agency spends for (its figures are recorded there). active = false: no longer in the YAML.';

-- analytics.indicator_candidates: figures whose subject is no known entity, with the guessed
-- subject phrase; adding the alias to entities.yaml turns them into observations on the next run.
CREATE VIEW analytics.indicator_candidates AS
SELECT c.candidate_id, c.indicator, d.kind, c.subject_phrase, c.value, c.unit, c.target_year, c.approximate,
       c.quote AS sentence, c.observed_at, c.article_url, c.article_id, a.language
FROM indicator_candidates c
JOIN indicator_definitions d USING (indicator)
LEFT JOIN articles a USING (article_id);

COMMENT ON VIEW analytics.indicator_candidates IS 'Figures the rules found whose subject is not a known entity: sentence, value, unit and the guessed subject phrase. Add the alias to entities.yaml and run the indicators stage: they become observations.';

-- analytics.article_entities: which entities each article (and so each story) names.
CREATE VIEW analytics.article_entities AS
SELECT ae.article_id, ae.entity_id, e.name AS entity, e.entity_type, ae.mentions, m.story_id, a.title,
       a.language, a.published_at, a.canonical_url AS url
FROM article_entities ae
JOIN entities e USING (entity_id)
JOIN articles a USING (article_id)
LEFT JOIN story_members m USING (article_id);

COMMENT ON VIEW analytics.article_entities IS 'Entities named in each article, with the number of mentions and the article''s story ("everything on the Ascend 910C": WHERE entity = ''Ascend 910C'').';
