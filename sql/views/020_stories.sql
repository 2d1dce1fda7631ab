-- analytics.stories: live (not merged-away) stories.
-- label is the story's term list (nouns and names, one language); headline is the title of its
-- most central member, headline_de / headline_en the most central German / English title;
-- outlets the sources of its members; first_url the canonical URL of its earliest member.
CREATE VIEW analytics.stories AS
SELECT s.story_id,
       s.label,
       s.theme,
       s.first_seen,
       s.last_seen,
       s.article_count,
       s.languages,
       s.headline,
       s.headline_de,
       s.headline_en,
       s.outlets,
       s.first_url
FROM stories s
WHERE s.merged_into IS NULL;
