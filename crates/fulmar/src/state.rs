//! The state every request handler and worker shares.

use std::ops::Deref;
use std::sync::Arc;

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
}

impl App {
    pub fn new(config: Config, db: Db, instance_key: InstanceKey) -> App {
        let urls = Urls::new(config.scheme(), &config.domain);
        App(Arc::new(AppState {
            config,
            db,
            urls,
            instance_key,
        }))
    }
}

impl Deref for App {
    type Target = AppState;

    fn deref(&self) -> &AppState {
        &self.0
    }
}
