//! TLS on a member's client port (etcd's `--cert-file`, `--key-file`,
//! `--trusted-ca-file`, `--client-cert-auth`, `--client-crl-file`,
//! `--client-cert-allowed-hostname`, `--auto-tls`, `--cipher-suites`).
//!
//! - [`ClientTls`]: etcd's `transport.TLSInfo` for clients (file paths and
//!   switches), kept in [`crate::embed::Config::client_tls`].
//! - [`cipher`]: etcd's Go cipher-suite names and the rustls suites they map to.
//! - `server` (real builds): [`ServerTls`], the rustls server configuration built
//!   from a [`ClientTls`] (ALPN `h2` and `http/1.1`, TLS 1.2 and 1.3, client
//!   certificates verified against the trusted CA and the CRL), and the
//!   handshake with its timeout.
//! - `self_cert` (real builds): `--auto-tls`'s self-signed certificate, as
//!   etcd's `transport.SelfCert`.
//! - `allowed_hostname` (real builds): `--client-cert-allowed-hostname`'s
//!   check of a verified client certificate's names.
//! - [`common_name`]: the subject common name of a DER certificate, the user
//!   name of v3 auth under `--client-cert-auth`.
//!
//! Sim builds accept every TLS setting and serve the port in plaintext: madsim's
//! gRPC passes values between nodes, with no bytes to encrypt.

#[cfg(not(madsim))]
pub mod allowed_hostname;
pub mod cipher;
pub mod common_name;
#[cfg(not(madsim))]
pub mod self_cert;
#[cfg(not(madsim))]
pub mod server;

#[cfg(not(madsim))]
pub use server::{ServerTls, TLS_HANDSHAKE_TIMEOUT, TlsError};

use std::path::PathBuf;

/// etcd's `transport.TLSInfo` for the client port: where the certificate, its
/// key, the trusted CA and the CRL are, and whether clients must present a
/// certificate. `Default` is etcd's: nothing set (plaintext only).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientTls {
    /// `--cert-file`: the server's certificate chain (PEM).
    pub cert_file: Option<PathBuf>,
    /// `--key-file`: the certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
    /// `--trusted-ca-file`: the CA certificates client certificates are verified
    /// against (PEM). Set, it requires a client certificate, as in etcd.
    pub trusted_ca_file: Option<PathBuf>,
    /// `--client-cert-auth`: clients must present a certificate signed by the
    /// trusted CA; v3 auth then takes the user from its common name when a
    /// request carries no token.
    pub client_cert_auth: bool,
    /// `--client-crl-file`: client certificates whose serial number it lists are
    /// refused (PEM or DER).
    pub crl_file: Option<PathBuf>,
    /// `--client-cert-allowed-hostname`: a verified client certificate must
    /// also be valid for this DNS name or IP address (its subject alternative
    /// names, as Go's `VerifyHostname`), or the handshake fails.
    pub allowed_hostname: Option<String>,
}

impl ClientTls {
    /// etcd's `TLSInfo.Empty`: neither a certificate nor a key is set.
    pub fn is_empty(&self) -> bool {
        self.cert_file.is_none() && self.key_file.is_none()
    }

    /// Whether the handshake asks for and verifies a client certificate
    /// (etcd: a trusted CA file or `--client-cert-auth`).
    pub fn requires_client_cert(&self) -> bool {
        self.trusted_ca_file.is_some() || self.client_cert_auth
    }

    /// etcd's check before serving TLS: both the certificate and the key.
    ///
    /// # Errors
    ///
    /// etcd's text, `KeyFile and CertFile must both be present[key: …, cert: …]`.
    pub fn check_pair(&self) -> Result<(), String> {
        match (&self.cert_file, &self.key_file) {
            (Some(_), Some(_)) => Ok(()),
            (c, k) => Err(format!(
                "KeyFile and CertFile must both be present[key: {}, cert: {}]",
                k.as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                c.as_deref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_pairs_as_etcd() {
        let mut t = ClientTls::default();
        assert!(t.is_empty() && !t.requires_client_cert());
        t.cert_file = Some("srv.pem".into());
        assert!(!t.is_empty());
        assert_eq!(
            t.check_pair().unwrap_err(),
            "KeyFile and CertFile must both be present[key: , cert: srv.pem]"
        );
        t.key_file = Some("srv.key".into());
        assert_eq!(t.check_pair(), Ok(()));
        t.trusted_ca_file = Some("ca.pem".into());
        assert!(t.requires_client_cert());
    }
}
