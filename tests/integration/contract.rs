//! Port contracts: the promises of the storage ports, each written once and run against both
//! implementations. `contract::fake::*` runs them on `testing::InMemoryStore`;
//! `contract::dynamo::*` (emulator) on `DynamoStore` over a table of its own per test.
//!
//! Times are whole seconds from a fixed instant: DynamoDB keeps TTL attributes (click and
//! repeat-key expiries) to the second.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::json;
use vouch_aws::{DynamoStore, RequestCounter};
use vouch_domain::decide::{
    Command, Context, CounterBump, IndexEntry, IssueDue, LoadKeys, Overrides, Plan, Refusal,
    SearchUpdate, Snapshot, StatsDelta, YearBump, decide,
};
use vouch_domain::model::business::Business;
use vouch_domain::model::click::{Channel, Click};
use vouch_domain::model::contact::Contact;
use vouch_domain::model::contact::CustomerDetails;
use vouch_domain::model::events::DomainEvent;
use vouch_domain::model::job::Job;
use vouch_domain::model::job::JobStatus;
use vouch_domain::model::jobber::{JobberConnection, JobberId, JobberTokens, OAuthToken};
use vouch_domain::model::lead::{CounterKey, LeadKey};
use vouch_domain::model::message::{Message, Purpose, Reason, Status};
use vouch_domain::model::participant::{Participant, ParticipantSort, ReengageDue};
use vouch_domain::model::referral::{LeadSide, Person, Referral, Source, Status as ReferralStatus};
use vouch_domain::model::report::{
    BoardMove, DayCounts, Figure, Month, MonthlyReport, Period, Tally,
};
use vouch_domain::model::reward::{
    LedgerEntry, Recipient as RewardRecipient, Reward, RewardOverride, RewardStatus,
};
use vouch_domain::model::search::{SearchEntry, SearchKey, SearchQuery};
use vouch_domain::model::settings::RewardType;
use vouch_domain::model::staff::{Invite, Role as StaffRole, Session, StaffMember};
use vouch_domain::ports::JobberLinks;
use vouch_domain::ports::{
    Businesses, Clicks, Finish, MessageFilter, Outbox, Page, Participants, Position, ProgramStore,
    Rate, RateKey, RateLimits, Recipient, Recipients, Referrals, Reports, Rewards, SendOutcome,
    SendResult, Staff, Written,
};
use vouch_domain::rules::sending::SendGuard;
use vouch_domain::testing::InMemoryStore;
use vouch_domain::values::code::{ALPHABET, ReferralCode};
use vouch_domain::values::ids::{BusinessId, ClickId, CustomerId, StaffId};
use vouch_domain::values::money::Money;
use vouch_domain::values::password::Password;
use vouch_domain::values::person::{Country, Email, PersonName, Phone};
use vouch_domain::values::secrets::{IpHasher, KeyHash, WebhookSecret};
use vouch_domain::values::{WebOrigin, WebUrl};

use crate::harness::endpoint;

/// Everything a store implements: one value answers for every storage port.
trait Store:
    Businesses
    + Participants
    + Clicks
    + ProgramStore
    + Outbox
    + Recipients
    + RateLimits
    + Referrals
    + Rewards
    + Reports
    + Staff
    + JobberLinks
{
}

impl<T> Store for T where
    T: Businesses
        + Participants
        + Clicks
        + ProgramStore
        + Outbox
        + Recipients
        + RateLimits
        + Referrals
        + Rewards
        + Reports
        + Staff
        + JobberLinks
{
}

fn fake() -> InMemoryStore {
    InMemoryStore::default()
}

/// The DynamoDB adapter over a fresh table on the emulator.
async fn dynamo() -> DynamoStore {
    let table = format!("contract-{}", ulid::Ulid::new());
    let sdk = vouch_aws::config::sdk_config(Some(&endpoint())).await;
    let store = DynamoStore::new(
        DynamoStore::client(&sdk, &RequestCounter::default()),
        table.clone(),
    );
    vouch_aws::table::create(store.dynamodb(), &table)
        .await
        .expect("creating the table");
    store
}

/// Runs each contract against both stores: `fake::<name>` and `dynamo::<name>`.
macro_rules! contracts {
    ($($name:ident),* $(,)?) => {
        mod fake {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(&super::fake()).await;
                }
            )*
        }

        mod dynamo {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(&super::dynamo().await).await;
                }
            )*
        }
    };
}

contracts!(
    a_jobber_account_is_connected_to_one_business_and_its_tokens_refresh_once,
    a_business_and_its_admin_key_are_created_together_once,
    an_admin_key_belongs_to_one_business,
    settings_are_saved_only_at_the_version_read,
    a_businesss_origins_are_indexed_and_follow_its_settings,
    a_business_is_read_with_the_holder_of_a_code_from_any_business,
    an_enrolled_participant_is_read_back_and_its_code_resolves_however_written,
    a_customer_enrols_once_and_a_code_is_claimed_once,
    participants_are_paged_most_recently_enrolled_first,
    participants_are_paged_by_closed_referrals_then_customer,
    a_commits_totals_move_the_participant_and_the_closed_order,
    totals_read_stale_or_for_nobody_are_refused,
    a_participant_becomes_vip_once,
    re_engagements_queue_by_due_date_and_move_when_put_again,
    a_reward_override_is_set_and_cleared_only_on_a_participant,
    clicks_move_their_participants_counters_and_are_loaded_by_id,
    a_click_recorded_twice_counts_once,
    a_new_contact_is_loaded_as_committed_owning_its_phone_and_email,
    a_phone_and_email_owner_is_loaded_even_when_the_keys_name_it,
    a_decision_on_a_stale_snapshot_is_refused_as_changed,
    a_delivery_is_committed_once_per_business_and_a_refused_plan_writes_nothing,
    a_message_purpose_and_subject_are_used_once_per_business,
    texts_are_capped_per_number_per_day_and_business,
    texts_are_capped_per_business_per_day_unless_they_do_not_count,
    more_texts_to_one_number_than_its_cap_are_refused_together,
    an_opted_out_number_is_refused_in_every_business_until_it_opts_in,
    an_opted_out_number_at_its_cap_is_refused_as_opted_out,
    a_job_moves_only_from_the_stamp_read,
    an_alias_resolves_to_its_contact_and_participant,
    contact_ids_and_aliases_exclude_each_other,
    the_named_referrer_is_loaded_through_its_alias_with_its_participant,
    the_referrer_of_the_contacts_referral_is_loaded_when_asked,
    repeat_keys_hold_until_they_expire_and_lead_counters_stop_at_their_limit,
    finishing_records_outcomes_and_the_numbers_standing,
    finishing_removes_published_events_and_keeps_new_pending_ones,
    pending_events_come_oldest_first,
    due_messages_are_pending_ones_due_by_now_earliest_first,
    a_claim_takes_a_message_as_read_once_and_counts_against_the_caps,
    a_claim_is_refused_for_an_opted_out_number_or_a_reached_cap,
    a_reschedule_replaces_a_message_only_as_read,
    messages_are_paged_newest_first_by_customer_and_status,
    a_numbers_opt_out_round_trips_and_keeps_the_last_business,
    rate_limits_count_hits_in_fixed_windows,
    referrals_are_paged_newest_first_by_status,
    a_referrers_referrals_are_listed_newest_first_and_follow_a_move,
    contacts_are_searched_by_key_prefix_and_follow_a_rename,
    rewards_are_paged_newest_first_by_status_and_by_customer,
    ledger_entries_and_discount_codes_are_claimed_once,
    held_rewards_are_due_by_release_until_done,
    awaiting_rewards_come_oldest_first_until_forgotten_or_done,
    figures_add_up_by_day_across_commits_clicks_and_sends,
    a_finish_is_recorded_once_with_its_figures,
    leaderboard_rows_rank_by_count_then_who_reached_it_first,
    participants_names_are_read_by_id,
    a_months_report_is_kept_once_and_the_next_is_queued,
    staff_are_added_once_per_email_and_listed_by_business,
    an_invite_is_spent_once_and_leads_to_its_member,
    a_removed_member_loses_sign_in_invite_and_sessions,
    sessions_are_read_with_their_member_touched_and_closed,
);

// ------------------------------------------------------------------ fixtures

/// 2030-03-04 15:00:00 UTC.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, 4, 15, 0, 0).unwrap()
}

fn minutes(n: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(n)
}

fn today() -> NaiveDate {
    t0().date_naive()
}

fn biz(id: &str) -> BusinessId {
    BusinessId::parse(id).unwrap()
}

fn cust(id: &str) -> CustomerId {
    CustomerId::parse(id).unwrap()
}

fn name(raw: &str) -> PersonName {
    PersonName::parse(raw).unwrap()
}

/// `+1 512 555 0nnn`.
fn phone(n: u16) -> Phone {
    Phone::parse(&format!("+15125550{n:03}"), Country::US).unwrap()
}

fn email(raw: &str) -> Email {
    Email::parse(raw).unwrap()
}

/// A distinct valid code per `n`.
fn code(n: usize) -> ReferralCode {
    let symbol = |i: usize| char::from(ALPHABET[i % ALPHABET.len()]);
    ReferralCode::parse(&format!(
        "ABCD{}{}{}Z",
        symbol(n / 961),
        symbol(n / 31),
        symbol(n)
    ))
    .unwrap()
}

fn business(id: &str) -> Business {
    let doc =
        json!({"name": "Acme", "time_zone": "Etc/UTC", "landing_url": "https://acme.example"});
    Business {
        id: biz(id),
        settings: vouch_http::dto::settings::complete(&doc, None).unwrap(),
        webhook_secret: WebhookSecret::generate(),
        created_at: t0(),
        version: 1,
    }
}

/// A contact as a first commit writes it (version 1).
fn contact(business: &str, customer: &str, first: &str) -> Contact {
    let mut contact = Contact::new(biz(business), cust(customer), name(first), t0());
    contact.version = 1;
    contact
}

fn participant(business: &str, customer: &str, code_no: usize) -> Participant {
    let mut person = contact(business, customer, "Maria");
    person.last_name = Some(name("Garcia"));
    person.phone = Some(phone(100));
    Participant::enrol(&person, code(code_no), t0())
}

async fn enrol(store: &impl Store, participant: &Participant) -> Result<(), Refusal> {
    let plan = Plan {
        participant: Some(participant.clone()),
        ..Plan::default()
    };
    store.commit(&participant.business_id, &plan).await.unwrap()
}

/// Creates `business` with `key` (its first report queued out of the way).
async fn create(store: &impl Store, business: &Business, key: &KeyHash) -> Written {
    store
        .create(business, key, crate::harness::first_report())
        .await
        .unwrap()
}

async fn commit(store: &impl Store, business: &str, plan: Plan) -> Result<(), Refusal> {
    store.commit(&biz(business), &plan).await.unwrap()
}

fn keys(customer: &str) -> LoadKeys {
    LoadKeys::contact(cust(customer))
}

async fn load(store: &impl Store, business: &str, keys: &LoadKeys) -> Snapshot {
    store.load(&biz(business), keys).await.unwrap()
}

/// A pending text about `id` (its own subject), due at `due`.
fn text(business: &str, id: &str, customer: &str, to: &Phone, due: DateTime<Utc>) -> Message {
    Message {
        message_id: id.into(),
        business_id: biz(business),
        customer_id: Some(cust(customer)),
        to: Some(to.clone()),
        purpose: Purpose::Progress,
        subject: id.into(),
        body: format!("Text {id}"),
        segments: 1,
        status: Status::Queued,
        reason: None,
        created_at: t0(),
        due_at: Some(due),
        sent_at: None,
        provider_id: None,
    }
}

fn deferred(message: Message, due: DateTime<Utc>) -> Message {
    Message {
        status: Status::Deferred,
        reason: Some(Reason::QuietHours),
        due_at: Some(due),
        ..message
    }
}

fn sent(message: Message) -> Message {
    Message {
        status: Status::Sent,
        due_at: None,
        sent_at: Some(t0()),
        provider_id: Some(format!("prov-{}", message.message_id)),
        ..message
    }
}

fn with_texts(messages: Vec<Message>) -> Plan {
    Plan {
        messages,
        ..Plan::default()
    }
}

/// The business's stored text `id`, read through the staff listing.
async fn stored_text(store: &impl Store, business: &str, id: &str) -> Option<Message> {
    let Page { items: all, .. } = store
        .messages(&biz(business), &MessageFilter::default(), 100, None)
        .await
        .unwrap();
    all.into_iter().find(|m| m.message_id == id)
}

fn ids(messages: &[Message]) -> Vec<&str> {
    messages.iter().map(|m| m.message_id.as_str()).collect()
}

fn guard(id: &str, to: &Phone, day: NaiveDate, per_number: u32, per_business: u32) -> SendGuard {
    SendGuard {
        message_id: id.into(),
        phone: to.clone(),
        day,
        per_number,
        per_business,
        counts: true,
    }
}

fn sends(guards: Vec<SendGuard>) -> Plan {
    Plan {
        sends: guards,
        ..Plan::default()
    }
}

fn capped(id: &str, reason: Reason) -> Result<(), Refusal> {
    Err(Refusal::Capped {
        message_id: id.into(),
        reason,
    })
}

fn opted_out(id: &str) -> Result<(), Refusal> {
    Err(Refusal::OptedOut {
        message_id: id.into(),
    })
}

fn event(id: &str, at: DateTime<Utc>) -> DomainEvent {
    DomainEvent {
        event_id: id.into(),
        detail_type: "lead.created".into(),
        business_id: biz("acme"),
        occurred_at: at,
        data: json!({"lead_id": id}).as_object().cloned().unwrap(),
    }
}

fn event_ids(events: &[DomainEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event_id.as_str()).collect()
}

fn referral(id: &str, lead: &str, referrer: Option<&str>, status: ReferralStatus) -> Referral {
    Referral {
        referral_id: id.into(),
        lead_id: None,
        lead: LeadSide {
            customer_id: cust(lead),
            name: "Lee Lead".into(),
            phone: None,
            email: None,
        },
        referrer: referrer.map(|r| Person {
            customer_id: cust(r),
            name: format!("Referrer {r}"),
        }),
        candidates: Vec::new(),
        source: Source::Manual,
        channel: None,
        status,
        flags: Vec::new(),
        named: None,
        created_at: t0(),
        updated_at: t0(),
        qualified_at: None,
        job_id: None,
        invoice_total_cents: None,
        booked_at: None,
        history: Vec::new(),
        ordinal: None,
        reward: None,
        referee_reward: None,
    }
}

fn referral_ids(referrals: &[Referral]) -> Vec<&str> {
    referrals.iter().map(|r| r.referral_id.as_str()).collect()
}

fn reward(id: &str, customer: &str, status: RewardStatus) -> Reward {
    Reward {
        reward_id: id.into(),
        referral_id: format!("ref-{id}"),
        customer_id: cust(customer),
        lead_customer_id: cust("lead_1"),
        recipient: RewardRecipient::Referrer,
        kind: RewardType::ServiceCredit,
        amount_cents: Some(Money::from_cents(2500).unwrap()),
        percent: None,
        code: None,
        description: "Account credit".into(),
        ordinal: 1,
        tier: Some(1),
        status,
        created_at: t0(),
        issued_at: None,
        release_at: None,
        flags: Vec::new(),
        audit: Vec::new(),
        order: None,
    }
}

fn held(id: &str, release: DateTime<Utc>) -> Reward {
    Reward {
        release_at: Some(release),
        ..reward(id, "cus_1", RewardStatus::Approved)
    }
}

fn reward_ids(rewards: &[Reward]) -> Vec<&str> {
    rewards.iter().map(|r| r.reward_id.as_str()).collect()
}

// ------------------------------------------------------------------ businesses

async fn a_business_and_its_admin_key_are_created_together_once(store: &impl Store) {
    let acme = business("acme");
    let key = KeyHash::of("vouch_ak_acme");
    assert_eq!(create(store, &acme, &key).await, Written::Applied);

    let another = KeyHash::of("vouch_ak_another");
    assert_eq!(create(store, &acme, &another).await, Written::Refused);
    assert_eq!(store.id_for_admin_key(&another).await.unwrap(), None);
    assert_eq!(
        store.id_for_admin_key(&key).await.unwrap(),
        Some(acme.id.clone())
    );
    assert_eq!(Businesses::get(store, &acme.id).await.unwrap(), Some(acme));
    assert_eq!(Businesses::get(store, &biz("nobody")).await.unwrap(), None);
}

async fn an_admin_key_belongs_to_one_business(store: &impl Store) {
    let key = KeyHash::of("vouch_ak_shared");
    assert_eq!(
        create(store, &business("acme"), &key).await,
        Written::Applied
    );
    assert_eq!(
        create(store, &business("rival"), &key).await,
        Written::Refused
    );
    assert_eq!(Businesses::get(store, &biz("rival")).await.unwrap(), None);
    assert_eq!(
        store.id_for_admin_key(&key).await.unwrap(),
        Some(biz("acme"))
    );
}

async fn settings_are_saved_only_at_the_version_read(store: &impl Store) {
    let acme = business("acme");
    create(store, &acme, &KeyHash::of("k")).await;
    let mut changed = acme.settings.clone();
    changed.hold_days = 7;

    assert_eq!(
        store
            .save_settings(&acme.id, &changed, &acme.settings, 1)
            .await
            .unwrap(),
        Written::Applied
    );
    assert_eq!(
        store
            .save_settings(&acme.id, &acme.settings, &acme.settings, 1)
            .await
            .unwrap(),
        Written::Refused
    );
    assert_eq!(
        store
            .save_settings(&biz("nobody"), &acme.settings, &acme.settings, 1)
            .await
            .unwrap(),
        Written::Refused
    );
    let stored = Businesses::get(store, &acme.id).await.unwrap().unwrap();
    assert_eq!((stored.version, stored.settings), (2, changed));
}

async fn a_businesss_origins_are_indexed_and_follow_its_settings(store: &impl Store) {
    let acme = business("acme");
    assert!(!store.origin_listed("https://acme.example").await.unwrap());
    create(store, &acme, &KeyHash::of("k")).await;
    // The landing page's origin is listed from the start.
    assert!(store.origin_listed("https://acme.example").await.unwrap());
    assert!(
        !store
            .origin_listed("https://www.acme.example")
            .await
            .unwrap()
    );

    let mut moved = acme.settings.clone();
    moved.landing_url = WebUrl::parse("https://new.example/refer").unwrap();
    moved.allowed_origins = vec![WebOrigin::parse("https://www.acme.example").unwrap()];
    assert_eq!(
        store
            .save_settings(&acme.id, &moved, &acme.settings, 1)
            .await
            .unwrap(),
        Written::Applied
    );
    assert!(!store.origin_listed("https://acme.example").await.unwrap());
    assert!(store.origin_listed("https://new.example").await.unwrap());
    assert!(
        store
            .origin_listed("https://www.acme.example")
            .await
            .unwrap()
    );

    // Another business at the same origin keeps it listed when one of them moves away.
    let mut rival = business("rival");
    rival.settings.landing_url = WebUrl::parse("https://new.example/other").unwrap();
    create(store, &rival, &KeyHash::of("k2")).await;
    assert_eq!(
        store
            .save_settings(&acme.id, &acme.settings, &moved, 2)
            .await
            .unwrap(),
        Written::Applied
    );
    assert!(store.origin_listed("https://new.example").await.unwrap());
    assert!(store.origin_listed("https://acme.example").await.unwrap());
    assert!(
        !store
            .origin_listed("https://www.acme.example")
            .await
            .unwrap()
    );
    // A refused save moves nothing.
    assert_eq!(
        store
            .save_settings(&acme.id, &moved, &acme.settings, 2)
            .await
            .unwrap(),
        Written::Refused
    );
    assert!(
        !store
            .origin_listed("https://www.acme.example")
            .await
            .unwrap()
    );
}

async fn a_business_is_read_with_the_holder_of_a_code_from_any_business(store: &impl Store) {
    let acme = business("acme");
    create(store, &acme, &KeyHash::of("k")).await;
    let holder = participant("rival", "cus_9", 1);
    enrol(store, &holder).await.unwrap();

    assert_eq!(
        store
            .get_with_referrer(&acme.id, &holder.code)
            .await
            .unwrap(),
        (Some(acme.clone()), Some(holder.referrer()))
    );
    assert_eq!(
        store.get_with_referrer(&acme.id, &code(2)).await.unwrap(),
        (Some(acme), None)
    );
    assert_eq!(
        store
            .get_with_referrer(&biz("nobody"), &holder.code)
            .await
            .unwrap(),
        (None, Some(holder.referrer()))
    );
}

// ------------------------------------------------------------------ participants

async fn an_enrolled_participant_is_read_back_and_its_code_resolves_however_written(
    store: &impl Store,
) {
    let maria = participant("acme", "cus_1", 1);
    assert_eq!(enrol(store, &maria).await, Ok(()));

    assert_eq!(
        Participants::get(store, &biz("acme"), &cust("cus_1"))
            .await
            .unwrap(),
        Some(maria.clone())
    );
    assert_eq!(
        Participants::get(store, &biz("rival"), &cust("cus_1"))
            .await
            .unwrap(),
        None
    );
    let typed = maria.code.as_str().to_lowercase();
    let typed = format!("{}-{}", &typed[..4], &typed[4..]);
    assert_eq!(
        store
            .referrer(&ReferralCode::parse(&typed).unwrap())
            .await
            .unwrap(),
        Some(maria.referrer())
    );
    assert_eq!(store.referrer(&code(2)).await.unwrap(), None);
}

async fn a_customer_enrols_once_and_a_code_is_claimed_once(store: &impl Store) {
    let first = participant("acme", "cus_1", 1);
    assert_eq!(enrol(store, &first).await, Ok(()));

    // The same customer with another code: refused, and that code stays free.
    assert_eq!(
        enrol(store, &participant("acme", "cus_1", 2)).await,
        Err(Refusal::Changed)
    );
    assert_eq!(store.referrer(&code(2)).await.unwrap(), None);
    // Another business's customer with the same code: refused.
    assert_eq!(
        enrol(store, &participant("rival", "cus_9", 1)).await,
        Err(Refusal::Changed)
    );
    assert_eq!(
        Participants::get(store, &biz("rival"), &cust("cus_9"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.referrer(&first.code).await.unwrap(),
        Some(first.referrer())
    );
}

fn customers(page: &[Participant]) -> Vec<&str> {
    page.iter().map(|p| p.customer_id.as_str()).collect()
}

async fn participants_are_paged_most_recently_enrolled_first(store: &impl Store) {
    for (n, customer) in ["cus_1", "cus_2", "cus_3", "cus_4", "cus_5"]
        .into_iter()
        .enumerate()
    {
        let mut p = participant("acme", customer, n);
        p.enrolled_at = minutes(i64::try_from(n).unwrap());
        enrol(store, &p).await.unwrap();
    }
    enrol(store, &participant("rival", "cus_9", 9))
        .await
        .unwrap();
    let page = |after: Option<Position>| async move {
        store
            .list(&biz("acme"), ParticipantSort::Recent, 2, after.as_ref())
            .await
            .unwrap()
    };

    let first = page(None).await;
    assert_eq!(customers(&first.items), ["cus_5", "cus_4"]);
    assert_eq!(
        first.next,
        Some(Position {
            sort_key: "2030-03-04T15:03:00.000Z".into(),
            customer_id: cust("cus_4"),
        })
    );
    let second = page(first.next).await;
    assert_eq!(customers(&second.items), ["cus_3", "cus_2"]);
    let last = page(second.next).await;
    assert_eq!(customers(&last.items), ["cus_1"]);
    assert_eq!(last.next, None);
}

async fn participants_are_paged_by_closed_referrals_then_customer(store: &impl Store) {
    for (n, (customer, closed)) in [("cus_1", 2), ("cus_2", 5), ("cus_3", 2), ("cus_4", 0)]
        .into_iter()
        .enumerate()
    {
        let mut p = participant("acme", customer, n);
        p.stats.closed = closed;
        enrol(store, &p).await.unwrap();
    }
    let page = |after: Option<Position>| async move {
        store
            .list(&biz("acme"), ParticipantSort::Closed, 2, after.as_ref())
            .await
            .unwrap()
    };

    let first = page(None).await;
    assert_eq!(customers(&first.items), ["cus_2", "cus_3"]);
    assert_eq!(
        first.next,
        Some(Position {
            sort_key: "0000000002".into(),
            customer_id: cust("cus_3"),
        })
    );
    let last = page(first.next).await;
    assert_eq!(customers(&last.items), ["cus_1", "cus_4"]);
    assert_eq!(last.next, None);
}

async fn a_commits_totals_move_the_participant_and_the_closed_order(store: &impl Store) {
    for (n, (customer, closed)) in [("cus_1", 0), ("cus_2", 1), ("cus_3", 0)]
        .into_iter()
        .enumerate()
    {
        let mut p = participant("acme", customer, n);
        p.stats.closed = closed;
        enrol(store, &p).await.unwrap();
    }
    let plan = Plan {
        stats: vec![StatsDelta {
            customer_id: cust("cus_1"),
            referrals: 1,
            closed: 2,
            closed_was: Some(0),
            earned_cents: 2500,
            pending_cents: 500,
            year: Some(YearBump {
                year: 2030,
                was: (None, 0),
            }),
            qualified_times: None,
            vip_since: None,
        }],
        ..Plan::default()
    };
    assert_eq!(commit(store, "acme", plan).await, Ok(()));

    let moved = Participants::get(store, &biz("acme"), &cust("cus_1"))
        .await
        .unwrap()
        .unwrap();
    let s = &moved.stats;
    assert_eq!(
        (
            s.referrals,
            s.closed,
            s.rewards_earned_cents,
            s.rewards_pending_cents,
            s.rewarded_year,
            s.rewarded_in_year
        ),
        (1, 2, 2500, 500, Some(2030), 1)
    );
    let first = store
        .list(&biz("acme"), ParticipantSort::Closed, 1, None)
        .await
        .unwrap();
    assert_eq!(customers(&first.items), ["cus_1"]);
    let rest = store
        .list(
            &biz("acme"),
            ParticipantSort::Closed,
            5,
            first.next.as_ref(),
        )
        .await
        .unwrap();
    assert_eq!(customers(&rest.items), ["cus_2", "cus_3"]);
}

async fn totals_read_stale_or_for_nobody_are_refused(store: &impl Store) {
    let mut p = participant("acme", "cus_1", 1);
    p.stats.rewarded_year = Some(2030);
    p.stats.rewarded_in_year = 1;
    enrol(store, &p).await.unwrap();
    let delta = |customer: &str| StatsDelta {
        customer_id: cust(customer),
        referrals: 1,
        closed: 1,
        closed_was: Some(0),
        earned_cents: 0,
        pending_cents: 0,
        year: None,
        qualified_times: None,
        vip_since: None,
    };
    let plan = |delta: StatsDelta| Plan {
        stats: vec![delta],
        ..Plan::default()
    };

    let stale_closed = StatsDelta {
        closed_was: Some(5),
        ..delta("cus_1")
    };
    assert_eq!(
        commit(store, "acme", plan(stale_closed)).await,
        Err(Refusal::Changed)
    );
    let stale_year = StatsDelta {
        year: Some(YearBump {
            year: 2030,
            was: (None, 0),
        }),
        ..delta("cus_1")
    };
    assert_eq!(
        commit(store, "acme", plan(stale_year)).await,
        Err(Refusal::Changed)
    );
    assert_eq!(
        commit(store, "acme", plan(delta("cus_9"))).await,
        Err(Refusal::Changed)
    );
    assert_eq!(
        Participants::get(store, &biz("acme"), &cust("cus_1"))
            .await
            .unwrap(),
        Some(p)
    );
    assert_eq!(
        Participants::get(store, &biz("acme"), &cust("cus_9"))
            .await
            .unwrap(),
        None
    );
}

async fn a_participant_becomes_vip_once(store: &impl Store) {
    let p = participant("acme", "cus_1", 1);
    enrol(store, &p).await.unwrap();
    let at = t0();
    let crossing = |was: u64| Plan {
        stats: vec![StatsDelta {
            customer_id: cust("cus_1"),
            referrals: 0,
            closed: 1,
            closed_was: Some(was),
            earned_cents: 0,
            pending_cents: 0,
            year: None,
            qualified_times: None,
            vip_since: Some(at),
        }],
        ..Plan::default()
    };
    assert_eq!(commit(store, "acme", crossing(0)).await, Ok(()));
    let read = |store| async move {
        Participants::get(store, &biz("acme"), &cust("cus_1"))
            .await
            .unwrap()
            .unwrap()
            .stats
    };
    assert_eq!(read(store).await.vip_since, Some(at));
    // A second crossing (as after a reversal) is refused, whatever the count read.
    assert_eq!(
        commit(store, "acme", crossing(1)).await,
        Err(Refusal::Changed)
    );
    let stats = read(store).await;
    assert_eq!((stats.closed, stats.vip_since), (1, Some(at)));
}

async fn re_engagements_queue_by_due_date_and_move_when_put_again(store: &impl Store) {
    let due = |customer: &str, due_at: i64| ReengageDue {
        customer_id: cust(customer),
        since: minutes(0),
        due_at: minutes(due_at),
    };
    let put = |dues: Vec<ReengageDue>| Plan {
        reengage: dues,
        ..Plan::default()
    };
    commit(store, "acme", put(vec![due("cus_1", 30), due("cus_2", 10)]))
        .await
        .unwrap();
    commit(store, "globex", put(vec![due("cus_1", 20)]))
        .await
        .unwrap();
    let queued = |until: i64| async move {
        store
            .due_reengagements(minutes(until), 10)
            .await
            .unwrap()
            .into_iter()
            .map(|(business, due)| (business.to_string(), due.customer_id.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(queued(9).await, Vec::<(String, String)>::new());
    assert_eq!(
        queued(30).await,
        [("acme", "cus_2"), ("globex", "cus_1"), ("acme", "cus_1")]
            .map(|(b, c)| (b.to_owned(), c.to_owned()))
    );
    // Put again (a new period): it leaves its old place in the queue.
    commit(store, "acme", put(vec![due("cus_2", 100)]))
        .await
        .unwrap();
    assert_eq!(
        queued(30).await,
        [("globex", "cus_1"), ("acme", "cus_1")].map(|(b, c)| (b.to_owned(), c.to_owned()))
    );
    let later = store.due_reengagements(minutes(100), 1).await.unwrap();
    assert_eq!(later.len(), 1, "the limit holds");
}

async fn a_reward_override_is_set_and_cleared_only_on_a_participant(store: &impl Store) {
    let p = participant("acme", "cus_1", 1);
    enrol(store, &p).await.unwrap();
    let own = RewardOverride {
        kind: RewardType::GiftCard,
        amount_cents: Some(Money::from_cents(5000).unwrap()),
        percent: None,
        description: "Gift card".into(),
    };
    let (acme, maria) = (biz("acme"), cust("cus_1"));

    assert_eq!(
        store
            .set_reward_override(&acme, &maria, Some(&own))
            .await
            .unwrap(),
        Written::Applied
    );
    let stored = Participants::get(store, &acme, &maria).await.unwrap();
    assert_eq!(stored.unwrap().reward_override, Some(own.clone()));

    assert_eq!(
        store
            .set_reward_override(&acme, &maria, None)
            .await
            .unwrap(),
        Written::Applied
    );
    assert_eq!(
        Participants::get(store, &acme, &maria).await.unwrap(),
        Some(p)
    );

    let nobody = cust("cus_9");
    assert_eq!(
        store
            .set_reward_override(&acme, &nobody, Some(&own))
            .await
            .unwrap(),
        Written::Refused
    );
    assert_eq!(
        Participants::get(store, &acme, &nobody).await.unwrap(),
        None
    );
}

// ------------------------------------------------------------------ clicks

fn click(customer: &str, code_no: usize, channel: Channel) -> Click {
    Click {
        id: ClickId::generate(),
        business_id: biz("acme"),
        customer_id: cust(customer),
        code: code(code_no),
        channel,
        ip_hash: None,
        at: t0(),
        expires_at: t0() + Duration::days(90),
    }
}

async fn clicks_move_their_participants_counters_and_are_loaded_by_id(store: &impl Store) {
    enrol(store, &participant("acme", "cus_1", 1))
        .await
        .unwrap();
    let clicks = [
        click("cus_1", 1, Channel::Sms),
        click("cus_1", 1, Channel::Qr),
        click("cus_1", 1, Channel::Sms),
    ];
    for c in &clicks {
        assert_eq!(
            store.record(c, &Tally::default()).await.unwrap(),
            Written::Applied
        );
    }
    let stats = Participants::get(store, &biz("acme"), &cust("cus_1"))
        .await
        .unwrap()
        .unwrap()
        .stats;
    assert_eq!(stats.clicks, 3);
    assert_eq!(
        stats.clicks_by_channel,
        BTreeMap::from([(Channel::Sms, 2), (Channel::Qr, 1)])
    );
    let by_id = LoadKeys {
        click: Some(clicks[1].id),
        ..keys("lead_1")
    };
    assert_eq!(
        load(store, "acme", &by_id).await.click,
        Some(clicks[1].clone())
    );

    // A code whose participant is not there: nothing is counted or kept.
    let stray = click("cus_9", 9, Channel::Link);
    assert_eq!(
        store.record(&stray, &Tally::default()).await.unwrap(),
        Written::Refused
    );
    assert_eq!(
        Participants::get(store, &biz("acme"), &cust("cus_9"))
            .await
            .unwrap(),
        None
    );
    let stray_keys = LoadKeys {
        click: Some(stray.id),
        ..keys("lead_1")
    };
    assert_eq!(load(store, "acme", &stray_keys).await.click, None);
}

async fn a_click_recorded_twice_counts_once(store: &impl Store) {
    enrol(store, &participant("acme", "cus_1", 1))
        .await
        .unwrap();
    let once = click("cus_1", 1, Channel::Link);
    assert_eq!(
        store.record(&once, &Tally::default()).await.unwrap(),
        Written::Applied
    );
    assert_eq!(
        store.record(&once, &Tally::default()).await.unwrap(),
        Written::Refused
    );

    let stats = Participants::get(store, &biz("acme"), &cust("cus_1"))
        .await
        .unwrap()
        .unwrap()
        .stats;
    assert_eq!(stats.clicks, 1);
    assert_eq!(
        stats.clicks_by_channel,
        BTreeMap::from([(Channel::Link, 1)])
    );
}

// ------------------------------------------------------------------ the program

async fn a_new_contact_is_loaded_as_committed_owning_its_phone_and_email(store: &impl Store) {
    let mut maria = contact("acme", "cus_1", "Maria");
    maria.phone = Some(phone(101));
    maria.email = Some(email("maria@example.com"));
    let job = Job {
        business_id: biz("acme"),
        job_id: "job_1".into(),
        customer_id: cust("cus_1"),
        status: JobStatus::Scheduled,
        status_at: t0(),
        invoice_total_cents: None,
        service_type: Some("Drain cleaning".into()),
    };
    let plan = Plan {
        contact: Some((maria.clone(), None)),
        index: vec![
            IndexEntry::Phone(phone(101), cust("cus_1")),
            IndexEntry::Email(email("maria@example.com"), cust("cus_1")),
        ],
        job: Some((job.clone(), None)),
        ..Plan::default()
    };
    assert_eq!(commit(store, "acme", plan).await, Ok(()));

    let own = load(
        store,
        "acme",
        &LoadKeys {
            job_id: Some("job_1".into()),
            ..keys("cus_1")
        },
    )
    .await;
    assert_eq!(own.contact, Some(maria.clone()));
    assert_eq!(own.job, Some(job));

    let by_details = LoadKeys {
        phone: Some(phone(101)),
        email: Some(email("maria@example.com")),
        ..keys("cus_2")
    };
    let other = load(store, "acme", &by_details).await;
    assert_eq!(other.contact, None);
    assert_eq!(other.phone_owner, Some(maria.clone()));
    assert_eq!(other.email_owner, Some(maria));
    assert_eq!(load(store, "rival", &by_details).await.phone_owner, None);

    // The phone is taken: another contact cannot claim it.
    let claim = Plan {
        contact: Some((contact("acme", "cus_2", "Mary"), None)),
        index: vec![IndexEntry::Phone(phone(101), cust("cus_2"))],
        ..Plan::default()
    };
    assert_eq!(commit(store, "acme", claim).await, Err(Refusal::Changed));
    assert_eq!(load(store, "acme", &keys("cus_2")).await.contact, None);
}

async fn a_phone_and_email_owner_is_loaded_even_when_the_keys_name_it(store: &impl Store) {
    let mut rita = contact("acme", "cus_rita", "Rita");
    rita.phone = Some(phone(101));
    rita.email = Some(email("rita@example.com"));
    let plan = Plan {
        contact: Some((rita.clone(), None)),
        index: vec![
            IndexEntry::Phone(phone(101), cust("cus_rita")),
            IndexEntry::Email(email("rita@example.com"), cust("cus_rita")),
        ],
        ..Plan::default()
    };
    commit(store, "acme", plan).await.unwrap();
    let with_details = |customer: &str| LoadKeys {
        phone: Some(phone(101)),
        email: Some(email("rita@example.com")),
        ..keys(customer)
    };

    // The command's own contact (an update of the customer).
    let own = load(store, "acme", &with_details("cus_rita")).await;
    assert_eq!(own.contact, Some(rita.clone()));
    assert_eq!(own.phone_owner, Some(rita.clone()));
    assert_eq!(own.email_owner, Some(rita.clone()));

    // The named referrer (a lead giving the referrer's own number).
    let named = LoadKeys {
        referrer: Some(cust("cus_rita")),
        ..with_details("lead_1")
    };
    let lead = load(store, "acme", &named).await;
    assert_eq!(lead.contact, None);
    assert_eq!(lead.referrer, Some(rita.clone()));
    assert_eq!(lead.phone_owner, Some(rita.clone()));
    assert_eq!(lead.email_owner, Some(rita));
}

async fn a_decision_on_a_stale_snapshot_is_refused_as_changed(store: &impl Store) {
    let acme = business("acme");
    let details = |first: &str| CustomerDetails {
        customer_id: cust("cus_1"),
        first_name: name(first),
        last_name: Some(name("Garcia")),
        phone: Some(phone(101)),
        email: Some(email("maria@example.com")),
        sms_consent: Some(true),
        segment: None,
        tags: Vec::new(),
    };
    let decide_on = |snapshot: &Snapshot, first: &str| {
        let overrides = Overrides::default();
        let page_key = vouch_domain::values::secrets::PageKey::derive(b"contract");
        let ctx = Context {
            business_id: &acme.id,
            settings: &acme.settings,
            now: t0(),
            link_base: "https://go.vouch.test",
            delivery_id: None,
            overrides: &overrides,
            page_key: &page_key,
        };
        decide(&Command::UpsertCustomer(details(first)), snapshot, &ctx).unwrap()
    };
    let keys = Command::UpsertCustomer(details("Maria")).keys();

    // Two decisions that both saw no contact: the first to commit wins.
    let empty = store.load(&acme.id, &keys).await.unwrap();
    let first = decide_on(&empty, "Maria");
    let rival = decide_on(&empty, "Mary");
    assert_eq!(store.commit(&acme.id, &first).await.unwrap(), Ok(()));
    assert_eq!(
        store.commit(&acme.id, &rival).await.unwrap(),
        Err(Refusal::Changed)
    );
    let read = store.load(&acme.id, &keys).await.unwrap();
    assert_eq!(read.contact, first.contact.map(|(c, _)| c));

    // Two decisions from the same version: the second is refused.
    let renamed = decide_on(&read, "Mary");
    let stale = decide_on(&read, "Marie");
    assert_eq!(store.commit(&acme.id, &renamed).await.unwrap(), Ok(()));
    assert_eq!(
        store.commit(&acme.id, &stale).await.unwrap(),
        Err(Refusal::Changed)
    );
    let now = store.load(&acme.id, &keys).await.unwrap().contact.unwrap();
    assert_eq!((now.first_name.as_str(), now.version), ("Mary", 2));
    assert_eq!(Some(now), renamed.contact.map(|(c, _)| c));
}

async fn a_delivery_is_committed_once_per_business_and_a_refused_plan_writes_nothing(
    store: &impl Store,
) {
    let delivery = Some(("evt_1".to_owned(), t0() + Duration::days(7)));
    let first = Plan {
        delivery: delivery.clone(),
        contact: Some((contact("acme", "cus_1", "Maria"), None)),
        ..Plan::default()
    };
    assert_eq!(commit(store, "acme", first).await, Ok(()));

    let again = Plan {
        delivery: delivery.clone(),
        contact: Some((contact("acme", "cus_2", "Mary"), None)),
        ..Plan::default()
    };
    assert_eq!(commit(store, "acme", again).await, Err(Refusal::Duplicate));
    assert_eq!(load(store, "acme", &keys("cus_2")).await.contact, None);

    let elsewhere = Plan {
        delivery,
        contact: Some((contact("rival", "cus_2", "Mary"), None)),
        ..Plan::default()
    };
    assert_eq!(commit(store, "rival", elsewhere).await, Ok(()));
}

async fn a_message_purpose_and_subject_are_used_once_per_business(store: &impl Store) {
    let invitation = |business: &str, id: &str, subject: &str| Message {
        purpose: Purpose::Invitation,
        subject: subject.into(),
        ..text(business, id, subject, &phone(101), minutes(2))
    };
    let first = invitation("acme", "m1", "cus_1");
    assert_eq!(
        commit(store, "acme", with_texts(vec![first.clone()])).await,
        Ok(())
    );

    let again = invitation("acme", "m2", "cus_1");
    assert_eq!(
        commit(store, "acme", with_texts(vec![again])).await,
        Err(Refusal::MessageExists {
            purpose: Purpose::Invitation,
            subject: "cus_1".into(),
        })
    );
    let Page { items: listed, .. } = store
        .messages(&biz("acme"), &MessageFilter::default(), 10, None)
        .await
        .unwrap();
    assert_eq!(listed, [first]);

    let other_subject = invitation("acme", "m3", "cus_2");
    assert_eq!(
        commit(store, "acme", with_texts(vec![other_subject])).await,
        Ok(())
    );
    let other_business = invitation("rival", "m4", "cus_1");
    assert_eq!(
        commit(store, "rival", with_texts(vec![other_business])).await,
        Ok(())
    );
}

async fn texts_are_capped_per_number_per_day_and_business(store: &impl Store) {
    let day = today();
    let (p1, p2) = (phone(101), phone(102));
    for id in ["m1", "m2"] {
        assert_eq!(
            commit(store, "acme", sends(vec![guard(id, &p1, day, 2, 100)])).await,
            Ok(())
        );
    }
    assert_eq!(
        commit(store, "acme", sends(vec![guard("m3", &p1, day, 2, 100)])).await,
        capped("m3", Reason::DailyCap)
    );
    assert_eq!(
        commit(store, "acme", sends(vec![guard("m4", &p2, day, 2, 100)])).await,
        Ok(())
    );
    let tomorrow = day.succ_opt().unwrap();
    assert_eq!(
        commit(
            store,
            "acme",
            sends(vec![guard("m5", &p1, tomorrow, 2, 100)])
        )
        .await,
        Ok(())
    );
    assert_eq!(
        commit(store, "rival", sends(vec![guard("m6", &p1, day, 2, 100)])).await,
        Ok(())
    );
}

async fn texts_are_capped_per_business_per_day_unless_they_do_not_count(store: &impl Store) {
    let day = today();
    for (id, n) in [("m1", 101), ("m2", 102)] {
        assert_eq!(
            commit(store, "acme", sends(vec![guard(id, &phone(n), day, 10, 2)])).await,
            Ok(())
        );
    }
    assert_eq!(
        commit(
            store,
            "acme",
            sends(vec![guard("m3", &phone(103), day, 10, 2)])
        )
        .await,
        capped("m3", Reason::BusinessDailyCap)
    );
    let resend = SendGuard {
        counts: false,
        ..guard("m4", &phone(103), day, 10, 2)
    };
    assert_eq!(commit(store, "acme", sends(vec![resend])).await, Ok(()));
    assert_eq!(
        commit(
            store,
            "rival",
            sends(vec![guard("m5", &phone(103), day, 10, 2)])
        )
        .await,
        Ok(())
    );
}

async fn more_texts_to_one_number_than_its_cap_are_refused_together(store: &impl Store) {
    let (day, p1) = (today(), phone(101));
    let both = sends(vec![
        guard("m1", &p1, day, 1, 100),
        guard("m2", &p1, day, 1, 100),
    ]);
    match commit(store, "acme", both).await {
        Err(Refusal::Capped {
            message_id,
            reason: Reason::DailyCap,
        }) => assert!(["m1", "m2"].contains(&message_id.as_str()), "{message_id}"),
        other => panic!("expected a per-number cap, got {other:?}"),
    }
    // The refused plan counted nothing.
    assert_eq!(
        commit(store, "acme", sends(vec![guard("m3", &p1, day, 1, 100)])).await,
        Ok(())
    );
}

async fn an_opted_out_number_is_refused_in_every_business_until_it_opts_in(store: &impl Store) {
    let (day, p1) = (today(), phone(101));
    store.set_opted_out(&p1, true, t0()).await.unwrap();

    assert_eq!(
        commit(store, "acme", sends(vec![guard("m1", &p1, day, 5, 100)])).await,
        opted_out("m1")
    );
    assert_eq!(
        commit(store, "rival", sends(vec![guard("m2", &p1, day, 5, 100)])).await,
        opted_out("m2")
    );
    let uncounted = SendGuard {
        counts: false,
        ..guard("m3", &p1, day, 5, 100)
    };
    assert_eq!(
        commit(store, "acme", sends(vec![uncounted])).await,
        opted_out("m3")
    );

    store.set_opted_out(&p1, false, minutes(1)).await.unwrap();
    assert_eq!(
        commit(store, "acme", sends(vec![guard("m4", &p1, day, 5, 100)])).await,
        Ok(())
    );
}

async fn an_opted_out_number_at_its_cap_is_refused_as_opted_out(store: &impl Store) {
    let (day, p1) = (today(), phone(101));
    assert_eq!(
        commit(store, "acme", sends(vec![guard("m1", &p1, day, 1, 100)])).await,
        Ok(())
    );
    store.set_opted_out(&p1, true, t0()).await.unwrap();
    assert_eq!(
        commit(store, "acme", sends(vec![guard("m2", &p1, day, 1, 100)])).await,
        opted_out("m2")
    );
}

async fn a_job_moves_only_from_the_stamp_read(store: &impl Store) {
    let job = |status: JobStatus, at: DateTime<Utc>| Job {
        business_id: biz("acme"),
        job_id: "job_1".into(),
        customer_id: cust("cus_1"),
        status,
        status_at: at,
        invoice_total_cents: Some(Money::from_cents(45_000).unwrap()),
        service_type: None,
    };
    let plan = |job: Job, read: Option<(DateTime<Utc>, JobStatus)>| Plan {
        job: Some((job, read.map(|(at, status)| (at, status.rank())))),
        ..Plan::default()
    };
    let with_job = LoadKeys {
        job_id: Some("job_1".into()),
        ..keys("cus_1")
    };

    let scheduled = job(JobStatus::Scheduled, t0());
    assert_eq!(
        commit(store, "acme", plan(scheduled.clone(), None)).await,
        Ok(())
    );
    assert_eq!(load(store, "acme", &with_job).await.job, Some(scheduled));

    // A newer stamp, then the same time with a later status.
    let completed = job(JobStatus::Completed, minutes(60));
    let read = Some((t0(), JobStatus::Scheduled));
    assert_eq!(commit(store, "acme", plan(completed, read)).await, Ok(()));
    let invoiced = job(JobStatus::Invoiced, minutes(60));
    let read = Some((minutes(60), JobStatus::Completed));
    assert_eq!(
        commit(store, "acme", plan(invoiced.clone(), read)).await,
        Ok(())
    );
    assert_eq!(
        load(store, "acme", &with_job).await.job,
        Some(invoiced.clone())
    );

    // Written from a stamp that moved on, or as new: refused.
    let paid = job(JobStatus::Paid, minutes(120));
    let stale = Some((minutes(60), JobStatus::Completed));
    assert_eq!(
        commit(store, "acme", plan(paid.clone(), stale)).await,
        Err(Refusal::Changed)
    );
    assert_eq!(
        commit(store, "acme", plan(paid, None)).await,
        Err(Refusal::Changed)
    );
    assert_eq!(load(store, "acme", &with_job).await.job, Some(invoiced));
}

/// Commits contact `canonical` with `alias` pointing at it.
async fn aliased(store: &impl Store, canonical: &Contact, alias: &str) {
    let plan = Plan {
        contact: Some((canonical.clone(), None)),
        alias: Some(cust(alias)),
        ..Plan::default()
    };
    assert_eq!(
        commit(store, canonical.business_id.as_str(), plan).await,
        Ok(())
    );
}

async fn an_alias_resolves_to_its_contact_and_participant(store: &impl Store) {
    let lead = contact("acme", "01JLEAD", "Maria");
    aliased(store, &lead, "cus_sw").await;
    let enrolled = participant("acme", "01JLEAD", 1);
    enrol(store, &enrolled).await.unwrap();

    let through_alias = LoadKeys {
        participant: true,
        ..keys("cus_sw")
    };
    let snapshot = load(store, "acme", &through_alias).await;
    assert_eq!(snapshot.contact, Some(lead));
    assert_eq!(snapshot.participant, Some(enrolled));

    let taken = Plan {
        contact: Some((contact("acme", "cus_other", "Mary"), None)),
        alias: Some(cust("cus_sw")),
        ..Plan::default()
    };
    assert_eq!(commit(store, "acme", taken).await, Err(Refusal::Changed));
    assert_eq!(load(store, "acme", &keys("cus_other")).await.contact, None);
}

async fn contact_ids_and_aliases_exclude_each_other(store: &impl Store) {
    let lead = contact("acme", "01JLEAD", "Maria");
    aliased(store, &lead, "cus_sw").await;

    // A new contact under an id that is an alias: refused.
    let over_alias = Plan {
        contact: Some((contact("acme", "cus_sw", "Mary"), None)),
        ..Plan::default()
    };
    assert_eq!(
        commit(store, "acme", over_alias).await,
        Err(Refusal::Changed)
    );
    // An alias over an id that is a contact: refused.
    let over_contact = Plan {
        contact: Some((contact("acme", "cus_new", "Marie"), None)),
        alias: Some(cust("01JLEAD")),
        ..Plan::default()
    };
    assert_eq!(
        commit(store, "acme", over_contact).await,
        Err(Refusal::Changed)
    );

    assert_eq!(
        load(store, "acme", &keys("cus_sw")).await.contact,
        Some(lead.clone())
    );
    assert_eq!(
        load(store, "acme", &keys("01JLEAD")).await.contact,
        Some(lead)
    );
    assert_eq!(load(store, "acme", &keys("cus_new")).await.contact, None);
}

async fn the_named_referrer_is_loaded_through_its_alias_with_its_participant(store: &impl Store) {
    let referrer = contact("acme", "01JREF", "Rita");
    aliased(store, &referrer, "cus_rita").await;
    let enrolled = participant("acme", "01JREF", 1);
    enrol(store, &enrolled).await.unwrap();

    let named = LoadKeys {
        referrer: Some(cust("cus_rita")),
        ..keys("lead_1")
    };
    let snapshot = load(store, "acme", &named).await;
    assert_eq!(snapshot.contact, None);
    assert_eq!(snapshot.referrer, Some(referrer));
    assert_eq!(
        snapshot.participants,
        HashMap::from([(cust("01JREF"), enrolled)])
    );
}

async fn the_referrer_of_the_contacts_referral_is_loaded_when_asked(store: &impl Store) {
    let referrer = contact("acme", "cus_rita", "Rita");
    commit(
        store,
        "acme",
        Plan {
            contact: Some((referrer.clone(), None)),
            ..Plan::default()
        },
    )
    .await
    .unwrap();
    let enrolled = participant("acme", "cus_rita", 1);
    enrol(store, &enrolled).await.unwrap();
    let mut lead = contact("acme", "lead_1", "Lee");
    lead.referral = Some(referral(
        "ref_1",
        "lead_1",
        Some("cus_rita"),
        ReferralStatus::Pending,
    ));
    commit(
        store,
        "acme",
        Plan {
            contact: Some((lead.clone(), None)),
            ..Plan::default()
        },
    )
    .await
    .unwrap();

    let parties = LoadKeys {
        referral_parties: true,
        ..keys("lead_1")
    };
    let snapshot = load(store, "acme", &parties).await;
    assert_eq!(snapshot.contact, Some(lead));
    assert_eq!(snapshot.referrer, Some(referrer));
    assert_eq!(
        snapshot.participants,
        HashMap::from([(cust("cus_rita"), enrolled)])
    );

    let plain = load(store, "acme", &keys("lead_1")).await;
    assert_eq!(plain.referrer, None);
    assert!(plain.participants.is_empty());
}

async fn repeat_keys_hold_until_they_expire_and_lead_counters_stop_at_their_limit(
    store: &impl Store,
) {
    let key = LeadKey::Phone(phone(101));
    let counter = CounterKey::ForCode {
        code: ReferralCode::parse("ABCD2345").unwrap(),
        day: NaiveDate::from_ymd_opt(2030, 3, 4).unwrap(),
    };
    let bump = CounterBump {
        key: counter.clone(),
        seen: 0,
        limit: 2,
        retry_after_secs: 600,
        expires_at: minutes(60),
    };
    let claim = |lead: &str, now: DateTime<Utc>| Plan {
        lead_keys: vec![(key.clone(), lead.into(), now + Duration::hours(24))],
        ..Plan::default()
    };
    let count = || Plan {
        counters: vec![bump.clone()],
        ..Plan::default()
    };
    let read = LoadKeys {
        lead_keys: vec![key.clone()],
        counters: vec![counter.clone()],
        ..keys("lead_1")
    };

    let first = Plan {
        counters: vec![bump.clone()],
        ..claim("lead-1", t0())
    };
    assert_eq!(commit(store, "acme", first).await, Ok(()));
    let snapshot = load(store, "acme", &read).await;
    assert_eq!(
        snapshot.recent_lead,
        Some(("lead-1".into(), t0() + Duration::hours(24)))
    );
    assert_eq!(snapshot.counters, HashMap::from([(counter.clone(), 1)]));

    assert_eq!(
        commit(store, "acme", claim("lead-2", minutes(60))).await,
        Err(Refusal::Changed)
    );
    assert_eq!(commit(store, "acme", count()).await, Ok(()));
    assert_eq!(
        commit(store, "acme", count()).await,
        Err(Refusal::RateLimited {
            retry_after_secs: 600
        })
    );

    let expired = t0() + Duration::hours(24);
    assert_eq!(
        commit(store, "acme", claim("lead-3", expired)).await,
        Ok(())
    );
    let snapshot = load(store, "acme", &read).await;
    assert_eq!(
        snapshot.recent_lead,
        Some(("lead-3".into(), expired + Duration::hours(24)))
    );
    assert_eq!(snapshot.counters, HashMap::from([(counter, 2)]));
    assert_eq!(load(store, "rival", &read).await.recent_lead, None);
}

async fn finishing_records_outcomes_and_the_numbers_standing(store: &impl Store) {
    let (p1, p2) = (phone(101), phone(102));
    let m1 = text("acme", "m1", "cus_1", &p1, minutes(2));
    let m2 = text("acme", "m2", "cus_2", &p2, minutes(2));
    commit(store, "acme", with_texts(vec![m1.clone(), m2.clone()]))
        .await
        .unwrap();

    let finish = Finish {
        outcomes: vec![
            SendOutcome {
                message_id: "m1".into(),
                phone: Some(p1.clone()),
                result: SendResult::Sent {
                    provider_id: "prov-1".into(),
                    at: minutes(1),
                },
            },
            SendOutcome {
                message_id: "m2".into(),
                phone: Some(p2.clone()),
                result: SendResult::Closed {
                    status: Status::Suppressed,
                    reason: Reason::OptedOut,
                },
            },
        ],
        ..Finish::default()
    };
    ProgramStore::finish(store, &biz("acme"), &finish)
        .await
        .unwrap();

    let delivered = Message {
        status: Status::Sent,
        sent_at: Some(minutes(1)),
        provider_id: Some("prov-1".into()),
        due_at: None,
        ..m1
    };
    let closed = Message {
        status: Status::Suppressed,
        reason: Some(Reason::OptedOut),
        due_at: None,
        ..m2
    };
    assert_eq!(stored_text(store, "acme", "m1").await, Some(delivered));
    assert_eq!(stored_text(store, "acme", "m2").await, Some(closed));
    assert_eq!(
        store.recipient(&p1).await.unwrap(),
        Recipient {
            opted_out: false,
            last_business_id: Some(biz("acme")),
        }
    );
    assert_eq!(
        store.recipient(&p2).await.unwrap(),
        Recipient {
            opted_out: true,
            last_business_id: Some(biz("acme")),
        }
    );
    assert!(
        store
            .due_messages(minutes(600), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn finishing_removes_published_events_and_keeps_new_pending_ones(store: &impl Store) {
    let (a, b) = (event("ev-1", minutes(-180)), event("ev-2", minutes(-60)));
    let plan = Plan {
        events: vec![a.clone(), b.clone()],
        ..Plan::default()
    };
    commit(store, "acme", plan).await.unwrap();
    assert_eq!(
        store.pending_events(t0(), 10).await.unwrap(),
        [a.clone(), b.clone()]
    );
    assert_eq!(store.pending_events(minutes(-120), 10).await.unwrap(), [a]);

    let c = event("ev-3", minutes(-30));
    let finish = Finish {
        published: vec!["ev-1".into()],
        pending: vec![c.clone()],
        ..Finish::default()
    };
    ProgramStore::finish(store, &biz("acme"), &finish)
        .await
        .unwrap();
    assert_eq!(store.pending_events(t0(), 10).await.unwrap(), [b, c]);
}

async fn pending_events_come_oldest_first(store: &impl Store) {
    let plan = Plan {
        events: vec![
            event("ev-1", minutes(-60)),
            event("ev-2", minutes(-180)),
            event("ev-3", minutes(-120)),
            event("ev-4", minutes(10)),
        ],
        ..Plan::default()
    };
    commit(store, "acme", plan).await.unwrap();
    assert_eq!(
        event_ids(&store.pending_events(t0(), 10).await.unwrap()),
        ["ev-2", "ev-3", "ev-1"]
    );
    assert_eq!(
        event_ids(&store.pending_events(t0(), 2).await.unwrap()),
        ["ev-2", "ev-3"]
    );
}

// ------------------------------------------------------------------ the outbox

async fn due_messages_are_pending_ones_due_by_now_earliest_first(store: &impl Store) {
    let p1 = phone(101);
    let acme = vec![
        text("acme", "q1", "cus_1", &p1, minutes(2)),
        deferred(text("acme", "d1", "cus_1", &p1, t0()), minutes(60)),
        sent(text("acme", "s1", "cus_1", &p1, minutes(1))),
        text("acme", "q2", "cus_1", &p1, minutes(3)),
        text("acme", "x1", "cus_1", &p1, minutes(1)).suppressed(Reason::NoConsent),
        text("acme", "q4", "cus_1", &p1, minutes(10)),
    ];
    commit(store, "acme", with_texts(acme)).await.unwrap();
    let rival = text("rival", "q3", "cus_9", &p1, minutes(1));
    commit(store, "rival", with_texts(vec![rival]))
        .await
        .unwrap();

    assert!(store.due_messages(t0(), 10).await.unwrap().is_empty());
    assert_eq!(
        ids(&store.due_messages(minutes(10), 10).await.unwrap()),
        ["q3", "q1", "q2", "q4"]
    );
    assert_eq!(
        ids(&store.due_messages(minutes(120), 10).await.unwrap()),
        ["q3", "q1", "q2", "q4", "d1"]
    );
    assert_eq!(
        ids(&store.due_messages(minutes(120), 2).await.unwrap()),
        ["q3", "q1"]
    );
}

async fn a_claim_takes_a_message_as_read_once_and_counts_against_the_caps(store: &impl Store) {
    let (p1, p2) = (phone(101), phone(102));
    let q1 = text("acme", "q1", "cus_1", &p1, minutes(2));
    let d1 = deferred(text("acme", "d1", "cus_2", &p2, t0()), minutes(60));
    commit(store, "acme", with_texts(vec![q1.clone(), d1.clone()]))
        .await
        .unwrap();

    assert_eq!(store.claim(&q1, None, minutes(10)).await.unwrap(), Ok(()));
    let claimed = Message {
        due_at: Some(minutes(10)),
        ..q1.clone()
    };
    assert_eq!(
        stored_text(store, "acme", "q1").await,
        Some(claimed.clone())
    );
    assert!(store.due_messages(minutes(5), 10).await.unwrap().is_empty());
    assert_eq!(
        store.due_messages(minutes(10), 10).await.unwrap(),
        std::slice::from_ref(&claimed)
    );
    // Claimed once: the same read cannot take it again.
    assert_eq!(
        store.claim(&q1, None, minutes(20)).await.unwrap(),
        Err(Refusal::Changed)
    );
    assert_eq!(stored_text(store, "acme", "q1").await, Some(claimed));

    let day = today();
    let counted = guard("d1", &p2, day, 1, 100);
    assert_eq!(
        store.claim(&d1, Some(&counted), minutes(70)).await.unwrap(),
        Ok(())
    );
    let queued = Message {
        status: Status::Queued,
        due_at: Some(minutes(70)),
        ..d1
    };
    assert_eq!(stored_text(store, "acme", "d1").await, Some(queued));
    assert_eq!(
        commit(store, "acme", sends(vec![guard("m9", &p2, day, 1, 100)])).await,
        capped("m9", Reason::DailyCap)
    );
}

async fn a_claim_is_refused_for_an_opted_out_number_or_a_reached_cap(store: &impl Store) {
    let (day, p1) = (today(), phone(101));
    let q1 = text("acme", "q1", "cus_1", &p1, minutes(2));
    commit(store, "acme", with_texts(vec![q1.clone()]))
        .await
        .unwrap();
    let counted = guard("q1", &p1, day, 1, 100);

    store.set_opted_out(&p1, true, t0()).await.unwrap();
    assert_eq!(
        store.claim(&q1, Some(&counted), minutes(10)).await.unwrap(),
        opted_out("q1")
    );
    assert_eq!(stored_text(store, "acme", "q1").await, Some(q1.clone()));

    store.set_opted_out(&p1, false, t0()).await.unwrap();
    commit(store, "acme", sends(vec![guard("m0", &p1, day, 1, 100)]))
        .await
        .unwrap();
    assert_eq!(
        store.claim(&q1, Some(&counted), minutes(10)).await.unwrap(),
        capped("q1", Reason::DailyCap)
    );
    assert_eq!(stored_text(store, "acme", "q1").await, Some(q1.clone()));

    let resend = SendGuard {
        counts: false,
        ..counted
    };
    assert_eq!(
        store.claim(&q1, Some(&resend), minutes(10)).await.unwrap(),
        Ok(())
    );
}

async fn a_reschedule_replaces_a_message_only_as_read(store: &impl Store) {
    let d1 = deferred(text("acme", "d1", "cus_1", &phone(101), t0()), minutes(60));
    commit(store, "acme", with_texts(vec![d1.clone()]))
        .await
        .unwrap();

    let later = deferred(d1.clone(), minutes(120));
    store.reschedule(&d1, &later).await.unwrap();
    assert_eq!(stored_text(store, "acme", "d1").await, Some(later.clone()));

    // Read before the change: nothing happens.
    let stale = deferred(d1.clone(), minutes(500));
    store.reschedule(&d1, &stale).await.unwrap();
    assert_eq!(stored_text(store, "acme", "d1").await, Some(later.clone()));

    let closed = Message {
        status: Status::Failed,
        reason: Some(Reason::ProviderError),
        due_at: None,
        ..later.clone()
    };
    store.reschedule(&later, &closed).await.unwrap();
    assert_eq!(stored_text(store, "acme", "d1").await, Some(closed));
    assert!(
        store
            .due_messages(minutes(600), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn messages_are_paged_newest_first_by_customer_and_status(store: &impl Store) {
    let p1 = phone(101);
    let acme = vec![
        sent(text("acme", "m01", "cus_a", &p1, t0())),
        text("acme", "m02", "cus_b", &p1, minutes(2)),
        text("acme", "m03", "cus_a", &p1, minutes(2)),
        sent(text("acme", "m04", "cus_a", &p1, t0())),
        sent(text("acme", "m05", "cus_b", &p1, t0())),
    ];
    commit(store, "acme", with_texts(acme)).await.unwrap();
    commit(
        store,
        "rival",
        with_texts(vec![sent(text("rival", "m06", "cus_a", &p1, t0()))]),
    )
    .await
    .unwrap();
    let pages = |filter: MessageFilter, limit: u32| async move {
        let mut pages = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let Page { items, next } = store
                .messages(&biz("acme"), &filter, limit, after.as_deref())
                .await
                .unwrap();
            pages.push(ids(&items).join(","));
            match next {
                Some(id) => after = Some(id),
                None => return pages,
            }
        }
    };

    assert_eq!(
        pages(MessageFilter::default(), 2).await,
        ["m05,m04", "m03,m02", "m01"]
    );
    let customer_a = MessageFilter {
        customer_id: Some(cust("cus_a")),
        status: None,
    };
    assert_eq!(pages(customer_a, 2).await, ["m04,m03", "m01"]);
    let sent_only = MessageFilter {
        customer_id: None,
        status: Some(Status::Sent),
    };
    assert_eq!(pages(sent_only, 2).await, ["m05,m04", "m01"]);
    let both = MessageFilter {
        customer_id: Some(cust("cus_a")),
        status: Some(Status::Sent),
    };
    assert_eq!(pages(both, 2).await, ["m04,m01"]);
}

// ------------------------------------------------------------------ recipients and rates

async fn a_numbers_opt_out_round_trips_and_keeps_the_last_business(store: &impl Store) {
    let p1 = phone(101);
    assert_eq!(store.recipient(&p1).await.unwrap(), Recipient::default());

    commit(
        store,
        "acme",
        with_texts(vec![text("acme", "m1", "cus_1", &p1, minutes(2))]),
    )
    .await
    .unwrap();
    let finish = Finish {
        outcomes: vec![SendOutcome {
            message_id: "m1".into(),
            phone: Some(p1.clone()),
            result: SendResult::Sent {
                provider_id: "prov-1".into(),
                at: minutes(1),
            },
        }],
        ..Finish::default()
    };
    ProgramStore::finish(store, &biz("acme"), &finish)
        .await
        .unwrap();
    let standing = |opted_out| Recipient {
        opted_out,
        last_business_id: Some(biz("acme")),
    };
    assert_eq!(store.recipient(&p1).await.unwrap(), standing(false));

    store.set_opted_out(&p1, true, minutes(5)).await.unwrap();
    assert_eq!(store.recipient(&p1).await.unwrap(), standing(true));
    store.set_opted_out(&p1, false, minutes(6)).await.unwrap();
    assert_eq!(store.recipient(&p1).await.unwrap(), standing(false));
    assert_eq!(
        store.recipient(&phone(102)).await.unwrap(),
        Recipient::default()
    );
}

async fn rate_limits_count_hits_in_fixed_windows(store: &impl Store) {
    let at = |secs: i64| t0() + Duration::seconds(secs);
    let hasher = IpHasher::new(b"k");
    let a = RateKey::UnknownCode(hasher.hash("192.0.2.1".parse().unwrap()));
    let b = RateKey::UnknownCode(hasher.hash("192.0.2.2".parse().unwrap()));
    assert_eq!(store.hit(&a, 60, 2, at(0)).await.unwrap(), Rate::Allowed);
    assert_eq!(store.hit(&a, 60, 2, at(10)).await.unwrap(), Rate::Allowed);
    assert_eq!(
        store.hit(&a, 60, 2, at(20)).await.unwrap(),
        Rate::Limited {
            retry_after_secs: 40
        }
    );
    assert_eq!(
        store.hit(&a, 60, 2, at(45)).await.unwrap(),
        Rate::Limited {
            retry_after_secs: 15
        }
    );
    assert_eq!(store.hit(&b, 60, 2, at(45)).await.unwrap(), Rate::Allowed);
    assert_eq!(store.hit(&a, 60, 2, at(60)).await.unwrap(), Rate::Allowed);
    assert_eq!(store.hits(&a, 60, at(61)).await.unwrap(), 1);
    assert_eq!(store.hits(&b, 60, at(50)).await.unwrap(), 1);
    let account = RateKey::SignInAccount(KeyHash::of("olivia@example.com"));
    assert_eq!(store.hits(&account, 900, at(0)).await.unwrap(), 0);
    store.hit(&account, 900, 5, at(0)).await.unwrap();
    let address = RateKey::SignInAddress(hasher.hash("192.0.2.1".parse().unwrap()));
    assert_eq!(store.hits(&account, 900, at(10)).await.unwrap(), 1);
    assert_eq!(
        store.hits(&address, 900, at(10)).await.unwrap(),
        0,
        "its own count"
    );
}

// ------------------------------------------------------------------ referrals

async fn referrals_are_paged_newest_first_by_status(store: &impl Store) {
    use ReferralStatus::*;
    let all = vec![
        referral("r01", "lead_1", Some("cus_a"), Pending),
        referral("r02", "lead_2", None, NeedsReview),
        referral("r03", "lead_3", Some("cus_a"), Pending),
        referral("r04", "lead_4", Some("cus_b"), Rejected),
        referral("r05", "lead_5", Some("cus_b"), Pending),
    ];
    let plan = |referrals: Vec<Referral>| Plan {
        referrals,
        ..Plan::default()
    };
    commit(store, "acme", plan(all.clone())).await.unwrap();
    let elsewhere = referral("r06", "lead_6", Some("cus_a"), Pending);
    commit(store, "rival", plan(vec![elsewhere])).await.unwrap();
    let pages = |status: Option<ReferralStatus>, limit: u32| async move {
        let mut pages = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let Page { items, next } = store
                .referrals(&biz("acme"), status, limit, after.as_deref())
                .await
                .unwrap();
            pages.push(referral_ids(&items).join(","));
            match next {
                Some(id) => after = Some(id),
                None => return pages,
            }
        }
    };

    assert_eq!(pages(None, 2).await, ["r05,r04", "r03,r02", "r01"]);
    assert_eq!(pages(Some(Pending), 2).await, ["r05,r03", "r01"]);
    assert_eq!(pages(Some(Qualified), 2).await, [""]);
    assert_eq!(
        store.referral(&biz("acme"), "r03").await.unwrap(),
        Some(all[2].clone())
    );
    assert_eq!(store.referral(&biz("acme"), "r06").await.unwrap(), None);

    // A referral that moves on leaves its old status's list.
    let qualified = Referral {
        status: Qualified,
        ..all[2].clone()
    };
    commit(store, "acme", plan(vec![qualified])).await.unwrap();
    assert_eq!(pages(Some(Pending), 2).await, ["r05,r01"]);
    assert_eq!(pages(Some(Qualified), 2).await, ["r03"]);
}

async fn a_referrers_referrals_are_listed_newest_first_and_follow_a_move(store: &impl Store) {
    use ReferralStatus::*;
    let r03 = referral("r03", "lead_3", Some("cus_a"), NeedsReview);
    let plan = Plan {
        referrals: vec![
            referral("r01", "lead_1", Some("cus_a"), Pending),
            referral("r02", "lead_2", Some("cus_b"), Pending),
            r03.clone(),
            referral("r04", "lead_4", Some("cus_a"), Qualified),
        ],
        ..Plan::default()
    };
    commit(store, "acme", plan).await.unwrap();
    let by = |referrer: &str, limit: u32| {
        let referrer = cust(referrer);
        async move {
            let found = store
                .referrals_by(&biz("acme"), &referrer, limit)
                .await
                .unwrap();
            referral_ids(&found).join(",")
        }
    };

    assert_eq!(by("cus_a", 10).await, "r04,r03,r01");
    assert_eq!(by("cus_a", 2).await, "r04,r03");
    assert_eq!(by("cus_b", 10).await, "r02");

    // Approved for another referrer: listed under the new one only.
    let moved = Plan {
        stale_refby: vec![(cust("cus_a"), "r03".into())],
        referrals: vec![Referral {
            referrer: Some(Person {
                customer_id: cust("cus_b"),
                name: "Referrer cus_b".into(),
            }),
            status: Pending,
            ..r03
        }],
        ..Plan::default()
    };
    commit(store, "acme", moved).await.unwrap();
    assert_eq!(by("cus_a", 10).await, "r04,r01");
    assert_eq!(by("cus_b", 10).await, "r03,r02");
    assert!(
        store
            .referrals_by(&biz("rival"), &cust("cus_a"), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

fn searchable(customer: &str, first: &str, last: &str, n: u16) -> (SearchEntry, Vec<SearchKey>) {
    let entry = SearchEntry {
        customer_id: cust(customer),
        name: format!("{first} {last}"),
        phone: Some(phone(n)),
        enrolled: true,
    };
    let keys = entry.keys(first, Some(last));
    (entry, keys)
}

fn by_name(prefix: &str) -> SearchQuery {
    SearchQuery::Name(prefix.into())
}

fn tel(prefix: &str) -> SearchQuery {
    SearchQuery::Phone(prefix.into())
}

async fn contacts_are_searched_by_key_prefix_and_follow_a_rename(store: &impl Store) {
    let index = |(entry, put): (SearchEntry, Vec<SearchKey>), remove: Vec<SearchKey>| Plan {
        search: Some(SearchUpdate { remove, put, entry }),
        ..Plan::default()
    };
    let garcia = searchable("cus_1", "Maria", "Garcia", 101);
    let rossi = searchable("cus_2", "Mario", "Rossi", 102);
    let lopez = searchable("cus_3", "Maria", "Lopez", 103);
    for person in [garcia.clone(), rossi.clone(), lopez.clone()] {
        commit(store, "acme", index(person, Vec::new()))
            .await
            .unwrap();
    }
    let search = |query: SearchQuery, limit: u32| async move {
        store
            .search(&biz("acme"), &query, limit)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect::<Vec<_>>()
    };

    assert_eq!(
        search(by_name("mari"), 10).await,
        ["Maria Garcia", "Maria Lopez", "Mario Rossi"]
    );
    assert_eq!(
        search(by_name("mari"), 2).await,
        ["Maria Garcia", "Maria Lopez"]
    );
    assert_eq!(search(by_name("rossi"), 10).await, ["Mario Rossi"]);
    assert_eq!(
        search(tel("+1512555010"), 10).await,
        ["Maria Garcia", "Mario Rossi", "Maria Lopez"]
    );
    assert!(
        store
            .search(&biz("rival"), &by_name("mari"), 10)
            .await
            .unwrap()
            .is_empty()
    );

    let perez = searchable("cus_1", "Maria", "Perez", 101);
    let gone: Vec<SearchKey> = garcia
        .1
        .iter()
        .filter(|k| !perez.1.contains(k))
        .cloned()
        .collect();
    commit(store, "acme", index(perez, gone)).await.unwrap();
    assert!(search(by_name("garcia"), 10).await.is_empty());
    assert_eq!(search(by_name("perez"), 10).await, ["Maria Perez"]);
    assert_eq!(search(tel("+15125550101"), 10).await, ["Maria Perez"]);
}

// ------------------------------------------------------------------ rewards

async fn rewards_are_paged_newest_first_by_status_and_by_customer(store: &impl Store) {
    use RewardStatus::*;
    let all = vec![
        reward("w01", "cus_a", Pending),
        reward("w02", "cus_b", Approved),
        reward("w03", "cus_a", Issued),
        reward("w04", "cus_a", Pending),
    ];
    let plan = |rewards: Vec<Reward>| Plan {
        rewards,
        ..Plan::default()
    };
    commit(store, "acme", plan(all.clone())).await.unwrap();
    commit(store, "rival", plan(vec![reward("w05", "cus_a", Pending)]))
        .await
        .unwrap();
    let pages = |status: Option<RewardStatus>, limit: u32| async move {
        let mut pages = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let Page { items, next } = store
                .rewards(&biz("acme"), status, limit, after.as_deref())
                .await
                .unwrap();
            pages.push(reward_ids(&items).join(","));
            match next {
                Some(id) => after = Some(id),
                None => return pages,
            }
        }
    };

    assert_eq!(pages(None, 3).await, ["w04,w03,w02", "w01"]);
    assert_eq!(pages(Some(Pending), 1).await, ["w04", "w01"]);
    assert_eq!(pages(Some(Issued), 5).await, ["w03"]);
    let of = |customer: &str, limit: u32| {
        let customer = cust(customer);
        async move {
            let found = store
                .rewards_of(&biz("acme"), &customer, limit)
                .await
                .unwrap();
            reward_ids(&found).join(",")
        }
    };
    assert_eq!(of("cus_a", 10).await, "w04,w03,w01");
    assert_eq!(of("cus_a", 2).await, "w04,w03");
    assert_eq!(of("cus_b", 10).await, "w02");
    assert_eq!(
        store.reward(&biz("acme"), "w02").await.unwrap(),
        Some(all[1].clone())
    );
    assert_eq!(store.reward(&biz("acme"), "w05").await.unwrap(), None);
}

async fn ledger_entries_and_discount_codes_are_claimed_once(store: &impl Store) {
    let entry =
        |customer: &str, reward: &str, kind: &str, cents: i64, at: DateTime<Utc>| LedgerEntry {
            entry_id: format!("{reward}#{kind}"),
            customer_id: cust(customer),
            reward_id: reward.into(),
            amount_cents: cents,
            at,
        };
    let plan = |ledger: Vec<LedgerEntry>| Plan {
        ledger,
        ..Plan::default()
    };
    let (first, second, reversal) = (
        entry("cus_a", "w01", "credit", 2500, minutes(120)),
        entry("cus_a", "w02", "credit", 5000, minutes(60)),
        entry("cus_a", "w02", "reversal", -5000, minutes(180)),
    );
    commit(store, "acme", plan(vec![first.clone(), second.clone()]))
        .await
        .unwrap();
    commit(store, "acme", plan(vec![reversal.clone()]))
        .await
        .unwrap();
    assert_eq!(
        commit(
            store,
            "acme",
            plan(vec![entry("cus_a", "w01", "credit", 2500, minutes(240))])
        )
        .await,
        Err(Refusal::Changed)
    );
    let other = entry("cus_b", "w01", "credit", 100, minutes(1));
    commit(store, "acme", plan(vec![other.clone()]))
        .await
        .unwrap();

    assert_eq!(
        store.ledger(&biz("acme"), &cust("cus_a")).await.unwrap(),
        [second, first, reversal]
    );
    assert_eq!(
        store.ledger(&biz("acme"), &cust("cus_b")).await.unwrap(),
        [other]
    );
    assert!(
        store
            .ledger(&biz("rival"), &cust("cus_a"))
            .await
            .unwrap()
            .is_empty()
    );

    let codes = |code: &str| Plan {
        discount_codes: vec![code.into()],
        ..Plan::default()
    };
    assert_eq!(commit(store, "acme", codes("VOUCH-ABCD2345")).await, Ok(()));
    assert_eq!(
        commit(store, "rival", codes("VOUCH-ABCD2345")).await,
        Err(Refusal::Changed)
    );
    assert_eq!(
        commit(store, "rival", codes("VOUCH-WXYZ6789")).await,
        Ok(())
    );
}

async fn held_rewards_are_due_by_release_until_done(store: &impl Store) {
    let due = |rewards: Vec<Reward>| Plan {
        reward_due: rewards,
        ..Plan::default()
    };
    commit(
        store,
        "acme",
        due(vec![
            held("h1", minutes(-60)),
            held("h2", t0() + Duration::days(3)),
        ]),
    )
    .await
    .unwrap();
    commit(store, "rival", due(vec![held("h3", minutes(-120))]))
        .await
        .unwrap();
    let listed = |now: DateTime<Utc>, limit: u32| async move {
        store
            .due_rewards(now, limit)
            .await
            .unwrap()
            .into_iter()
            .map(|(business, reward)| format!("{business}/{}", reward.reward_id))
            .collect::<Vec<_>>()
    };

    assert_eq!(listed(t0(), 10).await, ["rival/h3", "acme/h1"]);
    assert_eq!(listed(t0(), 1).await, ["rival/h3"]);
    let (_, first) = store.due_rewards(t0(), 1).await.unwrap().remove(0);
    assert_eq!(first, held("h3", minutes(-120)));

    let done = Plan {
        reward_done: vec!["h1".into()],
        ..Plan::default()
    };
    commit(store, "acme", done).await.unwrap();
    assert_eq!(listed(t0(), 10).await, ["rival/h3"]);
    assert_eq!(
        listed(t0() + Duration::days(4), 10).await,
        ["rival/h3", "acme/h2"]
    );
}

async fn awaiting_rewards_come_oldest_first_until_forgotten_or_done(store: &impl Store) {
    let awaiting = |referral: &str, at: DateTime<Utc>| IssueDue {
        referral_id: referral.into(),
        lead_customer_id: cust("lead_1"),
        referrer_customer_id: Some(cust("cus_a")),
        at,
    };
    let plan = |due: Vec<IssueDue>| Plan {
        issue_due: due,
        ..Plan::default()
    };
    commit(
        store,
        "acme",
        plan(vec![
            awaiting("q1", minutes(-60)),
            awaiting("q3", minutes(-120)),
            awaiting("q4", minutes(60)),
        ]),
    )
    .await
    .unwrap();
    commit(store, "rival", plan(vec![awaiting("q2", minutes(-180))]))
        .await
        .unwrap();
    let listed = |limit: u32| async move {
        store
            .awaiting_rewards(t0(), limit)
            .await
            .unwrap()
            .into_iter()
            .map(|(business, due)| format!("{business}/{}", due.referral_id))
            .collect::<Vec<_>>()
    };

    assert_eq!(listed(10).await, ["rival/q2", "acme/q3", "acme/q1"]);
    assert_eq!(listed(2).await, ["rival/q2", "acme/q3"]);
    assert_eq!(
        store.awaiting_rewards(t0(), 1).await.unwrap(),
        [(biz("rival"), awaiting("q2", minutes(-180)))]
    );

    store.forget_awaiting(&biz("acme"), "q3").await.unwrap();
    assert_eq!(listed(10).await, ["rival/q2", "acme/q1"]);
    let done = Plan {
        issue_done: vec!["q1".into()],
        ..Plan::default()
    };
    commit(store, "acme", done).await.unwrap();
    assert_eq!(listed(10).await, ["rival/q2"]);
}

// ------------------------------------------------------------------ reports

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2030, 3, d).unwrap()
}

/// What `figure` adds up to over `days` (parts of a day add up).
fn total(days: &[DayCounts], on: NaiveDate, figure: &Figure) -> i64 {
    days.iter()
        .filter(|d| d.day == on)
        .filter_map(|d| d.counts.get(figure))
        .sum()
}

async fn figures_add_up_by_day_across_commits_clicks_and_sends(store: &impl Store) {
    enrol(store, &participant("acme", "cus_1", 1))
        .await
        .unwrap();
    let revenue = Figure::Revenue(Source::Link, Some(Channel::Sms));
    let mut tally = Tally::default();
    tally.add(day(4), Figure::Enrolled, 1);
    tally.add(day(4), revenue.clone(), 45_000);
    tally.add(
        day(5),
        Figure::Referrer(
            cust("cus_1"),
            vouch_domain::model::report::ReferrerFigure::Qualified,
        ),
        1,
    );
    let plan = Plan {
        tally: tally.clone(),
        ..Plan::default()
    };
    commit(store, "acme", plan.clone()).await.unwrap();
    commit(store, "acme", plan).await.unwrap();
    let mut reversal = Tally::default();
    reversal.add(day(4), revenue.clone(), -45_000);
    commit(
        store,
        "acme",
        Plan {
            tally: reversal,
            ..Plan::default()
        },
    )
    .await
    .unwrap();
    let mut clicked = Tally::default();
    clicked.add(day(5), Figure::Clicks(Channel::Qr), 1);
    for _ in 0..3 {
        let c = click("cus_1", 1, Channel::Qr);
        assert_eq!(store.record(&c, &clicked).await.unwrap(), Written::Applied);
    }
    // A click that is not kept counts nothing.
    let stray = click("cus_9", 9, Channel::Qr);
    assert_eq!(
        store.record(&stray, &clicked).await.unwrap(),
        Written::Refused
    );
    // Another business, and a day outside the range, are not read.
    let mut elsewhere = Tally::default();
    elsewhere.add(day(4), Figure::Enrolled, 7);
    commit(
        store,
        "other",
        Plan {
            tally: elsewhere,
            ..Plan::default()
        },
    )
    .await
    .unwrap();
    let mut later = Tally::default();
    later.add(day(6), Figure::Enrolled, 1);
    commit(
        store,
        "acme",
        Plan {
            tally: later,
            ..Plan::default()
        },
    )
    .await
    .unwrap();

    let days = store.days(&biz("acme"), day(4), day(5)).await.unwrap();
    assert_eq!(total(&days, day(4), &Figure::Enrolled), 2);
    assert_eq!(total(&days, day(4), &revenue), 45_000);
    assert_eq!(total(&days, day(5), &Figure::Clicks(Channel::Qr)), 3);
    assert_eq!(
        total(
            &days,
            day(5),
            &Figure::Referrer(
                cust("cus_1"),
                vouch_domain::model::report::ReferrerFigure::Qualified
            )
        ),
        2
    );
    assert!(days.iter().all(|d| d.day >= day(4) && d.day <= day(5)));
    assert!(
        store
            .days(&biz("acme"), day(7), day(31))
            .await
            .unwrap()
            .is_empty()
    );
    // A range the wrong way round holds no day.
    assert!(
        store
            .days(&biz("acme"), day(5), day(4))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_finish_is_recorded_once_with_its_figures(store: &impl Store) {
    let p1 = phone(101);
    let m1 = text("acme", "m1", "cus_1", &p1, minutes(2));
    commit(store, "acme", with_texts(vec![m1])).await.unwrap();
    let mut invited = Tally::default();
    invited.add(day(4), Figure::Invited, 1);
    let finish = Finish {
        outcomes: vec![SendOutcome {
            message_id: "m1".into(),
            phone: Some(p1.clone()),
            result: SendResult::Sent {
                provider_id: "prov-1".into(),
                at: minutes(1),
            },
        }],
        tally: invited,
        ..Finish::default()
    };
    // The same finish twice (a retry of one that landed) counts once and stays sent.
    ProgramStore::finish(store, &biz("acme"), &finish)
        .await
        .unwrap();
    ProgramStore::finish(store, &biz("acme"), &finish)
        .await
        .unwrap();
    let days = store.days(&biz("acme"), day(4), day(4)).await.unwrap();
    assert_eq!(total(&days, day(4), &Figure::Invited), 1);
    assert_eq!(
        stored_text(store, "acme", "m1").await.map(|m| m.status),
        Some(Status::Sent)
    );
}

fn board_move(
    customer: &str,
    period: Period,
    qualified: Option<(u32, DateTime<Utc>)>,
    earned: i64,
) -> BoardMove {
    BoardMove {
        customer_id: cust(customer),
        period,
        first_name: name(&format!("Name{customer}")),
        last_name: Some(name("Garcia")),
        qualified,
        earned_cents: earned,
        qualified_all_time: qualified.map_or(0, |(n, _)| n),
    }
}

async fn leaderboard_rows_rank_by_count_then_who_reached_it_first(store: &impl Store) {
    let month = Period::Month(2030, 3);
    let moves = vec![
        board_move("cus_a", month, Some((2, minutes(30))), 2500),
        board_move("cus_b", month, Some((2, minutes(10))), 0),
        board_move("cus_c", month, Some((3, minutes(50))), 0),
        board_move("cus_d", month, Some((1, minutes(5))), 0),
        board_move("cus_e", Period::Year(2030), Some((9, minutes(5))), 0),
    ];
    commit(
        store,
        "acme",
        Plan {
            board: moves,
            ..Plan::default()
        },
    )
    .await
    .unwrap();
    // Earned value adds up; a row down to zero leaves the board.
    let later = vec![
        board_move("cus_a", month, None, 5000),
        board_move("cus_d", month, Some((0, minutes(5))), 0),
    ];
    commit(
        store,
        "acme",
        Plan {
            board: later,
            ..Plan::default()
        },
    )
    .await
    .unwrap();

    let rows = store.board(&biz("acme"), month, 10).await.unwrap();
    let order: Vec<&str> = rows.iter().map(|r| r.customer_id.as_str()).collect();
    assert_eq!(order, ["cus_c", "cus_b", "cus_a"]);
    let a = &rows[2];
    assert_eq!(
        (a.qualified, a.reached_at, a.rewards_earned_cents),
        (2, minutes(30), 7500)
    );
    assert_eq!(a.first_name.as_str(), "Namecus_a");
    let top = store.board(&biz("acme"), month, 1).await.unwrap();
    assert_eq!(top.len(), 1);
    assert_eq!(
        store.board(&biz("acme"), Period::All, 10).await.unwrap(),
        vec![]
    );
    assert_eq!(store.board(&biz("other"), month, 10).await.unwrap(), vec![]);
}

async fn participants_names_are_read_by_id(store: &impl Store) {
    enrol(store, &participant("acme", "cus_1", 1))
        .await
        .unwrap();
    let found = store
        .names(&biz("acme"), &[cust("cus_1"), cust("cus_404")])
        .await
        .unwrap();
    assert_eq!(
        found,
        vec![(cust("cus_1"), name("Maria"), Some(name("Garcia")))]
    );
}

fn monthly_report(month: Month) -> MonthlyReport {
    let summary =
        vouch_domain::rules::summary::summarize(month.first_day(), month.last_day(), "USD", &[]);
    MonthlyReport {
        month,
        generated_at: t0(),
        summary,
        findings: vec!["A finding.".into()],
    }
}

async fn a_months_report_is_kept_once_and_the_next_is_queued(store: &impl Store) {
    let march = Month::parse("2030-03").unwrap();
    // The first report is queued with the business, in the same write.
    assert_eq!(
        store
            .create(&business("acme"), &KeyHash::of("k"), (march, minutes(10)))
            .await
            .unwrap(),
        Written::Applied
    );
    // Refused for the id taken, a second creation queues nothing either.
    assert_eq!(
        store
            .create(
                &business("acme"),
                &KeyHash::of("k2"),
                (march.next(), minutes(1))
            )
            .await
            .unwrap(),
        Written::Refused
    );
    assert_eq!(store.due_reports(minutes(9), 10).await.unwrap(), vec![]);
    assert_eq!(
        store.due_reports(minutes(10), 10).await.unwrap(),
        vec![(biz("acme"), march)]
    );

    let report = monthly_report(march);
    let event = DomainEvent::new(
        "report.generated",
        &biz("acme"),
        t0(),
        json!({"month": "2030-03"}),
    );
    assert_eq!(
        store
            .save_report(&biz("acme"), &report, &event, minutes(60))
            .await
            .unwrap(),
        Written::Applied
    );
    assert_eq!(
        store
            .save_report(&biz("acme"), &report, &event, minutes(90))
            .await
            .unwrap(),
        Written::Refused
    );
    assert_eq!(
        store.report(&biz("acme"), march).await.unwrap(),
        Some(report)
    );
    assert_eq!(
        store.report(&biz("acme"), march.next()).await.unwrap(),
        None
    );
    // The next month is queued for when it is due; the event waits in the outbox.
    assert_eq!(store.due_reports(minutes(59), 10).await.unwrap(), vec![]);
    assert_eq!(
        store.due_reports(minutes(60), 10).await.unwrap(),
        vec![(biz("acme"), march.next())]
    );
    let pending = store.pending_events(minutes(120), 10).await.unwrap();
    assert!(pending.iter().any(|e| e.event_id == event.event_id));

    let april = monthly_report(march.next());
    store
        .save_report(&biz("acme"), &april, &event, minutes(120))
        .await
        .unwrap();
    assert_eq!(
        store.report_months(&biz("acme"), 10).await.unwrap(),
        vec![march.next(), march]
    );
    assert_eq!(
        store.report_months(&biz("acme"), 1).await.unwrap(),
        vec![march.next()]
    );
}

// ------------------------------------------------------------------ staff

fn member(business: &str, email_address: &str, invite: Option<&str>) -> StaffMember {
    StaffMember {
        id: StaffId::generate(),
        business_id: biz(business),
        email: email(email_address),
        name: name("Olivia"),
        role: StaffRole::Owner,
        created_at: t0(),
        added_by: "admin key".into(),
        password: None,
        invite: invite.map(|token| Invite {
            token: KeyHash::of(token),
            expires_at: t0() + Duration::hours(72),
        }),
    }
}

async fn staff_are_added_once_per_email_and_listed_by_business(store: &impl Store) {
    let olivia = member("acme", "olivia@example.com", Some("t1"));
    let sam = member("acme", "sam@example.com", None);
    let other = member("other-biz", "olivia@example.com", None);
    assert_eq!(store.add_staff(&olivia).await.unwrap(), Written::Applied);
    assert_eq!(store.add_staff(&sam).await.unwrap(), Written::Applied);
    assert_eq!(
        store.add_staff(&other).await.unwrap(),
        Written::Refused,
        "an email signs in to one business"
    );
    let listed = store.staff(&biz("acme")).await.unwrap();
    let mut expected = vec![olivia.clone(), sam.clone()];
    expected.sort_by_key(|m| m.id);
    assert_eq!(listed, expected, "by id: the order they were added in");
    assert!(store.staff(&biz("other-biz")).await.unwrap().is_empty());
    assert_eq!(
        store
            .staff_by_email(&email("olivia@example.com"))
            .await
            .unwrap(),
        Some(olivia.clone())
    );
    assert_eq!(
        store.staff_member(&biz("acme"), sam.id).await.unwrap(),
        Some(sam)
    );
    assert_eq!(
        store
            .staff_member(&biz("other-biz"), olivia.id)
            .await
            .unwrap(),
        None
    );
}

async fn an_invite_is_spent_once_and_leads_to_its_member(store: &impl Store) {
    let olivia = member("acme", "olivia@example.com", Some("t1"));
    store.add_staff(&olivia).await.unwrap();
    assert_eq!(
        store.invited(&KeyHash::of("t1")).await.unwrap(),
        Some(olivia.clone())
    );
    assert_eq!(store.invited(&KeyHash::of("t2")).await.unwrap(), None);
    let mut accepted = olivia.clone();
    accepted.password = Some(
        Password::parse("a long enough password")
            .unwrap()
            .hash()
            .unwrap(),
    );
    accepted.invite = None;
    assert_eq!(
        store
            .accept_invite(&accepted, &KeyHash::of("t2"))
            .await
            .unwrap(),
        Written::Refused,
        "not their invite"
    );
    assert_eq!(
        store
            .accept_invite(&accepted, &KeyHash::of("t1"))
            .await
            .unwrap(),
        Written::Applied
    );
    assert_eq!(
        store
            .accept_invite(&accepted, &KeyHash::of("t1"))
            .await
            .unwrap(),
        Written::Refused,
        "spent"
    );
    assert_eq!(store.invited(&KeyHash::of("t1")).await.unwrap(), None);
    let stored = store
        .staff_member(&biz("acme"), olivia.id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.invite.is_none());
    assert!(stored.password.unwrap().verify("a long enough password"));
}

fn session_of(member: &StaffMember, token: &str, seen_at: DateTime<Utc>) -> Session {
    Session {
        token: KeyHash::of(token),
        business_id: member.business_id.clone(),
        staff_id: member.id,
        csrf: format!("csrf-{token}"),
        created_at: t0(),
        seen_at,
    }
}

async fn a_removed_member_loses_sign_in_invite_and_sessions(store: &impl Store) {
    let sam = member("acme", "sam@example.com", Some("t9"));
    store.add_staff(&sam).await.unwrap();
    let session = session_of(&sam, "s1", t0());
    store.open_session(&session).await.unwrap();
    store.remove_staff(&sam).await.unwrap();
    assert_eq!(store.staff(&biz("acme")).await.unwrap(), vec![]);
    assert_eq!(store.staff_by_email(&sam.email).await.unwrap(), None);
    assert_eq!(store.invited(&KeyHash::of("t9")).await.unwrap(), None);
    assert_eq!(
        store
            .session(&biz("acme"), sam.id, &KeyHash::of("s1"))
            .await
            .unwrap(),
        Some((session, None)),
        "the session has no member any more"
    );
    let again = member("acme", "sam@example.com", None);
    assert_eq!(store.add_staff(&again).await.unwrap(), Written::Applied);
}

async fn sessions_are_read_with_their_member_touched_and_closed(store: &impl Store) {
    let olivia = member("acme", "olivia@example.com", None);
    store.add_staff(&olivia).await.unwrap();
    let session = session_of(&olivia, "s1", t0());
    store.open_session(&session).await.unwrap();
    let token = KeyHash::of("s1");
    assert_eq!(
        store
            .session(&biz("acme"), olivia.id, &token)
            .await
            .unwrap(),
        Some((session.clone(), Some(olivia.clone())))
    );
    store.touch_session(&token, minutes(30)).await.unwrap();
    let (touched, _) = store
        .session(&biz("acme"), olivia.id, &token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(touched.seen_at, minutes(30));
    assert_eq!(touched.created_at, t0());
    store.close_session(&token).await.unwrap();
    assert_eq!(
        store
            .session(&biz("acme"), olivia.id, &token)
            .await
            .unwrap(),
        None
    );
    store.touch_session(&token, minutes(40)).await.unwrap();
    assert_eq!(
        store
            .session(&biz("acme"), olivia.id, &token)
            .await
            .unwrap(),
        None,
        "touching a closed session does not open it"
    );
}

fn jobber_connection(business: &str, account: &str, refresh: &str) -> JobberConnection {
    let token = |t: &str| OAuthToken::parse(t).unwrap();
    JobberConnection {
        business_id: BusinessId::parse(business).unwrap(),
        account_id: JobberId::parse(account).unwrap(),
        account_name: "Riverside Plumbing".into(),
        tokens: JobberTokens {
            access_token: token(&format!("access-{refresh}")),
            refresh_token: token(refresh),
            expires_at: minutes(60),
        },
        connected_at: t0(),
        connected_by: "Olivia (owner)".into(),
    }
}

async fn a_jobber_account_is_connected_to_one_business_and_its_tokens_refresh_once(
    store: &impl Store,
) {
    let first = jobber_connection("riverside", "QWNjb3VudC8x", "refresh-1");
    let riverside = first.business_id.clone();
    assert_eq!(
        store.connect_jobber(&first).await.unwrap(),
        Written::Applied
    );
    assert_eq!(
        store.jobber_connection(&riverside).await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.jobber_business(&first.account_id).await.unwrap(),
        Some(riverside.clone())
    );
    // Another business cannot take the account.
    let taken = jobber_connection("lakeside", "QWNjb3VudC8x", "refresh-x");
    assert_eq!(
        store.connect_jobber(&taken).await.unwrap(),
        Written::Refused
    );
    assert_eq!(
        store.jobber_connection(&taken.business_id).await.unwrap(),
        None
    );

    // Two refreshes spending the same refresh token: only the first replaces the tokens.
    let fresh = |refresh: &str| JobberTokens {
        access_token: OAuthToken::parse(&format!("access-{refresh}")).unwrap(),
        refresh_token: OAuthToken::parse(refresh).unwrap(),
        expires_at: minutes(120),
    };
    let spent = &first.tokens.refresh_token;
    assert_eq!(
        store
            .refresh_jobber(&riverside, spent, &fresh("refresh-2"))
            .await
            .unwrap(),
        Written::Applied
    );
    assert_eq!(
        store
            .refresh_jobber(&riverside, spent, &fresh("refresh-3"))
            .await
            .unwrap(),
        Written::Refused
    );
    let stored = store.jobber_connection(&riverside).await.unwrap().unwrap();
    assert_eq!(stored.tokens, fresh("refresh-2"));

    // Connecting another account releases the first one's claim.
    let second = jobber_connection("riverside", "QWNjb3VudC8y", "refresh-4");
    assert_eq!(
        store.connect_jobber(&second).await.unwrap(),
        Written::Applied
    );
    assert_eq!(
        store.jobber_business(&first.account_id).await.unwrap(),
        None
    );
    assert_eq!(
        store.jobber_business(&second.account_id).await.unwrap(),
        Some(riverside.clone())
    );
    // A disconnect of the old pairing leaves the new one; of the new one, nothing stays.
    store
        .disconnect_jobber(&riverside, &first.account_id)
        .await
        .unwrap();
    assert!(store.jobber_connection(&riverside).await.unwrap().is_some());
    store
        .disconnect_jobber(&riverside, &second.account_id)
        .await
        .unwrap();
    assert_eq!(store.jobber_connection(&riverside).await.unwrap(), None);
    assert_eq!(
        store.jobber_business(&second.account_id).await.unwrap(),
        None
    );
    // Free again: another business may connect it.
    assert_eq!(
        store.connect_jobber(&taken).await.unwrap(),
        Written::Applied
    );
}
