-- Themes (issue 12): several themes per article with one primary, a reason when an article gets
-- no theme at all, and the fitted parameters per embedding model.
--
-- article_themes.theme stays the primary theme (analytics.articles.theme is a contract column);
-- `themes` holds every theme over its threshold, the primary first ('{}' for `other`).
-- `reason` says why an article is `other` without being scored as such: 'language' (neither
-- German nor English), 'empty' (no title and no text); NULL when it was scored.
ALTER TABLE article_themes
    ADD COLUMN themes text[] NOT NULL DEFAULT '{}',
    ADD COLUMN reason text;

UPDATE article_themes SET themes = ARRAY[theme] WHERE theme <> 'other';

CREATE INDEX article_themes_themes_idx ON article_themes USING gin (themes);

-- The theme weights, thresholds and story thresholds fitted for one embedding model on the
-- labelled development set (`newsmon calibrate`); params = {"themes": {...}, "stories": {...}},
-- dev_figures = what the fit measured on that set (in-sample for the dev set, by design).
CREATE TABLE model_calibration (
    model       text PRIMARY KEY,
    fitted_at   timestamptz NOT NULL DEFAULT now(),
    params      jsonb NOT NULL,
    dev_figures jsonb NOT NULL DEFAULT '{}'
);
