//! HTTPS from PEM files: a rustls server configuration with the `ring` provider (no cmake, no
//! OpenSSL), TLS 1.2 and 1.3, HTTP/1.1.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::crypto::ring;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Which of the two files a [`TlsError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsFile {
    /// The certificate chain.
    Certificate,
    /// The private key.
    Key,
}

/// Why a TLS configuration could not be built: which file, its path, and what was wrong (a
/// missing or unreadable file, no PEM item in it, a key that does not go with the
/// certificate). Never holds key material.
#[derive(Debug, thiserror::Error)]
#[error("{} {}: {reason}", match file { TlsFile::Certificate => "certificate", TlsFile::Key => "key" }, path.display())]
pub struct TlsError {
    file: TlsFile,
    path: PathBuf,
    reason: String,
}

impl TlsError {
    /// The file the error is about.
    pub fn file(&self) -> TlsFile {
        self.file
    }

    /// That file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What was wrong with it.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// One line naming the file by how the user gave it (`cert_name` for the certificate,
    /// `key_name` for the key: a flag or an environment variable).
    pub fn describe(&self, cert_name: &str, key_name: &str) -> String {
        let name = match self.file {
            TlsFile::Certificate => cert_name,
            TlsFile::Key => key_name,
        };
        format!("{name} {}: {}", self.path.display(), self.reason)
    }
}

/// A TLS acceptor for the certificate chain in `cert` and its private key in `key` (PEM).
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let error = |file, path: &Path, reason: String| TlsError {
        file,
        path: path.to_path_buf(),
        reason,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|err| error(TlsFile::Certificate, cert, err.to_string()))?;
    if chain.is_empty() {
        let reason = "no certificate in the file".to_owned();
        return Err(error(TlsFile::Certificate, cert, reason));
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|err| error(TlsFile::Key, key, err.to_string()))?;
    let provider = Arc::new(ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| error(TlsFile::Key, key, err.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|err| {
            let reason = format!("cannot be used with {}: {err}", cert.display());
            error(TlsFile::Key, key, reason)
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// The rustls configuration behind [`acceptor`], for servers that take one (actix-web's
/// `bind_rustls_0_23`).
pub fn server_config(cert: &Path, key: &Path) -> Result<ServerConfig, TlsError> {
    let acceptor = acceptor(cert, key)?;
    Ok(ServerConfig::clone(acceptor.config()))
}
