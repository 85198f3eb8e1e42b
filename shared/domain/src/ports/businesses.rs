//! Businesses: creation with their admin key, settings saved at the version read.

use async_trait::async_trait;

use chrono::{DateTime, Utc};

use crate::model::business::Business;
use crate::model::participant::Referrer;
use crate::model::report::Month;
use crate::model::settings::Settings;
use crate::values::code::ReferralCode;
use crate::values::ids::BusinessId;
use crate::values::secrets::KeyHash;

use super::Written;

#[async_trait]
pub trait Businesses: Send + Sync {
    /// Creates the business, its admin key and its first monthly report's place in the queue
    /// (`first_report`: the month, due then) together, unless the id is taken.
    async fn create(
        &self,
        business: &Business,
        admin_key: &KeyHash,
        first_report: (Month, DateTime<Utc>),
    ) -> anyhow::Result<Written>;
    async fn get(&self, id: &BusinessId) -> anyhow::Result<Option<Business>>;
    /// A business and the participant holding `code` (in any business), read together.
    async fn get_with_referrer(
        &self,
        id: &BusinessId,
        code: &ReferralCode,
    ) -> anyhow::Result<(Option<Business>, Option<Referrer>)>;
    async fn id_for_admin_key(&self, key: &KeyHash) -> anyhow::Result<Option<BusinessId>>;
    /// Replaces the settings (`previous` as read) if the business is still at `read_version`,
    /// bumping the version; the index of the business's origins moves with them.
    async fn save_settings(
        &self,
        id: &BusinessId,
        settings: &Settings,
        previous: &Settings,
        read_version: u64,
    ) -> anyhow::Result<Written>;
    /// Whether some business's pages are at `origin` (its settings' origins): what a browser's
    /// preflight, which names no business, is answered from.
    async fn origin_listed(&self, origin: &str) -> anyhow::Result<bool>;
}
