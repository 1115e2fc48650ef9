//! HTTPS for `listen`: a rustls server configuration (the `ring` provider) from PEM files.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::failure::Failure;

/// How long a client may take to complete the TLS handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS acceptor for the certificate chain in `cert` and its private key in `key` (PEM files):
/// TLS 1.2 and 1.3, HTTP/1.1. A missing or unreadable file, a file without PEM items, or a key
/// that does not go with the certificate is a usage error of one line.
pub(crate) fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, Failure> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|err| Failure::usage(format!("--tls-cert {}: {err}", cert.display())))?;
    if chain.is_empty() {
        return Err(Failure::usage(format!(
            "--tls-cert {}: no certificate in the file",
            cert.display()
        )));
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|err| Failure::usage(format!("--tls-key {}: {err}", key.display())))?;
    let mut config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|err| Failure::runtime(err.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|err| {
            Failure::usage(format!(
                "--tls-key {} cannot be used with --tls-cert {}: {err}",
                key.display(),
                cert.display()
            ))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
