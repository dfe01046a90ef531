-- Received Undo, Accept and Reject activities name the activity they answer by its
-- id, which Fulmar keeps in these `uri` columns; without an index each lookup would
-- scan the whole table. Partial: local rows have no uri.
CREATE INDEX follows_uri ON follows (uri) WHERE uri IS NOT NULL;
CREATE INDEX follow_requests_uri ON follow_requests (uri) WHERE uri IS NOT NULL;
CREATE INDEX favourites_uri ON favourites (uri) WHERE uri IS NOT NULL;
CREATE INDEX blocks_uri ON blocks (uri) WHERE uri IS NOT NULL;
