-- Claiming jobs (crates/store/src/jobs.rs `claim`) takes the live jobs that are due,
-- oldest first, across every queue. `jobs_ready` starts with the queue, so that query
-- read and sorted the whole table, payloads included, on every claim: a fan-out to a
-- thousand inboxes read its thousand payloads once per claimed batch. This index
-- gives the rows in claim order, with the lease to check, and holds live jobs only.
CREATE INDEX jobs_due ON jobs (run_at, id, locked_until) WHERE dead_at IS NULL;
