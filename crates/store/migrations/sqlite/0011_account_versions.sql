-- A version number every change to an account row increases, so that a rendered
-- account kept in memory (`mastodon::to_mastodon`'s account cache) can be checked
-- against the database by reading two columns instead of the whole row. A trigger
-- rather than the application bumps it, so that no write path (the API, received
-- activities, counters, `fulmar admin` in another process, another node) can forget
-- to. The trigger's own UPDATE does not fire it again: SQLite's recursive triggers
-- are off, and its WHEN clause only matches updates that left the version alone.
ALTER TABLE accounts ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE TRIGGER accounts_version AFTER UPDATE ON accounts
FOR EACH ROW WHEN NEW.version = OLD.version
BEGIN
    UPDATE accounts SET version = OLD.version + 1 WHERE id = NEW.id;
END;
