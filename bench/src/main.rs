//! `make bench`: warm, in-process throughput of the click path (router + domain over the
//! in-memory ports) beside a bare axum redirect handler, in the same run; the results go to
//! BENCHMARKS.md with the command that reproduces them.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tower::ServiceExt;
use vouch_domain::testing::World;
use vouch_http::{AppState, Web, routers};

mod reports;

const PERSON: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1";
const BOT: &str = "facebookexternalhit/1.1";

/// The link-click router over the shared test world, and the code of its enrolled referrer.
async fn vouch_router() -> (Router, String) {
    let world = World::new().await;
    let maria = world.referrer().await;
    let router = routers::link_click(AppState::new(world.vouch.clone(), Web::default()));
    (router, maria.code.to_string())
}

/// The floor: a handler that only builds the same kind of redirect.
fn bare_router() -> Router {
    Router::new().route(
        "/r/{code}",
        get(|Path(code): Path<String>| async move {
            let location = format!(
                "https://acme.example/refer?ref={code}&utm_source=referral&utm_medium=link"
            );
            (
                StatusCode::FOUND,
                [
                    (header::LOCATION, location),
                    (header::CACHE_CONTROL, "no-store".to_owned()),
                ],
            )
                .into_response()
        }),
    )
}

async fn run(router: &Router, code: &str, agent: &str, requests: u32) -> anyhow::Result<Duration> {
    let started = Instant::now();
    for _ in 0..requests {
        let request = Request::get(format!("/r/{code}"))
            .header(header::USER_AGENT, agent)
            .body(Body::empty())
            .context("request")?;
        let response = router.clone().oneshot(request).await.context("oneshot")?;
        anyhow::ensure!(
            response.status() == StatusCode::FOUND,
            "unexpected {}",
            response.status()
        );
    }
    Ok(started.elapsed())
}

fn per_second(requests: u32, elapsed: Duration) -> f64 {
    f64::from(requests) / elapsed.as_secs_f64()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let requests: u32 = std::env::var("VOUCH_BENCH_REQUESTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let (vouch, code) = vouch_router().await;
    let bare = bare_router();
    // Warm up both, then measure each three times and keep the best run.
    run(&vouch, &code, PERSON, requests / 10).await?;
    run(&bare, &code, PERSON, requests / 10).await?;
    let mut best = [Duration::MAX; 3];
    for _ in 0..3 {
        best[0] = best[0].min(run(&bare, &code, PERSON, requests).await?);
        best[1] = best[1].min(run(&vouch, &code, PERSON, requests).await?);
        best[2] = best[2].min(run(&vouch, &code, BOT, requests).await?);
    }
    let [bare_rate, counted_rate, bot_rate] = best.map(|elapsed| per_second(requests, elapsed));
    let mut out = String::new();
    writeln!(out, "# Benchmarks\n")?;
    writeln!(
        out,
        "Reproduce with `make bench` (`cargo run --release -p vouch-bench`; `VOUCH_BENCH_REQUESTS` sets the count, default 100000). Numbers are from the last run on the machine that ran it: 2 cores, warm, one thread, best of three runs.\n"
    )?;
    writeln!(out, "## Click path, in process\n")?;
    writeln!(
        out,
        "Router and domain over the in-memory ports (no network), against a bare axum handler that only builds a redirect. Target: at least 50% of the bare handler.\n"
    )?;
    writeln!(out, "| handler | requests/s | µs/request | vs bare |")?;
    writeln!(out, "|---|---:|---:|---:|")?;
    for (name, rate) in [
        ("bare axum redirect", bare_rate),
        ("Vouch click, person (counted)", counted_rate),
        ("Vouch click, preview bot (not counted)", bot_rate),
    ] {
        writeln!(
            out,
            "| {name} | {rate:.0} | {:.2} | {:.0}% |",
            1e6 / rate,
            100.0 * rate / bare_rate
        )?;
    }
    report_section(&mut out).await?;
    writeln!(
        out,
        "\nNot yet measured here: cold start and peak RSS per Lambda binary, and the cost model; DynamoDB requests per operation are asserted by the test suite instead (see README)."
    )?;
    std::fs::write("BENCHMARKS.md", &out).context("writing BENCHMARKS.md")?;
    print!("{out}");
    Ok(())
}

/// Reports at 100 and at 10,000 participants: in process over the fakes (latency, and its
/// ratio to the same call at 100), and DynamoDB requests on the emulator when there is one.
async fn report_section(out: &mut String) -> anyhow::Result<()> {
    let calls: u32 = std::env::var("VOUCH_BENCH_REPORT_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let mut rows = Vec::new();
    for size in reports::SIZES {
        let world = World::new().await;
        let store: std::sync::Arc<dyn vouch_domain::ports::ProgramStore> = world.store.clone();
        reports::seed(store, &world.business, size, world.now()).await?;
        rows.push(reports::latencies(&world.vouch, &world.business, calls).await?);
    }
    writeln!(out, "\n## Reports, in process\n")?;
    writeln!(
        out,
        "Each report over the in-memory ports with 100 and with 10,000 participants (each with closed referrals and leaderboard rows; {} of them referred this month). Target: the same cost at both sizes (ratio 1.0). Best of three runs of {calls} calls.\n",
        reports::ACTIVE
    )?;
    writeln!(
        out,
        "| operation | µs at 100 | µs at 10,000 | 10,000 ÷ 100 |"
    )?;
    writeln!(out, "|---|---:|---:|---:|")?;
    for (i, name) in reports::OPERATIONS.iter().enumerate() {
        let (small, large) = (rows[0][i], rows[1][i]);
        writeln!(
            out,
            "| {name} | {small:.1} | {large:.1} | {:.2} |",
            large / small
        )?;
    }
    writeln!(
        out,
        "\nWhat grows here is the in-memory fake's ordered index (a B-tree walk), not a request: on DynamoDB each report is the same requests at any size (below)."
    )?;
    let Ok(endpoint) = std::env::var("VOUCH_TEST_ENDPOINT") else {
        writeln!(
            out,
            "\nDynamoDB requests per report: run under `scripts/with-emulator.sh` (as `make bench` does) to count them."
        )?;
        return Ok(());
    };
    let mut counts = Vec::new();
    for size in reports::SIZES {
        counts.push(emulator_counts(&endpoint, size).await?);
    }
    writeln!(out, "\n## Reports, DynamoDB requests on the emulator\n")?;
    writeln!(
        out,
        "The same participants, loaded in bulk through the DynamoDB adapter on `moto_server` (the items a commit writes, BatchWriteItem 25 at a time); requests of one warm call (the business's settings cached), by operation. Target: the same at both sizes.\n"
    )?;
    writeln!(out, "| operation | at 100 | at 10,000 |")?;
    writeln!(out, "|---|---|---|")?;
    let show = |c: &std::collections::BTreeMap<String, u64>| {
        c.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (i, name) in reports::OPERATIONS.iter().enumerate() {
        writeln!(
            out,
            "| {name} | {} | {} |",
            show(&counts[0][i]),
            show(&counts[1][i])
        )?;
    }
    anyhow::ensure!(
        counts[0] == counts[1],
        "a report's requests grew with participants: {counts:?}"
    );
    Ok(())
}

/// A fresh table on the emulator with `size` participants; the requests of each report.
async fn emulator_counts(
    endpoint: &str,
    size: usize,
) -> anyhow::Result<Vec<std::collections::BTreeMap<String, u64>>> {
    let config = vouch_aws::Config {
        table: format!("bench-{}", ulid::Ulid::new()),
        aws_endpoint: Some(endpoint.to_owned()),
        operator_key: Some("op_bench_operator_key_0000".into()),
        ip_hash_key: b"bench".to_vec(),
        fallback_url: None,
        public_base_url: None,
        event_bus: "vouch".into(),
        sms_origination_number: None,
        sms_sender_id: None,
        housecallpro_signature_header: None,
    };
    let app = vouch_aws::wiring::application(&config).await;
    vouch_aws::table::create(app.store.dynamodb(), &config.table).await?;
    let operator = app
        .vouch
        .authorise_operator(config.operator_key.as_deref())?;
    let business = vouch_domain::values::ids::BusinessId::parse("bench")?;
    let settings = vouch_domain::testing::acme_settings();
    app.vouch
        .create_business(&operator, business.clone(), settings)
        .await?;
    let crowd = reports::crowd(&business, size, app.vouch.now())?;
    let started = std::time::Instant::now();
    app.store.load(&business, &crowd).await?;
    eprintln!(
        "loaded {size} participants on the emulator in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    reports::requests(&app.vouch, &business, &app.dynamodb_requests).await
}
