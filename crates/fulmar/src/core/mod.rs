//! The domain: what accounts, statuses, follows and the instance mean, independent of
//! how they are requested (HTTP, CLI) or carried (ActivityPub, the Mastodon API).
//!
//! Nothing here imports axum, builds JSON-LD or writes SQL: services take typed values,
//! apply the rules, and call the store.

pub mod accounts;
pub mod backfill;
pub mod domains;
pub mod error;
pub mod follows;
pub mod formatting;
pub mod ids;
pub mod instance;
pub mod notifications;
pub mod post_commits;
pub mod profile;
pub mod quotes;
pub mod remote_status;
pub mod resolve;
pub mod scopes;
pub mod statuses;
pub mod threads;
pub mod time;
pub mod urls;
pub mod username;
pub mod vapid;
pub mod visibility;

pub use error::CoreError;
