//! Deliveries from field-service software: authenticated here, decoded at the HTTP edge into a
//! command, then delivered once per delivery id.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Vouch;
use super::run::Ran;
use crate::decide::Command;
use crate::model::business::Business;
use crate::values::error::{Error, Result};
use crate::values::ids::BusinessId;
use crate::values::signature::{self, Delivery};

/// The answer to a webhook delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub duplicate: bool,
}

impl Vouch {
    /// The business a delivery names, or 401 alike for an unknown one (no tenant enumeration).
    pub(super) async fn webhook_business(&self, raw_id: &str) -> Result<Arc<Business>> {
        let id = BusinessId::parse(raw_id).map_err(|_| Error::Unauthenticated)?;
        self.business(&id).await?.ok_or(Error::Unauthenticated)
    }

    /// A Standard Webhooks delivery: its business and delivery id once the signature checks out.
    pub async fn authenticate_webhook(
        &self,
        business_id: &str,
        delivery: Delivery<'_>,
    ) -> Result<(Arc<Business>, String)> {
        let business = self.webhook_business(business_id).await?;
        let id = signature::verify(&business.webhook_secret, delivery, self.now()).map_err(
            |reason| {
                tracing::info!(business_id, %reason, "webhook refused");
                Error::Unauthenticated
            },
        )?;
        Ok((business, id.to_owned()))
    }

    /// A Housecall Pro delivery: `Api-Timestamp` and `Api-Signature` (hex HMAC-SHA256 of
    /// `"{timestamp}.{body}"`) keyed with the signing secret the business saved from its
    /// Housecall Pro account. A business without one refuses every delivery, as an unknown
    /// business does (no tenant enumeration). Returns the business and the signed time.
    pub async fn authenticate_housecallpro(
        &self,
        business_id: &str,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<(Arc<Business>, DateTime<Utc>)> {
        let business = self.webhook_business(business_id).await?;
        let Some(account) = business.settings.integrations.housecallpro.as_ref() else {
            tracing::info!(
                business_id,
                "housecallpro delivery refused: no signing secret saved"
            );
            return Err(Error::Unauthenticated);
        };
        let signed_at = signature::verify_timestamped_hex(
            account.signing_secret.reveal().as_bytes(),
            timestamp,
            signature,
            body,
            self.now(),
        )
        .map_err(|reason| {
            tracing::info!(business_id, %reason, "housecallpro delivery refused");
            Error::Unauthenticated
        })?;
        Ok((business, signed_at))
    }

    /// Runs an authenticated delivery's command once per delivery id; `None` (a type this
    /// version ignores) is received and does nothing.
    pub async fn deliver(
        &self,
        business: &Business,
        delivery_id: &str,
        command: Option<Command>,
        link_base: &str,
    ) -> Result<Receipt> {
        let Some(mut command) = command else {
            return Ok(Receipt { duplicate: false });
        };
        if let Command::Lead(lead) = &mut command {
            lead.named = self.resolve_named(business, lead.named.clone()).await?;
        }
        match self
            .run(business, &command, Some(delivery_id), link_base)
            .await?
        {
            Ran::Duplicate => Ok(Receipt { duplicate: true }),
            Ran::Done { .. } | Ran::Repeat { .. } => Ok(Receipt { duplicate: false }),
        }
    }
}
