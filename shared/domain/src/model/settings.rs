//! A business's program settings: their defaults and the rules they must keep, with a reason per
//! field. How a settings document is read and completed is the HTTP surface's business.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::values::error::FieldErrors;
use crate::values::money::{Currency, Money};
use crate::values::person::Country;
use crate::values::secrets::{VendorId, VendorSecret};
use crate::values::segment::Segment;
use crate::values::{ClockTime, TimeZone, WebOrigin, WebUrl};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardType {
    ServiceCredit,
    Discount,
    GiftCard,
    Custom,
}

impl RewardType {
    /// Every value, in the order they are documented.
    pub const ALL: [RewardType; 4] = [
        RewardType::ServiceCredit,
        RewardType::Discount,
        RewardType::GiftCard,
        RewardType::Custom,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualifyingStatus {
    Invoiced,
    Paid,
}

impl QualifyingStatus {
    /// Every value, in the order they are documented.
    pub const ALL: [QualifyingStatus; 2] = [QualifyingStatus::Invoiced, QualifyingStatus::Paid];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    Auto,
    Manual,
}

impl Approval {
    /// Every value, in the order they are documented.
    pub const ALL: [Approval; 2] = [Approval::Auto, Approval::Manual];
}

/// One reward tier: from the `from_referral`-th closed referral on, pay this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub from_referral: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_cents: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardProgram {
    #[serde(rename = "type")]
    pub kind: RewardType,
    pub description: String,
    pub tiers: Vec<Tier>,
}

/// The new customer's own reward in a dual-sided program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefereeReward {
    #[serde(rename = "type")]
    pub kind: RewardType,
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_cents: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
}

/// Message texts per purpose; `{placeholders}` are filled when a message is queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    pub invitation: String,
    pub acknowledgment: String,
    pub reward: String,
    pub thank_you: String,
    pub reengagement: String,
    pub progress: String,
    /// Sent once, when a referrer first reaches `vip_after` closed referrals.
    #[serde(default = "default_vip_template")]
    pub vip: String,
}

fn default_vip_template() -> String {
    "Congratulations {first_name}, you're a {business_name} VIP! Thank you for every friend you've sent us. Your rewards: {status_link}".into()
}

/// A time-boxed bonus on every referrer reward made in its window: from the start of `from` to
/// the start of `to` (days in the business's time zone; `to` is the first day after it). Either
/// `bonus_cents` more, or `multiplier_percent` of the reward (150: half as much again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Promotion {
    pub name: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bonus_cents: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiplier_percent: Option<u16>,
}

impl Promotion {
    /// Whether `day` (the business's) is in the window.
    pub fn covers(&self, day: NaiveDate) -> bool {
        self.from <= day && day < self.to
    }

    /// A reward of `cents` with the promotion: more by the bonus, or multiplied (rounded to the
    /// cent).
    pub fn apply(&self, cents: i64) -> i64 {
        match (self.bonus_cents, self.multiplier_percent) {
            (Some(bonus), _) => cents + bonus.cents(),
            (None, Some(percent)) => (cents * i64::from(percent) + 50) / 100,
            (None, None) => cents,
        }
    }

    /// For texts and the referrer's page: "Spring offer: $10 extra for every friend until
    /// Mar 31."
    pub fn text(&self, currency: &Currency) -> String {
        let last = self.to.pred_opt().unwrap_or(self.to).format("%b %-d");
        let what = match (self.bonus_cents, self.multiplier_percent) {
            (Some(bonus), _) => format!("{} extra", bonus.display(currency)),
            (None, Some(percent)) if percent % 100 == 0 => {
                format!("{}× rewards", percent / 100)
            }
            (None, Some(percent)) => format!("{}.{}× rewards", percent / 100, (percent % 100) / 10),
            (None, None) => "a bonus".to_owned(),
        };
        format!("{}: {what} for every friend until {last}.", self.name)
    }
}

/// What a VIP gets beyond the program's tiers: this much more on every reward issued while they
/// are VIP (from the reward that makes them one). A reversal that takes them below `vip_after`
/// stops it for later rewards; rewards already issued keep what they paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VipReward {
    pub extra_cents: Money,
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
    "status_link",
    "promotion",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    pub enabled: bool,
    /// Start of the quiet period, `HH:MM` in the business's time zone.
    pub quiet_start: ClockTime,
    pub quiet_end: ClockTime,
    pub daily_cap_per_number: u32,
    /// Most messages the business sends in one day (its own time zone).
    pub daily_cap_per_business: u32,
    pub send_acknowledgment: bool,
    pub send_progress: bool,
    pub templates: Templates,
    /// Templates for customers of a segment, each falling back to the default one.
    #[serde(default)]
    pub segment_templates: std::collections::BTreeMap<Segment, SegmentTemplates>,
}

/// A segment's own texts; a purpose left out uses the business's default template.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentTemplates {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledgment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thank_you: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reengagement: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip: Option<String>,
}

impl SegmentTemplates {
    /// Each purpose's field name and text, where set.
    pub fn set(&self) -> Vec<(&'static str, &str)> {
        [
            ("invitation", &self.invitation),
            ("acknowledgment", &self.acknowledgment),
            ("reward", &self.reward),
            ("thank_you", &self.thank_you),
            ("reengagement", &self.reengagement),
            ("progress", &self.progress),
            ("vip", &self.vip),
        ]
        .into_iter()
        .filter_map(|(name, text)| text.as_deref().map(|text| (name, text)))
        .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub leads_per_ip_per_hour: u32,
    pub leads_per_code_per_day: u32,
    pub review_when_leads_per_code_per_day_over: u32,
}

/// The whole program settings of a business. Start from [`Settings::defaults`]; [`Settings::check`]
/// names every field that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub name: String,
    pub time_zone: TimeZone,
    pub country: Country,
    pub currency: Currency,
    pub landing_url: WebUrl,
    pub thank_you_url: Option<WebUrl>,
    pub allowed_origins: Vec<WebOrigin>,
    pub satisfaction_threshold: u8,
    pub qualifying_status: QualifyingStatus,
    pub minimum_invoice_cents: Money,
    pub reward: RewardProgram,
    pub referee_reward: Option<RefereeReward>,
    pub approval: Approval,
    pub hold_days: u32,
    pub max_rewards_per_year: Option<u32>,
    pub vip_after: u32,
    #[serde(default)]
    pub vip_reward: Option<VipReward>,
    /// Time-boxed bonuses, in order, never overlapping.
    #[serde(default)]
    pub promotions: Vec<Promotion>,
    pub sms: SmsSettings,
    pub public_leaderboard: bool,
    pub reengage_after_days: u32,
    /// Most re-engagement texts a day: the rest wait for the next day (spread, not a burst).
    #[serde(default = "default_reengage_per_day")]
    pub reengage_per_day: u32,
    pub limits: Limits,
    /// The version of the key the referrers' page links are signed for: moving it on revokes
    /// every link sent so far (each referrer's next text carries a new one).
    #[serde(default = "first_version")]
    pub status_link_version: u32,
    /// The job software and providers this business connected; their secrets are write-only.
    #[serde(default)]
    pub integrations: Integrations,
}

/// Per-vendor settings (API.md "Integrations").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Integrations {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub housecallpro: Option<HousecallPro>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gift_cards: Option<GiftCardProvider>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobber: Option<JobberApp>,
}

/// The business's Jobber app (Jobber's Developer Center shows its client id and secret): Vouch
/// connects the business's Jobber account through it, and its secret verifies the app's
/// webhooks. The account's tokens are kept apart, never in settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobberApp {
    pub client_id: VendorId,
    pub client_secret: VendorSecret,
}

/// Who orders gift-card rewards, with the business's own account there. Without one, staff
/// buy the card and mark the reward issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GiftCardProvider {
    pub provider: GiftCardVendor,
    pub api_key: VendorSecret,
    /// What pays for the orders (`balance` for the account's balance).
    pub funding_source_id: VendorId,
    /// The campaign that sets which cards the recipient may choose and how they look; the
    /// account's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<VendorId>,
}

/// The gift-card providers Vouch can order from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GiftCardVendor {
    Tremendous,
}

impl GiftCardVendor {
    pub fn as_str(self) -> &'static str {
        match self {
            GiftCardVendor::Tremendous => "tremendous",
        }
    }
}

/// Housecall Pro's webhook signing secret for this business's account (shown in Housecall
/// Pro's webhook settings): its deliveries are verified with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HousecallPro {
    pub signing_secret: VendorSecret,
}

fn first_version() -> u32 {
    1
}

fn default_reengage_per_day() -> u32 {
    50
}

impl Settings {
    /// The promotion running at `now` (the business's day), if any.
    pub fn promotion_at(&self, now: chrono::DateTime<chrono::Utc>) -> Option<&Promotion> {
        let day = crate::values::local_day(self.time_zone, now);
        self.promotions.iter().find(|p| p.covers(day))
    }

    /// The defaults of API.md around the three settings a business must give.
    pub fn defaults(name: String, time_zone: TimeZone, landing_url: WebUrl) -> Self {
        let cents = |c| Money::from_cents(c).unwrap_or_default();
        Settings {
            name,
            time_zone,
            country: Country::US,
            currency: Currency::usd(),
            landing_url,
            thank_you_url: None,
            allowed_origins: Vec::new(),
            satisfaction_threshold: 4,
            qualifying_status: QualifyingStatus::Invoiced,
            minimum_invoice_cents: cents(0),
            reward: RewardProgram {
                kind: RewardType::ServiceCredit,
                description: "Account credit".into(),
                tiers: vec![Tier {
                    from_referral: 1,
                    amount_cents: Some(cents(2500)),
                    percent: None,
                }],
            },
            referee_reward: None,
            approval: Approval::Auto,
            hold_days: 0,
            max_rewards_per_year: None,
            vip_after: 3,
            vip_reward: None,
            promotions: Vec::new(),
            sms: SmsSettings {
                enabled: true,
                quiet_start: ClockTime::at(21, 0),
                quiet_end: ClockTime::at(8, 0),
                daily_cap_per_number: 3,
                daily_cap_per_business: 500,
                send_acknowledgment: true,
                send_progress: false,
                templates: Templates::default(),
                segment_templates: Default::default(),
            },
            public_leaderboard: false,
            reengage_after_days: 90,
            reengage_per_day: default_reengage_per_day(),
            limits: Limits {
                leads_per_ip_per_hour: 20,
                leads_per_code_per_day: 20,
                review_when_leads_per_code_per_day_over: 5,
            },
            status_link_version: 1,
            integrations: Integrations::default(),
        }
    }

    /// Every rule the settings must keep, with the dotted path of each field that breaks one.
    pub fn check(&self) -> FieldErrors {
        let mut errors = FieldErrors::new();
        let length = self.name.trim().chars().count();
        if length == 0 || length > 100 || self.name.chars().any(char::is_control) {
            errors.insert("name".into(), "must be 1-100 characters".into());
        }
        if self.allowed_origins.len() > 20 {
            errors.insert("allowed_origins".into(), "at most 20 origins".into());
        }
        in_range(
            &mut errors,
            "satisfaction_threshold",
            Some(u32::from(self.satisfaction_threshold)),
            1,
            5,
        );
        in_range(&mut errors, "hold_days", Some(self.hold_days), 0, 365);
        in_range(&mut errors, "vip_after", Some(self.vip_after), 1, 1000);
        in_range(
            &mut errors,
            "max_rewards_per_year",
            self.max_rewards_per_year,
            1,
            1000,
        );
        in_range(
            &mut errors,
            "reengage_after_days",
            Some(self.reengage_after_days),
            0,
            3650,
        );
        in_range(
            &mut errors,
            "reengage_per_day",
            Some(self.reengage_per_day),
            1,
            10_000,
        );
        in_range(
            &mut errors,
            "status_link_version",
            Some(self.status_link_version),
            1,
            1_000_000,
        );
        check_reward(&mut errors, &self.reward);
        check_promotions(&mut errors, self);
        if let Some(vip) = &self.vip_reward {
            let cents = vip.extra_cents.cents();
            if !(1..=100_000).contains(&cents) {
                errors.insert(
                    "vip_reward.extra_cents".into(),
                    "must be between 1 and 100000 cents".into(),
                );
            } else if self.reward.tiers.iter().any(|t| t.amount_cents.is_none()) {
                errors.insert(
                    "vip_reward.extra_cents".into(),
                    "needs a reward paid as an amount: every tier needs amount_cents".into(),
                );
            }
        }
        if let Some(referee) = &self.referee_reward {
            check_referee_reward(&mut errors, referee);
        }
        check_sms(&mut errors, &self.sms);
        let limits = &self.limits;
        for (field, value) in [
            ("limits.leads_per_ip_per_hour", limits.leads_per_ip_per_hour),
            (
                "limits.leads_per_code_per_day",
                limits.leads_per_code_per_day,
            ),
            (
                "limits.review_when_leads_per_code_per_day_over",
                limits.review_when_leads_per_code_per_day_over,
            ),
        ] {
            in_range(&mut errors, field, Some(value), 1, 10_000);
        }
        errors
    }

    /// The referee's offer as a landing page would show it, when the program has one.
    pub fn offer_text(&self) -> Option<String> {
        self.referee_reward
            .as_ref()
            .map(|reward| reward.description.clone())
    }

    /// Whether a page at `origin` is the business's own (one of [`Settings::origins`]).
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.origins().contains(origin)
    }

    /// The origins of the business's own pages: its allowed origins, and the origins of its
    /// landing and thank-you pages.
    pub fn origins(&self) -> std::collections::BTreeSet<String> {
        self.allowed_origins
            .iter()
            .map(|o| o.as_str().to_owned())
            .chain(
                std::iter::once(&self.landing_url)
                    .chain(self.thank_you_url.iter())
                    .map(|page| page.url().origin().ascii_serialization()),
            )
            .collect()
    }
}

impl Default for Templates {
    fn default() -> Self {
        Self {
            invitation: "Thanks for choosing {business_name}, {first_name}! Refer a friend & get {reward}: {link} Your referrals: {status_link} Reply STOP to opt out".into(),
            acknowledgment: "{first_name}, your friend {friend_first_name} just reached out to {business_name}. Thank you for the referral!".into(),
            reward: "{first_name}, your referral closed! You've earned {reward} from {business_name}.".into(),
            thank_you: "Thank you, {first_name}! Referrals like yours keep {business_name} going. Keep sharing: {link} See your rewards: {status_link}".into(),
            reengagement: "Hi {first_name}, {business_name} still rewards referrals: {reward} for every friend who books.{promotion} Your link: {link}".into(),
            progress: "{first_name}, an update from {business_name}: your friend {friend_first_name}'s job is {status}.".into(),
            vip: default_vip_template(),
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

fn check_promotions(errors: &mut FieldErrors, settings: &Settings) {
    if settings.promotions.len() > 20 {
        errors.insert("promotions".into(), "at most 20 promotions".into());
    }
    let in_money = settings
        .reward
        .tiers
        .iter()
        .all(|t| t.amount_cents.is_some());
    for (i, promotion) in settings.promotions.iter().enumerate() {
        let path = |field: &str| format!("promotions[{i}].{field}");
        let length = promotion.name.trim().chars().count();
        if length == 0 || length > 60 || promotion.name.chars().any(char::is_control) {
            errors.insert(path("name"), "must be 1-60 characters".into());
        }
        if promotion.from >= promotion.to {
            errors.insert(
                path("to"),
                "must be after from (the first day after the promotion)".into(),
            );
        }
        if let Some(previous) = i.checked_sub(1).and_then(|p| settings.promotions.get(p))
            && promotion.from < previous.to
        {
            errors.insert(
                path("from"),
                "must not overlap the promotion before (list them in order)".into(),
            );
        }
        match (promotion.bonus_cents, promotion.multiplier_percent) {
            (Some(bonus), None) if !(1..=100_000).contains(&bonus.cents()) => {
                errors.insert(path("bonus_cents"), "must be between 1 and 100000".into());
            }
            (None, Some(percent)) if !(101..=500).contains(&percent) => {
                errors.insert(
                    path("multiplier_percent"),
                    "must be between 101 and 500".into(),
                );
            }
            (Some(_), None) | (None, Some(_)) => {}
            _ => {
                errors.insert(
                    path("bonus_cents"),
                    "give exactly one of bonus_cents and multiplier_percent".into(),
                );
            }
        }
        if !in_money {
            errors.insert(
                path("bonus_cents"),
                "needs a reward paid as an amount: every tier needs amount_cents".into(),
            );
        }
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
        ("vip", &sms.templates.vip),
    ];
    for (purpose, text) in templates {
        if let Err(reason) = check_template(text) {
            errors.insert(format!("sms.templates.{purpose}"), reason);
        }
    }
    if sms.segment_templates.len() > 20 {
        errors.insert("sms.segment_templates".into(), "at most 20 segments".into());
    }
    for (segment, own) in &sms.segment_templates {
        for (purpose, text) in own.set() {
            if let Err(reason) = check_template(text) {
                errors.insert(format!("sms.segment_templates.{segment}.{purpose}"), reason);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The default invitation, filled as it is sent for a typical business: it carries two links
    /// (the one to share and the referrer's own page, whose signed token alone is some 60
    /// characters), so it takes two GSM-7 segments, not one.
    #[test]
    fn the_default_invitation_is_two_segments_with_both_links() {
        let key = crate::values::secrets::PageKey::derive(b"deployment secret");
        let token = key.token("acme-plumbing", "cus_8f3a2b71", 1);
        let vars = std::collections::BTreeMap::from([
            ("business_name", "Acme Plumbing".to_owned()),
            ("first_name", "Maria".to_owned()),
            ("reward", "$25 account credit".to_owned()),
            ("link", "https://go.acmeplumbing.com/r/ABCD2345".to_owned()),
            (
                "status_link",
                format!("https://go.acmeplumbing.com/me/{token}"),
            ),
        ]);
        let body = crate::model::message::render(&Templates::default().invitation, &vars);
        assert_eq!(
            crate::model::message::encoding_and_segments(&body),
            (crate::model::message::Encoding::Gsm7, 2),
            "{body}"
        );
        // Without the page link it would fit one.
        let without = body.replace(&format!(" Your referrals: {}", vars["status_link"]), "");
        assert_eq!(crate::model::message::segments(&without), 1, "{without}");
    }

    #[test]
    fn templates_only_use_known_placeholders() {
        assert!(check_template("Hi {first_name}, {link}").is_ok());
        assert!(check_template("Hi {first_name").is_err());
        assert!(check_template("Hi {password}").is_err());
        assert!(check_template("").is_err());
    }

    #[test]
    fn the_defaults_keep_every_rule_and_broken_rules_are_named() {
        let mut settings = crate::testing::acme_settings();
        assert_eq!(settings.check(), FieldErrors::new());
        settings.satisfaction_threshold = 9;
        settings.reward.tiers.push(Tier {
            from_referral: 1,
            amount_cents: Some(Money::from_cents(100).unwrap()),
            percent: None,
        });
        settings.sms.templates.invitation = "Hi {nickname}".into();
        let errors = settings.check();
        assert_eq!(
            errors.keys().collect::<Vec<_>>(),
            vec![
                "reward.tiers[1].from_referral",
                "satisfaction_threshold",
                "sms.templates.invitation"
            ]
        );
    }
}
