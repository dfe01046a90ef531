//! NodeInfo 2.0 and 2.1 (<https://nodeinfo.diaspora.software/>) and its discovery
//! document, with the FEP-2677 link to the instance actor.

use serde_json::{json, Value};

pub const SCHEMA_20: &str = "http://nodeinfo.diaspora.software/ns/schema/2.0";
pub const SCHEMA_21: &str = "http://nodeinfo.diaspora.software/ns/schema/2.1";
/// FEP-2677: the relation that names the instance actor in the discovery document.
pub const APPLICATION_REL: &str = "https://www.w3.org/ns/activitystreams#Application";

/// The `/.well-known/nodeinfo` document.
pub fn discovery(base: &str, instance_actor: &str) -> Value {
    json!({
        "links": [
            { "rel": SCHEMA_20, "href": format!("{base}/nodeinfo/2.0") },
            { "rel": SCHEMA_21, "href": format!("{base}/nodeinfo/2.1") },
            { "rel": APPLICATION_REL, "href": instance_actor },
        ]
    })
}

/// What a NodeInfo document reports.
#[derive(Clone, Debug)]
pub struct NodeInfo {
    pub software_version: String,
    pub open_registrations: bool,
    pub users_total: i64,
    pub active_month: i64,
    pub active_halfyear: i64,
    pub local_posts: i64,
    pub node_name: String,
    pub node_description: String,
}

/// Renders NodeInfo; `version` is "2.0" or "2.1". The two schemas differ only in
/// 2.1's optional `software.repository` and `software.homepage`, which Fulmar leaves
/// out until it has a public home, so one body serves both.
pub fn document(info: &NodeInfo, version: &str) -> Value {
    json!({
        "version": version,
        "software": { "name": "fulmar", "version": info.software_version },
        "protocols": ["activitypub"],
        "services": { "outbound": [], "inbound": [] },
        "usage": {
            "users": {
                "total": info.users_total,
                "activeMonth": info.active_month,
                "activeHalfyear": info.active_halfyear,
            },
            "localPosts": info.local_posts,
        },
        "openRegistrations": info.open_registrations,
        "metadata": {
            "nodeName": info.node_name,
            "nodeDescription": info.node_description,
        },
    })
}

/// The media type NodeInfo documents are served with.
pub fn content_type(version: &str) -> String {
    format!("application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/{version}#\"")
}
