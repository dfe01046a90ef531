-- Fulmar's schema, designed for the whole product. Every table exists in the same
-- shape in migrations/postgres; the two files change together. SQLite's
-- INTEGER PRIMARY KEY is its 64-bit rowid.
--
-- Conventions: ids exposed through the Mastodon API are BIGINT snowflakes
-- (milliseconds << 16 | sequence); times are BIGINT milliseconds since the Unix
-- epoch, so that both databases compare and index them the same way; JSON
-- documents are TEXT.

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    -- NULL for accounts on this server.
    domain TEXT,
    display_name TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    note_source TEXT NOT NULL DEFAULT '',
    -- The ActivityPub actor id; for local accounts derived from the configured domain.
    uri TEXT NOT NULL,
    url TEXT,
    actor_type TEXT NOT NULL DEFAULT 'Person',
    inbox_url TEXT,
    outbox_url TEXT,
    shared_inbox_url TEXT,
    followers_url TEXT,
    following_url TEXT,
    featured_url TEXT,
    featured_tags_url TEXT,
    avatar_url TEXT,
    avatar_media_id BIGINT,
    header_url TEXT,
    header_media_id BIGINT,
    -- JSON array of {name, value, verified_at}.
    fields TEXT NOT NULL DEFAULT '[]',
    -- JSON array of actor URIs.
    also_known_as TEXT NOT NULL DEFAULT '[]',
    moved_to_account_id BIGINT REFERENCES accounts(id) ON DELETE SET NULL,
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    bot BOOLEAN NOT NULL DEFAULT FALSE,
    discoverable BOOLEAN NOT NULL DEFAULT TRUE,
    indexable BOOLEAN NOT NULL DEFAULT TRUE,
    memorial BOOLEAN NOT NULL DEFAULT FALSE,
    hide_collections BOOLEAN NOT NULL DEFAULT FALSE,
    followers_count BIGINT NOT NULL DEFAULT 0,
    following_count BIGINT NOT NULL DEFAULT 0,
    statuses_count BIGINT NOT NULL DEFAULT 0,
    last_status_at BIGINT,
    -- Why an account's history could not be backfilled (private outbox and so on).
    backfill_note TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    fetched_at BIGINT,
    suspended_at BIGINT,
    silenced_at BIGINT
);
CREATE UNIQUE INDEX accounts_uri ON accounts (uri);
CREATE UNIQUE INDEX accounts_handle ON accounts (lower(username), COALESCE(lower(domain), ''));
CREATE INDEX accounts_domain ON accounts (domain);

-- Keys of accounts and of the instance actor. Several per owner allow rotation and,
-- later, Ed25519 keys for FEP-521a; remote keys are cached here too.
CREATE TABLE account_keys (
    id INTEGER PRIMARY KEY,
    account_id BIGINT REFERENCES accounts(id) ON DELETE CASCADE,
    key_id TEXT NOT NULL,
    owner_uri TEXT NOT NULL,
    algorithm TEXT NOT NULL DEFAULT 'rsa',
    public_key_pem TEXT NOT NULL,
    -- PKCS#8 PEM; only for keys this server owns.
    private_key_pem TEXT,
    created_at BIGINT NOT NULL,
    fetched_at BIGINT
);
CREATE UNIQUE INDEX account_keys_key_id ON account_keys (key_id);
CREATE INDEX account_keys_account ON account_keys (account_id);

-- People who sign in; every user has exactly one local account.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    moderator BOOLEAN NOT NULL DEFAULT FALSE,
    approved BOOLEAN NOT NULL DEFAULT TRUE,
    confirmed_at BIGINT,
    disabled_at BIGINT,
    locale TEXT NOT NULL DEFAULT 'en',
    default_visibility TEXT NOT NULL DEFAULT 'public',
    default_sensitive BOOLEAN NOT NULL DEFAULT FALSE,
    default_language TEXT,
    -- JSON object of client preferences not worth a column.
    settings TEXT NOT NULL DEFAULT '{}',
    last_sign_in_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_account ON users (account_id);
CREATE UNIQUE INDEX users_email ON users (lower(email));

-- Key-value settings of the instance itself (the instance actor's key, for one).
CREATE TABLE instance_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Other servers: what we know of them and whether they answer.
CREATE TABLE instances (
    domain TEXT PRIMARY KEY,
    software TEXT,
    software_version TEXT,
    shared_inbox_url TEXT,
    first_seen_at BIGINT NOT NULL,
    last_success_at BIGINT,
    last_failure_at BIGINT,
    failure_count INTEGER NOT NULL DEFAULT 0,
    unreachable_since BIGINT
);

CREATE TABLE domain_blocks (
    id INTEGER PRIMARY KEY,
    domain TEXT NOT NULL,
    severity TEXT NOT NULL DEFAULT 'suspend',
    reject_media BOOLEAN NOT NULL DEFAULT FALSE,
    private_comment TEXT,
    public_comment TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX domain_blocks_domain ON domain_blocks (domain);

CREATE TABLE oauth_applications (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    website TEXT,
    -- Newline-separated, as clients registered them.
    redirect_uris TEXT NOT NULL,
    scopes TEXT NOT NULL DEFAULT 'read',
    client_id TEXT NOT NULL,
    client_secret TEXT NOT NULL,
    -- The user who registered it, when it was registered with a user token.
    owner_user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX oauth_applications_client_id ON oauth_applications (client_id);

CREATE TABLE oauth_authorization_codes (
    id INTEGER PRIMARY KEY,
    -- SHA-256 of the code, hex; the code itself is never stored.
    code_hash TEXT NOT NULL,
    application_id BIGINT NOT NULL REFERENCES oauth_applications(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    scopes TEXT NOT NULL,
    code_challenge TEXT,
    code_challenge_method TEXT,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX oauth_authorization_codes_hash ON oauth_authorization_codes (code_hash);

CREATE TABLE oauth_access_tokens (
    id INTEGER PRIMARY KEY,
    -- SHA-256 of the bearer token, hex: a leaked database does not leak sessions.
    token_hash TEXT NOT NULL,
    application_id BIGINT REFERENCES oauth_applications(id) ON DELETE CASCADE,
    -- NULL for client_credentials tokens, which act for the app alone.
    user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX oauth_access_tokens_hash ON oauth_access_tokens (token_hash);
CREATE INDEX oauth_access_tokens_user ON oauth_access_tokens (user_id);

CREATE TABLE statuses (
    id INTEGER PRIMARY KEY,
    uri TEXT NOT NULL,
    url TEXT,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    in_reply_to_id BIGINT REFERENCES statuses(id) ON DELETE SET NULL,
    in_reply_to_account_id BIGINT REFERENCES accounts(id) ON DELETE SET NULL,
    -- The inReplyTo URI, kept when the parent is not (yet) known here.
    in_reply_to_uri TEXT,
    reblog_of_id BIGINT REFERENCES statuses(id) ON DELETE CASCADE,
    quote_of_id BIGINT REFERENCES statuses(id) ON DELETE SET NULL,
    quote_state TEXT,
    -- Sanitised HTML as served to clients.
    content TEXT NOT NULL DEFAULT '',
    -- What the author typed, for local statuses (Mastodon's `source`).
    text TEXT,
    spoiler_text TEXT NOT NULL DEFAULT '',
    sensitive BOOLEAN NOT NULL DEFAULT FALSE,
    -- public, unlisted, private, direct.
    visibility TEXT NOT NULL,
    language TEXT,
    -- Object type for non-Note objects (Article, Page, Event ...), with its title.
    object_type TEXT NOT NULL DEFAULT 'Note',
    title TEXT,
    -- FEP-7888 context and the OStatus conversation.
    context_uri TEXT,
    conversation_uri TEXT,
    local BOOLEAN NOT NULL,
    application_id BIGINT REFERENCES oauth_applications(id) ON DELETE SET NULL,
    poll_id BIGINT,
    -- Who may quote this status, per FEP-044f / Mastodon 4.5.
    quote_policy TEXT NOT NULL DEFAULT 'public',
    replies_count BIGINT NOT NULL DEFAULT 0,
    reblogs_count BIGINT NOT NULL DEFAULT 0,
    favourites_count BIGINT NOT NULL DEFAULT 0,
    quotes_count BIGINT NOT NULL DEFAULT 0,
    -- A backfilled status never notifies and is never re-federated.
    backfilled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    edited_at BIGINT,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE UNIQUE INDEX statuses_uri ON statuses (uri);
CREATE INDEX statuses_account ON statuses (account_id, id);
CREATE INDEX statuses_in_reply_to ON statuses (in_reply_to_id);
CREATE INDEX statuses_in_reply_to_uri ON statuses (in_reply_to_uri);
CREATE INDEX statuses_reblog_of ON statuses (reblog_of_id);
CREATE UNIQUE INDEX statuses_one_reblog ON statuses (account_id, reblog_of_id) WHERE reblog_of_id IS NOT NULL;
CREATE INDEX statuses_context ON statuses (context_uri);
CREATE INDEX statuses_public ON statuses (id) WHERE visibility = 'public' AND deleted_at IS NULL;

-- Earlier versions of edited statuses, oldest first.
CREATE TABLE status_edits (
    id INTEGER PRIMARY KEY,
    status_id BIGINT NOT NULL REFERENCES statuses(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    content TEXT NOT NULL,
    text TEXT,
    spoiler_text TEXT NOT NULL DEFAULT '',
    sensitive BOOLEAN NOT NULL DEFAULT FALSE,
    -- JSON array of media ids and the poll options as they were.
    media_ids TEXT NOT NULL DEFAULT '[]',
    poll_options TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX status_edits_status ON status_edits (status_id, id);

CREATE TABLE mentions (
    id INTEGER PRIMARY KEY,
    status_id BIGINT NOT NULL REFERENCES statuses(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    silent BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX mentions_status_account ON mentions (status_id, account_id);
CREATE INDEX mentions_account ON mentions (account_id, status_id);

CREATE TABLE tags (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    display_name TEXT NOT NULL,
    usable BOOLEAN NOT NULL DEFAULT TRUE,
    trendable BOOLEAN,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX tags_name ON tags (name);

CREATE TABLE statuses_tags (
    status_id BIGINT NOT NULL REFERENCES statuses(id) ON DELETE CASCADE,
    tag_id BIGINT NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (tag_id, status_id)
);
CREATE INDEX statuses_tags_status ON statuses_tags (status_id);

CREATE TABLE polls (
    id INTEGER PRIMARY KEY,
    status_id BIGINT REFERENCES statuses(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    multiple BOOLEAN NOT NULL DEFAULT FALSE,
    hide_totals BOOLEAN NOT NULL DEFAULT FALSE,
    -- JSON array of option titles, and of their vote counts.
    options TEXT NOT NULL,
    cached_tallies TEXT NOT NULL DEFAULT '[]',
    votes_count BIGINT NOT NULL DEFAULT 0,
    voters_count BIGINT,
    expires_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE poll_votes (
    id INTEGER PRIMARY KEY,
    poll_id BIGINT NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    choice INTEGER NOT NULL,
    uri TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX poll_votes_unique ON poll_votes (poll_id, account_id, choice);

CREATE TABLE media_attachments (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    status_id BIGINT REFERENCES statuses(id) ON DELETE SET NULL,
    -- image, gifv, video, audio, unknown.
    media_type TEXT NOT NULL,
    content_type TEXT,
    file_key TEXT,
    file_size BIGINT,
    thumbnail_key TEXT,
    remote_url TEXT,
    description TEXT,
    blurhash TEXT,
    -- JSON: Mastodon's `meta` (original/small sizes, focus).
    meta TEXT NOT NULL DEFAULT '{}',
    -- pending, ready, failed.
    processing TEXT NOT NULL DEFAULT 'ready',
    position INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX media_attachments_status ON media_attachments (status_id);
CREATE INDEX media_attachments_account ON media_attachments (account_id);

CREATE TABLE follows (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    uri TEXT,
    show_reblogs BOOLEAN NOT NULL DEFAULT TRUE,
    notify BOOLEAN NOT NULL DEFAULT FALSE,
    -- JSON array of language codes, or NULL for all.
    languages TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX follows_pair ON follows (account_id, target_account_id);
CREATE INDEX follows_target ON follows (target_account_id, id);

CREATE TABLE follow_requests (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    uri TEXT,
    show_reblogs BOOLEAN NOT NULL DEFAULT TRUE,
    notify BOOLEAN NOT NULL DEFAULT FALSE,
    languages TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX follow_requests_pair ON follow_requests (account_id, target_account_id);
CREATE INDEX follow_requests_target ON follow_requests (target_account_id, id);

CREATE TABLE favourites (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    status_id BIGINT NOT NULL REFERENCES statuses(id) ON DELETE CASCADE,
    uri TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX favourites_pair ON favourites (account_id, status_id);
CREATE INDEX favourites_status ON favourites (status_id, id);

CREATE TABLE bookmarks (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    status_id BIGINT NOT NULL REFERENCES statuses(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX bookmarks_pair ON bookmarks (account_id, status_id);

CREATE TABLE status_pins (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    status_id BIGINT NOT NULL REFERENCES statuses(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX status_pins_pair ON status_pins (account_id, status_id);

CREATE TABLE blocks (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    uri TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX blocks_pair ON blocks (account_id, target_account_id);
CREATE INDEX blocks_target ON blocks (target_account_id);

CREATE TABLE mutes (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    target_account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    hide_notifications BOOLEAN NOT NULL DEFAULT TRUE,
    expires_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX mutes_pair ON mutes (account_id, target_account_id);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    from_account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    -- mention, status, reblog, follow, follow_request, favourite, poll, update, quote ...
    notification_type TEXT NOT NULL,
    status_id BIGINT REFERENCES statuses(id) ON DELETE CASCADE,
    group_key TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX notifications_account ON notifications (account_id, id);

-- A user's home feed (fan-out on write): one row per status that belongs in it.
CREATE TABLE home_feed (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    status_id BIGINT NOT NULL REFERENCES statuses(id) ON DELETE CASCADE,
    -- The account whose status or reblog put this row here, for unfollow clean-up.
    author_account_id BIGINT NOT NULL,
    PRIMARY KEY (account_id, status_id)
);
CREATE INDEX home_feed_author ON home_feed (account_id, author_account_id);

CREATE TABLE markers (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    timeline TEXT NOT NULL,
    last_read_id BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX markers_user_timeline ON markers (user_id, timeline);

-- Responses to POST /api/v1/statuses remembered for an hour, keyed by Idempotency-Key.
CREATE TABLE idempotency_keys (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    status_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- The durable job queue: deliveries, fetches, backfills. A job is claimed by setting
-- locked_until; a worker that dies leaves it to be claimed again when that passes,
-- which is what makes delivery at-least-once.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    -- Jobs with the same key (for instance one inbox) are limited together.
    concurrency_key TEXT,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 16,
    run_at BIGINT NOT NULL,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX jobs_ready ON jobs (queue, run_at);
