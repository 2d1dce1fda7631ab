-- A stage run's process can die without a word (SIGKILL, OOM, a lost worker host): its row
-- used to stay 'running' for ever. A running stage now beats (heartbeat_at, every minute from a
-- thread of its process) and names where it runs (host, pid); the next stage to start marks a
-- running row whose heartbeat stopped as failed, with the reason (pipeline/infra/runs.py).
ALTER TABLE stage_runs ADD COLUMN IF NOT EXISTS heartbeat_at timestamptz;
ALTER TABLE stage_runs ADD COLUMN IF NOT EXISTS host text;
ALTER TABLE stage_runs ADD COLUMN IF NOT EXISTS pid integer;
UPDATE stage_runs SET heartbeat_at = coalesce(finished_at, started_at) WHERE heartbeat_at IS NULL;
ALTER TABLE stage_runs ALTER COLUMN heartbeat_at SET DEFAULT now();
CREATE INDEX IF NOT EXISTS stage_runs_running_idx ON stage_runs (heartbeat_at) WHERE status = 'running';
