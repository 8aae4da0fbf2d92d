//! Certificates for TLS tests ([`TestPki`]): a CA, a server certificate for the
//! loopback addresses, a client certificate, and a second, unrelated CA with a
//! client certificate of its own, all written as PEM files. Made with `rcgen`
//! (ECDSA P-256 keys), fresh for every test.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// Certificates for TLS tests, written as PEM files into `dir`.
#[derive(Clone, Debug)]
pub struct TestPki {
    /// The CA certificate.
    pub ca: PathBuf,
    /// The server certificate (127.0.0.1, ::1, localhost), signed by `ca`.
    pub server_cert: PathBuf,
    /// The server certificate's key.
    pub server_key: PathBuf,
    /// A client certificate with common name "client", signed by `ca`.
    pub client_cert: PathBuf,
    /// The client certificate's key.
    pub client_key: PathBuf,
    /// A second CA, unrelated to `ca`.
    pub other_ca: PathBuf,
    /// A client certificate signed by `other_ca`.
    pub other_client_cert: PathBuf,
    /// Its key.
    pub other_client_key: PathBuf,
}

/// The common name of the test CAs (the second gets a suffix).
const CA_NAME: &str = "etcd-sdk test CA";

/// A CA's parameters: the same name always gives the same issuer name, so a
/// CA can be rebuilt from its key file to sign more certificates.
fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// A leaf's parameters: common name `cn`, the given names and usages.
fn leaf_params(
    cn: &str,
    sans: Vec<SanType>,
    usages: Vec<ExtendedKeyUsagePurpose>,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.subject_alt_names = sans;
    params.extended_key_usages = usages;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.is_ca = IsCa::ExplicitNoCa;
    params
}

fn write(path: &Path, pem: &str) {
    std::fs::write(path, pem).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// Makes a CA, writes `<stem>.pem` and `<stem>-key.pem`, and returns its
/// issuer and certificate path.
fn make_ca(dir: &Path, stem: &str, name: &str) -> (Issuer<'static, KeyPair>, PathBuf) {
    let key = KeyPair::generate().expect("CA key");
    let params = ca_params(name);
    let cert = params.self_signed(&key).expect("CA certificate");
    let path = dir.join(format!("{stem}.pem"));
    write(&path, &cert.pem());
    write(&dir.join(format!("{stem}-key.pem")), &key.serialize_pem());
    (Issuer::new(params, key), path)
}

/// Makes a leaf signed by `issuer` and writes `<stem>.pem` and
/// `<stem>-key.pem`; returns their paths.
fn make_leaf(
    dir: &Path,
    stem: &str,
    params: CertificateParams,
    issuer: &Issuer<'_, KeyPair>,
) -> (PathBuf, PathBuf) {
    let key = KeyPair::generate().expect("leaf key");
    let cert = params.signed_by(&key, issuer).expect("leaf certificate");
    let (cert_path, key_path) = (
        dir.join(format!("{stem}.pem")),
        dir.join(format!("{stem}-key.pem")),
    );
    write(&cert_path, &cert.pem());
    write(&key_path, &key.serialize_pem());
    (cert_path, key_path)
}

fn client_params(cn: &str) -> CertificateParams {
    leaf_params(cn, Vec::new(), vec![ExtendedKeyUsagePurpose::ClientAuth])
}

impl TestPki {
    /// A CA, a server cert for 127.0.0.1, ::1 and localhost (serverAuth+clientAuth usages), a client cert, and a second unrelated CA with its own client cert.
    pub fn new(dir: &Path) -> TestPki {
        std::fs::create_dir_all(dir).expect("PKI directory");
        let (ca, ca_path) = make_ca(dir, "ca", CA_NAME);
        let server = leaf_params(
            "etcd server",
            vec![
                SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
                SanType::DnsName("localhost".try_into().expect("DNS name")),
            ],
            vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        );
        let (server_cert, server_key) = make_leaf(dir, "server", server, &ca);
        let (client_cert, client_key) = make_leaf(dir, "client", client_params("client"), &ca);
        let (other, other_ca) = make_ca(dir, "other-ca", &format!("{CA_NAME} (other)"));
        let (other_client_cert, other_client_key) =
            make_leaf(dir, "other-client", client_params("client"), &other);
        TestPki {
            ca: ca_path,
            server_cert,
            server_key,
            client_cert,
            client_key,
            other_ca,
            other_client_cert,
            other_client_key,
        }
    }

    /// A client certificate with common name `cn` signed by `ca` (for CN-as-user auth): returns (cert, key) paths.
    pub fn client_with_cn(&self, dir: &Path, cn: &str) -> (PathBuf, PathBuf) {
        self.client_with_names(dir, cn, &[], &[])
    }

    /// A client certificate signed by `ca` with common name `cn` and the
    /// subject alternative names `dns_names` and `ips`: returns (cert, key)
    /// paths (named after `cn` and the first alternative name).
    pub fn client_with_names(
        &self,
        dir: &Path,
        cn: &str,
        dns_names: &[&str],
        ips: &[IpAddr],
    ) -> (PathBuf, PathBuf) {
        let key_path = self.ca.with_file_name("ca-key.pem");
        let pem = std::fs::read_to_string(&key_path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", key_path.display()));
        let key = KeyPair::from_pem(&pem).expect("CA key");
        let ca = Issuer::new(ca_params(CA_NAME), key);
        let first = dns_names
            .first()
            .map(|d| d.to_string())
            .or_else(|| ips.first().map(|ip| ip.to_string()))
            .unwrap_or_default();
        let stem: String = format!("{cn}-{first}")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let mut sans: Vec<SanType> = dns_names
            .iter()
            .map(|d| SanType::DnsName((*d).try_into().expect("DNS name")))
            .collect();
        sans.extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
        let params = leaf_params(cn, sans, vec![ExtendedKeyUsagePurpose::ClientAuth]);
        make_leaf(dir, &format!("client-{stem}"), params, &ca)
    }
}
