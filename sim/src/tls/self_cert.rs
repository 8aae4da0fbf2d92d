//! `--auto-tls`: a self-signed server certificate made at start, as etcd's
//! `transport.SelfCert` makes it: in `<data-dir>/fixtures/client/` as
//! `cert.pem` and `key.pem` (reused when both are there already), organization
//! `etcd`, valid for a year, usable for server authentication, with the listen
//! URLs' hosts as subject alternative names (IP addresses as IP names, others
//! as DNS names). etcd makes a P-521 key; rustls's ring provider cannot sign
//! with P-521, so the key here is P-256.

use super::ClientTls;
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;

/// Why no self-signed certificate could be made.
#[derive(Debug, thiserror::Error)]
pub enum SelfCertError {
    /// The directory or a file could not be written.
    #[error("auto-tls: {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The certificate could not be made.
    #[error("auto-tls: cannot generate x509 certificate: {0}")]
    Generate(#[source] rcgen::Error),
}

/// Makes (or reuses) the self-signed certificate in `dir` for `hosts`
/// (`host:port` or `host`), and returns the TLS settings naming it.
///
/// # Errors
///
/// [`SelfCertError`].
pub fn self_cert(dir: &Path, hosts: &[String]) -> Result<ClientTls, SelfCertError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| SelfCertError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let cert_path = dir.join("cert.pem");
    let key_path = dir.join("key.pem");
    let found = ClientTls {
        cert_file: Some(cert_path.clone()),
        key_file: Some(key_path.clone()),
        ..ClientTls::default()
    };
    if cert_path.is_file() && key_path.is_file() {
        return Ok(found);
    }
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "etcd");
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now;
    params.not_after = now + time::Duration::days(365);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyEncipherment,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    for host in hosts {
        let h = host_of(host);
        if let Ok(ip) = h.parse::<IpAddr>() {
            params.subject_alt_names.push(rcgen::SanType::IpAddress(ip));
        } else if let Ok(name) = h.to_string().try_into() {
            params.subject_alt_names.push(rcgen::SanType::DnsName(name));
        }
    }
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(SelfCertError::Generate)?;
    let cert = params.self_signed(&key).map_err(SelfCertError::Generate)?;
    std::fs::write(&cert_path, cert.pem()).map_err(io(&cert_path))?;
    write_private(&key_path, key.serialize_pem().as_bytes()).map_err(io(&key_path))?;
    tracing::info!(cert = %cert_path.display(), "auto-tls: made a self-signed certificate");
    Ok(found)
}

/// The host of `host:port` (brackets of an IPv6 address taken off), or
/// `host` itself.
fn host_of(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(h, _)| h);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) && !h.contains(':') => h,
        _ => host,
    }
}

/// Writes `data` to a new file readable by its owner only (etcd: 0600).
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_listen_urls() {
        assert_eq!(host_of("127.0.0.1:2379"), "127.0.0.1");
        assert_eq!(host_of("[::1]:2379"), "::1");
        assert_eq!(host_of("localhost:2379"), "localhost");
        assert_eq!(host_of("localhost"), "localhost");
    }

    #[test]
    fn makes_a_certificate_once_and_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("fixtures/client");
        let tls = self_cert(&d, &["127.0.0.1:0".into(), "localhost:1".into()]).unwrap();
        let cert = std::fs::read(tls.cert_file.as_ref().unwrap()).unwrap();
        assert!(cert.starts_with(b"-----BEGIN CERTIFICATE-----"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(tls.key_file.as_ref().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = self_cert(&d, &[]).unwrap();
        assert_eq!(again, tls);
        assert_eq!(std::fs::read(again.cert_file.unwrap()).unwrap(), cert);
    }
}
