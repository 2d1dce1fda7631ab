-- analytics.stories: live (not merged-away) stories.
CREATE VIEW analytics.stories AS
SELECT s.story_id,
       s.label,
       s.theme,
       s.first_seen,
       s.last_seen,
       s.article_count,
       s.languages
FROM stories s
WHERE s.merged_into IS NULL;
