-- The counters that change with every post (`statuses_count`, `last_status_at`) move
-- out of `accounts` into a narrow table of their own, as Mastodon keeps them in
-- `account_stats`. Posting used to rewrite the author's whole `accounts` row: on
-- PostgreSQL every post left a dead copy of that wide row behind (the table grew
-- from 24 kB to about 1 MB in twenty seconds of posting while holding one live row,
-- and every read of `accounts` slowed down with it), and each UPDATE fired the
-- account-version trigger. Posting now writes only this row.
--
-- An account without a row here has posted nothing: readers take
-- `COALESCE(statuses_count, 0)`, and the first post inserts the row.
--
-- `version` is this row's part of the rendered account's version (the cache in
-- `mastodon::account_cache` checks `accounts.version + account_stats.version`, and
-- both only ever grow, so their sum changes whenever either row does). Writers bump
-- it in the same statement; the trigger catches any UPDATE that does not, as the one
-- on `accounts` does (migration 0011).
CREATE TABLE account_stats (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    statuses_count BIGINT NOT NULL DEFAULT 0,
    last_status_at BIGINT,
    version BIGINT NOT NULL DEFAULT 0
);

INSERT INTO account_stats (account_id, statuses_count, last_status_at)
SELECT id, statuses_count, last_status_at FROM accounts
WHERE statuses_count <> 0 OR last_status_at IS NOT NULL;

ALTER TABLE accounts DROP COLUMN statuses_count;
ALTER TABLE accounts DROP COLUMN last_status_at;

CREATE TRIGGER account_stats_version AFTER UPDATE ON account_stats
FOR EACH ROW WHEN NEW.version = OLD.version
BEGIN
    UPDATE account_stats SET version = OLD.version + 1 WHERE account_id = NEW.account_id;
END;
