//! Fulmar: a federated social server speaking ActivityPub to other servers and the
//! Mastodon client API to apps. See ARCHITECTURE.md for the map.

pub mod activitypub;
pub mod cli;
pub mod config;
pub mod core;
pub mod http;
pub mod mastodon;
pub mod oauth;
pub mod startup;
pub mod state;
pub mod web;
pub mod worker;

pub use state::App;
