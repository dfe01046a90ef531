-- A version number every change to an account row increases, so that a rendered
-- account kept in memory (`mastodon::to_mastodon`'s account cache) can be checked
-- against the database by reading two columns instead of the whole row. A trigger
-- rather than the application bumps it, so that no write path (the API, received
-- activities, counters, `fulmar admin` in another process, another node) can forget
-- to.
ALTER TABLE accounts ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION accounts_bump_version() RETURNS trigger AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounts_version BEFORE UPDATE ON accounts
FOR EACH ROW EXECUTE FUNCTION accounts_bump_version();
