//! Certificates made by the tests, and the client side of TLS.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::CertificateDer;

/// A CA, a certificate for `127.0.0.1` and `localhost` it signed, and the files an example reads
/// (`MEETINGBAAS_TLS_CERT`, `MEETINGBAAS_TLS_KEY`), made once per test process.
pub struct TestCertificate {
    /// The server's certificate chain (PEM file).
    pub cert: PathBuf,
    /// Its private key (PEM file).
    pub key: PathBuf,
    /// A private key that does not match `cert` (PEM file).
    pub other_key: PathBuf,
    /// The directory holding the files (and where a case may write more).
    pub dir: PathBuf,
    connector: TlsConnector,
}

impl std::fmt::Debug for TestCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCertificate")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl TestCertificate {
    /// The process's certificate, generated (and written) on first use.
    pub fn get() -> &'static TestCertificate {
        static CERTIFICATE: OnceLock<TestCertificate> = OnceLock::new();
        CERTIFICATE.get_or_init(TestCertificate::generate)
    }

    fn generate() -> TestCertificate {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "meetingbaas-webhooks conformance CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);

        let leaf_key = KeyPair::generate().expect("server key");
        let leaf_params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server params");
        let leaf_cert = leaf_params
            .signed_by(&leaf_key, &issuer)
            .expect("server certificate");
        let other_key = KeyPair::generate().expect("other key");

        let dir = std::env::temp_dir().join(format!(
            "meetingbaas-conformance-tls-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("certificate directory");
        let write = |name: &str, contents: String| {
            let path = dir.join(name);
            std::fs::write(&path, contents).expect("writing a PEM file");
            path
        };
        let cert = write("cert.pem", leaf_cert.pem());
        let key = write("key.pem", leaf_key.serialize_pem());
        let other_key = write("other-key.pem", other_key.serialize_pem());

        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(ca_cert.der().to_vec()))
            .expect("trusting the CA");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        TestCertificate {
            cert,
            key,
            other_key,
            dir,
            connector: TlsConnector::from(Arc::new(config)),
        }
    }

    /// A client trusting only this certificate's CA.
    pub fn connector(&self) -> TlsConnector {
        self.connector.clone()
    }

    /// The environment that makes an example serve HTTPS with this certificate.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("MEETINGBAAS_TLS_CERT", self.cert.display().to_string()),
            ("MEETINGBAAS_TLS_KEY", self.key.display().to_string()),
        ]
    }
}
