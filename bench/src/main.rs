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
    writeln!(
        out,
        "\nNot yet measured here: cold start and peak RSS per Lambda binary, and the cost model; DynamoDB requests per operation are asserted by the test suite instead (see README)."
    )?;
    std::fs::write("BENCHMARKS.md", &out).context("writing BENCHMARKS.md")?;
    print!("{out}");
    Ok(())
}
