//! JSON-LD `@context` values.
//!
//! Fulmar writes compacted JSON with the same context Mastodon uses for actors, so that
//! servers which read documents by term name (almost all of them) and servers which
//! expand JSON-LD (a few) both understand every extension property.

use serde_json::{json, Value};

pub const ACTIVITYSTREAMS: &str = "https://www.w3.org/ns/activitystreams";
pub const SECURITY_V1: &str = "https://w3id.org/security/v1";

/// The context of actor documents: ActivityStreams, security v1 (for `publicKey`) and
/// the extension terms of Mastodon (`toot:`), schema.org (`PropertyValue`) and
/// ActivityStreams terms that are not in the official context yet.
pub fn actor() -> Value {
    json!([
        ACTIVITYSTREAMS,
        SECURITY_V1,
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "toot": "http://joinmastodon.org/ns#",
            "featured": { "@id": "toot:featured", "@type": "@id" },
            "featuredTags": { "@id": "toot:featuredTags", "@type": "@id" },
            "alsoKnownAs": { "@id": "as:alsoKnownAs", "@type": "@id" },
            "movedTo": { "@id": "as:movedTo", "@type": "@id" },
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "memorial": "toot:memorial",
            "attributionDomains": { "@id": "toot:attributionDomains", "@type": "@id" },
            "focalPoint": { "@container": "@list", "@id": "toot:focalPoint" }
        }
    ])
}

/// The plain ActivityStreams context, for collections and activities without
/// extension terms.
pub fn activitystreams() -> Value {
    Value::String(ACTIVITYSTREAMS.to_owned())
}
