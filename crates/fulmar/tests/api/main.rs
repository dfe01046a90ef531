//! Integration tests: the real server over real HTTP, on SQLite and PostgreSQL.

mod helpers;

mod accounts;
mod admin_cli;
mod collections;
mod discovery;
mod fedclient;
mod federation_e2e;
mod inbox;
mod instance;
mod notifications;
mod oauth;
mod peer;
mod queue;
mod search;
mod statuses;
mod timelines;
