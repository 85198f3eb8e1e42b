//! A business (tenant) and what it is created from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::settings::Settings;
use crate::values::ids::BusinessId;
use crate::values::secrets::WebhookSecret;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Business {
    pub id: BusinessId,
    pub settings: Settings,
    pub webhook_secret: WebhookSecret,
    pub created_at: DateTime<Utc>,
    /// Bumped by every settings change; writes are conditional on the version they read.
    pub version: u64,
}
