-- A version number that increases with every change to what a status shows, so that
-- the viewer-independent part of a rendered status kept in memory
-- (`mastodon::status_cache`) can be checked against the database by reading two
-- columns instead of the row and its mentions, tags and media. As with accounts
-- (migration 0011), triggers rather than the application bump it, so that no write
-- path can forget to: changes to the row itself (content, edits, counts of replies,
-- reblogs, favourites and quotes, quote state and policy, deletion) and to the rows
-- rendered with it (media attachments, non-silent mentions, hashtags), which some
-- write paths change in transactions of their own. The author, polls and everything
-- that depends on the viewer are rendered per request, so they need no trigger here.
ALTER TABLE statuses ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION statuses_bump_version() RETURNS trigger AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER statuses_version BEFORE UPDATE ON statuses
FOR EACH ROW EXECUTE FUNCTION statuses_bump_version();

-- For a row of a table that belongs to a status (`status_id`): bumps the version of
-- the status it belonged to and of the one it belongs to now. The UPDATE goes
-- through `statuses_version`, which does the counting.
CREATE FUNCTION status_part_bump_version() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE statuses SET version = version + 1 WHERE id = OLD.status_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        IF TG_OP = 'INSERT' OR NEW.status_id IS DISTINCT FROM OLD.status_id THEN
            UPDATE statuses SET version = version + 1 WHERE id = NEW.status_id;
        END IF;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER media_attachments_status_version
AFTER INSERT OR UPDATE OR DELETE ON media_attachments
FOR EACH ROW EXECUTE FUNCTION status_part_bump_version();

-- Silent mentions are not shown, so adding or removing one changes nothing.
CREATE TRIGGER mentions_status_version_insert AFTER INSERT ON mentions
FOR EACH ROW WHEN (NOT NEW.silent) EXECUTE FUNCTION status_part_bump_version();

CREATE TRIGGER mentions_status_version_update AFTER UPDATE ON mentions
FOR EACH ROW EXECUTE FUNCTION status_part_bump_version();

CREATE TRIGGER mentions_status_version_delete AFTER DELETE ON mentions
FOR EACH ROW WHEN (NOT OLD.silent) EXECUTE FUNCTION status_part_bump_version();

CREATE TRIGGER statuses_tags_status_version
AFTER INSERT OR DELETE ON statuses_tags
FOR EACH ROW EXECUTE FUNCTION status_part_bump_version();
