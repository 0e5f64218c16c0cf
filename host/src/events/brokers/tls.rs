//! TLS to a broker (Kafka, NATS): the operator's CA, an optional client certificate,
//! and the switch that stops checking the broker's certificate, as `wagate.toml`'s
//! `tls_*` settings (and Evolution's `KAFKA_SSL_*`) give them. Built once at start, so
//! a certificate that cannot be read stops the start with its reason.

use std::sync::Arc;

/// TLS settings of a broker as configured; certificates as PEM text (read from their
/// files at start). [`client_config`] turns them into what the clients use.
#[derive(Clone, Debug)]
pub struct BrokerTls {
    /// A CA trusted besides Mozilla's roots (a private cluster's).
    pub ca: Option<String>,
    /// A client certificate chain, for brokers that ask for one (with `key`).
    pub cert: Option<String>,
    /// The client certificate's private key.
    pub key: Option<String>,
    /// Check the broker's certificate (Evolution's `KAFKA_SSL_REJECT_UNAUTHORIZED`);
    /// `false` accepts any.
    pub verify: bool,
}

/// The TLS client configuration of a broker: Mozilla's roots and the operator's CA
/// (`tls_ca`), a client certificate when one is given, and no check of the broker's
/// certificate with `verify` off.
pub(super) fn client_config(tls: &BrokerTls) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = |what: &str, pem: &str| -> anyhow::Result<Vec<CertificateDer<'static>>> {
        let certs = rustls_pemfile::certs(&mut pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("reading the TLS {what}: {e}"))?;
        anyhow::ensure!(!certs.is_empty(), "the TLS {what} holds no PEM certificate");
        Ok(certs)
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = if tls.verify {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(ca) = &tls.ca {
            for cert in certs("CA", ca)? {
                roots
                    .add(cert)
                    .map_err(|e| anyhow::anyhow!("adding the TLS CA: {e}"))?;
            }
        }
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
    };
    Ok(Arc::new(match (&tls.cert, &tls.key) {
        (Some(cert), Some(key)) => {
            let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut key.as_bytes())
                .map_err(|e| anyhow::anyhow!("reading the TLS key: {e}"))?
                .ok_or_else(|| anyhow::anyhow!("the TLS key holds no PEM private key"))?;
            builder
                .with_client_auth_cert(certs("certificate", cert)?, key)
                .map_err(|e| anyhow::anyhow!("the TLS certificate and key: {e}"))?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => anyhow::bail!("a TLS client certificate needs both its certificate and its key"),
    }))
}

/// Accepts any server certificate (`tls_verify = false`, Evolution's
/// `KAFKA_SSL_REJECT_UNAUTHORIZED=false`); signatures are still checked, so the
/// handshake is real, only the certificate's identity is not.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
