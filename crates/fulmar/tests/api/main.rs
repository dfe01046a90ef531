//! Integration tests: the real server over real HTTP, on SQLite and PostgreSQL.

mod helpers;

mod admin_cli;
mod collections;
mod discovery;
