-- analytics.fetch_problems: everything refused or failing, one row per feed, page or extraction,
-- with its reason: what ops read to see which outlets need a different source.
--   stage    feed | page | extract
--   kind     feeds:  connect, timeout, network, http_NNN, not_a_feed, parse_error, ... (gone: http_410)
--            pages:  url_too_long, bad_scheme, bad_url, robots, too_large, wrong_type, blocked_address,
--                    redirects, timeout, connect, network, http_NNN, empty_body
--            extract: consent, paywall, javascript (a wall, extract_status 'blocked'), extract_failed
--   status   for pages: pending (in backoff), failed (given up or permanent), skipped (refused)
-- Feeds switched off in the feed list (or removed from it) are not problems.
CREATE VIEW analytics.fetch_problems AS
SELECT f.name AS feed,
       analytics.mask_url(f.url) AS url,
       'feed'::text AS stage,
       coalesce(f.problem_kind, CASE WHEN NOT f.enabled THEN 'disabled' ELSE 'fetch_error' END) AS kind,
       analytics.mask_url(coalesce(f.last_error, f.disabled_reason)) AS reason,
       coalesce(f.failing_since, f.last_checked_at) AS first_seen,
       f.last_checked_at AS last_seen,
       f.consecutive_failures AS attempts,
       CASE WHEN f.enabled THEN 'failing' ELSE 'disabled' END AS status,
       f.next_check_at AS next_attempt_at
FROM feeds f
WHERE f.consecutive_failures > 0
   OR (NOT f.enabled AND f.disabled_reason NOT IN ('disabled in the feed list', 'removed from the feed list'))
UNION ALL
SELECT f.name,
       analytics.mask_url(e.link),
       'page',
       coalesce(e.problem_kind, 'fetch_error'),
       analytics.mask_url(e.fetch_error),
       e.first_seen_at,
       coalesce(e.last_attempt_at, e.updated_at),
       e.attempts,
       e.fetch_status,
       e.next_attempt_at
FROM feed_entries e
JOIN feeds f USING (feed_id)
WHERE e.fetch_status IN ('failed', 'skipped') OR (e.fetch_status = 'pending' AND e.fetch_error IS NOT NULL)
UNION ALL
SELECT src.name,
       analytics.mask_url(a.url),
       'extract',
       coalesce(a.block_reason, 'extract_failed'),
       analytics.mask_url(a.extract_error),
       a.fetched_at,
       a.updated_at,
       a.extract_attempts,
       a.extract_status,
       NULL::timestamptz
FROM articles a
LEFT JOIN LATERAL (
    SELECT f.name FROM feed_entries fe JOIN feeds f USING (feed_id)
    WHERE fe.article_id = a.article_id ORDER BY fe.first_seen_at, f.name LIMIT 1
) src ON true
WHERE a.extract_status IN ('blocked', 'failed');

COMMENT ON VIEW analytics.fetch_problems IS
    'Everything refused or failing, with its reason: feeds failing or disabled by the server (stage feed), pages refused, failing or given up (stage page), walls and failed extractions (stage extract). URLs and reasons are masked of secrets.';
