//! The settings document of `PUT /api/admin/settings` and of business creation: a partial
//! document is completed over the current settings (objects merge key by key; arrays and `null`
//! replace), each field is read with the path of its first problem, and the domain's rules add
//! theirs. Every problem is reported at once.

use serde::de::DeserializeOwned;
use serde_json::Value;
use vouch_domain::FieldErrors;
use vouch_domain::model::settings::{
    Approval, Integrations, Limits, Promotion, QualifyingStatus, RefereeReward, RewardProgram,
    Settings, SmsSettings, VipReward,
};
use vouch_domain::values::{BusinessId, Country, Currency, Money, TimeZone, WebOrigin, WebUrl};

const REQUIRED: &[&str] = &["name", "time_zone", "landing_url"];

const TOP_LEVEL: &[&str] = &[
    "country",
    "currency",
    "thank_you_url",
    "allowed_origins",
    "satisfaction_threshold",
    "qualifying_status",
    "minimum_invoice_cents",
    "reward",
    "referee_reward",
    "approval",
    "hold_days",
    "max_rewards_per_year",
    "vip_after",
    "vip_reward",
    "promotions",
    "sms",
    "public_leaderboard",
    "reengage_after_days",
    "reengage_per_day",
    "limits",
    "status_link_version",
    "integrations",
];

/// `{"business_id", ...settings}` of `POST /api/operator/businesses`: the id and the completed
/// settings, or a reason per bad field (the id's and the settings' together).
pub fn new_business(doc: &Value) -> Result<(BusinessId, Settings), FieldErrors> {
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
    let settings = complete(&Value::Object(settings_doc), None)
        .map_err(|more| errors.extend(more))
        .ok();
    match (id, settings) {
        (Some(id), Some(settings)) if errors.is_empty() => Ok((id, settings)),
        _ => Err(errors),
    }
}

/// Completes `doc` over `base` (the current settings, or the defaults when `None`, where `name`,
/// `time_zone` and `landing_url` are required) and checks the result.
pub fn complete(doc: &Value, base: Option<&Settings>) -> Result<Settings, FieldErrors> {
    let mut errors = FieldErrors::new();
    let Value::Object(doc) = doc else {
        errors.insert(String::new(), "must be a JSON object".to_owned());
        return Err(errors);
    };
    for key in doc.keys() {
        if !REQUIRED.contains(&key.as_str()) && !TOP_LEVEL.contains(&key.as_str()) {
            errors.insert(key.clone(), "is not a setting".to_owned());
        }
    }
    let fallback = match base {
        Some(base) => base.clone(),
        None => placeholder().map_err(|reason| FieldErrors::from([(String::new(), reason)]))?,
    };
    let mut merged = serde_json::to_value(&fallback).unwrap_or(Value::Null);
    if base.is_none()
        && let Value::Object(map) = &mut merged
    {
        for key in REQUIRED {
            map.remove(*key);
        }
    }
    let mut doc = doc.clone();
    forget_shown_flags(&mut doc);
    merge(&mut merged, &Value::Object(doc));

    let mut check = Checker {
        doc: &mut merged,
        fallback: serde_json::to_value(&fallback).unwrap_or(Value::Null),
        errors: &mut errors,
        bad: Vec::new(),
    };
    check.field::<String>("name");
    check.field::<TimeZone>("time_zone");
    check.field::<Country>("country");
    check.field::<Currency>("currency");
    check.field::<WebUrl>("landing_url");
    check.field::<Option<WebUrl>>("thank_you_url");
    check.field::<Vec<WebOrigin>>("allowed_origins");
    check.field::<u8>("satisfaction_threshold");
    check.field::<QualifyingStatus>("qualifying_status");
    check.field::<Money>("minimum_invoice_cents");
    check.field::<RewardProgram>("reward");
    check.field::<Option<RefereeReward>>("referee_reward");
    check.field::<Approval>("approval");
    check.field::<u32>("hold_days");
    check.field::<Option<u32>>("max_rewards_per_year");
    check.field::<u32>("vip_after");
    check.field::<Option<VipReward>>("vip_reward");
    check.field::<Vec<Promotion>>("promotions");
    check.field::<SmsSettings>("sms");
    check.field::<bool>("public_leaderboard");
    check.field::<u32>("reengage_after_days");
    check.field::<u32>("reengage_per_day");
    check.field::<Limits>("limits");
    check.field::<u32>("status_link_version");
    check.field::<Integrations>("integrations");
    let bad = check.bad;

    // Every field now reads (a bad one stands in with its current value), so the whole document
    // does, and the domain's rules name what else is wrong.
    let mut settings: Settings = match serde_json::from_value(merged) {
        Ok(settings) => settings,
        Err(err) => {
            errors
                .entry(String::new())
                .or_insert_with(|| err.to_string());
            return Err(errors);
        }
    };
    settings.name = settings.name.trim().to_owned();
    for (field, reason) in settings.check() {
        let top = field.split(['.', '[']).next().unwrap_or_default();
        if !bad.contains(&top) {
            errors.entry(field).or_insert(reason);
        }
    }
    if errors.is_empty() {
        Ok(settings)
    } else {
        Err(errors)
    }
}

/// The integrations' keys a document may carry back from [`shown`]: `configured` is what the
/// settings show in place of a secret, so a document read and sent back unchanged keeps them.
fn forget_shown_flags(doc: &mut serde_json::Map<String, Value>) {
    if let Some(Value::Object(integrations)) = doc.get_mut("integrations") {
        // `{"configured": true}` alone says nothing to change.
        integrations.retain(|_, vendor| match vendor {
            Value::Object(fields) => fields.remove("configured").is_none() || !fields.is_empty(),
            _ => true,
        });
    }
}

/// The settings as staff read them: every integration says whether it is configured, and no
/// secret is ever shown.
pub fn shown(settings: &Settings) -> Value {
    let mut value = serde_json::to_value(settings).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert(
            "integrations".into(),
            serde_json::json!({
                "housecallpro": {"configured": settings.integrations.housecallpro.is_some()},
                "gift_cards": gift_cards_shown(settings),
                "jobber": match &settings.integrations.jobber {
                    None => serde_json::json!({"configured": false}),
                    Some(app) => serde_json::json!({
                        "configured": true,
                        "client_id": app.client_id.as_str(),
                    }),
                },
            }),
        );
    }
    value
}

/// The gift-card provider without its API key.
fn gift_cards_shown(settings: &Settings) -> Value {
    match &settings.integrations.gift_cards {
        None => serde_json::json!({"configured": false}),
        Some(account) => {
            let mut shown = serde_json::json!({
                "configured": true,
                "provider": account.provider.as_str(),
                "funding_source_id": account.funding_source_id.as_str(),
            });
            if let Some(campaign) = &account.campaign_id {
                shown["campaign_id"] = campaign.as_str().into();
            }
            shown
        }
    }
}

/// The defaults, around stand-ins for the three settings a business must give (the document
/// always names them, or they are reported missing).
fn placeholder() -> Result<Settings, String> {
    let stand_in = WebUrl::parse("https://example.invalid/").map_err(|e| e.to_string())?;
    Ok(Settings::defaults(String::new(), TimeZone::utc(), stand_in))
}

struct Checker<'a> {
    doc: &'a mut Value,
    /// What a missing or bad field stands in with, so the rest can still be checked.
    fallback: Value,
    errors: &'a mut FieldErrors,
    /// Top-level fields with a problem of their own.
    bad: Vec<&'static str>,
}

impl Checker<'_> {
    /// Reads one top-level field, recording its first problem with its full path.
    fn field<T: DeserializeOwned>(&mut self, key: &'static str) {
        let problem = match self.doc.get(key) {
            None => Some((key.to_owned(), "is required".to_owned())),
            Some(value) => match serde_path_to_error::deserialize::<_, T>(value) {
                Ok(_) => None,
                Err(err) => {
                    let path = err.path().to_string();
                    let field = if path == "." || path.is_empty() {
                        key.to_owned()
                    } else if path.starts_with('[') {
                        format!("{key}{path}")
                    } else {
                        format!("{key}.{path}")
                    };
                    Some((field, err.inner().to_string()))
                }
            },
        };
        if let Some((field, reason)) = problem {
            self.errors.insert(field, reason);
            self.bad.push(key);
            if let (Value::Object(doc), Some(value)) = (&mut *self.doc, self.fallback.get(key)) {
                doc.insert(key.to_owned(), value.clone());
            }
        }
    }
}

/// Objects merge key by key; anything else in `patch` replaces.
fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                match base.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, patch) => *base = patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vouch_domain::model::settings::Tier;

    use super::*;

    fn minimal() -> Value {
        json!({"name": "Acme Plumbing", "time_zone": "America/Chicago", "landing_url": "https://acme.example/refer"})
    }

    #[test]
    fn a_minimal_document_gets_every_default() {
        let settings = complete(&minimal(), None).unwrap();
        assert_eq!(settings.satisfaction_threshold, 4);
        assert_eq!(
            settings.reward.tiers,
            vec![Tier {
                from_referral: 1,
                amount_cents: Money::from_cents(2500).ok(),
                percent: None
            }]
        );
        assert_eq!(settings.sms.daily_cap_per_number, 3);
        assert_eq!(settings.currency.as_str(), "USD");
        assert_eq!(settings.limits.review_when_leads_per_code_per_day_over, 5);
        let shown = serde_json::to_value(&settings).unwrap();
        assert_eq!(shown["sms"]["quiet_start"], "21:00");
        assert_eq!(shown["time_zone"], "America/Chicago");
    }

    #[test]
    fn the_three_required_fields_are_reported() {
        let errors = complete(&json!({}), None).unwrap_err();
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            vec!["landing_url", "name", "time_zone"]
        );
    }

    #[test]
    fn bad_values_get_a_reason_per_field() {
        let doc = json!({
            "name": "Acme", "time_zone": "Mars/Olympus", "landing_url": "javascript:alert(1)",
            "satisfaction_threshold": 9, "qualifying_status": "completed",
            "allowed_origins": ["https://acme.example/path"],
            "sms": {"quiet_start": "25:00", "templates": {"invitation": "Hi {nickname}"}},
            "reward": {"tiers": [{"from_referral": 3, "amount_cents": 5000}, {"from_referral": 1, "amount_cents": 2500}]},
            "colour": "blue"
        });
        let errors = complete(&doc, None).unwrap_err();
        for field in [
            "time_zone",
            "landing_url",
            "satisfaction_threshold",
            "qualifying_status",
            "allowed_origins[0]",
            "sms.quiet_start",
            "reward.tiers[1].from_referral",
            "colour",
        ] {
            assert!(
                errors.keys().any(|k| k.starts_with(field)),
                "{field} missing from {errors:?}"
            );
        }
    }

    #[test]
    fn a_partial_document_completes_from_the_current_settings() {
        let current = complete(&minimal(), None).unwrap();
        let updated = complete(
            &json!({"sms": {"send_progress": true}, "hold_days": 14}),
            Some(&current),
        )
        .unwrap();
        assert!(updated.sms.send_progress);
        assert_eq!(updated.hold_days, 14);
        assert_eq!(updated.name, "Acme Plumbing");
        assert_eq!(updated.sms.templates, current.sms.templates);
    }

    #[test]
    fn discount_tiers_take_a_percent_and_credit_tiers_do_not() {
        let base = complete(&minimal(), None).unwrap();
        let ok = json!({"reward": {"type": "discount", "description": "10% off", "tiers": [{"from_referral": 1, "percent": 10}]}});
        assert!(complete(&ok, Some(&base)).is_ok());
        let bad = json!({"reward": {"type": "service_credit", "tiers": [{"from_referral": 1, "percent": 10}]}});
        let errors = complete(&bad, Some(&base)).unwrap_err();
        assert!(
            errors.contains_key("reward.tiers[0].amount_cents"),
            "{errors:?}"
        );
    }

    #[test]
    fn non_objects_are_refused() {
        assert!(complete(&json!([1, 2]), None).is_err());
        assert!(complete(&json!("x"), None).is_err());
    }

    fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "\\PC{0,20}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                proptest::collection::btree_map(
                    prop_oneof![
                        Just("name".to_owned()),
                        Just("reward".to_owned()),
                        Just("tiers".to_owned()),
                        Just("sms".to_owned()),
                        Just("templates".to_owned()),
                        Just("limits".to_owned()),
                        Just("time_zone".to_owned()),
                        Just("quiet_start".to_owned()),
                        "[a-z_]{1,12}"
                    ],
                    inner,
                    0..5,
                )
                .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn completing_any_document_never_panics(doc in arbitrary_json()) {
            let base = complete(&minimal(), None).unwrap();
            let _ = complete(&doc, None);
            let _ = complete(&doc, Some(&base));
        }
    }

    #[test]
    fn creation_reports_id_and_settings_problems_together() {
        let errors =
            new_business(&json!({"business_id": "Bad Id", "time_zone": "Nowhere"})).unwrap_err();
        for field in ["business_id", "name", "time_zone", "landing_url"] {
            assert!(errors.contains_key(field), "{field}: {errors:?}");
        }
    }

    #[test]
    fn a_minimal_creation_parses() {
        let new = new_business(&json!({
            "business_id": "acme-plumbing", "name": "Acme Plumbing",
            "time_zone": "America/Chicago", "landing_url": "https://acme.example/refer"
        }))
        .unwrap();
        assert_eq!(new.0.as_str(), "acme-plumbing");
        assert_eq!(new.1.name, "Acme Plumbing");
    }
}
