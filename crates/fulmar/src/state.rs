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
    /// The instance actor's key pair and its parsed signer (for fetches no user asks
    /// for), through [`App::instance_key`] and [`App::instance_signer`]. On a fresh
    /// database the server is ready before the key exists: generating an RSA-2048
    /// pair takes tens to hundreds of milliseconds, and only federation needs it, so
    /// it is made in the background and whatever needs it first waits for it.
    instance: tokio::sync::OnceCell<InstanceIdentity>,
    /// The one outgoing HTTP client (`fulmar_federation::client`).
    pub client: Client,
    /// Per-origin limits of the inbox (`activitypub::limits`).
    pub inbox_limits: crate::activitypub::limits::InboxLimits,
    /// Stores the inbox's jobs in group commits (`worker::inbox`).
    pub inbox_commits: crate::worker::inbox::GroupCommit,
    /// Stores new local posts in group commits (`core::post_commits`).
    pub post_commits: crate::core::post_commits::PostCommits,
    /// Keys that recently verified a signature (`activitypub::signed`).
    pub key_cache: crate::activitypub::signed::KeyCache,
    /// The blocked domains as last read, for the inbox's first check.
    pub domain_blocks: crate::core::domains::BlockList,
    /// Rendered accounts, checked against their version on every use
    /// (`mastodon::account_cache`).
    pub accounts: crate::mastodon::account_cache::AccountCache,
    /// The viewer-independent JSON of rendered statuses, checked against their
    /// version on every use (`mastodon::status_cache`).
    pub statuses: crate::mastodon::status_cache::StatusCache,
}

/// The instance actor's key pair, and the same private key parsed for signing.
struct InstanceIdentity {
    key: InstanceKey,
    signer: Signer,
}

impl InstanceIdentity {
    fn new(key: InstanceKey, urls: &Urls) -> anyhow::Result<InstanceIdentity> {
        let signing = SigningKey::from_pem(&key.private_key_pem)
            .map_err(|e| anyhow::anyhow!("the instance actor's key: {e}"))?;
        let signer = Signer {
            key_id: urls.instance_actor_key_id(),
            key: Arc::new(signing),
        };
        Ok(InstanceIdentity { key, signer })
    }
}

impl App {
    /// The state of a server. `instance_key` is the instance actor's stored key, or
    /// `None` when there is none yet: it is then generated (and stored) when first
    /// needed, see [`App::prepare_instance_key`].
    pub fn new(config: Config, db: Db, instance_key: Option<InstanceKey>) -> anyhow::Result<App> {
        let urls = Urls::new(config.scheme(), &config.domain);
        let client = Client::new(ClientConfig::new(urls.base(), config.dev_insecure))
            .map_err(|e| anyhow::anyhow!("building the HTTP client: {e}"))?;
        let instance = match instance_key {
            Some(key) => tokio::sync::OnceCell::new_with(Some(InstanceIdentity::new(key, &urls)?)),
            None => tokio::sync::OnceCell::new(),
        };
        let inbox_limits = crate::activitypub::limits::InboxLimits::new(config.inbox_rate_limit);
        let inbox_commits = crate::worker::inbox::GroupCommit::new(db.clone(), urls.clone());
        let post_commits = crate::core::post_commits::PostCommits::new(db.clone());
        Ok(App(Arc::new(AppState {
            inbox_limits,
            inbox_commits,
            post_commits,
            key_cache: Default::default(),
            domain_blocks: Default::default(),
            config,
            db,
            urls,
            instance,
            client,
            accounts: Default::default(),
            statuses: Default::default(),
        })))
    }

    /// Starts making the instance actor's key in the background if there is none
    /// yet, so that the first federation request rarely has to wait for it.
    pub fn prepare_instance_key(&self) {
        if self.instance.initialized() {
            return;
        }
        let app = self.clone();
        tokio::spawn(async move {
            app.instance_identity().await;
        });
    }

    /// The instance actor's key pair (its public half is published on `/actor`).
    pub async fn instance_key(&self) -> &InstanceKey {
        &self.instance_identity().await.key
    }

    /// The instance actor's signer, for signed fetches no user asks for.
    pub async fn instance_signer(&self) -> &Signer {
        &self.instance_identity().await.signer
    }

    /// Loads or generates the instance key once; concurrent callers wait for the one
    /// doing it. A failure (the database not answering) is logged and tried again,
    /// since nothing that needs the key can go on without it.
    async fn instance_identity(&self) -> &InstanceIdentity {
        self.instance
            .get_or_init(|| async {
                let mut delay = std::time::Duration::from_millis(100);
                loop {
                    let made = crate::core::instance::ensure_key(&self.db)
                        .await
                        .map_err(anyhow::Error::from)
                        .and_then(|key| InstanceIdentity::new(key, &self.urls));
                    match made {
                        Ok(identity) => return identity,
                        Err(e) => {
                            tracing::error!("the instance actor's key: {e:#}; trying again");
                            tokio::time::sleep(delay).await;
                            delay = (delay * 2).min(std::time::Duration::from_secs(30));
                        }
                    }
                }
            })
            .await
    }
}

impl Deref for App {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.0
    }
}
