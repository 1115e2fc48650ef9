//! HTTPS for `listen`: the server crate's rustls configuration from PEM files, its errors named
//! by the flags that gave the files.

use std::path::Path;

use tokio_rustls::TlsAcceptor;

use crate::failure::Failure;

/// A TLS acceptor for the certificate chain in `cert` and its private key in `key` (PEM files):
/// TLS 1.2 and 1.3, HTTP/1.1. A missing or unreadable file, a file without PEM items, or a key
/// that does not go with the certificate is a usage error of one line.
pub(crate) fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, Failure> {
    meetingbaas_webhooks_server::tls::acceptor(cert, key)
        .map_err(|err| Failure::usage(err.describe("--tls-cert", "--tls-key")))
}
