-- analytics.feed_health: one row per feed with its last fetch outcome.
CREATE VIEW analytics.feed_health AS
SELECT f.name AS feed,
       f.url,
       f.last_status,
       f.last_success_at,
       f.consecutive_failures,
       f.last_error,
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
       e.last_entry_error
FROM feeds f
LEFT JOIN LATERAL (
    SELECT count(*) AS entries,
           count(*) FILTER (WHERE fe.fetch_status = 'pending') AS entries_pending,
           count(*) FILTER (WHERE fe.fetch_status = 'failed') AS entries_failed,
           count(*) FILTER (WHERE fe.fetch_status = 'skipped') AS entries_skipped,
           (array_agg(fe.fetch_error ORDER BY fe.updated_at DESC)
                FILTER (WHERE fe.fetch_error IS NOT NULL AND fe.fetch_status <> 'fetched'))[1] AS last_entry_error
    FROM feed_entries fe WHERE fe.feed_id = f.feed_id
) e ON true;

COMMENT ON VIEW analytics.feed_health IS 'One row per feed: last fetch status, failures and backoff (feeds), and how its entries fared (entries_*: pages pending, failed, skipped with the last reason).';
