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

mod cold;
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
    let only = std::env::var("VOUCH_BENCH_ONLY").unwrap_or_default();
    // `VOUCH_BENCH_ONLY=click`: the click path alone (for a profiler).
    let only_click = only == "click";
    // `VOUCH_BENCH_ONLY=first`: cold starts that answer their first request and stop, nothing
    // measured (for a profiler, to see what a first request pays).
    if only == "first" {
        return first_requests().await;
    }
    // `VOUCH_BENCH_ONLY=cold`: the cold-start tables alone, printed, for the functions named in
    // `VOUCH_BENCH_FUNCTIONS` or all of them (to compare two builds of the functions: copy the
    // bench's binaries beside each build's and run each under the emulator).
    if only == "cold" {
        print!("{}", cold_section().await?);
        return Ok(());
    }
    // The full run writes BENCHMARKS.md, whose cost model needs every function's figures.
    if std::env::var("VOUCH_BENCH_FUNCTIONS").is_ok_and(|named| !named.trim().is_empty()) {
        anyhow::bail!(
            "VOUCH_BENCH_FUNCTIONS only applies with VOUCH_BENCH_ONLY=first or cold: the full bench \
             measures every function (BENCHMARKS.md's cost model needs them all)"
        );
    }
    // First, while the emulator holds nothing else (its transactions copy every table).
    let cold = if only_click {
        String::new()
    } else {
        cold_section().await?
    };
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
        "Reproduce with `make bench`: release builds, position-dependent as deployed, of every function on its own (`CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS=\"-C relocation-model=static\" cargo build --release --target x86_64-unknown-linux-gnu -p link-click -p lead-intake …`, so the functions have the features they deploy with) and then of the bench (`… -p vouch-bench`), then `scripts/with-emulator.sh target/x86_64-unknown-linux-gnu/release/vouch-bench`. `VOUCH_BENCH_COLD_STARTS` (default 20), `VOUCH_BENCH_WARM_REQUESTS` (1000) and `VOUCH_BENCH_REQUESTS` (100000) set the counts. Numbers are from the last run on the machine that ran it (2 cores, x86_64; the functions deploy on arm64): every figure is read beside its baseline from the same run.\n"
    )?;
    out.push_str(&cold);
    writeln!(out, "## Click path, in process\n")?;
    writeln!(
        out,
        "Router and domain over the in-memory ports (no network), against a bare axum handler that only builds a redirect; warm, one thread, best of three runs. Target: at least 50% of the bare handler.\n"
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
    if only_click {
        print!("{out}");
        return Ok(());
    }
    report_section(&mut out).await?;
    // What is written by hand after the marker (findings, before and after) is kept.
    let kept = std::fs::read_to_string("BENCHMARKS.md")
        .ok()
        .and_then(|old| old.find(HAND_WRITTEN).map(|at| old[at..].to_owned()))
        .unwrap_or_else(|| format!("{HAND_WRITTEN}\n"));
    out.push('\n');
    out.push_str(&kept);
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
    let (app, _) = emulator_table(endpoint, "bench").await?;
    let operator = app.vouch.authorise_operator(Some(OPERATOR_KEY))?;
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

/// The operator key of the bench's own emulator tables (and of the functions it starts).
const OPERATOR_KEY: &str = "op_bench_operator_key_0000";

/// The application over a new table on the emulator (named `{prefix}-{ulid}`), and the table.
async fn emulator_table(
    endpoint: &str,
    prefix: &str,
) -> anyhow::Result<(vouch_aws::wiring::Application, String)> {
    let table = format!("{prefix}-{}", ulid::Ulid::new());
    let config = vouch_aws::Config {
        table: table.clone(),
        aws_endpoint: Some(endpoint.to_owned()),
        operator_key: Some(OPERATOR_KEY.into()),
        ip_hash_key: b"bench".to_vec(),
        fallback_url: None,
        public_base_url: None,
        event_bus: "default".into(),
        sms_origination_number: None,
        sms_sender_id: None,
        housecallpro_signature_header: None,
        housecallpro_timestamp_header: None,
        // No gift card is ordered in the bench.
        tremendous_api_url: vouch_aws::tremendous::PRODUCTION.into(),
        // Nor is Jobber read back.
        jobber_api_url: vouch_aws::jobber::PRODUCTION_API.into(),
        jobber_auth_url: vouch_aws::jobber::PRODUCTION_AUTH.into(),
        jobber_queue_url: None,
    };
    let app = vouch_aws::wiring::application(&config).await;
    vouch_aws::table::create(app.store.dynamodb(), &table).await?;
    Ok((app, table))
}

/// Everything in BENCHMARKS.md from this line on is written by hand and kept by `make bench`.
const HAND_WRITTEN: &str = "<!-- Written by hand from here on; `make bench` keeps it. -->";

/// The functions `sam build` deploys, by their package (and binary) names.
const FUNCTIONS: [&str; 8] = [
    "link-click",
    "lead-intake",
    "job-webhook",
    "admin-api",
    "reward-issuer",
    "scheduler",
    "sms-inbound",
    "jobber-sync",
];
const BARE: &str = "bare-lambda";

/// The functions measured: all of them, or those named in `VOUCH_BENCH_FUNCTIONS`
/// (comma-separated).
fn functions() -> Vec<&'static str> {
    let named = std::env::var("VOUCH_BENCH_FUNCTIONS").unwrap_or_default();
    FUNCTIONS
        .into_iter()
        .filter(|f| named.is_empty() || named.split(',').any(|n| n.trim() == *f))
        .collect()
}

/// `VOUCH_BENCH_ONLY=first`: each function (`VOUCH_BENCH_FUNCTIONS`) started
/// `VOUCH_BENCH_COLD_STARTS` times, answering one request each time.
async fn first_requests() -> anyhow::Result<()> {
    let dir = std::env::current_exe()?
        .parent()
        .context("the bench binary's directory")?
        .to_path_buf();
    let endpoint = std::env::var("VOUCH_TEST_ENDPOINT").context("run under the emulator")?;
    let (port, authority, bundle) = cold::tls_front(&endpoint, &dir.join("bench-cold")).await?;
    let stage = Stage::new(&endpoint).await?;
    let env = cold_env(&stage.table, port, &authority, &bundle);
    for name in functions() {
        let subject = cold::Subject {
            name,
            binary: dir.join(name),
        };
        cold::first_requests(
            &subject,
            &env,
            &stage.fixture,
            env_number("VOUCH_BENCH_COLD_STARTS", 20),
        )
        .await
        .with_context(|| format!("{name} first requests"))?;
    }
    stage.remove().await
}

/// The environment of a function in the bench: the emulator behind the TLS front on `port`,
/// its `authority` trusted by the AWS clients; the platform's roots in `bundle`.
fn cold_env(
    table: &str,
    port: u16,
    authority: &std::path::Path,
    bundle: &std::path::Path,
) -> Vec<(String, String)> {
    [
        ("VOUCH_TABLE", table),
        ("VOUCH_IP_HASH_KEY", "bench"),
        ("VOUCH_OPERATOR_KEY", OPERATOR_KEY),
        ("VOUCH_EVENT_BUS", "default"),
        ("VOUCH_PUBLIC_BASE_URL", "https://go.bench.example"),
        ("AWS_ENDPOINT_URL", &format!("https://localhost:{port}")),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_CONFIG_FILE", "/nonexistent"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
        ("AWS_LAMBDA_FUNCTION_NAME", "bench"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_CA_BUNDLE", &authority.to_string_lossy()),
        ("SSL_CERT_FILE", &bundle.to_string_lossy()),
        ("RUST_LOG", "info"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Cold starts of every function beside the bare handler (`cold`), as a Markdown section.
async fn cold_section() -> anyhow::Result<String> {
    let mut out = String::new();
    let dir = std::env::current_exe()?
        .parent()
        .context("the bench binary's directory")?
        .to_path_buf();
    let missing: Vec<&str> = functions()
        .into_iter()
        .chain([BARE])
        .filter(|name| !dir.join(name).exists())
        .collect();
    let Ok(endpoint) = std::env::var("VOUCH_TEST_ENDPOINT") else {
        writeln!(
            out,
            "## Cold starts\n\nRun `make bench` (it builds every function and runs on the emulator) to measure them.\n"
        )?;
        return Ok(out);
    };
    anyhow::ensure!(
        missing.is_empty(),
        "build the functions first (make bench does): missing {missing:?} in {}",
        dir.display()
    );
    let starts: u32 = env_number("VOUCH_BENCH_COLD_STARTS", 20);
    let requests: u32 = env_number("VOUCH_BENCH_WARM_REQUESTS", 1000);
    let scratch = dir.join("bench-cold");
    let (port, authority, bundle) = cold::tls_front(&endpoint, &scratch).await?;
    let roots = std::fs::read_to_string(&bundle)?
        .matches("BEGIN CERTIFICATE")
        .count();
    let env = |table: &str| cold_env(table, port, &authority, &bundle);
    let subjects: Vec<cold::Subject> = [BARE]
        .into_iter()
        .chain(functions())
        .map(|name| cold::Subject {
            name,
            binary: dir.join(name),
        })
        .collect();
    let started = Instant::now();
    // A fresh table for the starts and one for each function's long run: the emulator copies
    // every table on each transaction, so a table that kept growing would slow it to a crawl.
    let stage = Stage::new(&endpoint).await?;
    let mut figures = cold::starts(&subjects, &env(&stage.table), &stage.fixture, starts).await?;
    stage.remove().await?;
    for subject in &subjects {
        let stage = Stage::new(&endpoint).await?;
        let entry = figures.entry(subject.name).or_default();
        cold::memory(subject, &env(&stage.table), &stage.fixture, requests, entry)
            .await
            .with_context(|| format!("{} memory", subject.name))?;
        stage.remove().await?;
    }
    eprintln!(
        "cold starts measured in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let bare = cold::median(&figures[BARE].init_ms);
    writeln!(out, "## Cold starts\n")?;
    writeln!(
        out,
        "Each function's release binary (the deployed profile, built for this machine) started {starts} times under a loopback Lambda Runtime API, interleaved with a bare `lambda_runtime` handler built the same way ({BARE}); AWS reached over TLS through a local front to the emulator, whose throwaway authority is the one certificate in `AWS_CA_BUNDLE` (deployed, the AWS clients trust Amazon's five roots, compiled in; this machine's {roots} roots are `SSL_CERT_FILE`, read only by calls to vendors, which the bench does not make). Medians. *Init*: exec → the first `GET /next`. *Once*: CPU time of the first request beyond a warm one (the median of the {WARM} after it). Peak RSS after the first request and after {requests} requests in one process. Targets: init ≤ 1.5× bare; once ≤ 2 ms of CPU; peak RSS ≤ 32 MB.\n",
        WARM = cold::WARM
    )?;
    writeln!(
        out,
        "| binary | size MB | init ms | init × bare | exec → first response ms | once, CPU ms | warm request, CPU ms | peak RSS after 1, MB | after {requests}, MB |"
    )?;
    writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for subject in &subjects {
        let f = &figures[subject.name];
        let init = cold::median(&f.init_ms);
        writeln!(
            out,
            "| {} | {:.1} | {init:.2} | {:.2} | {:.1} | {:.2} | {:.2} | {:.1} | {:.1} |",
            subject.name,
            f.size_bytes as f64 / 1e6,
            init / bare,
            cold::median(&f.first_response_ms),
            cold::median(&f.once_cpu_ms),
            cold::median(&f.warm_cpu_ms),
            f.rss_after_one_kib as f64 / 1024.0,
            f.rss_after_many_kib as f64 / 1024.0,
        )?;
    }
    let errors: Vec<String> = figures
        .iter()
        .filter(|(_, f)| f.errors > 0)
        .map(|(name, f)| format!("{name} {}", f.errors))
        .collect();
    if !errors.is_empty() {
        writeln!(
            out,
            "\nInvocations answered with an error: {}.",
            errors.join(", ")
        )?;
    }
    writeln!(out)?;
    out.push_str(&phone_section(&dir, starts)?);
    writeln!(out)?;
    // The cost model needs every function's warm requests (a run may name only some).
    if CYCLE.iter().all(|step| figures.contains_key(step.function)) {
        out.push_str(&cost_section(&figures)?);
        writeln!(out)?;
    }
    Ok(out)
}

/// Numbers as people write them in a form, each with its business's region: its own country's
/// first, then ones from abroad or from another territory of its calling code.
const FIRST_NUMBERS: [(&str, &str); 8] = [
    ("(512) 555-0123", "US"),
    ("+1 512 555 0123", "US"),
    ("416 555 0123", "CA"),
    ("020 7946 0123", "GB"),
    ("07400 123456", "GB"),
    ("02 9123 4567", "AU"),
    ("+44 7400 123456", "US"),
    ("242 357 0123", "US"),
];

/// The first phone number of a process, one number per fresh process (`first-phone`), each
/// started `starts` times, interleaved.
fn phone_section(dir: &std::path::Path, starts: u32) -> anyhow::Result<String> {
    let binary = dir.join("first-phone");
    let mut runs: Vec<(Vec<f64>, Vec<f64>, String)> =
        vec![(Vec::new(), Vec::new(), String::new()); FIRST_NUMBERS.len()];
    for _ in 0..starts {
        for ((raw, region), (first, second, read)) in FIRST_NUMBERS.iter().zip(&mut runs) {
            let output = std::process::Command::new(&binary)
                .args([raw, region])
                .output()
                .with_context(|| format!("starting {}", binary.display()))?;
            anyhow::ensure!(
                output.status.success(),
                "first-phone {raw:?} {region}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let line = String::from_utf8(output.stdout)?;
            let mut fields = line.trim().splitn(3, ' ');
            let mut ns = || -> anyhow::Result<f64> {
                Ok(fields.next().context("a CPU time")?.parse::<f64>()?)
            };
            first.push(ns()? / 1e6);
            second.push(ns()? / 1e3);
            *read = fields.next().unwrap_or_default().to_owned();
        }
    }
    let mut out = String::new();
    writeln!(
        out,
        "## The first phone number, one by one
"
    )?;
    writeln!(
        out,
        "The one-time cost of phone metadata alone: each number read by a fresh process (`first-phone`, the release profile), twice, on the thread's CPU clock; {starts} processes per number, interleaved, medians. The first read decodes and compiles the rules of the business's region (and, for a number of another territory or country, of its calling code); the second is what every later number costs. Target: the first under 2 ms of CPU.\n"
    )?;
    writeln!(
        out,
        "| number | business in | read as | first, CPU ms | second, CPU µs |"
    )?;
    writeln!(out, "|---|---|---|---:|---:|")?;
    for ((raw, region), (first, second, read)) in FIRST_NUMBERS.iter().zip(&runs) {
        writeln!(
            out,
            "| {raw} | {region} | {read} | {:.2} | {:.1} |",
            cold::median(first),
            cold::median(second)
        )?;
    }
    Ok(out)
}

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// One step of a referral cycle: the function that runs it and what it spends. DynamoDB
/// requests are the ones the test suite asserts; capacity units assume items under 1 KB
/// (a write unit each, two inside a transaction) and strongly consistent reads under 4 KB.
struct Step {
    what: &'static str,
    function: &'static str,
    api_request: bool,
    dynamodb_requests: u32,
    write_units: u32,
    read_units: u32,
    events: u32,
    sms_segments: u32,
}

const CYCLE: [Step; 8] = [
    Step {
        what: "referrer's customer record (`customer.upserted`)",
        function: "job-webhook",
        api_request: true,
        dynamodb_requests: 3,
        write_units: 6,
        read_units: 3,
        events: 0,
        sms_segments: 0,
    },
    Step {
        what: "referrer's job done (`job.status_changed`)",
        function: "job-webhook",
        api_request: true,
        dynamodb_requests: 2,
        write_units: 6,
        read_units: 1,
        events: 0,
        sms_segments: 0,
    },
    Step {
        what: "review → enrolled, invitation texted",
        function: "job-webhook",
        api_request: true,
        dynamodb_requests: 3,
        write_units: 16,
        read_units: 1,
        events: 2,
        sms_segments: 2,
    },
    Step {
        what: "friend clicks the link",
        function: "link-click",
        api_request: true,
        dynamodb_requests: 2,
        write_units: 6,
        read_units: 1,
        events: 0,
        sms_segments: 0,
    },
    Step {
        what: "friend's website lead, referrer told",
        function: "lead-intake",
        api_request: true,
        dynamodb_requests: 4,
        write_units: 20,
        read_units: 5,
        events: 2,
        sms_segments: 1,
    },
    Step {
        what: "friend's customer record",
        function: "job-webhook",
        api_request: true,
        dynamodb_requests: 3,
        write_units: 6,
        read_units: 3,
        events: 0,
        sms_segments: 0,
    },
    Step {
        what: "friend's job invoiced → qualified",
        function: "job-webhook",
        api_request: true,
        dynamodb_requests: 2,
        write_units: 10,
        read_units: 1,
        events: 1,
        sms_segments: 0,
    },
    Step {
        what: "reward made, referrer thanked",
        function: "reward-issuer",
        api_request: false,
        dynamodb_requests: 3,
        write_units: 16,
        read_units: 3,
        events: 1,
        sms_segments: 1,
    },
];

/// us-east-1 list prices (USD), as read on 2026-12-02 (see BENCHMARKS.md for the sources).
mod price {
    pub const LAMBDA_ARM_GB_SECOND: f64 = 0.000_013_333_4;
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    pub const HTTP_API_REQUEST: f64 = 1.00 / 1e6;
    pub const WRITE_UNIT: f64 = 0.625 / 1e6;
    pub const READ_UNIT: f64 = 0.125 / 1e6;
    pub const CUSTOM_EVENT: f64 = 1.00 / 1e6;
    /// AWS's per-part price to US numbers plus a typical carrier fee per part.
    pub const SMS_SEGMENT_AWS: f64 = 0.005_81;
    pub const SMS_SEGMENT_CARRIER: f64 = 0.003;
    pub const LOG_GB: f64 = 0.50;
}

/// Lambda's platform lines per invocation (START, END, REPORT as JSON), roughly.
const PLATFORM_LOG_BYTES: f64 = 600.0;
/// A DynamoDB, SNS or EventBridge request's round trip inside a region, typically.
const AWS_ROUND_TRIP_MS: f64 = 6.0;
/// A 128 MB function gets 128/1769 of a vCPU: each CPU millisecond measured here on a whole
/// core takes this many milliseconds there.
const CPU_STRETCH_AT_128_MB: f64 = 1769.0 / 128.0;

/// The cost of 1,000 referral cycles, from the steps above and the measured warm requests.
fn cost_section(
    figures: &std::collections::BTreeMap<&'static str, cold::Figures>,
) -> anyhow::Result<String> {
    let mut out = String::new();
    let cycles = 1000.0;
    let mut lambda_gb_seconds = 0.0;
    let mut log_bytes = 0.0;
    let (mut invocations, mut api, mut requests, mut wru, mut rru, mut events, mut segments) =
        (0.0, 0.0, 0, 0, 0, 0, 0);
    writeln!(out, "## Cost model: 1,000 referral cycles\n")?;
    writeln!(
        out,
        "A cycle: a referrer's record, job and review (enrolled, invitation texted), a friend's click and website lead (referrer told), the friend's record and invoiced job (qualified), the reward (referrer thanked). DynamoDB requests per step are the ones the tests assert; capacity units assume items under 1 KB, two units per item in a transaction, strongly consistent reads. Lambda duration at 128 MB = a warm request's CPU time measured above × {:.1} (a 128 MB function gets 128/1769 of a vCPU) + {AWS_ROUND_TRIP_MS:.0} ms per AWS request (a typical round trip in a region; the emulator's are slower and not used), rounded up to the millisecond; arm64.\n",
        CPU_STRETCH_AT_128_MB
    )?;
    writeln!(
        out,
        "| step | function | ms at 128 MB | DynamoDB requests | WRU | RRU | events | SMS segments |"
    )?;
    writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|")?;
    for step in &CYCLE {
        let f = &figures[step.function];
        let cpu = cold::median(&f.warm_cpu_ms);
        let aws_calls =
            step.dynamodb_requests + u32::from(step.events > 0) + u32::from(step.sms_segments > 0);
        let billed_ms =
            (cpu * CPU_STRETCH_AT_128_MB + f64::from(aws_calls) * AWS_ROUND_TRIP_MS).ceil();
        lambda_gb_seconds += 0.125 * billed_ms / 1e3;
        log_bytes += cold::median(&f.warm_log_bytes) + PLATFORM_LOG_BYTES;
        invocations += 1.0;
        api += if step.api_request { 1.0 } else { 0.0 };
        requests += step.dynamodb_requests;
        wru += step.write_units;
        rru += step.read_units;
        events += step.events;
        segments += step.sms_segments;
        writeln!(
            out,
            "| {} | {} | {billed_ms:.0} | {} | {} | {} | {} | {} |",
            step.what,
            step.function,
            step.dynamodb_requests,
            step.write_units,
            step.read_units,
            step.events,
            step.sms_segments
        )?;
    }
    let lines = [
        (
            "Lambda requests",
            invocations * cycles * price::LAMBDA_REQUEST,
            format!("{:.0} invocations", invocations * cycles),
        ),
        (
            "Lambda duration (arm64, 128 MB)",
            lambda_gb_seconds * cycles * price::LAMBDA_ARM_GB_SECOND,
            format!("{:.1} GB-s", lambda_gb_seconds * cycles),
        ),
        (
            "API Gateway HTTP API",
            api * cycles * price::HTTP_API_REQUEST,
            format!("{:.0} requests", api * cycles),
        ),
        (
            "DynamoDB on demand, writes",
            f64::from(wru) * cycles * price::WRITE_UNIT,
            format!("{:.0} WRU", f64::from(wru) * cycles),
        ),
        (
            "DynamoDB on demand, reads",
            f64::from(rru) * cycles * price::READ_UNIT,
            format!(
                "{:.0} RRU ({} requests per cycle)",
                f64::from(rru) * cycles,
                requests
            ),
        ),
        (
            "EventBridge custom events",
            f64::from(events) * cycles * price::CUSTOM_EVENT,
            format!("{:.0} events", f64::from(events) * cycles),
        ),
        (
            "CloudWatch Logs ingestion",
            log_bytes * cycles / 1e9 * price::LOG_GB,
            format!("{:.1} MB", log_bytes * cycles / 1e6),
        ),
        (
            "SNS SMS to US numbers (AWS + carrier fee)",
            f64::from(segments) * cycles * (price::SMS_SEGMENT_AWS + price::SMS_SEGMENT_CARRIER),
            format!("{:.0} segments", f64::from(segments) * cycles),
        ),
    ];
    let total: f64 = lines.iter().map(|(_, cost, _)| cost).sum();
    let sms = lines.last().map_or(0.0, |(_, cost, _)| *cost);
    writeln!(out, "\n| per 1,000 cycles | quantity | USD |")?;
    writeln!(out, "|---|---:|---:|")?;
    for (what, cost, quantity) in &lines {
        writeln!(out, "| {what} | {quantity} | {cost:.4} |")?;
    }
    writeln!(out, "| **total** | | **{total:.2}** |")?;
    writeln!(
        out,
        "\nSMS is {:.1}% of the total, {:.0}× everything else together (${:.2} vs ${:.2} per 1,000 cycles).\n",
        100.0 * sms / total,
        sms / (total - sms),
        sms,
        total - sms
    )?;
    writeln!(
        out,
        "Prices: us-east-1 list prices as published, read 2026-12-02: Lambda arm64 $0.0000133334 per GB-s and $0.20 per million requests (init is billed too since 1 August 2025); API Gateway HTTP API $1.00 per million (first 300 million, per 512 KB); DynamoDB on demand $0.625 per million write and $0.125 per million read request units; EventBridge $1.00 per million custom events (64 KB each); CloudWatch Logs $0.50 per GB ingested; SMS to US numbers $0.00581 per part from AWS plus carrier fees of $0.0025–0.0045 per part ($0.003 used), a part being 160 GSM-7 characters (153 when split). The SMS price is the one to confirm for a real account: it depends on the origination type (toll-free, 10DLC) and changes with carrier fees. Capacity units are estimates from the items each step writes; DynamoDB request counts are the asserted ones."
    )?;
    Ok(out)
}

/// A fresh table on the emulator with a seeded business, for one stage of the cold starts.
struct Stage {
    table: String,
    app: vouch_aws::wiring::Application,
    fixture: cold::Fixture,
}

impl Stage {
    async fn new(endpoint: &str) -> anyhow::Result<Self> {
        let (app, table) = emulator_table(endpoint, "cold").await?;
        let fixture = cold::Fixture::seed(&app, OPERATOR_KEY).await?;
        Ok(Self {
            table,
            app,
            fixture,
        })
    }

    async fn remove(self) -> anyhow::Result<()> {
        self.app
            .store
            .dynamodb()
            .delete_table()
            .table_name(&self.table)
            .send()
            .await?;
        Ok(())
    }
}
