//! [`TestPki`]: certificates for TLS tests (rcgen), written as PEM files.
//!
//! One CA signs a server certificate (for `127.0.0.1`, `::1` and
//! `localhost`, with both serverAuth and clientAuth usages, as etcd's docs
//! advise for certificates members also use as clients) and a client
//! certificate (CN `client`); a second, unrelated CA signs a client
//! certificate of its own, for "wrong CA" cases. The CA's key stays in the
//! struct so that [`TestPki::client_with_cn`] can sign more clients.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// Certificates for TLS tests, written as PEM files into `dir`.
pub struct TestPki {
    /// The CA certificate (PEM) that signed the server and client certificates.
    pub ca: PathBuf,
    /// The server certificate: SANs 127.0.0.1, ::1 and localhost.
    pub server_cert: PathBuf,
    /// The server certificate's key.
    pub server_key: PathBuf,
    /// A client certificate, CN "client", signed by `ca`.
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
    /// A second CA, unrelated to `ca`.
    pub other_ca: PathBuf,
    /// A client certificate signed by `other_ca`.
    pub other_client_cert: PathBuf,
    /// Its key.
    pub other_client_key: PathBuf,
    /// The CA's parameters and key, to sign more certificates.
    ca_params: CertificateParams,
    ca_key: KeyPair,
}

/// A CA's parameters and key.
fn new_ca(cn: &str) -> (CertificateParams, KeyPair, String) {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().expect("generate a CA key");
    let pem = params.self_signed(&key).expect("self-sign the CA").pem();
    (params, key, pem)
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// A leaf certificate with `cn`, `sans` and `usages`, signed by the CA:
/// (cert PEM, key PEM).
fn leaf(
    ca_params: &CertificateParams,
    ca_key: &KeyPair,
    cn: &str,
    sans: Vec<SanType>,
    usages: Vec<ExtendedKeyUsagePurpose>,
) -> (String, String) {
    let mut params = CertificateParams::default();
    params.distinguished_name = dn(cn);
    params.subject_alt_names = sans;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = usages;
    let key = KeyPair::generate().expect("generate a key");
    let issuer = Issuer::from_params(ca_params, ca_key);
    let cert = params.signed_by(&key, &issuer).expect("sign a certificate");
    (cert.pem(), key.serialize_pem())
}

fn write(dir: &Path, name: &str, pem: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

impl TestPki {
    /// A CA, a server cert for 127.0.0.1, ::1 and localhost (serverAuth+clientAuth usages, as etcd's docs advise), a client cert, and a second unrelated CA with its own client cert.
    pub fn new(dir: &Path) -> TestPki {
        let (ca_params, ca_key, ca_pem) = new_ca("etcd test CA");
        let (server_cert, server_key) = leaf(
            &ca_params,
            &ca_key,
            "etcd server",
            vec![
                SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
                SanType::DnsName("localhost".try_into().expect("a DNS name")),
            ],
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        );
        let (client_cert, client_key) = leaf(
            &ca_params,
            &ca_key,
            "client",
            Vec::new(),
            vec![ExtendedKeyUsagePurpose::ClientAuth],
        );
        let (other_params, other_key, other_pem) = new_ca("another test CA");
        let (other_cert, other_client_key) = leaf(
            &other_params,
            &other_key,
            "client",
            Vec::new(),
            vec![ExtendedKeyUsagePurpose::ClientAuth],
        );
        TestPki {
            ca: write(dir, "ca.pem", &ca_pem),
            server_cert: write(dir, "server.pem", &server_cert),
            server_key: write(dir, "server-key.pem", &server_key),
            client_cert: write(dir, "client.pem", &client_cert),
            client_key: write(dir, "client-key.pem", &client_key),
            other_ca: write(dir, "other-ca.pem", &other_pem),
            other_client_cert: write(dir, "other-client.pem", &other_cert),
            other_client_key: write(dir, "other-client-key.pem", &other_client_key),
            ca_params,
            ca_key,
        }
    }

    /// A client certificate with common name `cn` signed by `ca` (for etcd's CN-as-user auth): returns (cert, key) paths.
    pub fn client_with_cn(&self, dir: &Path, cn: &str) -> (PathBuf, PathBuf) {
        let (cert, key) = leaf(
            &self.ca_params,
            &self.ca_key,
            cn,
            Vec::new(),
            vec![ExtendedKeyUsagePurpose::ClientAuth],
        );
        let file = |suffix: &str| {
            let safe: String = cn
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                .collect();
            format!("client-{safe}{suffix}.pem")
        };
        (
            write(dir, &file(""), &cert),
            write(dir, &file("-key"), &key),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_file_as_pem() {
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::new(dir.path());
        for p in [
            &pki.ca,
            &pki.server_cert,
            &pki.client_cert,
            &pki.other_ca,
            &pki.other_client_cert,
        ] {
            let text = std::fs::read_to_string(p).unwrap();
            assert!(text.starts_with("-----BEGIN CERTIFICATE-----"), "{p:?}");
        }
        for p in [&pki.server_key, &pki.client_key, &pki.other_client_key] {
            let text = std::fs::read_to_string(p).unwrap();
            assert!(text.contains("PRIVATE KEY-----"), "{p:?}");
        }
        let (cert, key) = pki.client_with_cn(dir.path(), "alice");
        assert!(cert.ends_with("client-alice.pem") && key.ends_with("client-alice-key.pem"));
        assert_ne!(
            std::fs::read(&cert).unwrap(),
            std::fs::read(&pki.client_cert).unwrap()
        );
    }
}
