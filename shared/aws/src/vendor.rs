//! The HTTPS client Vouch calls vendors' APIs with (Tremendous, Jobber): hyper with rustls and
//! the platform's root certificates, the same crates the AWS SDK uses. It is built on the first
//! call, never at start-up, and a failed build (no root certificates readable) is tried again.

use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

/// How long one call may take before it counts as unanswered (the caller retries later).
pub const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Default)]
pub struct VendorClient {
    client: OnceLock<Client<Https, Full<Bytes>>>,
}

impl VendorClient {
    fn client(&self) -> anyhow::Result<&Client<Https, Full<Bytes>>> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .context("loading the platform's root certificates")?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(self
            .client
            .get_or_init(|| Client::builder(TokioExecutor::new()).build(https)))
    }

    /// Sends `request`; its status, headers and whole body, or an error when no answer came
    /// within [`TIMEOUT`].
    pub async fn send(
        &self,
        request: Request<Full<Bytes>>,
    ) -> anyhow::Result<(StatusCode, http::HeaderMap, Bytes)> {
        tokio::time::timeout(TIMEOUT, async {
            let response = self.client()?.request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            anyhow::Ok((parts.status, parts.headers, body))
        })
        .await
        .context("no answer within 10 s")?
    }
}
