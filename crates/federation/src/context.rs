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

/// The context of Notes and the activities that carry them: ActivityStreams with the
/// terms of quote posts (FEP-044f, and the older `quoteUri` and `_misskey_quote`) and
/// of interaction policies (GoToSocial's namespace, which FEP-044f reuses), mapped
/// as Mastodon 4.5 maps them.
pub fn note() -> Value {
    json!([
        ACTIVITYSTREAMS,
        {
            "sensitive": "as:sensitive",
            "toot": "http://joinmastodon.org/ns#",
            "conversation": "ostatus:conversation",
            "ostatus": "http://ostatus.org#",
            "quote": "https://w3id.org/fep/044f#quote",
            "quoteUri": "http://fedibird.com/ns#quoteUri",
            "_misskey_quote": "https://misskey-hub.net/ns#_misskey_quote",
            "quoteAuthorization": { "@id": "https://w3id.org/fep/044f#quoteAuthorization", "@type": "@id" },
            "gts": "https://gotosocial.org/ns#",
            "interactionPolicy": { "@id": "gts:interactionPolicy", "@type": "@id" },
            "canQuote": { "@id": "gts:canQuote", "@type": "@id" },
            "automaticApproval": { "@id": "gts:automaticApproval", "@type": "@id" },
            "manualApproval": { "@id": "gts:manualApproval", "@type": "@id" }
        }
    ])
}

/// The context of QuoteRequest activities and QuoteAuthorization documents.
pub fn quote_authorization() -> Value {
    json!([
        ACTIVITYSTREAMS,
        {
            "QuoteRequest": "https://w3id.org/fep/044f#QuoteRequest",
            "QuoteAuthorization": "https://w3id.org/fep/044f#QuoteAuthorization",
            "gts": "https://gotosocial.org/ns#",
            "interactingObject": { "@id": "gts:interactingObject", "@type": "@id" },
            "interactionTarget": { "@id": "gts:interactionTarget", "@type": "@id" }
        }
    ])
}
