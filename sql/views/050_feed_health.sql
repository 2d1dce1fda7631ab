-- analytics.mask_url: a URL (or a line quoting URLs) with its secrets replaced by ***: the
-- password of the user info and the values of password, sslpassword, token, key, secret,
-- api_key and access_token query parameters, any case (pipeline.infra.config.mask_url in SQL).
-- Every view that shows a feed or page URL shows it through here.
CREATE FUNCTION analytics.mask_url(url text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN regexp_replace(
        regexp_replace(url, '([a-zA-Z][a-zA-Z0-9+.-]*://[^/?#:@\s]*):[^/?#@\s]*@', '\1:***@', 'g'),
        '([?&;](password|sslpassword|token|key|secret|api_key|access_token)=)[^&#;\s]*', '\1***', 'gi');

COMMENT ON FUNCTION analytics.mask_url(text) IS
    'The URL (or text quoting URLs) with user-info passwords and secret query parameters (password, sslpassword, token, key, secret, api_key, access_token) replaced by ***.';

-- analytics.feed_health: one row per feed with its last fetch outcome and how its pages fared.
CREATE VIEW analytics.feed_health AS
SELECT f.name AS feed,
       analytics.mask_url(f.url) AS url,
       f.last_status,
       f.last_success_at,
       f.consecutive_failures,
       analytics.mask_url(f.last_error) AS last_error,
       f.enabled,
       f.language,
       f.last_checked_at,
       f.next_check_at,
       f.parse_warning,
       f.disabled_reason,
       COALESCE(e.entries, 0) AS entries,
       COALESCE(e.entries_pending, 0) AS entries_pending,
       COALESCE(e.entries_failed, 0) AS entries_failed,
       COALESCE(e.entries_skipped, 0) AS entries_skipped,
       analytics.mask_url(e.last_entry_error) AS last_entry_error,
       f.problem_kind,
       f.failing_since,
       COALESCE(e.pages_in_backoff, 0) AS pages_in_backoff,
       COALESCE(e.pages_given_up, 0) AS pages_given_up,
       COALESCE(e.entries_refused, 0) AS entries_refused,
       COALESCE(e.pages_blocked, 0) AS pages_blocked,
       COALESCE(e.problems, '{}'::jsonb) AS problems
FROM feeds f
LEFT JOIN LATERAL (
    SELECT count(*) AS entries,
           count(*) FILTER (WHERE fe.fetch_status = 'pending') AS entries_pending,
           count(*) FILTER (WHERE fe.fetch_status = 'failed') AS entries_failed,
           count(*) FILTER (WHERE fe.fetch_status = 'skipped') AS entries_skipped,
           (array_agg(fe.fetch_error ORDER BY fe.updated_at DESC)
                FILTER (WHERE fe.fetch_error IS NOT NULL AND fe.fetch_status <> 'fetched'))[1] AS last_entry_error,
           count(*) FILTER (WHERE fe.fetch_status = 'pending' AND fe.next_attempt_at IS NOT NULL) AS pages_in_backoff,
           count(*) FILTER (WHERE fe.gave_up_at IS NOT NULL AND fe.fetch_status = 'failed') AS pages_given_up,
           -- refused: never fetched on purpose (too long, bad scheme, robots, oversized, wrong type, blocked address)
           count(*) FILTER (WHERE fe.fetch_status = 'skipped') AS entries_refused,
           count(*) FILTER (WHERE a.extract_status = 'blocked') AS pages_blocked,
           (SELECT jsonb_object_agg(k.kind, k.n) FROM (
                SELECT coalesce(x.problem_kind, 'unknown') AS kind, count(*) AS n FROM feed_entries x
                WHERE x.feed_id = f.feed_id AND x.fetch_status <> 'fetched' AND x.fetch_error IS NOT NULL
                GROUP BY 1) k) AS problems
    FROM feed_entries fe
    LEFT JOIN articles a ON a.article_id = fe.article_id
    WHERE fe.feed_id = f.feed_id
) e ON true;

COMMENT ON VIEW analytics.feed_health IS 'One row per feed: last fetch status, failures and backoff (feeds), and how its entries fared (entries_*: pages pending, failed, skipped with the last reason; pages_in_backoff, pages_given_up, entries_refused, pages_blocked (walls), problems: count per problem kind). URLs and errors are masked of secrets.';
