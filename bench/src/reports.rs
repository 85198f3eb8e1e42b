//! Reports at 100 and at 10,000 participants: the summary of a month and the leaderboards, in
//! process over the in-memory ports, and — when an emulator is given (`VOUCH_TEST_ENDPOINT`, as
//! `make bench` gives one) — the DynamoDB requests each makes. Every participant is seeded as
//! the program leaves them: enrolled, with closed referrals, leaderboard rows and the day's
//! figures — committed as the application commits them in process, and loaded in bulk on the
//! emulator (the same items; one transaction each would take it most of an hour at 10,000).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use vouch_domain::app::Vouch;
use vouch_domain::decide::Plan;
use vouch_domain::model::participant::{Participant, Stats};
use vouch_domain::model::report::{BoardMove, Figure, Period, ReferrerFigure, Tally};
use vouch_domain::ports::ProgramStore;
use vouch_domain::values::TimeZone;
use vouch_domain::values::code::{ALPHABET, LENGTH, ReferralCode};
use vouch_domain::values::ids::{BusinessId, CustomerId};
use vouch_domain::values::person::PersonName;
use vouch_domain::values::time::local_day;

pub const SIZES: [usize; 2] = [100, 10_000];
/// Referrers with referrals this month, whatever the number of participants: a business's
/// month is as busy as its phones, not as its customer list is long.
pub const ACTIVE: usize = 25;
pub const OPERATIONS: [&str; 3] = [
    "summary of this month",
    "leaderboard, this month, top 10",
    "leaderboard, all time, top 100",
];

fn zone() -> anyhow::Result<TimeZone> {
    Ok(TimeZone::parse("America/Chicago")?)
}

/// Participant `i` of the crowd as the program leaves them: enrolled, with `i % 5 + 1` closed
/// referrals and their leaderboard rows; the first [`ACTIVE`] referred this month, the others
/// over a year some months back (the day's figures, a few dozen referrers a day).
fn member(business: &BusinessId, i: usize, now: DateTime<Utc>) -> anyhow::Result<Plan> {
    let customer = CustomerId::parse(&format!("crowd_{i:05}"))?;
    let mut code = String::new();
    let mut k = i + 1;
    for _ in 0..LENGTH {
        code.push(char::from(ALPHABET[k % ALPHABET.len()]));
        k /= ALPHABET.len();
    }
    let qualified = u32::try_from(i % 5 + 1)?;
    let participant = Participant {
        business_id: business.clone(),
        customer_id: customer.clone(),
        code: ReferralCode::parse(&code)?,
        first_name: PersonName::parse("Crowd")?,
        last_name: Some(PersonName::parse(&format!("Member{i}"))?),
        phone: None,
        enrolled_at: now,
        stats: Stats {
            closed: u64::from(qualified),
            ..Stats::default()
        },
        reward_override: None,
    };
    let zone = zone()?;
    let active = i < ACTIVE;
    let when = if active {
        now
    } else {
        now - chrono::Duration::days(400 + i64::try_from(i % 365)?)
    };
    let reached = when - chrono::Duration::seconds(i64::try_from(i)?);
    let board = Period::containing(zone, when)
        .into_iter()
        .map(|period| BoardMove {
            customer_id: customer.clone(),
            period,
            first_name: participant.first_name.clone(),
            last_name: participant.last_name.clone(),
            qualified: Some((qualified, reached)),
            earned_cents: 2500 * i64::from(qualified),
            qualified_all_time: qualified,
        })
        .collect();
    let day = local_day(zone, when);
    let mut tally = Tally::default();
    tally.add(day, Figure::Enrolled, 1);
    let q = i64::from(qualified);
    tally.add(
        day,
        Figure::Qualified(vouch_domain::model::referral::Source::Link, None),
        q,
    );
    tally.add(
        day,
        Figure::Revenue(vouch_domain::model::referral::Source::Link, None),
        45_000 * q,
    );
    tally.add(
        day,
        Figure::Referrer(customer.clone(), ReferrerFigure::Qualified),
        q,
    );
    tally.add(
        day,
        Figure::Referrer(customer, ReferrerFigure::Revenue),
        45_000 * q,
    );
    Ok(Plan {
        participant: Some(participant),
        board,
        tally,
        ..Plan::default()
    })
}

/// The first `n` members of the crowd.
pub fn crowd(business: &BusinessId, n: usize, now: DateTime<Utc>) -> anyhow::Result<Vec<Plan>> {
    (0..n).map(|i| member(business, i, now)).collect()
}

/// Commits the first `n` members of the crowd to `store`, one transaction each, as the
/// application commits them.
pub async fn seed(
    store: Arc<dyn ProgramStore>,
    business: &BusinessId,
    n: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    for plan in crowd(business, n, now)? {
        store
            .commit(business, &plan)
            .await?
            .map_err(|refusal| anyhow::anyhow!("seeding was refused: {refusal:?}"))?;
    }
    Ok(())
}

fn first_of_month(day: NaiveDate) -> anyhow::Result<NaiveDate> {
    day.with_day(1).context("the 1st")
}

/// Runs each report operation once on `vouch`'s business.
async fn each(vouch: &Vouch, business: &BusinessId, op: usize) -> anyhow::Result<()> {
    match op {
        0 => {
            let today = local_day(zone()?, vouch.now());
            let (from, to) = (first_of_month(today)?.to_string(), today.to_string());
            let summary = vouch.summary(business, Some(&from), Some(&to)).await?;
            anyhow::ensure!(!summary.top_referrers.is_empty(), "no top referrers");
        }
        1 => {
            let board = vouch.leaderboard(business, Some("month"), Some(10)).await?;
            anyhow::ensure!(board.items.len() == 10, "a short leaderboard");
            anyhow::ensure!(!board.items.is_empty(), "an empty leaderboard");
        }
        _ => {
            vouch.leaderboard(business, Some("all"), Some(100)).await?;
        }
    }
    Ok(())
}

/// Microseconds per call of each operation, best of three runs of `calls`.
pub async fn latencies(
    vouch: &Vouch,
    business: &BusinessId,
    calls: u32,
) -> anyhow::Result<[f64; 3]> {
    let mut best = [Duration::MAX; 3];
    for _ in 0..3 {
        for (op, slot) in best.iter_mut().enumerate() {
            let started = Instant::now();
            for _ in 0..calls {
                each(vouch, business, op).await?;
            }
            *slot = (*slot).min(started.elapsed());
        }
    }
    Ok(best.map(|elapsed| elapsed.as_secs_f64() * 1e6 / f64::from(calls)))
}

/// The DynamoDB requests of each operation (warm: the business's settings cached), by call.
pub async fn requests(
    vouch: &Vouch,
    business: &BusinessId,
    counter: &vouch_aws::RequestCounter,
) -> anyhow::Result<Vec<BTreeMap<String, u64>>> {
    let mut counts = Vec::new();
    for op in 0..OPERATIONS.len() {
        each(vouch, business, op).await?;
        counter.reset();
        each(vouch, business, op).await?;
        counts.push(counter.snapshot());
    }
    Ok(counts)
}
