//! Reports over the fakes: a scripted month with exact figures, reversals that take back what
//! they added, period boundaries in the business's time zone, the leaderboard's ranking, and
//! the monthly report written once.

use std::net::IpAddr;

use chrono::Duration;
use serde_json::json;

use crate::app::{ClickOutcome, Review, Visit};
use crate::model::events::REPORT_GENERATED;
use crate::model::job::JobStatus;
use crate::model::report::{Funnel, Month};
use crate::testing::{LINKS, World, customer, form, job, review, time, upsert};
use crate::values::error::Error;

const PHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)";

fn ip(n: u8) -> Option<IpAddr> {
    Some(IpAddr::from([203, 0, 113, n]))
}

/// A person clicks `code`'s link shared on `channel`; the click id it carried.
async fn click(w: &World, code: &str, channel: Option<&str>, n: u8) -> String {
    let outcome = w
        .vouch
        .click(Visit {
            code,
            channel,
            user_agent: Some(PHONE_UA),
            ip: ip(n),
            countable: true,
        })
        .await
        .unwrap();
    let ClickOutcome::Redirect { location, counted } = outcome else {
        panic!("{outcome:?}");
    };
    assert!(counted);
    url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "vclid")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

/// A friend's lead through the form, then the software's customer and invoiced job.
async fn friend_invoiced(
    w: &World,
    fields: serde_json::Value,
    n: u8,
    id: &str,
    name: &str,
    phone: &str,
) {
    w.submit_from(form(fields), ip(n)).await.unwrap();
    w.deliver(&format!("u-{id}"), upsert(customer(id, name, Some(phone))))
        .await
        .unwrap();
    w.deliver(
        &format!("j-{id}"),
        job(
            &format!("job-{id}"),
            id,
            JobStatus::Invoiced,
            "2026-11-23T17:00:00Z",
            Some(45_000),
        ),
    )
    .await
    .unwrap();
}

/// November at Acme: 3 enrolled (one invited by text); 6 clicks (3 by text, 1 QR, 2 plain; a bot and a HEAD not
/// counted); 4 leads (link/sms, code, mention, phone-in); Dana and Eve invoiced at $450 and
/// rewarded $25 each; then Eve's attribution deleted.
async fn scripted_month() -> World {
    let w = World::new().await;
    let maria = w.referrer().await;
    let ben = w.enrol("cus_2", "Ben", "Okafor", "512-555-0124").await;
    // A happy customer is enrolled by the rules and invited by text.
    w.deliver(
        "h1",
        upsert(customer("cus_3", "Hana Ito", Some("512-555-0125"))),
    )
    .await
    .unwrap();
    w.deliver(
        "h2",
        job(
            "job-h",
            "cus_3",
            JobStatus::Completed,
            "2026-11-23T16:00:00Z",
            None,
        ),
    )
    .await
    .unwrap();
    w.deliver("h3", review("cus_3", 5, "2026-11-23T16:30:00Z"))
        .await
        .unwrap();
    let vclid = click(&w, maria.code.as_str(), Some("sms"), 1).await;
    click(&w, maria.code.as_str(), Some("sms"), 2).await;
    click(&w, maria.code.as_str(), Some("SMS"), 3).await;
    click(&w, maria.code.as_str(), Some("qr"), 4).await;
    click(&w, ben.code.as_str(), None, 5).await;
    click(&w, ben.code.as_str(), Some("fax"), 6).await;
    for (user_agent, countable) in [
        (Some("facebookexternalhit/1.1"), true),
        (Some(PHONE_UA), false),
    ] {
        w.vouch
            .click(Visit {
                code: maria.code.as_str(),
                channel: Some("sms"),
                user_agent,
                ip: ip(7),
                countable,
            })
            .await
            .unwrap();
    }
    friend_invoiced(
        &w,
        json!({"business_id": "acme", "name": "Dana Smith", "phone": "512-555-0188",
               "ref": maria.code.as_str(), "vclid": vclid}),
        10,
        "cus_9",
        "Dana Smith",
        "512-555-0188",
    )
    .await;
    friend_invoiced(
        &w,
        json!({"business_id": "acme", "name": "Eve Park", "phone": "512-555-0189",
               "ref": ben.code.as_str()}),
        11,
        "cus_10",
        "Eve Park",
        "512-555-0189",
    )
    .await;
    // A mention waits for staff; a phone-in names Maria.
    w.submit_from(
        form(json!({"business_id": "acme", "name": "Finn Ode", "phone": "512-555-0190", "referred_by": "Maria"})),
        ip(12),
    )
    .await
    .unwrap();
    w.deliver(
        "lead-phone",
        crate::decide::Command::Lead(crate::decide::NewLead {
            lead_id: ulid::Ulid::new().to_string(),
            customer: customer("cus_11", "Gia Rossi", Some("512-555-0191")),
            named: crate::decide::Named::Customer(crate::testing::customer_id("cus_1")),
            web: None,
        }),
    )
    .await
    .unwrap();
    w.run_issuer().await;
    let eve = w.only_referral_of("cus_2");
    w.vouch
        .review_referral(&w.business, &eve.referral_id, Review::Delete)
        .await
        .unwrap();
    w
}

#[tokio::test]
async fn a_scripted_month_adds_up_to_the_cent_and_a_reversal_takes_back_what_it_added() {
    let w = scripted_month().await;
    let s = w
        .vouch
        .summary(&w.business, Some("2026-11-01"), Some("2026-11-30"))
        .await
        .unwrap();
    assert_eq!(
        s.funnel,
        Funnel {
            invited: 1,
            participants: 3,
            clicks: 6,
            leads: 4,
            referrals: 2,
            qualified: 1,
            rewarded: 1,
        }
    );
    assert_eq!(s.revenue_attributed_cents, 45_000);
    assert_eq!(s.reward_cost_cents, 2_500);
    assert_eq!(s.average_job_cents, Some(45_000));
    assert_eq!(s.roi, Some(17.0));
    assert_eq!(s.conversion.click_to_lead, Some(0.6667));
    assert_eq!(s.conversion.lead_to_qualified, Some(0.25));
    let channel = |name: &str| {
        s.by_channel
            .iter()
            .find(|c| c.channel.map_or("none", |c| c.as_str()) == name)
            .map(|c| (c.clicks, c.leads, c.qualified))
            .unwrap()
    };
    assert_eq!(channel("sms"), (3, 1, 1));
    assert_eq!(channel("qr"), (1, 0, 0));
    assert_eq!(channel("link"), (2, 0, 0));
    assert_eq!(channel("none"), (0, 3, 0));
    let source = |name: &str| {
        s.by_source
            .iter()
            .find(|r| r.source.as_str() == name)
            .map(|r| (r.leads, r.qualified, r.revenue_cents))
            .unwrap()
    };
    assert_eq!(source("link"), (1, 1, 45_000));
    assert_eq!(source("code"), (1, 0, 0));
    assert_eq!(source("mention"), (1, 0, 0));
    assert_eq!(source("dispatcher"), (1, 0, 0));
    assert_eq!(s.by_month.len(), 1);
    assert_eq!(s.by_month[0].month.to_string(), "2026-11");
    assert_eq!(s.by_month[0].funnel, s.funnel);
    assert_eq!(s.top_referrers.len(), 1, "{:?}", s.top_referrers);
    let top = &s.top_referrers[0];
    assert_eq!(
        (
            top.customer_id.as_str(),
            top.name.as_str(),
            top.qualified,
            top.revenue_cents,
            top.rewards_cents
        ),
        ("cus_1", "Maria Garcia", 1, 45_000, 2_500)
    );
}

#[tokio::test]
async fn a_summary_defaults_to_this_month_and_refuses_bad_ranges() {
    let w = scripted_month().await;
    let this_month = w.vouch.summary(&w.business, None, None).await.unwrap();
    assert_eq!(
        (this_month.from.to_string(), this_month.to.to_string()),
        ("2026-11-01".into(), "2026-11-30".into())
    );
    assert_eq!(this_month.funnel.qualified, 1);
    let october = w
        .vouch
        .summary(&w.business, Some("2026-10-01"), Some("2026-10-31"))
        .await
        .unwrap();
    assert_eq!(october.funnel, Funnel::default());
    assert_eq!(october.roi, None);
    assert_eq!(october.average_job_cents, None);
    for (from, to, field) in [
        (Some("2026-13-01"), None, "from"),
        (None, Some("yesterday"), "to"),
        (Some("2026-11-30"), Some("2026-11-01"), "from"),
        (Some("2025-01-01"), Some("2026-02-05"), "to"),
        (Some("2026-1-01"), None, "from"),
    ] {
        match w.vouch.summary(&w.business, from, to).await {
            Err(Error::Validation(fields)) => {
                assert!(fields.contains_key(field), "{from:?} {to:?}: {fields:?}")
            }
            other => panic!("{from:?} {to:?}: {other:?}"),
        }
    }
    // 400 days is the most a range covers.
    assert!(
        w.vouch
            .summary(&w.business, Some("2025-01-01"), Some("2026-02-04"))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_referral_at_half_past_eleven_on_the_last_evening_counts_in_that_month() {
    let w = World::new().await;
    let maria = w.referrer().await;
    // 23:30 on 30 November in Chicago is 05:30 on 1 December in UTC.
    w.clock.set(time("2026-12-01T05:30:00Z"));
    friend_invoiced(
        &w,
        json!({"business_id": "acme", "name": "Dana Smith", "phone": "512-555-0188", "ref": maria.code.as_str()}),
        10,
        "cus_9",
        "Dana Smith",
        "512-555-0188",
    )
    .await;
    let november = w
        .vouch
        .summary(&w.business, Some("2026-11-01"), Some("2026-11-30"))
        .await
        .unwrap();
    let december = w
        .vouch
        .summary(&w.business, Some("2026-12-01"), Some("2026-12-31"))
        .await
        .unwrap();
    assert_eq!((november.funnel.leads, november.funnel.qualified), (1, 1));
    assert_eq!((december.funnel.leads, december.funnel.qualified), (0, 0));
    let board = w
        .vouch
        .leaderboard(&w.business, Some("month"), None)
        .await
        .unwrap();
    assert_eq!(board.items.len(), 1, "still November in Chicago");
    w.clock.set(time("2026-12-01T06:30:00Z"));
    let board = w
        .vouch
        .leaderboard(&w.business, Some("month"), None)
        .await
        .unwrap();
    assert!(
        board.items.is_empty(),
        "December has no qualified referral yet"
    );
    let year = w
        .vouch
        .leaderboard(&w.business, Some("year"), None)
        .await
        .unwrap();
    assert_eq!(year.items.len(), 1);
}

#[tokio::test]
async fn the_leaderboard_ranks_by_qualified_then_who_got_there_first() {
    let w = World::with(json!({"vip_after": 2})).await;
    let maria = w.referrer().await;
    let ben = w.enrol("cus_2", "Ben", "Okafor", "512-555-0124").await;
    let friends = [
        (&ben, "cus_20", "Ann Lee", "512-555-0140"),
        (&maria, "cus_21", "Bo Diaz", "512-555-0141"),
        (&maria, "cus_22", "Cy Hart", "512-555-0142"),
        (&ben, "cus_23", "Di Moss", "512-555-0143"),
    ];
    for (n, (referrer, id, name, phone)) in friends.iter().enumerate() {
        w.clock.advance(Duration::minutes(5));
        friend_invoiced(
            &w,
            json!({"business_id": "acme", "name": name, "phone": phone, "ref": referrer.code.as_str()}),
            u8::try_from(20 + n).unwrap(),
            id,
            name,
            phone,
        )
        .await;
    }
    w.run_issuer().await;
    // Both have 2; Maria reached 2 first (Ben's second came last).
    let board = w.vouch.leaderboard(&w.business, None, None).await.unwrap();
    let ranked: Vec<_> = board
        .items
        .iter()
        .map(|r| {
            (
                r.rank,
                r.row.customer_id.as_str(),
                r.row.qualified,
                r.vip,
                r.row.rewards_earned_cents,
            )
        })
        .collect();
    assert_eq!(
        ranked,
        [(1, "cus_1", 2, true, 5_000), (2, "cus_2", 2, true, 5_000)]
    );
    assert_eq!(board.items[0].masked_name(), "Maria G.");
    let one = w
        .vouch
        .leaderboard(&w.business, Some("all"), Some(1))
        .await
        .unwrap();
    assert_eq!(one.items.len(), 1);
    // Maria's first friend reversed: Ben leads, Maria keeps the time she first reached 1.
    let first = w
        .referrals()
        .into_iter()
        .find(|r| r.lead.name == "Bo Diaz")
        .unwrap();
    w.vouch
        .review_referral(&w.business, &first.referral_id, Review::Delete)
        .await
        .unwrap();
    let board = w
        .vouch
        .leaderboard(&w.business, Some("month"), None)
        .await
        .unwrap();
    let ranked: Vec<_> = board
        .items
        .iter()
        .map(|r| (r.row.customer_id.as_str(), r.row.qualified, r.vip))
        .collect();
    assert_eq!(ranked, [("cus_2", 2, true), ("cus_1", 1, false)]);
    for bad in [(Some("week"), None), (None, Some(0)), (None, Some(101))] {
        assert!(matches!(
            w.vouch.leaderboard(&w.business, bad.0, bad.1).await,
            Err(Error::Validation(_))
        ));
    }
}

#[tokio::test]
async fn the_public_leaderboard_is_only_there_when_turned_on() {
    let w = World::new().await;
    assert!(matches!(
        w.vouch.public_leaderboard("acme", None).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        w.vouch.public_leaderboard("nobody-here", None).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        w.vouch.public_leaderboard("NOT A SLUG", None).await,
        Err(Error::NotFound(_))
    ));
    let open = World::with(json!({"public_leaderboard": true})).await;
    let board = open
        .vouch
        .public_leaderboard("acme", Some("year"))
        .await
        .unwrap();
    assert_eq!(board.business_name, "Acme Plumbing");
    assert!(board.items.is_empty());
}

#[tokio::test]
async fn the_monthly_report_is_written_once_on_the_first_and_published() {
    let w = scripted_month().await;
    // The sweep before the 1st (local) writes nothing.
    w.clock.set(time("2026-12-01T06:59:00Z"));
    assert_eq!(w.vouch.sweep(LINKS).await.unwrap().reports_written, 0);
    // 01:00 on 1 December in Chicago.
    w.clock.set(time("2026-12-01T07:00:00Z"));
    assert_eq!(w.vouch.sweep(LINKS).await.unwrap().reports_written, 1);
    assert_eq!(w.vouch.sweep(LINKS).await.unwrap().reports_written, 0);
    w.clock.advance(Duration::hours(5));
    assert_eq!(w.vouch.sweep(LINKS).await.unwrap().reports_written, 0);
    assert_eq!(w.events_of(REPORT_GENERATED), 1);
    let months = w.vouch.report_months(&w.business).await.unwrap();
    assert_eq!(months, vec![Month::parse("2026-11").unwrap()]);
    let report = w
        .vouch
        .monthly_report(&w.business, "2026-11")
        .await
        .unwrap();
    assert_eq!(report.summary.funnel.qualified, 1);
    assert_eq!(report.summary.revenue_attributed_cents, 45_000);
    assert!(matches!(
        w.vouch.monthly_report(&w.business, "2026-10").await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        w.vouch.monthly_report(&w.business, "2026-1").await,
        Err(Error::Validation(_))
    ));
    // December's is due on 1 January.
    w.clock.set(time("2027-01-01T07:00:00Z"));
    assert_eq!(w.vouch.sweep(LINKS).await.unwrap().reports_written, 1);
    assert_eq!(w.vouch.report_months(&w.business).await.unwrap().len(), 2);
}
