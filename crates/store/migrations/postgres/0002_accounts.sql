-- Private notes a user keeps about other accounts (Mastodon's account notes,
-- shown as Relationship.note).
CREATE TABLE account_notes (
    id BIGINT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    comment TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX account_notes_pair ON account_notes (account_id, target_account_id);
