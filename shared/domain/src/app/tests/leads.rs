//! Leads over the in-memory fakes: the form, attribution, every fraud rule, review,
//! qualification and staff changes.

use std::net::IpAddr;

use chrono::Duration;
use proptest::prelude::*;
use serde_json::json;

use crate::app::{ClickOutcome, EnrolRequest, LeadReceipt, MAX_MESSAGE_CHARS, Review, Visit};
use crate::decide::{Command, Named, NewLead};
use crate::model::contact::CustomerDetails;
use crate::model::events::{LEAD_ATTRIBUTED, REFERRAL_QUALIFIED, REFERRAL_REVERSED};
use crate::model::job::JobStatus;
use crate::model::message::Purpose;
use crate::model::referral::{Flag, Source, Status};
use crate::model::search::SearchEntry;
use crate::ports::Referrals;
use crate::testing::{FRIEND_IP, LINKS, World, customer, customer_id, form, friend, job, upsert};
use crate::values::error::{Error, FieldErrors, Result};
use crate::values::ids::CustomerId;
use crate::values::person::Phone;

fn ip(octets: [u8; 4]) -> Option<IpAddr> {
    Some(IpAddr::from(octets))
}

fn field_errors(result: Result<LeadReceipt>) -> FieldErrors {
    match result {
        Err(Error::Validation(fields)) => fields,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// A customer as the software sends them without saying whether they consented to texts.
fn without_consent(mut details: CustomerDetails) -> CustomerDetails {
    details.sms_consent = None;
    details
}

/// `lead.created` from a dispatcher: the lead and whom they name.
fn dispatcher_lead(details: CustomerDetails, named: Named) -> Command {
    Command::Lead(NewLead {
        lead_id: ulid::Ulid::new().to_string(),
        customer: details,
        named,
        web: None,
    })
}

// ---------------------------------------------------------------- the form

#[tokio::test]
async fn a_lead_with_a_code_is_attributed_and_the_referrer_thanked() {
    let w = World::new().await;
    let maria = w.referrer().await;
    let receipt = w
        .submit(friend(&maria.code.to_string().to_lowercase()))
        .await
        .unwrap();
    assert_eq!(
        receipt.thank_you_url.unwrap().as_str(),
        "https://acme.example/thanks"
    );

    let referral = w.only_referral();
    assert_eq!(referral.status, Status::Pending);
    assert_eq!(referral.source, Source::Code);
    assert_eq!(
        referral.referrer_id().map(CustomerId::as_str),
        Some("cus_1")
    );
    assert_eq!(referral.lead_id.as_deref(), Some(receipt.lead_id.as_str()));
    assert_eq!(w.stats("cus_1").await.referrals, 1);
    assert_eq!(w.events_of(LEAD_ATTRIBUTED), 1);
    let acks = w.messages_of(Purpose::Acknowledgment);
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].to.as_ref().unwrap().as_e164(), "+15125550123");
    assert!(acks[0].body.contains("Dana"), "{}", acks[0].body);
    // The lead's own number is never texted.
    assert!(
        w.store
            .messages()
            .iter()
            .all(|m| m.to.as_ref().map(Phone::as_e164) != Some("+15125550188"))
    );
    let lead = &w.store.leads()[0];
    assert_eq!(lead.message.as_deref(), Some("Leaking water heater"));
}

#[tokio::test]
async fn a_lead_carrying_its_click_id_is_a_link_referral() {
    let w = World::new().await;
    let maria = w.referrer().await;
    let code = maria.code.to_string();
    let ClickOutcome::Redirect { location, .. } = w
        .vouch
        .click(Visit {
            code: &code,
            channel: Some("sms"),
            user_agent: Some("Mozilla/5.0"),
            ip: ip(FRIEND_IP),
            countable: true,
        })
        .await
        .unwrap()
    else {
        panic!("expected a redirect")
    };
    let vclid = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "vclid")
        .unwrap()
        .1
        .into_owned();
    let mut fields = friend(&code);
    fields.vclid = Some(vclid);
    w.submit(fields).await.unwrap();
    assert_eq!(w.only_referral().source, Source::Link);
}

#[tokio::test]
async fn a_lead_may_name_only_the_code_and_the_business_follows() {
    let w = World::new().await;
    let maria = w.referrer().await;
    let mut fields = friend(maria.code.as_str());
    fields.business_id = None;
    w.submit(fields).await.unwrap();
    assert_eq!(w.only_referral().status, Status::Pending);
}

#[tokio::test]
async fn every_bad_field_gets_its_own_reason_and_nothing_is_stored() {
    let w = World::new().await;
    let errors = field_errors(
        w.submit(form(
            json!({"business_id": "acme", "name": "", "phone": "12", "email": "nope",
                   "message": "x".repeat(MAX_MESSAGE_CHARS + 1)}),
        ))
        .await,
    );
    for field in ["name", "phone", "email", "message"] {
        assert!(errors.contains_key(field), "{field}: {errors:?}");
    }
    let errors = field_errors(
        w.submit(form(json!({"business_id": "acme", "name": "Dana"})))
            .await,
    );
    assert!(errors.contains_key("phone") && errors.contains_key("email"));
    let errors = field_errors(
        w.submit(form(json!({"name": "Dana", "phone": "5125550188"})))
            .await,
    );
    assert_eq!(errors["business_id"], "is required");
    let errors = field_errors(
        w.submit(form(
            json!({"business_id": "nobody-here", "name": "Dana", "phone": "5125550188"}),
        ))
        .await,
    );
    assert_eq!(errors["business_id"], "is not a known business");
    let errors = field_errors(
        w.submit(form(
            json!({"business_id": "Bad Id!", "name": "Dana", "phone": "5125550188"}),
        ))
        .await,
    );
    assert!(errors.contains_key("business_id"));
    assert!(w.store.leads().is_empty());
    assert!(w.referrals().is_empty());
}

#[tokio::test]
async fn a_filled_honeypot_is_answered_as_success_and_stores_nothing() {
    let w = World::new().await;
    let maria = w.referrer().await;
    let mut fields = friend(maria.code.as_str());
    fields.honeypot = Some("http://spam.example".into());
    let receipt = w.submit(fields).await.unwrap();
    assert_eq!(receipt.lead_id.len(), 26);
    assert!(w.store.leads().is_empty());
    assert!(w.referrals().is_empty());
    // Even a bot's garbage gets the same answer.
    let receipt = w
        .submit(form(json!({"website": "x", "business_id": "no such"})))
        .await
        .unwrap();
    assert_eq!(receipt.lead_id.len(), 26);
}

#[tokio::test]
async fn a_repeat_within_a_day_gets_the_same_lead_id_and_changes_nothing() {
    let w = World::new().await;
    let maria = w.referrer().await;
    let first = w.submit(friend(maria.code.as_str())).await.unwrap();
    w.clock.advance(Duration::hours(3));
    let again = w.submit(friend(maria.code.as_str())).await.unwrap();
    assert_eq!(first.lead_id, again.lead_id);
    // By email alone, too.
    let again = w
        .submit(form(
            json!({"business_id": "acme", "name": "Dana Smith", "email": "DANA@example.com"}),
        ))
        .await
        .unwrap();
    assert_eq!(first.lead_id, again.lead_id);
    assert_eq!(w.store.leads().len(), 1);
    assert_eq!(w.stats("cus_1").await.referrals, 1);

    // A day later it is a new lead, and a second attribution of the same person is a duplicate.
    w.clock.advance(Duration::hours(22));
    let later = w.submit(friend(maria.code.as_str())).await.unwrap();
    assert_ne!(later.lead_id, first.lead_id);
    let rejected: Vec<_> = w
        .referrals()
        .into_iter()
        .filter(|r| r.status == Status::Rejected)
        .collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].flags, vec![Flag::Duplicate]);
    assert_eq!(w.stats("cus_1").await.referrals, 1);
    assert_eq!(w.messages_of(Purpose::Acknowledgment).len(), 1);
}

#[tokio::test]
async fn a_foreign_origin_may_not_post_leads() {
    let w = World::new().await;
    let result = w
        .vouch
        .submit_lead(
            friend("ABCD2345"),
            ip(FRIEND_IP),
            Some("https://evil.example"),
            LINKS,
        )
        .await;
    assert!(matches!(result, Err(Error::Forbidden(_))), "{result:?}");
    assert!(w.store.leads().is_empty());
}

// ---------------------------------------------------------------- fraud rules

#[tokio::test]
async fn referring_yourself_is_rejected_by_phone_or_email() {
    let w = World::new().await;
    let maria = w.referrer().await;
    w.submit(form(
        json!({"business_id": "acme", "name": "Maria G", "phone": "+1 512 555 0123", "ref": maria.code.as_str()}),
    ))
    .await
    .unwrap();
    let referral = w.only_referral();
    assert_eq!(referral.status, Status::Rejected);
    assert_eq!(referral.flags, vec![Flag::SelfReferral]);
    assert_eq!(w.stats("cus_1").await.referrals, 0);
    assert!(w.messages_of(Purpose::Acknowledgment).is_empty());
    assert_eq!(referral.history.last().unwrap().reason, "self_referral");
}

#[tokio::test]
async fn an_existing_customer_is_not_a_new_referral() {
    let w = World::new().await;
    let maria = w.referrer().await;
    // Dana is already a customer of the software, with a finished job.
    w.deliver(
        "d1",
        upsert(without_consent(customer(
            "cus_9",
            "Dana",
            Some("512-555-0188"),
        ))),
    )
    .await
    .unwrap();
    w.submit(friend(maria.code.as_str())).await.unwrap();
    let referral = w.only_referral();
    assert_eq!(referral.status, Status::Rejected);
    assert_eq!(referral.flags, vec![Flag::ExistingCustomer]);
    assert_eq!(referral.lead.customer_id.as_str(), "cus_9");
}

#[tokio::test]
async fn many_leads_for_one_code_in_a_day_are_held_then_refused() {
    let w = World::with(
        json!({"limits": {"leads_per_ip_per_hour": 100, "leads_per_code_per_day": 4,
                          "review_when_leads_per_code_per_day_over": 2}}),
    )
    .await;
    let maria = w.referrer().await;
    for n in 0..4 {
        w.submit(form(
            json!({"business_id": "acme", "name": format!("Friend {n}"),
                             "phone": format!("512-555-01{}", 50 + n), "ref": maria.code.as_str()}),
        ))
        .await
        .unwrap();
    }
    let mut statuses: Vec<(String, Status, Vec<Flag>)> = w
        .referrals()
        .into_iter()
        .map(|r| (r.lead.name, r.status, r.flags))
        .collect();
    statuses.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(statuses[0].1, Status::Pending);
    assert_eq!(statuses[1].1, Status::Pending);
    assert_eq!(statuses[2].1, Status::NeedsReview);
    assert_eq!(statuses[2].2, vec![Flag::Velocity]);
    assert_eq!(statuses[3].1, Status::NeedsReview);
    let fifth = w
        .submit(form(
            json!({"business_id": "acme", "name": "Friend five", "phone": "512-555-0199", "ref": maria.code.as_str()}),
        ))
        .await;
    let Err(Error::RateLimited { retry_after_secs }) = fifth else {
        panic!("expected 429, got {fifth:?}")
    };
    // Until midnight in Chicago: 11:00 local, so 13 hours.
    assert_eq!(retry_after_secs, 13 * 3600);
    assert_eq!(w.referrals().len(), 4);
}

#[tokio::test]
async fn one_address_is_limited_per_hour() {
    let w = World::with(
        json!({"limits": {"leads_per_ip_per_hour": 2, "leads_per_code_per_day": 20,
                          "review_when_leads_per_code_per_day_over": 5}}),
    )
    .await;
    for n in 0..2 {
        w.submit(form(
            json!({"business_id": "acme", "name": "Someone", "phone": format!("512-555-01{}", 60 + n)}),
        ))
        .await
        .unwrap();
    }
    let third = w
        .submit(form(
            json!({"business_id": "acme", "name": "Someone", "phone": "512-555-0170"}),
        ))
        .await;
    assert!(matches!(third, Err(Error::RateLimited { .. })), "{third:?}");
    // Another address is not affected, and the window passes.
    w.submit_from(
        form(json!({"business_id": "acme", "name": "Other", "phone": "512-555-0171"})),
        ip([192, 0, 2, 1]),
    )
    .await
    .unwrap();
    w.clock.advance(Duration::hours(1));
    w.submit(form(
        json!({"business_id": "acme", "name": "Someone", "phone": "512-555-0170"}),
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn a_lead_from_the_referrers_own_address_is_held_not_rejected() {
    let w = World::new().await;
    // Maria came in through the website herself, from her home address, and became a participant.
    w.submit_from(
        form(json!({"business_id": "acme", "name": "Maria Garcia", "phone": "512-555-0123"})),
        ip([203, 0, 113, 50]),
    )
    .await
    .unwrap();
    let maria_id = w.store.leads()[0].customer_id.clone();
    let maria = w
        .vouch
        .enrol(
            &w.business,
            EnrolRequest {
                customer_id: Some(maria_id.to_string()),
                customer: None,
                send_invitation: false,
            },
            LINKS,
        )
        .await
        .unwrap()
        .0;
    w.submit_from(friend(maria.code.as_str()), ip([203, 0, 113, 50]))
        .await
        .unwrap();
    let held = w
        .referrals()
        .into_iter()
        .find(|r| r.referrer.is_some())
        .unwrap();
    assert_eq!(held.status, Status::NeedsReview);
    assert_eq!(held.flags, vec![Flag::SharedIp]);
    assert!(w.messages_of(Purpose::Acknowledgment).is_empty());
}

#[tokio::test]
async fn a_disposable_email_is_held_for_review() {
    let w = World::new().await;
    let maria = w.referrer().await;
    w.submit(form(
        json!({"business_id": "acme", "name": "Dana", "email": "dana@mailinator.com", "ref": maria.code.as_str()}),
    ))
    .await
    .unwrap();
    let referral = w.only_referral();
    assert_eq!(referral.status, Status::NeedsReview);
    assert_eq!(referral.flags, vec![Flag::DisposableEmail]);
}

// ---------------------------------------------------------------- mentions and staff

#[tokio::test]
async fn a_mention_waits_for_staff_with_candidates_and_approval_attributes_it() {
    let w = World::new().await;
    w.referrer().await;
    w.enrol("cus_2", "Mario", "Rossi", "512-555-0124").await;
    w.submit(form(
        json!({"business_id": "acme", "name": "Dana Smith", "phone": "512-555-0188",
               "referred_by": "maria garcia"}),
    ))
    .await
    .unwrap();
    let referral = w.only_referral();
    assert_eq!(referral.status, Status::NeedsReview);
    assert_eq!(referral.source, Source::Mention);
    assert_eq!(referral.flags, vec![Flag::Mention]);
    assert!(referral.referrer.is_none());
    let candidates: Vec<&str> = referral
        .candidates
        .iter()
        .map(|c| c.customer_id.as_str())
        .collect();
    assert_eq!(candidates, vec!["cus_1"]);
    assert_eq!(w.stats("cus_1").await.referrals, 0);

    // Approving a mention needs the referrer.
    let missing = w
        .vouch
        .review_referral(
            &w.business,
            &referral.referral_id,
            Review::Approve { referrer: None },
        )
        .await;
    assert!(matches!(missing, Err(Error::Validation(_))), "{missing:?}");
    let approved = w
        .vouch
        .acting_as("Olivia (owner)")
        .review_referral(
            &w.business,
            &referral.referral_id,
            Review::Approve {
                referrer: Some("cus_1".into()),
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(approved.status, Status::Pending);
    // The history names who approved it; what the program decided before names nobody.
    let by: Vec<_> = approved.history.iter().map(|d| d.by.as_deref()).collect();
    assert_eq!(by.last(), Some(&Some("Olivia (owner)")), "{by:?}");
    assert_eq!(by.first(), Some(&None), "{by:?}");
    assert_eq!(
        approved.referrer_id().map(CustomerId::as_str),
        Some("cus_1")
    );
    assert_eq!(w.stats("cus_1").await.referrals, 1);
    assert_eq!(w.messages_of(Purpose::Acknowledgment).len(), 1);
    // Approving again is a conflict.
    let again = w
        .vouch
        .review_referral(
            &w.business,
            &referral.referral_id,
            Review::Approve { referrer: None },
        )
        .await;
    assert!(matches!(again, Err(Error::Conflict { .. })), "{again:?}");
}

#[tokio::test]
async fn staff_reject_a_held_referral() {
    let w = World::new().await;
    w.submit(form(
        json!({"business_id": "acme", "name": "Dana", "phone": "512-555-0188", "referred_by": "someone"}),
    ))
    .await
    .unwrap();
    let id = w.only_referral().referral_id;
    let rejected = w
        .vouch
        .review_referral(&w.business, &id, Review::Reject)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rejected.status, Status::Rejected);
    assert!(rejected.flags.contains(&Flag::RejectedByStaff));
    let unknown = w
        .vouch
        .review_referral(&w.business, "01JAAAAAAAAAAAAAAAAAAAAAAA", Review::Reject)
        .await;
    assert!(matches!(unknown, Err(Error::NotFound("referral"))));
}

#[tokio::test]
async fn a_dispatcher_naming_the_referrer_attributes_the_phone_in_lead() {
    let w = World::new().await;
    w.referrer().await;
    w.deliver(
        "d1",
        dispatcher_lead(
            without_consent(customer("cus_7", "Dana", Some("512-555-0188"))),
            Named::Customer(customer_id("cus_1")),
        ),
    )
    .await
    .unwrap();
    let referral = w.only_referral();
    assert_eq!(referral.source, Source::Dispatcher);
    assert_eq!(referral.status, Status::Pending);
    assert_eq!(referral.lead.customer_id.as_str(), "cus_7");
    // The software sending the same customer again changes nothing about it.
    w.deliver(
        "d2",
        upsert(without_consent(customer("cus_7", "Dana Smith", None))),
    )
    .await
    .unwrap();
    assert_eq!(w.only_referral().status, Status::Pending);
}

#[tokio::test]
async fn manual_attribution_needs_override_to_replace_and_reverses_the_old_one() {
    let w = World::new().await;
    let maria = w.referrer().await;
    w.enrol("cus_2", "Mario", "Rossi", "512-555-0124").await;
    w.submit(friend(maria.code.as_str())).await.unwrap();
    let lead = w.only_referral().lead.customer_id.to_string();

    let conflict = w.vouch.attribute(&w.business, &lead, "cus_2", false).await;
    assert!(matches!(
        conflict,
        Err(Error::Conflict {
            code: "already_attributed",
            ..
        })
    ));
    let replaced = w
        .vouch
        .attribute(&w.business, &lead, "cus_2", true)
        .await
        .unwrap();
    assert_eq!(replaced.source, Source::Manual);
    assert_eq!(
        replaced.referrer_id().map(CustomerId::as_str),
        Some("cus_2")
    );
    assert_eq!(w.stats("cus_1").await.referrals, 0);
    assert_eq!(w.stats("cus_2").await.referrals, 1);
    let old = w
        .referrals()
        .into_iter()
        .find(|r| r.referrer_id().map(CustomerId::as_str) == Some("cus_1"))
        .unwrap();
    assert_eq!(old.status, Status::Reversed);
    assert_eq!(w.events_of(REFERRAL_REVERSED), 1);

    let not_enrolled = w.vouch.attribute(&w.business, &lead, &lead, true).await;
    assert!(
        matches!(not_enrolled, Err(Error::Validation(_))),
        "{not_enrolled:?}"
    );
    let no_lead = w
        .vouch
        .attribute(&w.business, "cus_404", "cus_2", false)
        .await;
    assert!(
        matches!(no_lead, Err(Error::NotFound("customer"))),
        "{no_lead:?}"
    );
}

#[tokio::test]
async fn deleting_an_attribution_reverses_it_once() {
    let w = World::new().await;
    let maria = w.referrer().await;
    w.submit(friend(maria.code.as_str())).await.unwrap();
    let id = w.only_referral().referral_id;
    w.vouch
        .review_referral(&w.business, &id, Review::Delete)
        .await
        .unwrap();
    w.vouch
        .review_referral(&w.business, &id, Review::Delete)
        .await
        .unwrap();
    let referral = w.only_referral();
    assert_eq!(referral.status, Status::Reversed);
    assert!(referral.flags.contains(&Flag::Deleted));
    assert_eq!(w.events_of(REFERRAL_REVERSED), 1);
    assert_eq!(w.stats("cus_1").await.referrals, 0);
}

#[tokio::test]
async fn deleting_a_rejected_referral_is_a_conflict() {
    let w = World::new().await;
    let maria = w.referrer().await;
    w.submit(form(
        json!({"business_id": "acme", "name": "Maria", "phone": "512-555-0123", "ref": maria.code.as_str()}),
    ))
    .await
    .unwrap();
    let id = w.only_referral().referral_id;
    let result = w
        .vouch
        .review_referral(&w.business, &id, Review::Delete)
        .await;
    assert!(matches!(result, Err(Error::Conflict { .. })), "{result:?}");
}

#[tokio::test]
async fn customers_are_found_by_either_name_or_phone() {
    let w = World::new().await;
    w.referrer().await;
    w.enrol("cus_2", "Mario", "Rossi", "512-555-0124").await;
    let names =
        |found: Vec<SearchEntry>| -> Vec<String> { found.into_iter().map(|e| e.name).collect() };
    assert_eq!(
        names(w.vouch.search_customers(&w.business, "garc").await.unwrap()),
        vec!["Maria Garcia"]
    );
    assert_eq!(
        names(w.vouch.search_customers(&w.business, "MAR").await.unwrap()),
        vec!["Maria Garcia", "Mario Rossi"]
    );
    assert_eq!(
        names(
            w.vouch
                .search_customers(&w.business, "(512) 555-0124")
                .await
                .unwrap()
        ),
        vec!["Mario Rossi"]
    );
    assert_eq!(
        names(
            w.vouch
                .search_customers(&w.business, "512555")
                .await
                .unwrap()
        )
        .len(),
        2
    );
    assert!(matches!(
        w.vouch.search_customers(&w.business, "x").await,
        Err(Error::Validation(_))
    ));
}

// ---------------------------------------------------------------- qualification

#[tokio::test]
async fn the_softwares_customer_is_the_website_lead_and_their_invoice_qualifies_the_referral() {
    let w = World::new().await;
    w.referred_customer().await;
    let referral = w.only_referral();
    assert_eq!(referral.status, Status::Pending);
    w.deliver(
        "j1",
        job(
            "job_9",
            "cus_9",
            JobStatus::Completed,
            "2026-11-24T15:00:00Z",
            None,
        ),
    )
    .await
    .unwrap();
    assert_eq!(w.only_referral().status, Status::Pending);
    w.deliver(
        "j2",
        job(
            "job_9",
            "cus_9",
            JobStatus::Invoiced,
            "2026-11-24T16:00:00Z",
            Some(42000),
        ),
    )
    .await
    .unwrap();
    let referral = w.only_referral();
    assert_eq!(referral.status, Status::Qualified);
    assert_eq!(referral.job_id.as_deref(), Some("job_9"));
    assert_eq!(referral.invoice_total_cents.map(|m| m.cents()), Some(42000));
    assert_eq!(w.events_of(REFERRAL_QUALIFIED), 1);
    assert_eq!(w.stats("cus_1").await.closed, 1);
    w.deliver(
        "j3",
        job(
            "job_9",
            "cus_9",
            JobStatus::Paid,
            "2026-11-25T16:00:00Z",
            None,
        ),
    )
    .await
    .unwrap();
    assert_eq!(w.events_of(REFERRAL_QUALIFIED), 1);
}

#[tokio::test]
async fn a_small_invoice_does_not_qualify() {
    let w = World::with(json!({"minimum_invoice_cents": 10000})).await;
    w.referred_customer().await;
    w.deliver(
        "j1",
        job(
            "job_9",
            "cus_9",
            JobStatus::Invoiced,
            "2026-11-24T16:00:00Z",
            Some(9999),
        ),
    )
    .await
    .unwrap();
    assert_eq!(w.only_referral().status, Status::Pending);
    assert_eq!(w.events_of(REFERRAL_QUALIFIED), 0);
}

#[tokio::test]
async fn a_canceled_job_voids_a_qualified_referral() {
    let w = World::new().await;
    w.referred_customer().await;
    w.deliver(
        "j1",
        job(
            "job_9",
            "cus_9",
            JobStatus::Invoiced,
            "2026-11-24T16:00:00Z",
            Some(42000),
        ),
    )
    .await
    .unwrap();
    w.deliver(
        "j2",
        job(
            "job_9",
            "cus_9",
            JobStatus::Canceled,
            "2026-11-24T18:00:00Z",
            None,
        ),
    )
    .await
    .unwrap();
    let referral = w.only_referral();
    assert_eq!(referral.status, Status::Reversed);
    assert!(referral.flags.contains(&Flag::JobCanceled));
    assert_eq!(w.events_of(REFERRAL_REVERSED), 1);
    assert_eq!(w.stats("cus_1").await.closed, 0);
}

#[tokio::test]
async fn progress_texts_follow_the_friends_job_when_enabled() {
    let w = World::with(json!({"sms": {"send_progress": true}})).await;
    w.referred_customer().await;
    let dispatched = || {
        job(
            "job_9",
            "cus_9",
            JobStatus::Dispatched,
            "2026-11-24T15:00:00Z",
            None,
        )
    };
    w.deliver("j1", dispatched()).await.unwrap();
    w.deliver("j1b", dispatched()).await.unwrap();
    w.deliver(
        "j2",
        job(
            "job_9",
            "cus_9",
            JobStatus::Completed,
            "2026-11-24T16:00:00Z",
            None,
        ),
    )
    .await
    .unwrap();
    let progress = w.messages_of(Purpose::Progress);
    assert_eq!(progress.len(), 2, "{progress:#?}");
    assert!(
        progress
            .iter()
            .all(|m| m.to.as_ref().unwrap().as_e164() == "+15125550123")
    );
    assert!(progress.iter().any(|m| m.body.contains("on its way")));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Whatever the order and repetition of the friend's job events, the referral qualifies
    /// once, and only when a qualifying status is among them — also when a later status (the
    /// job marked complete after it was invoiced) was processed first.
    #[test]
    fn qualification_happens_once_whatever_the_order(
        picks in proptest::collection::vec((0usize..5, any::<bool>()), 1..10)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let w = World::new().await;
            w.referred_customer().await;
            let statuses = [
                (JobStatus::Dispatched, "2026-11-24T14:00:00Z", None),
                (JobStatus::Completed, "2026-11-24T15:00:00Z", None),
                (JobStatus::Invoiced, "2026-11-24T16:00:00Z", Some(42000)),
                (JobStatus::Paid, "2026-11-24T17:00:00Z", None),
                (JobStatus::Completed, "2026-11-24T18:00:00Z", None),
            ];
            let mut qualifying = false;
            for (i, (pick, repeat)) in picks.iter().enumerate() {
                let (status, at, total) = statuses[*pick];
                qualifying |= *pick == 2 || *pick == 3;
                let id = format!("job-{pick}");
                w.deliver(&id, job("job_9", "cus_9", status, at, total)).await.unwrap();
                if *repeat {
                    w.deliver(&format!("again-{i}"), job("job_9", "cus_9", status, at, total))
                        .await
                        .unwrap();
                }
            }
            let referral = w.only_referral();
            prop_assert_eq!(w.events_of(REFERRAL_QUALIFIED), usize::from(qualifying));
            prop_assert_eq!(referral.status == Status::Qualified, qualifying);
            prop_assert_eq!(w.stats("cus_1").await.closed, u64::from(qualifying));
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn the_referral_list_filters_by_status_and_pages() {
    let w = World::new().await;
    let maria = w.referrer().await;
    for n in 0..3 {
        w.submit_from(
            form(
                json!({"business_id": "acme", "name": "Friend", "phone": format!("512-555-01{}", 40 + n), "ref": maria.code.as_str()}),
            ),
            ip([192, 0, 2, n]),
        )
        .await
        .unwrap();
    }
    w.submit(form(
        json!({"business_id": "acme", "name": "Dana", "phone": "512-555-0188", "referred_by": "x"}),
    ))
    .await
    .unwrap();
    let page = w
        .vouch
        .referrals(&w.business, None, Some(2), None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    let rest = w
        .vouch
        .referrals(&w.business, None, Some(2), page.next.as_deref())
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 2);
    assert!(rest.next.is_none());
    let held = w
        .vouch
        .referrals(&w.business, Some("needs_review"), None, None)
        .await
        .unwrap();
    assert_eq!(held.items.len(), 1);
    assert!(matches!(
        w.vouch
            .referrals(&w.business, Some("bogus"), None, None)
            .await,
        Err(Error::Validation(_))
    ));
    let by = w
        .store
        .referrals_by(&w.business, &customer_id("cus_1"), 10)
        .await
        .unwrap();
    assert_eq!(by.len(), 3);
}

#[tokio::test]
async fn someone_already_known_from_the_form_is_not_a_new_referral_later() {
    let w = World::new().await;
    let maria = w.referrer().await;
    w.submit(form(
        json!({"business_id": "acme", "name": "Dana Smith", "phone": "512-555-0188"}),
    ))
    .await
    .unwrap();
    w.clock.advance(Duration::hours(48));
    w.submit(friend(maria.code.as_str())).await.unwrap();
    let referral = w.only_referral();
    assert_eq!(referral.status, Status::Rejected);
    assert_eq!(referral.flags, vec![Flag::Duplicate]);
}

#[tokio::test]
async fn a_held_mention_gives_way_to_a_lead_naming_its_referrer() {
    let w = World::new().await;
    let maria = w.referrer().await;
    w.submit(form(
        json!({"business_id": "acme", "name": "Dana Smith", "phone": "512-555-0188", "referred_by": "a neighbour"}),
    ))
    .await
    .unwrap();
    w.clock.advance(Duration::hours(30));
    w.submit(friend(maria.code.as_str())).await.unwrap();
    let mut referrals = w.referrals();
    referrals.sort_by_key(|r| r.created_at);
    assert_eq!(referrals.len(), 2);
    assert_eq!(referrals[0].status, Status::Rejected);
    assert!(referrals[0].flags.contains(&Flag::Reattributed));
    assert_eq!(referrals[1].status, Status::Pending);
    assert_eq!(referrals[1].source, Source::Code);
}

#[tokio::test]
async fn a_live_repeat_key_wins_over_an_expired_one() {
    let w = World::new().await;
    w.submit(form(
        json!({"business_id": "acme", "name": "Dana", "phone": "512-555-0188"}),
    ))
    .await
    .unwrap();
    w.clock.advance(Duration::hours(25));
    let by_email = w
        .submit(form(
            json!({"business_id": "acme", "name": "Dana", "email": "dana@example.com"}),
        ))
        .await
        .unwrap();
    w.clock.advance(Duration::hours(1));
    // Phone (expired) and email (live): the same lead as the email one.
    let both = w
        .submit(form(
            json!({"business_id": "acme", "name": "Dana", "phone": "512-555-0188", "email": "dana@example.com"}),
        ))
        .await
        .unwrap();
    assert_eq!(both.lead_id, by_email.lead_id);
}

#[tokio::test]
async fn a_mention_without_letters_finds_nobody() {
    let w = World::new().await;
    w.referrer().await;
    w.submit(form(
        json!({"business_id": "acme", "name": "Dana", "phone": "512-555-0188", "referred_by": "!!!"}),
    ))
    .await
    .unwrap();
    assert!(w.only_referral().candidates.is_empty());
}
