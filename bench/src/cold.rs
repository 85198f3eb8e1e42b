//! Cold starts: every function's release binary started again and again under a loopback
//! Lambda Runtime API, interleaved with a bare `lambda_runtime` handler built with the same
//! profile, against the emulator reached through TLS as AWS would be (so the first handshake,
//! certificate loading and the first random numbers are paid where they are in Lambda).
//!
//! Per start: init (exec → the first `GET /next`), exec → first response, and the CPU time
//! the first request took beyond a warm one (the one-time cost a first visitor pays). Per
//! function, once: peak RSS after 1 and after 1,000 requests, and the binary's size.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};

mod events;

pub use events::Fixture;

/// What the harness hears from the Runtime API.
enum Signal {
    /// The function asked for its next event (it is idle).
    Next(Instant),
    /// The function answered an invocation (`ok` false: it reported an error).
    Answered { at: Instant, ok: bool },
    /// The function failed to initialise.
    InitError(String),
}

#[derive(Clone)]
struct Api {
    inbox: Arc<Mutex<mpsc::Receiver<String>>>,
    signals: mpsc::UnboundedSender<Signal>,
}

async fn next(State(api): State<Api>) -> impl IntoResponse {
    let _ = api.signals.send(Signal::Next(Instant::now()));
    let Some(body) = api.inbox.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        + 10_000;
    (
        [
            (
                "lambda-runtime-aws-request-id",
                ulid::Ulid::new().to_string(),
            ),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:bench".to_owned(),
            ),
            (
                "lambda-runtime-trace-id",
                "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0".to_owned(),
            ),
        ],
        body,
    )
        .into_response()
}

/// One started function with its own Runtime API on a fresh loopback port.
struct Process {
    child: tokio::process::Child,
    pid: u32,
    started: Instant,
    signals: mpsc::UnboundedReceiver<Signal>,
    inbox: mpsc::Sender<String>,
    server: tokio::task::JoinHandle<()>,
    /// Bytes the function has logged (stdout and stderr).
    logged: Arc<std::sync::atomic::AtomicU64>,
}

impl Process {
    async fn launch(binary: &Path, env: &[(String, String)]) -> anyhow::Result<Self> {
        let (signals_tx, signals) = mpsc::unbounded_channel();
        let (inbox, inbox_rx) = mpsc::channel(1);
        let api = Api {
            inbox: Arc::new(Mutex::new(inbox_rx)),
            signals: signals_tx.clone(),
        };
        let answered = |ok: bool| {
            let signals = signals_tx.clone();
            move || async move {
                let _ = signals.send(Signal::Answered {
                    at: Instant::now(),
                    ok,
                });
                StatusCode::ACCEPTED
            }
        };
        let init_failed = {
            let signals = signals_tx.clone();
            move |body: String| async move {
                let _ = signals.send(Signal::InitError(body));
                StatusCode::ACCEPTED
            }
        };
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(answered(true)),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(answered(false)),
            )
            .route("/2018-06-01/runtime/init/error", post(init_failed))
            .with_state(api);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let started = Instant::now();
        let child = tokio::process::Command::new(binary)
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id().context("the child has no pid")?;
        let logged = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut child = child;
        for output in [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|o| Box::new(o) as Box<dyn AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            let logged = logged.clone();
            tokio::spawn(count_bytes(output, logged));
        }
        Ok(Self {
            child,
            pid,
            started,
            signals,
            inbox,
            server,
            logged,
        })
    }

    fn logged(&self) -> u64 {
        self.logged.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn signal(&mut self) -> anyhow::Result<Signal> {
        tokio::time::timeout(Duration::from_secs(90), self.signals.recv())
            .await
            .context("no word from the function in 90 s")?
            .context("the Runtime API stopped")
    }

    /// Waits until the function asks for an event.
    async fn idle(&mut self) -> anyhow::Result<Instant> {
        match self.signal().await? {
            Signal::Next(at) => Ok(at),
            Signal::InitError(body) => bail!("init failed: {body}"),
            Signal::Answered { .. } => bail!("an answer nobody asked for"),
        }
    }

    /// Hands the idle function one event; its answer, and its CPU time once idle again.
    async fn invoke(&mut self, event: String) -> anyhow::Result<Invocation> {
        let cpu_before = cpu_ns(self.pid)?;
        self.inbox
            .send(event)
            .await
            .context("the function is gone")?;
        let (answered, ok) = match self.signal().await? {
            Signal::Answered { at, ok } => (at, ok),
            Signal::InitError(body) => bail!("init failed: {body}"),
            Signal::Next(_) => bail!("asked again without answering"),
        };
        self.idle().await?;
        Ok(Invocation {
            answered,
            ok,
            cpu_ns: cpu_ns(self.pid)?.saturating_sub(cpu_before),
        })
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
        self.server.abort();
    }
}

struct Invocation {
    answered: Instant,
    ok: bool,
    cpu_ns: u64,
}

async fn count_bytes(
    mut output: Box<dyn AsyncRead + Send + Unpin>,
    logged: Arc<std::sync::atomic::AtomicU64>,
) {
    let mut buffer = [0u8; 8192];
    while let Ok(n @ 1..) = output.read(&mut buffer).await {
        logged.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
    }
}

/// CPU time of all of a process's threads, in nanoseconds (`/proc/{pid}/task/*/schedstat`).
fn cpu_ns(pid: u32) -> anyhow::Result<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let Ok(stat) = std::fs::read_to_string(task?.path().join("schedstat")) else {
            continue; // a thread that ended meanwhile
        };
        total += stat
            .split_whitespace()
            .next()
            .and_then(|ns| ns.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(total)
}

/// Peak resident set size in KiB (`VmHWM`).
fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM")
}

/// A binary measured: the bare handler or one of the functions.
pub struct Subject {
    pub name: &'static str,
    pub binary: PathBuf,
}

/// The figures of one subject.
#[derive(Default)]
pub struct Figures {
    pub init_ms: Vec<f64>,
    pub first_response_ms: Vec<f64>,
    /// CPU of the first request beyond the median warm one, per start.
    pub once_cpu_ms: Vec<f64>,
    pub warm_cpu_ms: Vec<f64>,
    /// Log bytes a warm request writes.
    pub warm_log_bytes: Vec<f64>,
    pub rss_after_one_kib: u64,
    pub rss_after_many_kib: u64,
    pub size_bytes: u64,
    /// Invocations the function answered with an error (it should be none).
    pub errors: usize,
}

pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Warm requests after the first, to compare the first one with.
pub const WARM: u32 = 5;

async fn one_start(
    subject: &Subject,
    env: &[(String, String)],
    fixture: &Fixture,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    let mut process = Process::launch(&subject.binary, env).await?;
    let ready = process.idle().await?;
    figures
        .init_ms
        .push(ready.duration_since(process.started).as_secs_f64() * 1e3);
    let first = process.invoke(fixture.event(subject.name)).await?;
    figures
        .first_response_ms
        .push(first.answered.duration_since(process.started).as_secs_f64() * 1e3);
    let mut warm = Vec::new();
    let mut errors = usize::from(!first.ok);
    let logged_before = process.logged();
    for _ in 0..WARM {
        let invocation = process.invoke(fixture.event(subject.name)).await?;
        errors += usize::from(!invocation.ok);
        warm.push(invocation.cpu_ns as f64 / 1e6);
    }
    // Let the last lines reach the counter.
    tokio::time::sleep(Duration::from_millis(5)).await;
    figures
        .warm_log_bytes
        .push((process.logged() - logged_before) as f64 / f64::from(WARM));
    let warm = median(&warm);
    figures.warm_cpu_ms.push(warm);
    figures
        .once_cpu_ms
        .push((first.cpu_ns as f64 / 1e6 - warm).max(0.0));
    figures.errors += errors;
    process.stop().await;
    Ok(())
}

/// Starts each subject `starts` times, interleaved (each round starts every subject once);
/// figures by subject name.
pub async fn starts(
    subjects: &[Subject],
    env: &[(String, String)],
    fixture: &Fixture,
    starts: u32,
) -> anyhow::Result<BTreeMap<&'static str, Figures>> {
    let mut figures: BTreeMap<&'static str, Figures> = BTreeMap::new();
    for subject in subjects {
        let entry = figures.entry(subject.name).or_default();
        entry.size_bytes = std::fs::metadata(&subject.binary)?.len();
    }
    for round in 0..starts {
        for subject in subjects {
            let entry = figures.entry(subject.name).or_default();
            one_start(subject, env, fixture, entry)
                .await
                .with_context(|| format!("{} start {round}", subject.name))?;
        }
    }
    Ok(figures)
}

/// `subject` started `starts` times, answering one request each time and stopped (for a
/// profiler: what init and a first request do, without warm requests beside them).
pub async fn first_requests(
    subject: &Subject,
    env: &[(String, String)],
    fixture: &Fixture,
    starts: u32,
) -> anyhow::Result<()> {
    for _ in 0..starts {
        let mut process = Process::launch(&subject.binary, env).await?;
        process.idle().await?;
        let first = process.invoke(fixture.event(subject.name)).await?;
        anyhow::ensure!(first.ok, "{} answered with an error", subject.name);
        process.stop().await;
    }
    Ok(())
}

/// One process of `subject` serving `requests` requests: its peak RSS after the first and
/// after the last.
pub async fn memory(
    subject: &Subject,
    env: &[(String, String)],
    fixture: &Fixture,
    requests: u32,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    let mut process = Process::launch(&subject.binary, env).await?;
    process.idle().await?;
    for n in 0..requests {
        let invocation = process.invoke(fixture.event(subject.name)).await?;
        figures.errors += usize::from(!invocation.ok);
        if n == 0 {
            figures.rss_after_one_kib = peak_rss_kib(process.pid)?;
        }
    }
    figures.rss_after_many_kib = peak_rss_kib(process.pid)?;
    process.stop().await;
    Ok(())
}

/// A TLS front for the emulator on loopback, with a certificate of a throwaway authority;
/// returns its port, that authority (for `AWS_CA_BUNDLE`: the AWS clients trust it in place
/// of Amazon's roots) and a bundle of the system's roots plus it (for `SSL_CERT_FILE`, the
/// platform's trust store as in Lambda, which vendor calls read).
pub async fn tls_front(upstream: &str, dir: &Path) -> anyhow::Result<(u16, PathBuf, PathBuf)> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    std::fs::create_dir_all(dir)?;
    let openssl = |args: &[&str]| -> anyhow::Result<()> {
        let status = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .context("running openssl")?;
        anyhow::ensure!(status.success(), "openssl {args:?} failed");
        Ok(())
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=bench-ca",
            ],
        ]
        .concat(),
    )?;
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "leaf.key",
                "-out",
                "leaf.csr",
                "-subj",
                "/CN=localhost",
            ],
        ]
        .concat(),
    )?;
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ])?;
    let system = std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default();
    let bundle = dir.join("bundle.pem");
    std::fs::write(
        &bundle,
        format!("{system}\n{}", std::fs::read_to_string(dir.join("ca.pem"))?),
    )?;
    let certs =
        CertificateDer::pem_file_iter(dir.join("leaf.pem"))?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(dir.join("leaf.key"))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_no_client_auth()
    .with_single_cert(certs, key)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                let (Ok(mut tls), Ok(mut plain)) = (
                    acceptor.accept(client).await,
                    TcpStream::connect(&upstream).await,
                ) else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    Ok((port, dir.join("ca.pem"), bundle))
}
