-- The counters that change with every post (`statuses_count`, `last_status_at`) move
-- out of `accounts` into a narrow table of their own, as Mastodon keeps them in
-- `account_stats`. Posting used to rewrite the author's whole `accounts` row: every
-- post left a dead copy of that wide row behind (the table grew from 24 kB to about
-- 1 MB in twenty seconds of posting while holding one live row, and every read of
-- `accounts` slowed down with it), and each UPDATE fired the account-version
-- trigger. Posting now writes only this row, whose updates change no indexed column
-- and so can stay on their page (HOT updates, pruned as they go); the fill factor
-- leaves room on each page for them.
--
-- An account without a row here has posted nothing: readers take
-- `COALESCE(statuses_count, 0)`, and the first post inserts the row.
--
-- `version` is this row's part of the rendered account's version (the cache in
-- `mastodon::account_cache` checks `accounts.version + account_stats.version`, and
-- both only ever grow, so their sum changes whenever either row does). The trigger
-- bumps it on every UPDATE, like the one on `accounts` (migration 0011), whose
-- function it shares.
CREATE TABLE account_stats (
    account_id BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    statuses_count BIGINT NOT NULL DEFAULT 0,
    last_status_at BIGINT,
    version BIGINT NOT NULL DEFAULT 0
) WITH (fillfactor = 50);

INSERT INTO account_stats (account_id, statuses_count, last_status_at)
SELECT id, statuses_count, last_status_at FROM accounts
WHERE statuses_count <> 0 OR last_status_at IS NOT NULL;

ALTER TABLE accounts DROP COLUMN statuses_count;
ALTER TABLE accounts DROP COLUMN last_status_at;

CREATE TRIGGER account_stats_version BEFORE UPDATE ON account_stats
FOR EACH ROW EXECUTE FUNCTION accounts_bump_version();
