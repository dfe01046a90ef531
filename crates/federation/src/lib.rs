//! Fulmar's federation layer: the ActivityPub document shapes, JSON-LD contexts and
//! cryptographic keys that other servers see.
//!
//! This crate knows nothing about HTTP frameworks, SQL or the Mastodon client API. It
//! turns plain values into wire documents (`to_activitypub`) and wire documents into
//! plain values (`from_activitypub`), and it signs and verifies.

pub mod actor;
#[cfg(feature = "client")]
pub mod client;
pub mod collection;
pub mod collections_in;
pub mod context;
pub mod from_activitypub;
pub mod fuzzing;
pub mod keys;
pub mod nodeinfo;
pub mod signatures;
pub mod thread_collections;
pub mod webfinger;

/// The media type of ActivityPub documents.
pub const ACTIVITY_JSON: &str = "application/activity+json";
/// The JSON-LD media type with the ActivityStreams profile, which some servers ask for.
pub const LD_JSON_AS: &str =
    "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";
/// The public addressing collection.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
