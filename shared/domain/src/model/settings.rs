//! A business's program settings: the document of `GET`/`PUT /api/admin/settings`, with its
//! defaults and the validation that gives a reason per field.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::values::error::FieldErrors;
use crate::values::money::{Currency, Money};
use crate::values::person::Country;
use crate::values::{ClockTime, TimeZone, WebOrigin, WebUrl};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RewardType {
    ServiceCredit,
    Discount,
    GiftCard,
    Custom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QualifyingStatus {
    Invoiced,
    Paid,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    Auto,
    Manual,
}

/// One reward tier: from the `from_referral`-th closed referral on, pay this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub from_referral: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub amount_cents: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RewardProgram {
    #[serde(rename = "type")]
    pub kind: RewardType,
    pub description: String,
    pub tiers: Vec<Tier>,
}

/// The new customer's own reward in a dual-sided program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefereeReward {
    #[serde(rename = "type")]
    pub kind: RewardType,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<i64>)]
    pub amount_cents: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
}

/// Message texts per purpose; `{placeholders}` are filled when a message is queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    pub invitation: String,
    pub acknowledgment: String,
    pub reward: String,
    pub thank_you: String,
    pub reengagement: String,
    pub progress: String,
}

/// Placeholders a template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "first_name",
    "business_name",
    "link",
    "code",
    "reward",
    "friend_first_name",
    "status",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    pub enabled: bool,
    /// Start of the quiet period, `HH:MM` in the business's time zone.
    #[schema(value_type = String, example = "21:00")]
    pub quiet_start: ClockTime,
    #[schema(value_type = String, example = "08:00")]
    pub quiet_end: ClockTime,
    pub daily_cap_per_number: u32,
    /// Most messages the business sends in one day (its own time zone).
    pub daily_cap_per_business: u32,
    pub send_acknowledgment: bool,
    pub send_progress: bool,
    pub templates: Templates,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub leads_per_ip_per_hour: u32,
    pub leads_per_code_per_day: u32,
    pub review_when_leads_per_code_per_day_over: u32,
}

/// The whole settings document. Construct it with [`Settings::complete`], which fills defaults
/// and checks every field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Settings {
    pub name: String,
    #[schema(value_type = String, example = "America/Chicago")]
    pub time_zone: TimeZone,
    #[schema(value_type = String, example = "US")]
    pub country: Country,
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    #[schema(value_type = String, example = "https://acme.example/refer")]
    pub landing_url: WebUrl,
    #[schema(value_type = Option<String>)]
    pub thank_you_url: Option<WebUrl>,
    #[schema(value_type = Vec<String>)]
    pub allowed_origins: Vec<WebOrigin>,
    pub satisfaction_threshold: u8,
    pub qualifying_status: QualifyingStatus,
    #[schema(value_type = i64)]
    pub minimum_invoice_cents: Money,
    pub reward: RewardProgram,
    pub referee_reward: Option<RefereeReward>,
    pub approval: Approval,
    pub hold_days: u32,
    pub max_rewards_per_year: Option<u32>,
    pub vip_after: u32,
    pub sms: SmsSettings,
    pub public_leaderboard: bool,
    pub reengage_after_days: u32,
    pub limits: Limits,
}

/// Every default of API.md; `name`, `time_zone` and `landing_url` have none.
fn defaults() -> Value {
    json!({
        "country": "US",
        "currency": "USD",
        "thank_you_url": null,
        "allowed_origins": [],
        "satisfaction_threshold": 4,
        "qualifying_status": "invoiced",
        "minimum_invoice_cents": 0,
        "reward": {
            "type": "service_credit",
            "description": "Account credit",
            "tiers": [{"from_referral": 1, "amount_cents": 2500}]
        },
        "referee_reward": null,
        "approval": "auto",
        "hold_days": 0,
        "max_rewards_per_year": null,
        "vip_after": 3,
        "sms": {
            "enabled": true,
            "quiet_start": "21:00",
            "quiet_end": "08:00",
            "daily_cap_per_number": 3,
            "daily_cap_per_business": 500,
            "send_acknowledgment": true,
            "send_progress": false,
            "templates": {
                "invitation": "Thanks for choosing {business_name}, {first_name}! Refer a friend & get {reward}: {link} Reply STOP to opt out",
                "acknowledgment": "{first_name}, your friend {friend_first_name} just reached out to {business_name}. Thank you for the referral!",
                "reward": "{first_name}, your referral closed! You've earned {reward} from {business_name}.",
                "thank_you": "Thank you, {first_name}! Referrals like yours keep {business_name} going. Keep sharing: {link}",
                "reengagement": "Hi {first_name}, {business_name} still rewards referrals: {reward} for every friend who books. Your link: {link}",
                "progress": "{first_name}, an update from {business_name}: your friend {friend_first_name}'s job is {status}."
            }
        },
        "public_leaderboard": false,
        "reengage_after_days": 90,
        "limits": {
            "leads_per_ip_per_hour": 20,
            "leads_per_code_per_day": 20,
            "review_when_leads_per_code_per_day_over": 5
        }
    })
}

const REQUIRED: &[&str] = &["name", "time_zone", "landing_url"];

impl Settings {
    /// Completes `doc` over `base` (the current settings, or the defaults when `None`) and checks
    /// the result. Objects merge key by key; arrays and `null` replace. Every problem is reported
    /// with the dotted path of its field.
    pub fn complete(doc: &Value, base: Option<&Settings>) -> Result<Settings, FieldErrors> {
        let mut errors = FieldErrors::new();
        let Value::Object(doc) = doc else {
            errors.insert(String::new(), "must be a JSON object".to_owned());
            return Err(errors);
        };
        let mut merged = match base {
            Some(base) => serde_json::to_value(base).unwrap_or_else(|_| defaults()),
            None => defaults(),
        };
        for key in doc.keys() {
            if !REQUIRED.contains(&key.as_str()) && !TOP_LEVEL.contains(&key.as_str()) {
                errors.insert(key.clone(), "is not a setting".to_owned());
            }
        }
        merge(&mut merged, &Value::Object(doc.clone()));

        let mut check = Checker {
            doc: &merged,
            errors: &mut errors,
        };
        let name: Option<String> = check.field("name");
        check.check::<TimeZone>("time_zone");
        check.check::<Country>("country");
        check.check::<Currency>("currency");
        check.check::<WebUrl>("landing_url");
        check.check::<Option<WebUrl>>("thank_you_url");
        let allowed_origins: Option<Vec<WebOrigin>> = check.field("allowed_origins");
        let satisfaction_threshold: Option<u8> = check.field("satisfaction_threshold");
        check.check::<QualifyingStatus>("qualifying_status");
        check.check::<Money>("minimum_invoice_cents");
        let reward: Option<RewardProgram> = check.field("reward");
        let referee_reward: Option<Option<RefereeReward>> = check.field("referee_reward");
        check.check::<Approval>("approval");
        let hold_days: Option<u32> = check.field("hold_days");
        let max_rewards_per_year: Option<Option<u32>> = check.field("max_rewards_per_year");
        let vip_after: Option<u32> = check.field("vip_after");
        let sms: Option<SmsSettings> = check.field("sms");
        check.check::<bool>("public_leaderboard");
        let reengage_after_days: Option<u32> = check.field("reengage_after_days");
        let limits: Option<Limits> = check.field("limits");

        if let Some(name) = &name {
            let length = name.trim().chars().count();
            if length == 0 || length > 100 || name.chars().any(char::is_control) {
                errors.insert("name".into(), "must be 1-100 characters".into());
            }
        }
        if let Some(origins) = &allowed_origins
            && origins.len() > 20
        {
            errors.insert("allowed_origins".into(), "at most 20 origins".into());
        }
        in_range(
            &mut errors,
            "satisfaction_threshold",
            satisfaction_threshold.map(u32::from),
            1,
            5,
        );
        in_range(&mut errors, "hold_days", hold_days, 0, 365);
        in_range(&mut errors, "vip_after", vip_after, 1, 1000);
        in_range(
            &mut errors,
            "max_rewards_per_year",
            max_rewards_per_year.flatten(),
            1,
            1000,
        );
        in_range(
            &mut errors,
            "reengage_after_days",
            reengage_after_days,
            0,
            3650,
        );
        if let Some(reward) = &reward {
            check_reward(&mut errors, reward);
        }
        if let Some(Some(referee)) = &referee_reward {
            check_referee_reward(&mut errors, referee);
        }
        if let Some(sms) = &sms {
            check_sms(&mut errors, sms);
        }
        if let Some(limits) = &limits {
            in_range(
                &mut errors,
                "limits.leads_per_ip_per_hour",
                Some(limits.leads_per_ip_per_hour),
                1,
                10_000,
            );
            in_range(
                &mut errors,
                "limits.leads_per_code_per_day",
                Some(limits.leads_per_code_per_day),
                1,
                10_000,
            );
            in_range(
                &mut errors,
                "limits.review_when_leads_per_code_per_day_over",
                Some(limits.review_when_leads_per_code_per_day_over),
                1,
                10_000,
            );
        }

        if !errors.is_empty() {
            return Err(errors);
        }
        // Every field parsed on its own above, so the whole document parses too.
        let mut settings: Settings = serde_json::from_value(merged)
            .map_err(|err| FieldErrors::from([(String::new(), err.to_string())]))?;
        settings.name = settings.name.trim().to_owned();
        Ok(settings)
    }

    /// The referee's offer as a landing page would show it, when the program has one.
    pub fn offer_text(&self) -> Option<String> {
        self.referee_reward
            .as_ref()
            .map(|reward| reward.description.clone())
    }
}

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
    "sms",
    "public_leaderboard",
    "reengage_after_days",
    "limits",
];

struct Checker<'a> {
    doc: &'a Value,
    errors: &'a mut FieldErrors,
}

impl Checker<'_> {
    /// Checks one top-level field whose value needs no further rule.
    fn check<T: DeserializeOwned>(&mut self, key: &str) {
        let _: Option<T> = self.field(key);
    }

    /// Deserialises one top-level field, recording the first problem with its full path.
    fn field<T: DeserializeOwned>(&mut self, key: &str) -> Option<T> {
        let Some(value) = self.doc.get(key) else {
            self.errors.insert(key.to_owned(), "is required".to_owned());
            return None;
        };
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(parsed) => Some(parsed),
            Err(err) => {
                let path = err.path().to_string();
                let field = if path == "." || path.is_empty() {
                    key.to_owned()
                } else if path.starts_with('[') {
                    format!("{key}{path}")
                } else {
                    format!("{key}.{path}")
                };
                self.errors.insert(field, err.inner().to_string());
                None
            }
        }
    }
}

fn in_range(errors: &mut FieldErrors, field: &str, value: Option<u32>, min: u32, max: u32) {
    if let Some(value) = value
        && !(min..=max).contains(&value)
    {
        errors.insert(field.to_owned(), format!("must be between {min} and {max}"));
    }
}

fn check_amount(
    errors: &mut FieldErrors,
    path: &str,
    kind: RewardType,
    amount: Option<Money>,
    percent: Option<u8>,
) {
    let credit_like = matches!(kind, RewardType::ServiceCredit | RewardType::GiftCard);
    if amount.is_some() && percent.is_some() {
        errors.insert(
            path.to_owned(),
            "give amount_cents or percent, not both".into(),
        );
    }
    if kind == RewardType::Discount && amount.is_none() && percent.is_none() {
        errors.insert(
            path.to_owned(),
            "a discount needs amount_cents or percent".into(),
        );
    }
    if credit_like && amount.is_none() {
        errors.insert(
            format!("{path}.amount_cents"),
            "is required for this reward type".into(),
        );
    }
    if kind != RewardType::Discount && percent.is_some() {
        errors.insert(
            format!("{path}.percent"),
            "only discounts take a percent".into(),
        );
    }
    if let Some(amount) = amount
        && amount.cents() == 0
    {
        errors.insert(format!("{path}.amount_cents"), "must be more than 0".into());
    }
    if let Some(percent) = percent
        && !(1..=100).contains(&percent)
    {
        errors.insert(
            format!("{path}.percent"),
            "must be between 1 and 100".into(),
        );
    }
}

fn check_description(errors: &mut FieldErrors, path: &str, description: &str) {
    let length = description.trim().chars().count();
    if length == 0 || length > 200 {
        errors.insert(path.to_owned(), "must be 1-200 characters".into());
    }
}

fn check_reward(errors: &mut FieldErrors, reward: &RewardProgram) {
    check_description(errors, "reward.description", &reward.description);
    if reward.tiers.is_empty() || reward.tiers.len() > 10 {
        errors.insert("reward.tiers".into(), "needs 1-10 tiers".into());
    }
    for (i, tier) in reward.tiers.iter().enumerate() {
        let path = format!("reward.tiers[{i}]");
        if tier.from_referral == 0 {
            errors.insert(format!("{path}.from_referral"), "must be 1 or more".into());
        }
        if i > 0 && tier.from_referral <= reward.tiers[i - 1].from_referral {
            errors.insert(
                format!("{path}.from_referral"),
                "tiers must ascend: each from_referral greater than the one before".into(),
            );
        }
        check_amount(errors, &path, reward.kind, tier.amount_cents, tier.percent);
    }
}

fn check_referee_reward(errors: &mut FieldErrors, reward: &RefereeReward) {
    check_description(errors, "referee_reward.description", &reward.description);
    check_amount(
        errors,
        "referee_reward",
        reward.kind,
        reward.amount_cents,
        reward.percent,
    );
}

fn check_sms(errors: &mut FieldErrors, sms: &SmsSettings) {
    if sms.quiet_start == sms.quiet_end {
        errors.insert(
            "sms.quiet_end".into(),
            "must differ from quiet_start".into(),
        );
    }
    in_range(
        errors,
        "sms.daily_cap_per_number",
        Some(sms.daily_cap_per_number),
        1,
        20,
    );
    in_range(
        errors,
        "sms.daily_cap_per_business",
        Some(sms.daily_cap_per_business),
        1,
        100_000,
    );
    let templates = [
        ("invitation", &sms.templates.invitation),
        ("acknowledgment", &sms.templates.acknowledgment),
        ("reward", &sms.templates.reward),
        ("thank_you", &sms.templates.thank_you),
        ("reengagement", &sms.templates.reengagement),
        ("progress", &sms.templates.progress),
    ];
    for (purpose, text) in templates {
        if let Err(reason) = check_template(text) {
            errors.insert(format!("sms.templates.{purpose}"), reason);
        }
    }
}

/// A template is 1–640 characters and uses only known `{placeholders}`.
pub fn check_template(text: &str) -> Result<(), String> {
    let length = text.chars().count();
    if length == 0 || length > 640 {
        return Err("must be 1-640 characters".into());
    }
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err("has an unclosed {".into());
        };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "unknown placeholder {{{name}}}; use {}",
                PLACEHOLDERS
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
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
    use super::*;

    fn minimal() -> Value {
        json!({"name": "Acme Plumbing", "time_zone": "America/Chicago", "landing_url": "https://acme.example/refer"})
    }

    #[test]
    fn a_minimal_document_gets_every_default() {
        let settings = Settings::complete(&minimal(), None).unwrap();
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
        let errors = Settings::complete(&json!({}), None).unwrap_err();
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
        let errors = Settings::complete(&doc, None).unwrap_err();
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
        let current = Settings::complete(&minimal(), None).unwrap();
        let updated = Settings::complete(
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
        let base = Settings::complete(&minimal(), None).unwrap();
        let ok = json!({"reward": {"type": "discount", "description": "10% off", "tiers": [{"from_referral": 1, "percent": 10}]}});
        assert!(Settings::complete(&ok, Some(&base)).is_ok());
        let bad = json!({"reward": {"type": "service_credit", "tiers": [{"from_referral": 1, "percent": 10}]}});
        let errors = Settings::complete(&bad, Some(&base)).unwrap_err();
        assert!(
            errors.contains_key("reward.tiers[0].amount_cents"),
            "{errors:?}"
        );
    }

    #[test]
    fn non_objects_are_refused() {
        assert!(Settings::complete(&json!([1, 2]), None).is_err());
        assert!(Settings::complete(&json!("x"), None).is_err());
    }

    #[test]
    fn templates_only_use_known_placeholders() {
        assert!(check_template("Hi {first_name}, {link}").is_ok());
        assert!(check_template("Hi {first_name").is_err());
        assert!(check_template("Hi {password}").is_err());
        assert!(check_template("").is_err());
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
            let base = Settings::complete(&minimal(), None).unwrap();
            let _ = Settings::complete(&doc, None);
            let _ = Settings::complete(&doc, Some(&base));
        }
    }
}
