//! Integration tests: the real server over real HTTP, on SQLite and PostgreSQL.

mod helpers;

mod account_stats;
mod accounts;
mod admin_cli;
mod authorized_fetch;
mod backfill;
mod collections;
mod corpus;
mod discovery;
mod domain_blocks;
mod fedclient;
mod federation_e2e;
mod inbox;
mod instance;
mod notifications;
mod oauth;
mod peer;
mod post_commits;
mod queue;
mod quotes;
mod read_path;
mod receive_objects;
mod receive_social;
mod remote_media;
mod search;
mod status_cache;
mod statuses;
mod threads;
mod timelines;
