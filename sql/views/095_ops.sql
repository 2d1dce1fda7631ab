-- Views for operators (the plugin's ops pages read them as newsmon_analyst; analysts may too):
-- stage runs, backlogs, mail delivery per recipient and failed API fetches. Each reads the raw
-- tables with the view owner's rights, so the plugin's role needs no grant on a raw table.

-- analytics.stage_status: per stage, its newest run and its newest failure.
CREATE VIEW analytics.stage_status AS
SELECT s.stage,
       l.status       AS last_status,
       l.started_at   AS last_started_at,
       l.finished_at  AS last_finished_at,
       l.counts       AS last_counts,
       f.started_at   AS last_failure_at,
       f.error        AS last_failure_error,
       (SELECT count(*) FROM stage_runs r WHERE r.stage = s.stage)::integer AS runs,
       (SELECT count(*) FROM stage_runs r WHERE r.stage = s.stage AND r.status = 'failed')::integer AS failures
FROM (SELECT DISTINCT stage FROM stage_runs) s
LEFT JOIN LATERAL (
    SELECT r.status, r.started_at, r.finished_at, r.counts FROM stage_runs r
    WHERE r.stage = s.stage ORDER BY r.started_at DESC, r.run_id DESC LIMIT 1
) l ON true
LEFT JOIN LATERAL (
    SELECT r.started_at, r.error FROM stage_runs r
    WHERE r.stage = s.stage AND r.status = 'failed' ORDER BY r.started_at DESC, r.run_id DESC LIMIT 1
) f ON true;

COMMENT ON VIEW analytics.stage_status IS 'Per stage: the newest run (status, times, counts) and the newest failure with its error.';

-- analytics.backlogs: one row, the work each stage has not done yet, counted with the same
-- conditions the stages select by (pipeline/store/embeddings.py, themes.py, stories.py).
CREATE VIEW analytics.backlogs AS
WITH active AS (SELECT model, text_chars FROM embedding_models WHERE active)
SELECT
    (SELECT count(*) FROM articles a WHERE a.extract_status = 'pending')::integer AS pending_extraction,
    (SELECT min(a.created_at) FROM articles a WHERE a.extract_status = 'pending') AS oldest_pending_extraction,
    (SELECT count(*) FROM articles a
     WHERE a.extract_status = 'ok'
       AND (coalesce(btrim(a.title), '') <> '' OR coalesce(btrim(a.body_text), '') <> '')
       AND NOT EXISTS (SELECT 1 FROM embeddings e, active m WHERE e.article_id = a.article_id AND e.model = m.model)
       -- a syndicated copy reuses its original's vector
       AND NOT EXISTS (SELECT 1 FROM articles o WHERE o.article_id = a.duplicate_of AND o.extract_status = 'ok'
                       AND (coalesce(btrim(o.title), '') <> '' OR coalesce(btrim(o.body_text), '') <> ''))
    )::integer AS pending_embedding,
    (SELECT count(*) FROM embeddings e JOIN active m ON m.model = e.model
     LEFT JOIN article_themes t ON t.article_id = e.article_id
     WHERE t.article_id IS NULL OR t.model IS DISTINCT FROM e.model)::integer AS unthemed,
    (SELECT count(*) FROM embeddings e JOIN active m ON m.model = e.model
     WHERE NOT EXISTS (SELECT 1 FROM story_members s WHERE s.article_id = e.article_id))::integer AS unplaced,
    (SELECT m.model FROM active m) AS embedding_model,
    -- articles whose vector was computed from another text length (an older newsmon's): the embed
    -- stage recomputes them after the new ones (syndicated copies follow their original)
    (SELECT count(*) FROM articles a JOIN embeddings e ON e.article_id = a.article_id
     JOIN active m ON m.model = e.model AND e.text_chars IS DISTINCT FROM m.text_chars
     WHERE a.extract_status = 'ok'
       AND (coalesce(btrim(a.title), '') <> '' OR coalesce(btrim(a.body_text), '') <> '')
       AND NOT EXISTS (SELECT 1 FROM articles o WHERE o.article_id = a.duplicate_of AND o.extract_status = 'ok'
                       AND (coalesce(btrim(o.title), '') <> '' OR coalesce(btrim(o.body_text), '') <> ''))
    )::integer AS stale_embedding;

COMMENT ON VIEW analytics.backlogs IS 'One row: articles waiting for extraction, embedding (active model), a theme, a story; vectors to recompute.';

-- analytics.mail_deliveries: every digest mail and (when the alerts table exists) every alert
-- mail, per recipient, newest first.
DO $mail$
BEGIN
    IF to_regclass('public.alert_sends') IS NOT NULL THEN
        EXECUTE $v$
        CREATE VIEW analytics.mail_deliveries AS
        SELECT 'digest'::text AS kind, d.day::text AS item, d.recipient, d.status, d.attempts, d.last_error,
               d.sent_at, d.updated_at, d.message_id
        FROM digest_sends d
        UNION ALL
        SELECT 'alert:' || a.kind, a.alert_key, a.recipient, a.status, a.attempts, a.last_error,
               a.sent_at, a.updated_at, a.message_id
        FROM alert_sends a
        $v$;
    ELSE
        EXECUTE $v$
        CREATE VIEW analytics.mail_deliveries AS
        SELECT 'digest'::text AS kind, d.day::text AS item, d.recipient, d.status, d.attempts, d.last_error,
               d.sent_at, d.updated_at, d.message_id
        FROM digest_sends d
        $v$;
    END IF;
END
$mail$;

COMMENT ON VIEW analytics.mail_deliveries IS 'Digest and alert mails per recipient: status, attempts, last error.';

-- analytics.api_fetches: the indicator API reads (Hugging Face, GitHub), failed ones with their error.
CREATE VIEW analytics.api_fetches AS
SELECT f.provider, f.repo, f.observed_at, f.status, f.http_status, f.attempts, f.error, f.source_url, f.fetched_at
FROM indicator_api_fetches f;

COMMENT ON VIEW analytics.api_fetches IS 'Every indicator API read per repository and run; status failed with http_status and error.';
