//! A business (tenant) and what it is created from.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::settings::Settings;
use crate::values::error::FieldErrors;
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

/// A parsed `POST /api/operator/businesses` body.
#[derive(Debug)]
pub struct NewBusiness {
    pub id: BusinessId,
    pub settings: Settings,
}

impl NewBusiness {
    /// `{"business_id", ...settings}`; every problem is reported at once.
    pub fn parse(doc: &Value) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let Value::Object(map) = doc else {
            errors.insert(String::new(), "must be a JSON object".to_owned());
            return Err(errors);
        };
        let mut settings_doc = map.clone();
        let id = match settings_doc.remove("business_id") {
            Some(Value::String(raw)) => BusinessId::parse(&raw)
                .map_err(|err| errors.insert("business_id".into(), err.reason().to_owned()))
                .ok(),
            Some(_) => {
                errors.insert("business_id".into(), "must be a string".into());
                None
            }
            None => {
                errors.insert("business_id".into(), "is required".into());
                None
            }
        };
        let settings = Settings::complete(&Value::Object(settings_doc), None)
            .map_err(|more| errors.extend(more))
            .ok();
        match (id, settings) {
            (Some(id), Some(settings)) if errors.is_empty() => Ok(Self { id, settings }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn creation_reports_id_and_settings_problems_together() {
        let errors = NewBusiness::parse(&json!({"business_id": "Bad Id", "time_zone": "Nowhere"}))
            .unwrap_err();
        for field in ["business_id", "name", "time_zone", "landing_url"] {
            assert!(errors.contains_key(field), "{field}: {errors:?}");
        }
    }

    #[test]
    fn a_minimal_creation_parses() {
        let new = NewBusiness::parse(&json!({
            "business_id": "acme-plumbing", "name": "Acme Plumbing",
            "time_zone": "America/Chicago", "landing_url": "https://acme.example/refer"
        }))
        .unwrap();
        assert_eq!(new.id.as_str(), "acme-plumbing");
        assert_eq!(new.settings.name, "Acme Plumbing");
    }
}
