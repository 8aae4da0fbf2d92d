//! `--client-cert-allowed-hostname`: once a client certificate is verified
//! against the trusted CA, etcd 3.4.23 also requires it to be valid for that
//! hostname or IP address (Go's `Certificate.VerifyHostname`: the DNS names
//! and IP addresses of its subject alternative names, wildcards in the
//! leftmost label, case-insensitive; never the common name), and otherwise
//! fails the handshake ("client certificate authentication failed").
//! [`AllowedHostname`] wraps the verifier of the trusted CA with that check.

use rustls::client::danger::HandshakeSignatureValid;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::Arc;

/// A client certificate verifier that, after `inner` accepted the chain,
/// accepts only an end-entity certificate valid for the allowed hostname.
#[derive(Debug)]
pub struct AllowedHostname {
    inner: Arc<dyn ClientCertVerifier>,
    /// The allowed name; `None` when the flag's text is neither a DNS name
    /// nor an IP address, which no certificate matches (as in Go).
    name: Option<ServerName<'static>>,
}

impl AllowedHostname {
    /// `inner` restricted to certificates valid for `hostname` (a DNS name,
    /// an IP address, or an IPv6 address in brackets).
    pub fn new(inner: Arc<dyn ClientCertVerifier>, hostname: &str) -> AllowedHostname {
        let trimmed = hostname
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(hostname);
        let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
        let name = ServerName::try_from(trimmed.to_ascii_lowercase()).ok();
        AllowedHostname { inner, name }
    }

    /// Whether `cert` is valid for the allowed name.
    pub fn matches(&self, cert: &CertificateDer<'_>) -> bool {
        let Some(name) = &self.name else {
            return false;
        };
        webpki::EndEntityCert::try_from(cert)
            .and_then(|ee| ee.verify_is_valid_for_subject_name(name))
            .is_ok()
    }
}

impl ClientCertVerifier for AllowedHostname {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        if self.matches(end_entity) {
            Ok(verified)
        } else {
            tracing::warn!("tls: client certificate authentication failed (allowed hostname)");
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, KeyPair, SanType};

    fn cert(cn: &str, sans: Vec<SanType>) -> CertificateDer<'static> {
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.subject_alt_names = sans;
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().clone()
    }

    fn verifier(host: &str) -> AllowedHostname {
        AllowedHostname::new(Arc::new(rustls::server::NoClientAuth), host)
    }

    fn dns(n: &str) -> SanType {
        SanType::DnsName(n.try_into().unwrap())
    }

    #[test]
    fn names_match_as_gos_verify_hostname() {
        let c = cert("ignored.example", vec![dns("client.example.com")]);
        assert!(verifier("client.example.com").matches(&c));
        assert!(verifier("Client.Example.COM").matches(&c));
        assert!(verifier("client.example.com.").matches(&c));
        assert!(!verifier("other.example.com").matches(&c));
        // The common name is never a hostname.
        assert!(!verifier("ignored.example").matches(&c));
        let w = cert("w", vec![dns("*.example.com")]);
        assert!(verifier("a.example.com").matches(&w));
        assert!(!verifier("a.b.example.com").matches(&w));
        assert!(!verifier("example.com").matches(&w));
    }

    #[test]
    fn ip_addresses_match_ip_names_only() {
        let c = cert(
            "127.0.0.9",
            vec![
                SanType::IpAddress("127.0.0.2".parse().unwrap()),
                SanType::IpAddress("::1".parse().unwrap()),
            ],
        );
        assert!(verifier("127.0.0.2").matches(&c));
        assert!(verifier("[::1]").matches(&c));
        assert!(verifier("::1").matches(&c));
        assert!(!verifier("127.0.0.9").matches(&c));
        assert!(!verifier("not a name!").matches(&c));
    }
}
