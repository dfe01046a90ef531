-- When the history of a remote account was last fetched (backfill), so that opening
-- its profile again and again does not fetch it again before a cooldown passes. The
-- reason a backfill could not be done (a private outbox) stays in `backfill_note`.
ALTER TABLE accounts ADD COLUMN backfilled_at BIGINT;
