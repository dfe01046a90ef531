//! The state every request handler and worker shares.

use std::ops::Deref;
use std::sync::Arc;

use fulmar_federation::client::{Client, ClientConfig, Signer};
use fulmar_federation::signatures::SigningKey;
use fulmar_store::Db;

use crate::config::Config;
use crate::core::instance::InstanceKey;
use crate::core::urls::Urls;

/// A cheap, cloneable handle to the running instance.
#[derive(Clone)]
pub struct App(Arc<AppState>);

pub struct AppState {
    pub config: Config,
    pub db: Db,
    pub urls: Urls,
    pub instance_key: InstanceKey,
    /// The one outgoing HTTP client (`fulmar_federation::client`).
    pub client: Client,
    /// The instance actor's key, parsed once, for signing fetches no user asks for.
    pub instance_signer: Signer,
    /// Per-origin limits of the inbox (`activitypub::limits`).
    pub inbox_limits: crate::activitypub::limits::InboxLimits,
    /// Rendered accounts, checked against their version on every use
    /// (`mastodon::account_cache`).
    pub accounts: crate::mastodon::account_cache::AccountCache,
}

impl App {
    pub fn new(config: Config, db: Db, instance_key: InstanceKey) -> anyhow::Result<App> {
        let urls = Urls::new(config.scheme(), &config.domain);
        let client = Client::new(ClientConfig::new(urls.base(), config.dev_insecure))
            .map_err(|e| anyhow::anyhow!("building the HTTP client: {e}"))?;
        let key = SigningKey::from_pem(&instance_key.private_key_pem)
            .map_err(|e| anyhow::anyhow!("the instance actor's key: {e}"))?;
        let instance_signer = Signer {
            key_id: urls.instance_actor_key_id(),
            key: Arc::new(key),
        };
        let inbox_limits = crate::activitypub::limits::InboxLimits::new(config.inbox_rate_limit);
        Ok(App(Arc::new(AppState {
            inbox_limits,
            config,
            db,
            urls,
            instance_key,
            client,
            instance_signer,
            accounts: Default::default(),
        })))
    }
}

impl Deref for App {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.0
    }
}
