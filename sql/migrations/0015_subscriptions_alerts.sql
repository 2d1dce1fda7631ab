-- Subscriptions and alerts (issue 16).
--
-- subscribers: who gets the digest and what part of it. An unsubscribed reader keeps the row
-- (unsubscribed_at set), so an address that is also in NEWSMON_DIGEST_TO stays unsubscribed.
-- email is the bare, lower-cased address; themes '{}' means every digest theme.
CREATE TABLE IF NOT EXISTS subscribers (
    email            text PRIMARY KEY CHECK (email ~ '^[^@\s<>,;]+@[^@\s<>,;]+$'),
    themes           text[] NOT NULL DEFAULT '{}',
    language         text NOT NULL DEFAULT 'both' CHECK (language IN ('de', 'en', 'both')),
    alerts           boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    unsubscribed_at  timestamptz,
    unsubscribed_via text CHECK (unsubscribed_via IN ('cli', 'link', 'mail'))
);

-- A reader whose filter matched nothing that day gets no mail: recorded as 'skipped' with the reason.
ALTER TABLE digest_sends DROP CONSTRAINT IF EXISTS digest_sends_status_check;
ALTER TABLE digest_sends ADD CONSTRAINT digest_sends_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'skipped'));

-- One row per (alert, recipient): an alert is mailed once. alert_key names the event
-- ('story:<id>:<day>' for a story that grew fast, 'fact:<indicator>:<subject>:<value>:<target year>'
-- for a changed figure); several alerts of one run travel in one mail (same message_id).
CREATE TABLE IF NOT EXISTS alert_sends (
    alert_key   text NOT NULL,
    recipient   text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('story_growth', 'fact_change')),
    summary     text NOT NULL,
    status      text NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    message_id  text,
    attempts    integer NOT NULL DEFAULT 0,
    last_error  text,
    detected_at timestamptz NOT NULL,
    sent_at     timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (alert_key, recipient)
);
CREATE INDEX IF NOT EXISTS alert_sends_recipient_idx ON alert_sends (recipient, status);
