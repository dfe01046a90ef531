-- The durable job queue and delivery health (see crates/store/src/jobs.rs).

-- A job that used up its attempts (or whose host is unreachable) is kept for a while,
-- marked dead, so an operator can see what was given up; dead rows are pruned.
ALTER TABLE jobs ADD COLUMN dead_at BIGINT;
CREATE INDEX jobs_dead ON jobs (dead_at) WHERE dead_at IS NOT NULL;

-- When the current run of failures of a host began; NULL while it answers.
ALTER TABLE instances ADD COLUMN failing_since BIGINT;
