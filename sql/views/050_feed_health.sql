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
       f.disabled_reason
FROM feeds f;
