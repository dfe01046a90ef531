-- Thread fetches (GET /api/v1/statuses/:id/context fills in a remote thread in the
-- background). One row per thread, keyed by the id of the root-most status known
-- when the fetch was queued: it deduplicates queued fetches, holds the cooldown
-- (`queued_at`), and answers Mastodon's async-refresh polling (`finished_at`,
-- `result_count`).
CREATE TABLE thread_fetches (
    status_id BIGINT PRIMARY KEY,
    queued_at BIGINT NOT NULL,
    finished_at BIGINT,
    result_count BIGINT NOT NULL DEFAULT 0
);
