-- Indexes for the timelines (see crates/store/src/timelines.rs).

-- The local and remote timelines: public, live statuses in id order, per side.
-- `statuses_public` (0001) serves the federated timeline; without this index a local
-- timeline on a server that mostly stores remote statuses would read many remote rows
-- for every local one it shows. The predicate repeats the terms the timeline query
-- uses, which SQLite requires before it uses a partial index.
CREATE INDEX statuses_public_local ON statuses (local, id)
    WHERE visibility = 'public' AND deleted_at IS NULL;

-- Reblogs and replies are looked up by what they point at, never by the absence of
-- it. As full indexes, SQLite (which has no statistics until ANALYZE runs) took
-- `reblog_of_id IS NULL` for a selective equality and walked nearly every status
-- through them instead of the timeline indexes. Partial, they are smaller too.
DROP INDEX statuses_reblog_of;
CREATE INDEX statuses_reblog_of ON statuses (reblog_of_id) WHERE reblog_of_id IS NOT NULL;
DROP INDEX statuses_in_reply_to;
CREATE INDEX statuses_in_reply_to ON statuses (in_reply_to_id) WHERE in_reply_to_id IS NOT NULL;

-- The few suspended or silenced accounts, whose statuses public timelines leave out:
-- PostgreSQL answers that NOT EXISTS with an anti-join over this small index rather
-- than a scan of every account.
CREATE INDEX accounts_limited ON accounts (id)
    WHERE suspended_at IS NOT NULL OR silenced_at IS NOT NULL;
