//! The local runner: starts the AWS emulator, provisions the table from the same definition the
//! SAM template uses, and serves every function's router on one port.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use vouch_http::{AppState, routers};

pub mod bus;
pub mod jobber;
pub mod read_backs;
pub mod site;
pub mod tremendous;

/// Every function's routes on one router, as API Gateway would route them in AWS, plus the
/// local stand-ins for what AWS triggers (`/_local/...`).
pub fn router(state: AppState) -> Router {
    routers::local(state, site::routes())
}

/// Creates the table and the event bus on the emulator, as the SAM template does in AWS.
pub async fn provision(
    app: &vouch_aws::wiring::Application,
    table: &str,
    bus: &str,
) -> anyhow::Result<()> {
    vouch_aws::table::create(app.store.dynamodb(), table).await?;
    match app
        .events
        .client()
        .create_event_bus()
        .name(bus)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(err) => Err(err).context("creating the event bus"),
    }
}

/// A running `moto_server`, stopped when dropped.
pub struct Emulator {
    pub endpoint: String,
    _child: Child,
}

/// A free loopback port, chosen by the kernel.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding a probe port")?;
    Ok(listener.local_addr()?.port())
}

impl Emulator {
    /// Starts the emulator (from `VOUCH_MOTO_SERVER`, else `scripts/moto-server`: `moto_server` one request at a time) on a free
    /// loopback port and waits until it answers.
    pub async fn start() -> anyhow::Result<Self> {
        let binary = std::env::var_os("VOUCH_MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("scripts/moto-server"));
        if !binary.exists() {
            bail!(
                "{} not found: run `make dev`, which installs it into .venv",
                binary.display()
            );
        }
        let port = free_port()?;
        let child = Command::new(&binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let address: SocketAddr = ([127, 0, 0, 1], port).into();
        for _ in 0..300 {
            if tokio::net::TcpStream::connect(address).await.is_ok() {
                return Ok(Self {
                    endpoint,
                    _child: child,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the emulator did not start listening on {endpoint} within 30 s")
    }
}

/// Serves `router` on `127.0.0.1:port` until Ctrl-C.
pub async fn serve(router: Router, port: u16) -> anyhow::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("port {port} is busy; set VOUCH_PORT to another"))?;
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("serving")
}
