-- Quote posts with FEP-044f consent (Mastodon 4.5).
--
-- On a quoting status: the QuoteAuthorization that approved it (a remote one, or one
-- of ours), and the id of the QuoteRequest sent for it, which the quoted server's
-- Accept or Reject names.
ALTER TABLE statuses ADD COLUMN quote_authorization_uri TEXT;
ALTER TABLE statuses ADD COLUMN quote_request_uri TEXT;
CREATE INDEX statuses_quote_request_uri ON statuses (quote_request_uri);
CREATE INDEX statuses_quote_authorization_uri ON statuses (quote_authorization_uri);
CREATE INDEX statuses_quote_of_id ON statuses (quote_of_id);

-- The QuoteAuthorizations this server issued for quotes of its local statuses,
-- served at /users/NAME/quote_authorizations/ID until revoked.
CREATE TABLE quote_authorizations (
    id BIGINT PRIMARY KEY,
    -- The quoted (local) status and its author.
    quoted_status_id BIGINT NOT NULL REFERENCES statuses(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- The quoting status (its ActivityPub id) and its author.
    quoting_status_id BIGINT NOT NULL REFERENCES statuses(id) ON DELETE CASCADE,
    quoting_uri TEXT NOT NULL,
    quoting_account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX quote_authorizations_quoting ON quote_authorizations (quoting_status_id);
