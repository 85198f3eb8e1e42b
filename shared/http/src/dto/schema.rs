//! The OpenAPI schemas of domain values. Enums are generated from the domain's own lists of
//! values (`ALL`, spelt as they serialise), so the document cannot drift from them; the shapes
//! of domain documents are mirrored here for the document only, and a test holds each mirror to
//! what the domain value serialises to.

use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{
    ArrayBuilder, KnownFormat, Object, ObjectBuilder, SchemaFormat, Type,
};
use vouch_domain::app::{DEFAULT_PAGE, MAX_PAGE, SEARCH_CHARS};
use vouch_domain::model::click::Channel;
use vouch_domain::model::message::{Purpose, Reason, Status as MessageStatus};
use vouch_domain::model::participant::ParticipantSort;
use vouch_domain::model::referral::{Flag, Source, Status as ReferralStatus};
use vouch_domain::model::report::PeriodKind;
use vouch_domain::model::reward::{Recipient, RewardStatus};
use vouch_domain::model::settings::{Approval, QualifyingStatus, RewardType};
use vouch_domain::values::ids::ULID_PATTERN;
use vouch_domain::values::{BusinessId, CustomerId};

/// A string schema listing `values` as they serialise.
pub fn one_of<T: Serialize>(values: &[T], description: &str) -> Object {
    let names: Vec<String> = values
        .iter()
        .filter_map(|v| serde_json::to_value(v).ok())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .description(Some(description))
        .build()
}

pub fn purpose() -> Object {
    one_of(&Purpose::ALL, "What the text is for")
}

pub fn message_status() -> Object {
    one_of(&MessageStatus::ALL, "Where the text stands")
}

pub fn reason() -> Object {
    one_of(
        &Reason::ALL,
        "Why the text is suppressed, deferred or failed",
    )
}

pub fn source() -> Object {
    one_of(&Source::ALL, "How the lead named its referrer")
}

pub fn referral_status() -> Object {
    one_of(&ReferralStatus::ALL, "Where the referral stands")
}

pub fn flags() -> utoipa::openapi::schema::Array {
    ArrayBuilder::new()
        .items(one_of(
            &Flag::ALL,
            "Why it was rejected or held, or what staff did",
        ))
        .build()
}

pub fn reward_status() -> Object {
    one_of(&RewardStatus::ALL, "Where the reward stands")
}

pub fn recipient() -> Object {
    one_of(&Recipient::ALL, "Who gets the reward")
}

pub fn reward_type() -> Object {
    one_of(&RewardType::ALL, "The kind of reward")
}

pub fn qualifying_status() -> Object {
    one_of(
        &QualifyingStatus::ALL,
        "The job status that qualifies a referral",
    )
}

pub fn approval() -> Object {
    one_of(&Approval::ALL, "Whether rewards wait for staff")
}

pub fn channel() -> Object {
    one_of(&Channel::ALL, "Where the link was shared")
}

pub fn staff_reward_status() -> Object {
    one_of(
        &RewardStatus::SET_BY_STAFF,
        "The status staff move the reward to",
    )
}

pub fn participant_sort() -> Object {
    one_of(
        &ParticipantSort::ALL,
        "`recent`: most recently enrolled first; `closed`: most closed referrals first",
    )
}

fn text(
    pattern: Option<&str>,
    min: Option<usize>,
    max: Option<usize>,
    description: &str,
) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(pattern)
        .min_length(min)
        .max_length(max)
        .description(Some(description))
        .build()
}

/// A business id (a slug).
pub fn business_id() -> Object {
    text(Some(BusinessId::PATTERN), None, None, "The business's id")
}

/// A customer id as the field-service software gives it.
pub fn customer_id() -> Object {
    text(Some(CustomerId::PATTERN), None, None, "The customer's id")
}

/// An id Vouch made (a ULID): referrals, rewards, messages.
pub fn ulid() -> Object {
    text(Some(ULID_PATTERN), None, None, "A ULID")
}

/// The cursor of a list paged by id: the last id of the page before.
pub fn id_cursor() -> Object {
    text(
        Some(ULID_PATTERN),
        None,
        None,
        "`next_cursor` of the page before",
    )
}

/// The cursor of the participant list: opaque.
pub fn participant_cursor() -> Object {
    text(None, Some(1), Some(512), "`next_cursor` of the page before")
}

/// A customer search.
pub fn search() -> Object {
    text(
        None,
        Some(*SEARCH_CHARS.start()),
        Some(*SEARCH_CHARS.end()),
        "A name (either order, from the start of a word) or a phone number",
    )
}

/// How many items a page holds.
pub fn page_size() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(MAX_PAGE))
        .default(Some(DEFAULT_PAGE.into()))
        .description(Some("How many items a page holds"))
        .build()
}

/// A report's channel: where the link was shared, or `none` (no click behind it).
pub fn report_channel() -> Object {
    let mut names: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
    names.push("none");
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .description(Some(
            "Where the link was shared; `none`: no click behind it",
        ))
        .build()
}

/// A leaderboard's period.
pub fn period() -> Object {
    one_of(
        &PeriodKind::ALL,
        "`all` time, this `year` or this `month`, in the business's time zone",
    )
}

/// A local day.
pub fn date() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
        .description(Some("A day, `YYYY-MM-DD`, in the business's time zone"))
        .build()
}

/// A calendar month.
pub fn month() -> Object {
    text(
        Some("^[0-9]{4}-(0[1-9]|1[0-2])$"),
        None,
        None,
        "A month, `YYYY-MM`",
    )
}

/// How a report is returned.
pub fn report_format() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["json", "csv"]))
        .description(Some("`json` (default) or `csv`"))
        .build()
}

/// How many leaderboard rows.
pub fn board_size() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(vouch_domain::app::MAX_BOARD))
        .default(Some(vouch_domain::app::DEFAULT_BOARD.into()))
        .description(Some("How many rows"))
        .build()
}

/// A person on either side of a referral.
#[derive(ToSchema)]
#[schema(as = Person)]
pub struct PersonSchema {
    pub customer_id: String,
    pub name: String,
}

/// One decision in a referral's history.
#[derive(ToSchema)]
#[schema(as = Decision)]
pub struct DecisionSchema {
    pub at: String,
    #[schema(schema_with = referral_status)]
    pub status: String,
    pub reason: String,
    /// Who decided, when a person did: "Olivia (owner)", or "admin key" for the API.
    pub by: Option<String>,
}

/// One change in a reward's audit.
#[derive(ToSchema)]
#[schema(as = RewardChange)]
pub struct RewardChangeSchema {
    pub at: String,
    #[schema(schema_with = reward_status)]
    pub status: String,
    /// Who or what moved it: `rules`, `scheduler`, `staff`.
    pub by: String,
    pub note: Option<String>,
}

/// A participant's own reward, replacing the program's tiers for them.
#[derive(ToSchema)]
#[schema(as = RewardOverride)]
pub struct RewardOverrideSchema {
    #[schema(schema_with = reward_type)]
    pub r#type: String,
    pub amount_cents: Option<i64>,
    pub percent: Option<u8>,
    pub description: String,
}

/// A customer as the field-service software or staff describe them.
#[derive(ToSchema)]
#[schema(as = CustomerInput)]
pub struct CustomerSchema {
    /// The field-service software's id.
    pub id: String,
    pub first_name: String,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub sms_consent: Option<bool>,
}

/// `POST /api/admin/participants`: an existing customer's id, or the customer.
#[derive(ToSchema)]
#[schema(as = EnrolRequest)]
pub struct EnrolSchema {
    pub customer_id: Option<String>,
    pub customer: Option<CustomerSchema>,
    /// Send the invitation text now.
    pub send_invitation: Option<bool>,
}

/// One reward tier: from the `from_referral`-th closed referral on, pay this.
#[derive(ToSchema)]
#[schema(as = Tier)]
pub struct TierSchema {
    pub from_referral: u32,
    pub amount_cents: Option<i64>,
    pub percent: Option<u8>,
}

#[derive(ToSchema)]
#[schema(as = RewardProgram)]
pub struct RewardProgramSchema {
    #[schema(schema_with = reward_type)]
    pub r#type: String,
    pub description: String,
    pub tiers: Vec<TierSchema>,
}

/// The new customer's own reward in a dual-sided program.
#[derive(ToSchema)]
#[schema(as = RefereeReward)]
pub struct RefereeRewardSchema {
    #[schema(schema_with = reward_type)]
    pub r#type: String,
    pub description: String,
    pub amount_cents: Option<i64>,
    pub percent: Option<u8>,
}

/// Message texts per purpose; `{placeholders}` are filled when a message is queued.
#[derive(ToSchema)]
#[schema(as = Templates)]
pub struct TemplatesSchema {
    pub invitation: String,
    pub acknowledgment: String,
    pub reward: String,
    pub thank_you: String,
    pub reengagement: String,
    pub progress: String,
    /// Sent once, when a referrer first reaches `vip_after` closed referrals.
    pub vip: String,
}

/// A time-boxed bonus on referrer rewards made from `from` up to (not including) `to`, days in
/// the business's time zone; exactly one of `bonus_cents` (1–100000) and `multiplier_percent`
/// (101–500). Promotions are listed in order and never overlap.
#[derive(ToSchema)]
#[schema(as = Promotion)]
pub struct PromotionSchema {
    /// 1–60 characters, said in texts (`{promotion}`) and on the referrer's page.
    pub name: String,
    #[schema(format = Date)]
    pub from: String,
    #[schema(format = Date)]
    pub to: String,
    pub bonus_cents: Option<i64>,
    pub multiplier_percent: Option<u16>,
}

/// More on every reward issued while the referrer is VIP.
#[derive(ToSchema)]
#[schema(as = VipReward)]
pub struct VipRewardSchema {
    /// 1–100000; needs a program paid as an amount (every tier with `amount_cents`).
    pub extra_cents: i64,
}

#[derive(ToSchema)]
#[schema(as = SmsSettings)]
pub struct SmsSchema {
    pub enabled: bool,
    /// Start of the quiet period, `HH:MM` in the business's time zone.
    #[schema(example = "21:00")]
    pub quiet_start: String,
    #[schema(example = "08:00")]
    pub quiet_end: String,
    pub daily_cap_per_number: u32,
    /// Most messages the business sends in one day (its own time zone).
    pub daily_cap_per_business: u32,
    pub send_acknowledgment: bool,
    pub send_progress: bool,
    pub templates: TemplatesSchema,
    /// Per customer segment (`residential`, `property_manager`…: 1-40 lowercase letters,
    /// digits or underscores), templates that replace the defaults for its customers; at most
    /// 20 segments, each purpose optional.
    pub segment_templates: std::collections::BTreeMap<String, SegmentTemplatesSchema>,
}

/// A segment's own texts; a purpose left out uses the business's default template.
#[derive(ToSchema)]
#[schema(as = SegmentTemplates)]
pub struct SegmentTemplatesSchema {
    pub invitation: Option<String>,
    pub acknowledgment: Option<String>,
    pub reward: Option<String>,
    pub thank_you: Option<String>,
    pub reengagement: Option<String>,
    pub progress: Option<String>,
    pub vip: Option<String>,
}

#[derive(ToSchema)]
#[schema(as = Limits)]
pub struct LimitsSchema {
    pub leads_per_ip_per_hour: u32,
    pub leads_per_code_per_day: u32,
    pub review_when_leads_per_code_per_day_over: u32,
}

/// The program settings of a business.
#[derive(ToSchema)]
#[schema(as = Settings)]
pub struct SettingsSchema {
    pub name: String,
    #[schema(example = "America/Chicago")]
    pub time_zone: String,
    #[schema(example = "US")]
    pub country: String,
    #[schema(example = "USD")]
    pub currency: String,
    #[schema(example = "https://acme.example/refer")]
    pub landing_url: String,
    pub thank_you_url: Option<String>,
    pub allowed_origins: Vec<String>,
    pub satisfaction_threshold: u8,
    #[schema(schema_with = qualifying_status)]
    pub qualifying_status: String,
    pub minimum_invoice_cents: i64,
    pub reward: RewardProgramSchema,
    pub referee_reward: Option<RefereeRewardSchema>,
    #[schema(schema_with = approval)]
    pub approval: String,
    pub hold_days: u32,
    pub max_rewards_per_year: Option<u32>,
    pub vip_after: u32,
    pub vip_reward: Option<VipRewardSchema>,
    pub promotions: Vec<PromotionSchema>,
    pub sms: SmsSchema,
    pub public_leaderboard: bool,
    pub reengage_after_days: u32,
    /// Most re-engagement texts a day (1–10000); the rest wait for the next day.
    pub reengage_per_day: u32,
    pub limits: LimitsSchema,
    /// Moving it on revokes every referrer's page link sent so far.
    pub status_link_version: u32,
    /// Write `{"housecallpro": {"signing_secret": "…"}}` or `{"gift_cards": {"provider":
    /// "tremendous", "api_key": "…", "funding_source_id": "balance"}}` or `{"jobber":
    /// {"client_id": "…", "client_secret": "…"}}`; read back, secrets show as `configured`.
    /// `null` removes an integration.
    pub integrations: IntegrationsSchema,
}

/// The integrations as the settings show them.
#[derive(ToSchema)]
#[schema(as = Integrations)]
pub struct IntegrationsSchema {
    pub housecallpro: ConfiguredSchema,
    pub gift_cards: GiftCardsSchema,
    pub jobber: JobberSchema,
}

/// The Jobber app as the settings show it (the client secret is write-only). The account is
/// connected from the dashboard (`GET /integrations/jobber/connect`); its tokens are never
/// shown.
#[derive(ToSchema)]
#[schema(as = Jobber)]
pub struct JobberSchema {
    /// A client id and secret are saved.
    pub configured: bool,
    #[schema(nullable = false)]
    pub client_id: Option<String>,
    /// Written, never shown.
    #[schema(nullable = false, write_only)]
    pub client_secret: Option<String>,
}

/// The gift-card provider as the settings show it (the API key is write-only: send
/// `api_key` to set it).
#[derive(ToSchema)]
#[schema(as = GiftCards)]
pub struct GiftCardsSchema {
    /// A provider and its API key are saved.
    pub configured: bool,
    /// `tremendous`.
    #[schema(nullable = false)]
    pub provider: Option<String>,
    /// Written, never shown.
    #[schema(nullable = false, write_only)]
    pub api_key: Option<String>,
    #[schema(nullable = false)]
    pub funding_source_id: Option<String>,
    #[schema(nullable = false)]
    pub campaign_id: Option<String>,
}

/// An integration whose secret is write-only.
#[derive(ToSchema)]
#[schema(as = Configured)]
pub struct ConfiguredSchema {
    /// A secret is saved (it is never shown).
    pub configured: bool,
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;
    use utoipa::openapi::{RefOr, Schema};

    /// The property names of a schema.
    pub fn properties(schema: RefOr<Schema>) -> BTreeSet<String> {
        match schema {
            RefOr::T(Schema::Object(object)) => object.properties.keys().cloned().collect(),
            _ => panic!("not an object schema"),
        }
    }

    /// The keys a domain value serialises to.
    pub fn keys(value: impl serde::Serialize) -> BTreeSet<String> {
        match serde_json::to_value(value).unwrap() {
            Value::Object(map) => map.keys().cloned().collect(),
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn enums_list_what_the_domain_serialises() {
        let object = super::reward_status();
        let values: Vec<Value> = object.enum_values.unwrap();
        assert_eq!(
            values,
            [
                "pending", "approved", "issued", "redeemed", "canceled", "reversed"
            ]
            .map(Value::from)
            .to_vec()
        );
    }

    #[test]
    fn mirrored_shapes_name_what_the_domain_serialises() {
        use utoipa::PartialSchema;
        use vouch_domain::model::reward::RewardOverride;
        use vouch_domain::model::settings::RewardType;

        let settings = vouch_domain::testing::acme_settings();
        assert_eq!(
            properties(super::SettingsSchema::schema()),
            keys(crate::dto::settings::shown(&settings))
        );
        assert_eq!(properties(super::SmsSchema::schema()), keys(&settings.sms));
        assert_eq!(
            properties(super::TemplatesSchema::schema()),
            keys(&settings.sms.templates)
        );
        assert_eq!(
            properties(super::LimitsSchema::schema()),
            keys(&settings.limits)
        );
        assert_eq!(
            properties(super::RewardProgramSchema::schema()),
            keys(&settings.reward)
        );
        let own = RewardOverride {
            kind: RewardType::ServiceCredit,
            amount_cents: None,
            percent: None,
            description: "Credit".into(),
        };
        assert_eq!(
            properties(super::RewardOverrideSchema::schema()),
            keys(&own)
        );
    }
}
