//! A throwaway CA and a server certificate for 127.0.0.1/localhost.
use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// The PEM files written by [`write_tls_files`].
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// `ca.pem`: the CA certificate (the trust anchor for clients).
    pub ca: PathBuf,
    /// The CA certificate as PEM text.
    pub ca_pem: String,
    /// `cert.pem`: the server certificate, for `127.0.0.1` and `localhost`.
    pub cert: PathBuf,
    /// `key.pem`: the server certificate's private key.
    pub key: PathBuf,
}

/// Generates a fresh CA and a server certificate it signed, and writes
/// `ca.pem`, `cert.pem` and `key.pem` into `dir`.
pub fn write_tls_files(dir: &Path) -> TlsFiles {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "influx-bootstrap test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let files = TlsFiles {
        ca: dir.join("ca.pem"),
        ca_pem: ca.pem(),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&files.ca, &files.ca_pem).unwrap();
    std::fs::write(&files.cert, leaf.pem()).unwrap();
    std::fs::write(&files.key, leaf_key.serialize_pem()).unwrap();
    files
}
