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
-- The triggers' own UPDATEs do not fire `statuses_version` again: its WHEN clause
-- only matches updates that left the version alone (and recursive triggers are off).
ALTER TABLE statuses ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE TRIGGER statuses_version AFTER UPDATE ON statuses
FOR EACH ROW WHEN NEW.version = OLD.version
BEGIN
    UPDATE statuses SET version = OLD.version + 1 WHERE id = NEW.id;
END;

CREATE TRIGGER media_attachments_status_version_insert AFTER INSERT ON media_attachments
FOR EACH ROW WHEN NEW.status_id IS NOT NULL
BEGIN
    UPDATE statuses SET version = version + 1 WHERE id = NEW.status_id;
END;

CREATE TRIGGER media_attachments_status_version_update AFTER UPDATE ON media_attachments
FOR EACH ROW WHEN NEW.status_id IS NOT NULL OR OLD.status_id IS NOT NULL
BEGIN
    UPDATE statuses SET version = version + 1 WHERE id IN (OLD.status_id, NEW.status_id);
END;

CREATE TRIGGER media_attachments_status_version_delete AFTER DELETE ON media_attachments
FOR EACH ROW WHEN OLD.status_id IS NOT NULL
BEGIN
    UPDATE statuses SET version = version + 1 WHERE id = OLD.status_id;
END;

CREATE TRIGGER mentions_status_version_insert AFTER INSERT ON mentions
FOR EACH ROW WHEN NEW.silent = FALSE
BEGIN
    UPDATE statuses SET version = version + 1 WHERE id = NEW.status_id;
END;

CREATE TRIGGER mentions_status_version_update AFTER UPDATE ON mentions
FOR EACH ROW
BEGIN
    UPDATE statuses SET version = version + 1 WHERE id IN (OLD.status_id, NEW.status_id);
END;

CREATE TRIGGER mentions_status_version_delete AFTER DELETE ON mentions
FOR EACH ROW WHEN OLD.silent = FALSE
BEGIN
    UPDATE statuses SET version = version + 1 WHERE id = OLD.status_id;
END;

CREATE TRIGGER statuses_tags_status_version_insert AFTER INSERT ON statuses_tags
FOR EACH ROW
BEGIN
    UPDATE statuses SET version = version + 1 WHERE id = NEW.status_id;
END;

CREATE TRIGGER statuses_tags_status_version_delete AFTER DELETE ON statuses_tags
FOR EACH ROW
BEGIN
    UPDATE statuses SET version = version + 1 WHERE id = OLD.status_id;
END;
