//! Builds the application from configuration: one SDK config, one counted client, one store.

use std::sync::Arc;

use vouch_domain::ports::SystemClock;
use vouch_domain::secrets::IpHasher;
use vouch_domain::services::{Ports, ServiceConfig, Vouch};

use crate::{Config, DynamoStore, RequestCounter};

/// The application and the counter of its DynamoDB requests. No network is touched here.
pub async fn application(config: &Config) -> (Vouch, DynamoStore, RequestCounter) {
    let sdk = config.sdk_config().await;
    let counter = RequestCounter::default();
    let store = DynamoStore::new(DynamoStore::client(&sdk, &counter), config.table.clone());
    let vouch = Vouch::new(
        Ports::from_store(Arc::new(store.clone()), Arc::new(SystemClock)),
        ServiceConfig {
            operator_key: config.operator_key.clone(),
            ip_hasher: IpHasher::new(&config.ip_hash_key),
        },
    );
    (vouch, store, counter)
}
