//! The one HTTPS client every AWS client of a process shares, and what it trusts.
//!
//! The SDK's default client builds a TLS connector (parsing the whole system trust store into
//! a rustls root store) once when each service client is constructed, only to check it can,
//! and again for its first request. Shared and built on first use instead, a start-up touches
//! no certificate (unless `AWS_CA_BUNDLE` is set: that file is read and checked when the
//! client is built), and a function's first AWS call builds one connector.
//!
//! **What it trusts.** In the standard `aws` partition, every AWS endpoint Vouch calls
//! (DynamoDB, SNS, EventBridge, SQS) serves a certificate from Amazon Trust Services, which
//! chains to one of five roots: Amazon Root CA 1–4 and the Starfield Services root they are
//! cross-signed by. Those five are compiled in and are all the AWS clients trust (other
//! partitions, such as China's, were not checked: name their roots in `AWS_CA_BUNDLE`).
//! Reading a platform bundle instead (the 145 roots of the bench's Debian bundle; Lambda's
//! image was not counted) cost about 1 ms of CPU on every cold start, most of it decoding
//! base64, for roots no AWS endpoint uses; and trusting five roots means no other authority
//! can vouch for an AWS endpoint. Rotation: the five are valid until 2037–2040, and
//! a new Amazon root would be announced years ahead and reach Vouch with a rebuild, as any
//! dependency does; the platform's bundle, renewed with the runtime's image, is what the
//! vendor clients (`vendor.rs`) use, since vendors' certificates come from any authority.
//!
//! `AWS_CA_BUNDLE` (the name other AWS SDKs read; the Rust SDK does not, so it is read here)
//! replaces the five with the certificates
//! of a PEM file: for an endpoint of one's own behind TLS (a proxy, the bench's front to the
//! emulator). The emulator `make dev` and the tests start is plain HTTP and needs none.

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// The roots of Amazon Trust Services, as published at <https://www.amazontrust.com/repository/>.
pub const AMAZON_ROOTS: [&str; 5] = [
    include_str!("roots/amazon-root-ca-1.pem"),
    include_str!("roots/amazon-root-ca-2.pem"),
    include_str!("roots/amazon-root-ca-3.pem"),
    include_str!("roots/amazon-root-ca-4.pem"),
    include_str!("roots/starfield-services-root-ca-g2.pem"),
];

/// rustls over aws-lc, trusting [`trust_store`]; connectors made on first use, cached by the
/// SDK per connector settings (all of Vouch's clients use the same).
pub fn client() -> SharedHttpClient {
    // A blank value is no bundle, as for the other variables (`config.rs`).
    let bundle =
        std::env::var_os("AWS_CA_BUNDLE").filter(|path| !path.to_string_lossy().trim().is_empty());
    let built = TlsContext::builder()
        .with_trust_store(trust_store(bundle.as_deref()))
        .build();
    // The SDK's builder cannot fail today; if it ever does, its default (the platform's
    // roots) still reaches AWS, and it is said.
    let context = built.unwrap_or_else(|err| {
        tracing::error!("AWS clients trusting the platform's roots: {err}");
        TlsContext::default()
    });
    Lazy {
        inner: aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(context)
            .build_https(),
    }
    .into_shared()
}

/// Amazon's roots, or the usable certificates of the `bundle` file if one is named. A bundle
/// that cannot be read or holds no usable certificate is logged and Amazon's roots are kept: a
/// call to an endpoint of one's own then fails its handshake with an unknown issuer, where it
/// can be seen, and AWS's own endpoints still work. Certificates in it that cannot be used
/// (the SDK would panic on one it cannot parse) are logged and left out.
pub fn trust_store(bundle: Option<&std::ffi::OsStr>) -> TrustStore {
    let amazon = || {
        AMAZON_ROOTS.iter().fold(TrustStore::empty(), |store, pem| {
            store.with_pem_certificate(pem.as_bytes())
        })
    };
    let Some(path) = bundle else {
        return amazon();
    };
    let shown = std::path::Path::new(path).display();
    match read_bundle(std::path::Path::new(path)) {
        Ok(Bundle { pem, left_out }) => {
            if left_out > 0 {
                tracing::warn!(
                    bundle = %shown,
                    left_out,
                    "AWS_CA_BUNDLE: certificates that are not usable roots left out"
                );
            }
            TrustStore::empty().with_pem_certificate(pem)
        }
        Err(err) => {
            tracing::error!(
                bundle = %shown,
                "AWS_CA_BUNDLE not used, trusting Amazon's roots: {err:#}"
            );
            amazon()
        }
    }
}

/// What a bundle file gives: its usable certificates, written again as PEM, and how many
/// others it held.
#[derive(Debug)]
struct Bundle {
    pem: Vec<u8>,
    left_out: usize,
}

/// The certificates of the file that rustls takes as roots. Reading stops at the first
/// section that is not PEM, as where the next one starts cannot be told.
fn read_bundle(path: &std::path::Path) -> anyhow::Result<Bundle> {
    use anyhow::Context;
    use base64::Engine;
    let text = std::fs::read(path).context("reading it")?;
    let mut bundle = Bundle {
        pem: Vec::new(),
        left_out: 0,
    };
    for cert in CertificateDer::pem_slice_iter(&text) {
        let Ok(cert) = cert else {
            bundle.left_out += 1;
            break;
        };
        if rustls::RootCertStore::empty().add(cert.clone()).is_err() {
            bundle.left_out += 1;
            continue;
        }
        let body = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        bundle
            .pem
            .extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
        for line in body.as_bytes().chunks(64) {
            bundle.pem.extend_from_slice(line);
            bundle.pem.push(b'\n');
        }
        bundle.pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
    }
    anyhow::ensure!(
        !bundle.pem.is_empty(),
        "it holds no usable certificate ({} not usable)",
        bundle.left_out
    );
    Ok(bundle)
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

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// SHA-256 fingerprints as Amazon Trust Services publishes them.
    const FINGERPRINTS: [&str; 5] = [
        "8ecde6884f3d87b1125ba31ac3fcb13d7016de7f57cc904fe1cb97c6ae98196e",
        "1ba5b2aa8c65401a82960118f80bec4f62304d83cec4713a19c39c011ea46db4",
        "18ce6cfe7bf14e60b2e347b8dfe868cb31d02ebb3ada271569f50343b46db3a4",
        "e35d28419ed02025cfa69038cd623962458da5c695fbdea3c22b0bfb25897092",
        "568d6905a2c88708a4b3025190edcfedb1974a606a13c6e5290fcb2ae63edab5",
    ];

    fn der(pem: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(pem.as_bytes()).expect("one PEM certificate")
    }

    #[test]
    fn the_compiled_in_roots_are_amazons_published_ones() {
        for (pem, fingerprint) in AMAZON_ROOTS.iter().zip(FINGERPRINTS) {
            let digest = Sha256::digest(der(pem).as_ref());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, fingerprint);
        }
    }

    #[test]
    fn each_compiled_in_root_is_one_rustls_trusts() {
        let mut roots = rustls::RootCertStore::empty();
        for pem in AMAZON_ROOTS {
            roots.add(der(pem)).expect("a usable root");
        }
        assert_eq!(roots.len(), 5);
    }

    fn file(name: &str, text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("vouch-{}-{name}", ulid::Ulid::new()));
        std::fs::write(&path, text).expect("writing a temporary file");
        path
    }

    #[test]
    fn a_bundle_of_usable_roots_is_read_again_as_the_same_certificates() {
        let path = file("bundle.pem", &AMAZON_ROOTS.concat());
        let bundle = read_bundle(&path).expect("usable");
        assert_eq!(bundle.left_out, 0);
        let read: Vec<_> = CertificateDer::pem_slice_iter(&bundle.pem)
            .collect::<Result<_, _>>()
            .expect("PEM");
        let written: Vec<_> = AMAZON_ROOTS.iter().map(|pem| der(pem)).collect();
        assert_eq!(read, written);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn certificates_that_are_not_usable_roots_are_left_out_and_counted() {
        let unusable = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        let path = file(
            "mixed.pem",
            &[AMAZON_ROOTS[0], unusable, AMAZON_ROOTS[1]].concat(),
        );
        let bundle = read_bundle(&path).expect("usable");
        assert_eq!(bundle.left_out, 1);
        let read: Vec<_> = CertificateDer::pem_slice_iter(&bundle.pem)
            .collect::<Result<_, _>>()
            .expect("PEM");
        assert_eq!(read, vec![der(AMAZON_ROOTS[0]), der(AMAZON_ROOTS[1])]);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_bundle_that_cannot_be_used_is_refused_with_the_reason() {
        let missing = std::env::temp_dir().join(format!("vouch-{}-none", ulid::Ulid::new()));
        let empty = file("empty.pem", "no certificate here\n");
        let broken = file(
            "broken.pem",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        let not_pem = file(
            "not-pem.pem",
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        );
        for (path, reason) in [
            (&missing, "reading it"),
            (&empty, "holds no usable certificate (0 not usable)"),
            (&broken, "holds no usable certificate (1 not usable)"),
            (&not_pem, "holds no usable certificate (1 not usable)"),
        ] {
            let err = read_bundle(path).expect_err("refused");
            assert!(format!("{err:#}").contains(reason), "{err:#}");
        }
        for path in [empty, broken, not_pem] {
            let _ = std::fs::remove_file(path);
        }
    }
}
