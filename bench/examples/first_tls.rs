//! What the first HTTPS connection of a process costs, step by step, as the AWS SDK's rustls
//! client makes it: Amazon's five roots (what Vouch's AWS clients trust) to a root store; the
//! platform's trust store (`SSL_CERT_FILE`) read and added, as the SDK's default does; the
//! client configuration; then a handshake (the first, and two more for comparison). CPU time
//! of this thread (`CLOCK_THREAD_CPUTIME_ID`).
//!
//! `SSL_CERT_FILE=BUNDLE.pem cargo run --release -p vouch-bench --example first_tls --
//! PORT [groups]` against a TLS server on `localhost:PORT` whose authority is in `BUNDLE.pem`
//! (`make bench` leaves one in `target/…/bench-cold`; `openssl s_server` serves it).
//! `groups`: `default` (rustls's key exchange groups) or `x25519`.

use std::sync::Arc;

use rustls::pki_types::ServerName;
use tokio::io::AsyncWriteExt;

fn cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

fn step<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let before = cpu_ns();
    let out = f();
    println!("{name:<40} {:>8.3} ms", (cpu_ns() - before) as f64 / 1e6);
    out
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args.next().unwrap_or_default().parse()?;
    let groups = args.next().unwrap_or_else(|| "default".into());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    step("Amazon's 5 roots (compiled in) to a root store", || {
        let mut roots = rustls::RootCertStore::empty();
        for pem in vouch_aws::https::AMAZON_ROOTS {
            use rustls::pki_types::pem::PemObject;
            roots.add(rustls::pki_types::CertificateDer::from_pem_slice(
                pem.as_bytes(),
            )?)?;
        }
        anyhow::Ok(roots)
    })?;
    let native = step(
        "read the platform's trust store",
        rustls_native_certs::load_native_certs,
    );
    if let Some(err) = native.errors.first() {
        anyhow::bail!("the platform's trust store: {err}");
    }
    println!("  ({} certificates)", native.certs.len());
    let roots = step("add them to a root store", || {
        let mut roots = rustls::RootCertStore::empty();
        let (_, unusable) = roots.add_parsable_certificates(native.certs);
        anyhow::ensure!(
            unusable == 0,
            "{unusable} of the platform's roots are not usable"
        );
        anyhow::Ok(roots)
    })?;
    let config = step("build the client configuration", || {
        let mut provider = rustls::crypto::aws_lc_rs::default_provider();
        if groups == "x25519" {
            provider.kx_groups = vec![rustls::crypto::aws_lc_rs::kx_group::X25519];
        }
        rustls::ClientConfig::builder_with_provider(Arc::new(provider))
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth())
    })?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    for name in ["first handshake", "second handshake", "third handshake"] {
        let connector = connector.clone();
        step(name, || {
            runtime.block_on(async {
                let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
                let mut tls = connector
                    .connect(ServerName::try_from("localhost")?, tcp)
                    .await?;
                tls.shutdown().await?;
                anyhow::Ok(())
            })
        })?;
    }
    Ok(())
}
