//! Businesses: the operator creates them, staff authenticate with their admin key and change
//! their settings.

use serde::Serialize;

use super::Vouch;
use super::reports::first_report;
use crate::model::business::Business;
use crate::model::settings::Settings;
use crate::ports::Written;
use crate::values::error::{Error, FieldErrors, Result};
use crate::values::ids::BusinessId;
use crate::values::secrets::{AdminKey, KeyHash, WebhookSecret, keys_match};

/// Proof that the caller presented the operator key; only [`Vouch::authorise_operator`] makes one.
#[derive(Debug)]
pub struct Operator(());

/// What the operator gets back once: the admin key is never shown again.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedBusiness {
    pub business_id: BusinessId,
    pub admin_api_key: String,
    pub webhook_secret: String,
}

impl Vouch {
    /// The operator key of `POST /api/operator/businesses`; none configured refuses every key.
    pub fn authorise_operator(&self, presented: Option<&str>) -> Result<Operator> {
        match (&self.config.operator_key, presented) {
            (Some(expected), Some(presented)) if keys_match(expected, presented) => {
                Ok(Operator(()))
            }
            _ => Err(Error::Unauthenticated),
        }
    }

    /// Creates a business with its admin key and webhook secret, unless the id is taken.
    pub async fn create_business(
        &self,
        _operator: &Operator,
        id: BusinessId,
        settings: Settings,
    ) -> Result<CreatedBusiness> {
        checked(&settings)?;
        let admin_key = AdminKey::generate();
        let business = Business {
            id,
            settings,
            webhook_secret: WebhookSecret::generate(),
            created_at: self.now(),
            version: 1,
        };
        // The first monthly report is queued with the business.
        let first_report = first_report(business.settings.time_zone, business.created_at);
        match self
            .ports
            .businesses
            .create(&business, &admin_key.hash(), first_report)
            .await?
        {
            Written::Applied => Ok(CreatedBusiness {
                business_id: business.id,
                admin_api_key: admin_key.reveal().to_owned(),
                webhook_secret: business.webhook_secret.reveal().to_owned(),
            }),
            Written::Refused => Err(Error::Conflict {
                code: "business_exists",
                message: "a business with this business_id already exists".into(),
            }),
        }
    }

    /// Resolves a bearer admin key to its business.
    pub async fn authenticate_admin(&self, bearer: Option<&str>) -> Result<BusinessId> {
        let Some(token) = bearer.filter(|t| t.starts_with("vouch_ak_") && t.len() <= 128) else {
            return Err(Error::Unauthenticated);
        };
        self.ports
            .businesses
            .id_for_admin_key(&KeyHash::of(token))
            .await?
            .ok_or(Error::Unauthenticated)
    }

    /// Whether a browser on `origin` may post some business's lead form (a preflight names no
    /// business; the post itself is checked against the business it names).
    pub async fn origin_listed(&self, origin: &str) -> Result<bool> {
        if origin.len() > 300 {
            return Ok(false);
        }
        Ok(self.ports.businesses.origin_listed(origin).await?)
    }

    pub async fn settings(&self, id: &BusinessId) -> Result<Settings> {
        // Staff expect to see what they just saved, so this read skips the cache.
        let business = self
            .ports
            .businesses
            .get(id)
            .await?
            .ok_or(Error::NotFound("business"))?;
        Ok(business.settings)
    }

    /// Replaces the settings with what `change` makes of the current ones, if they pass every
    /// rule and nobody changed them in between.
    pub async fn replace_settings(
        &self,
        id: &BusinessId,
        change: impl FnOnce(&Settings) -> Result<Settings, FieldErrors>,
    ) -> Result<Settings> {
        let current = self
            .ports
            .businesses
            .get(id)
            .await?
            .ok_or(Error::NotFound("business"))?;
        let settings = change(&current.settings).map_err(Error::Validation)?;
        checked(&settings)?;
        match self
            .ports
            .businesses
            .save_settings(id, &settings, &current.settings, current.version)
            .await?
        {
            Written::Applied => {
                self.cache.forget(id);
                if current.settings.integrations.housecallpro != settings.integrations.housecallpro
                {
                    // The secret itself is never logged.
                    tracing::info!(
                        business_id = %id,
                        configured = settings.integrations.housecallpro.is_some(),
                        "housecallpro signing secret changed"
                    );
                }
                if current.settings.integrations.gift_cards != settings.integrations.gift_cards {
                    tracing::info!(
                        business_id = %id,
                        configured = settings.integrations.gift_cards.is_some(),
                        "gift card provider changed"
                    );
                }
                if current.settings.integrations.jobber != settings.integrations.jobber {
                    tracing::info!(
                        business_id = %id,
                        configured = settings.integrations.jobber.is_some(),
                        by = %self.acting,
                        "jobber app changed"
                    );
                    // Without the app its account's tokens cannot be used or refreshed.
                    if settings.integrations.jobber.is_none() {
                        self.disconnect_jobber(id).await?;
                    }
                }
                Ok(settings)
            }
            Written::Refused => Err(Error::Conflict {
                code: "settings_changed",
                message: "the settings changed while saving; read them again and retry".into(),
            }),
        }
    }
}

/// Settings that break a rule never reach the store.
fn checked(settings: &Settings) -> Result<()> {
    let errors = settings.check();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Validation(errors))
    }
}
