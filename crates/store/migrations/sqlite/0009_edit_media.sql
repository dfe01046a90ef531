-- What each version of an edited status showed besides its text: its attachments as
-- they were (a JSON array of the attachment rows, kept whole because a remote
-- `Update` replaces the rows themselves), for the StatusEdit entity's
-- `media_attachments`. `poll_options` (0001) holds that version's poll options.
ALTER TABLE status_edits ADD COLUMN media TEXT NOT NULL DEFAULT '[]';
