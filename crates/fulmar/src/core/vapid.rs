//! The instance's VAPID key (RFC 8292), which Web Push subscriptions are tied to.
//!
//! Fulmar does not send Web Push yet, but clients read the public key long before
//! they subscribe: Elk reads `vapid_key` from the app it registers, Tusky crashed when
//! `configuration.vapid.public_key` was missing. A browser validates the key as a
//! P-256 point when it subscribes, so a made-up string would fail there; a real key
//! generated once and kept in `instance_settings` costs nothing and is the key push
//! delivery will sign with when it comes, so existing subscriptions stay valid.

use base64::Engine as _;
use fulmar_store::{instance as store, Db};
use serde::{Deserialize, Serialize};

use super::error::CoreResult;
use super::time::now_ms;

const SETTING: &str = "vapid_key";

/// The key pair as stored: the private key in PKCS#8 PEM, the public key as Mastodon
/// publishes it (the uncompressed point in URL-safe base64 with padding).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VapidKey {
    pub private_key_pem: String,
    pub public_key: String,
}

/// The VAPID key pair, generated and stored on first use. Two processes asking at
/// once agree on one pair, since only the first insert is kept.
pub async fn key(db: &Db) -> CoreResult<VapidKey> {
    if let Some(json) = store::get_setting(db, SETTING).await? {
        return parse(&json);
    }
    let pair = fulmar_federation::keys::generate_p256().map_err(anyhow::Error::from)?;
    let key = VapidKey {
        private_key_pem: pair.private_key_pem,
        public_key: base64::engine::general_purpose::URL_SAFE.encode(&pair.public_key_point),
    };
    let json = serde_json::to_string(&key).map_err(anyhow::Error::from)?;
    let stored = store::insert_setting_once(db, SETTING, &json, now_ms()).await?;
    parse(&stored)
}

/// The public half, for `vapid_key` and `configuration.vapid.public_key`.
pub async fn public_key(db: &Db) -> CoreResult<String> {
    Ok(key(db).await?.public_key)
}

fn parse(json: &str) -> CoreResult<VapidKey> {
    serde_json::from_str(json)
        .map_err(|e| anyhow::anyhow!("VAPID key setting is corrupt: {e}").into())
}
