//! A self-signed TLS identity for the tests' loopback servers (fake media host, fake
//! Kafka broker, HTTPS webhook receivers); clients trust its certificate as their CA.

use std::sync::Arc;

/// A server configuration presenting a fresh self-signed certificate for `names`
/// (host names or IP addresses), and that certificate as PEM.
pub fn self_signed(names: &[&str]) -> (Arc<rustls::ServerConfig>, String) {
    let cert =
        rcgen::generate_simple_self_signed(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("self-signed certificate");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("TLS versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into()),
    )
    .expect("server certificate");
    (Arc::new(config), cert.cert.pem())
}
