//! The instance itself: its actor's key, created once and shared by every process
//! that opens the database.

use fulmar_store::{instance as store, Db};
use serde::{Deserialize, Serialize};

use super::error::CoreResult;
use super::time::now_ms;

const KEY_SETTING: &str = "instance_actor_key";

/// The instance actor's RSA key pair, in PEM.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstanceKey {
    pub private_key_pem: String,
    pub public_key_pem: String,
}

/// The instance actor's key when it is stored already; `None` on a fresh database.
pub async fn stored_key(db: &Db) -> CoreResult<Option<InstanceKey>> {
    match store::get_setting(db, KEY_SETTING).await? {
        Some(json) => serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("instance key setting is corrupt: {e}").into()),
        None => Ok(None),
    }
}

/// Loads the instance actor's key, generating and storing it on the first start. The
/// pair is one setting, so that two processes starting together cannot store halves
/// of different pairs.
pub async fn ensure_key(db: &Db) -> CoreResult<InstanceKey> {
    if let Some(key) = stored_key(db).await? {
        return Ok(key);
    }
    let pair = tokio::task::spawn_blocking(fulmar_federation::keys::generate_rsa_2048)
        .await
        .map_err(anyhow::Error::from)?
        .map_err(anyhow::Error::from)?;
    let key = InstanceKey {
        private_key_pem: pair.private_key_pem,
        public_key_pem: pair.public_key_pem,
    };
    let json = serde_json::to_string(&key).map_err(anyhow::Error::from)?;
    let stored = store::insert_setting_once(db, KEY_SETTING, &json, now_ms()).await?;
    serde_json::from_str(&stored)
        .map_err(|e| anyhow::anyhow!("instance key setting is corrupt: {e}").into())
}
