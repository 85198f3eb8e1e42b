//! Path and header parameters as the API document describes them, with the patterns of the
//! domain's own ids.

use utoipa::IntoParams;

use super::schema;

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct CustomerPath {
    #[param(schema_with = schema::customer_id)]
    pub customer_id: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ReferralPath {
    #[param(schema_with = schema::ulid)]
    pub referral_id: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RewardPath {
    #[param(schema_with = schema::ulid)]
    pub reward_id: String,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct BusinessPath {
    #[param(schema_with = schema::business_id)]
    pub business_id: String,
}

/// The Standard Webhooks headers of a delivery.
#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub struct WebhookHeaders {
    /// The delivery's unique id; a repeat is answered as a duplicate and does nothing.
    #[param(rename = "webhook-id")]
    pub id: String,
    /// Unix seconds; more than 5 minutes from now either way is refused.
    #[param(rename = "webhook-timestamp")]
    pub timestamp: String,
    /// Space-separated `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{raw body}">`.
    #[param(rename = "webhook-signature")]
    pub signature: String,
}
