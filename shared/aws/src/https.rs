//! The one HTTPS client every AWS client of a process shares.
//!
//! The SDK's default client builds a TLS connector (parsing the whole system trust store into
//! a rustls root store) once when each service client is constructed, only to check it can,
//! and again for its first request. Shared and built on first use instead, a function that
//! makes DynamoDB, SNS and EventBridge calls parses the trust store once, on its first AWS
//! call, and a start-up touches no certificate at all. The certificates are the platform's
//! (`SSL_CERT_FILE` or the system bundle): they are renewed with the Lambda runtime's image,
//! which a trust store compiled into the binary would not be.

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;

/// rustls over aws-lc with the platform's roots; connectors made on first use, cached by the
/// SDK per connector settings (all of Vouch's clients use the same).
pub fn client() -> SharedHttpClient {
    Lazy {
        inner: aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .build_https(),
    }
    .into_shared()
}

#[derive(Debug)]
struct Lazy {
    inner: SharedHttpClient,
}

impl HttpClient for Lazy {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.inner.http_connector(settings, components)
    }

    // `validate_base_client_config` keeps its default (nothing): the inner client's would
    // build a connector, trust store included, every time a service client is constructed.

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}
