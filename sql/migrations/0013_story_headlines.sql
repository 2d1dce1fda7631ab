-- Readable stories (issue 12): a headline (the title of the member closest to the story's
-- centroid), one per language for German/English stories, the outlets that reported it and the
-- canonical URL of its earliest member. The stories stage fills them for every story it touches;
-- `newsmon stories --rescore` recomputes them for every live story. Existing stories get their
-- earliest member's title until then.
ALTER TABLE stories ADD COLUMN headline text;
ALTER TABLE stories ADD COLUMN headline_de text;
ALTER TABLE stories ADD COLUMN headline_en text;
ALTER TABLE stories ADD COLUMN outlets text[] NOT NULL DEFAULT '{}';
ALTER TABLE stories ADD COLUMN first_url text;

UPDATE stories s SET headline = f.title, first_url = f.url, outlets = f.outlets
FROM (
    SELECT DISTINCT ON (m.story_id) m.story_id, a.title, coalesce(a.canonical_url, a.url) AS url,
           array(SELECT DISTINCT a2.source FROM story_members m2 JOIN articles a2 USING (article_id)
                 WHERE m2.story_id = m.story_id AND a2.source IS NOT NULL ORDER BY 1) AS outlets
    FROM story_members m JOIN articles a USING (article_id)
    ORDER BY m.story_id, m.placed_at, m.article_id
) f
WHERE s.story_id = f.story_id;
