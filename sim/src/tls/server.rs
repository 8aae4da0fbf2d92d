//! [`ServerTls`]: the rustls server side of a client port, built from a
//! [`ClientTls`] as etcd's `TLSInfo.ServerConfig` builds Go's: TLS 1.2 and 1.3
//! (`--cipher-suites` restricts 1.2's suites; 1.3's are always on, as in Go),
//! ALPN `h2` and `http/1.1`, and a client certificate required and verified
//! against `--trusted-ca-file` when that is set or `--client-cert-auth` is on
//! (without a trusted CA file, against the system's CA bundle, as Go verifies
//! against the system roots), refused when `--client-crl-file` lists its
//! serial number, or (`--client-cert-allowed-hostname`) when it is not valid
//! for the allowed hostname.
//!
//! [`ServerTls::accept`] runs a handshake for at most
//! [`TLS_HANDSHAKE_TIMEOUT`]: a client that never finishes one (a plaintext
//! client waiting for the server to speak, a stalled peer) is dropped, so it
//! holds its connection slot no longer.

use super::ClientTls;
use super::allowed_hostname::AllowedHostname;
use super::cipher::{CipherError, rustls_names};
use super::common_name::{common_name, issuer_common_name};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client has to complete its TLS handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the system's CA bundle is looked for when client certificates are
/// required without `--trusted-ca-file`.
const SYSTEM_CA_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// Why a client port's TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file is missing (etcd's text).
    #[error("{0}")]
    Pair(String),
    /// A file could not be read or holds nothing usable.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `--cipher-suites` names a suite that cannot be used.
    #[error(transparent)]
    Cipher(#[from] CipherError),
    /// rustls refused the certificate and key, or the suites.
    #[error("tls: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client certificate verifier could not be built.
    #[error("tls: client certificate verification: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// The TLS server of a client port. Cheap to clone.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
    client_cert_auth: bool,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("client_cert_auth", &self.client_cert_auth)
            .finish_non_exhaustive()
    }
}

/// A TLS connection once its handshake is done: the stream, the protocol
/// ALPN settled on, and the common name of the client's certificate when
/// `--client-cert-auth` makes it the v3 user.
pub struct Accepted<IO> {
    /// The decrypted stream.
    pub stream: TlsStream<IO>,
    /// `h2`, `http/1.1`, or `None` when the client offered no ALPN.
    pub alpn: Option<Vec<u8>>,
    /// The client certificate's subject common name (`--client-cert-auth` only).
    pub common_name: Option<String>,
    /// The common names of the verified chain, the client's certificate first
    /// and the trusted CA's last (`--client-cert-auth` only; empty otherwise):
    /// the names etcd 3.4 tries, in order, as the v2 auth user.
    pub chain_common_names: Vec<String>,
}

impl ServerTls {
    /// The TLS server for `tls` with the TLS 1.2 suites `cipher_suites` (etcd's
    /// names; empty: rustls's defaults).
    ///
    /// # Errors
    ///
    /// [`TlsError`]: a missing certificate or key, unreadable files, an unknown
    /// or unsupported suite, a key that does not match its certificate.
    pub fn new(tls: &ClientTls, cipher_suites: &[String]) -> Result<ServerTls, TlsError> {
        tls.check_pair().map_err(TlsError::Pair)?;
        let (Some(cert_file), Some(key_file)) = (&tls.cert_file, &tls.key_file) else {
            return Err(TlsError::Pair(String::new()));
        };
        let provider = Arc::new(provider(cipher_suites)?);
        let certs = read_certs(cert_file)?;
        let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| file_error(key_file, e))?;
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(rustls::ALL_VERSIONS)?;
        let mut config = if tls.requires_client_cert() {
            let roots = roots(tls.trusted_ca_file.as_deref())?;
            let mut verifier = WebPkiClientVerifier::builder_with_provider(roots, provider);
            if let Some(crl_file) = &tls.crl_file {
                // etcd refuses a certificate whose serial number the CRL lists,
                // and nothing else: a CA without a CRL is not an error.
                verifier = verifier
                    .with_crls(read_crls(crl_file)?)
                    .only_check_end_entity_revocation()
                    .allow_unknown_revocation_status();
            }
            let mut verifier = verifier.build()?;
            if let Some(host) = &tls.allowed_hostname {
                verifier = Arc::new(AllowedHostname::new(verifier, host));
            }
            builder
                .with_client_cert_verifier(verifier)
                .with_single_cert(certs, key)?
        } else {
            builder.with_no_client_auth().with_single_cert(certs, key)?
        };
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(ServerTls {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            client_cert_auth: tls.client_cert_auth,
        })
    }

    /// Whether v3 auth takes the user from the client certificate.
    pub fn client_cert_auth(&self) -> bool {
        self.client_cert_auth
    }

    /// Runs the server side of a handshake on `io`, for at most
    /// [`TLS_HANDSHAKE_TIMEOUT`].
    ///
    /// # Errors
    ///
    /// The handshake failed (not TLS, no or a refused client certificate, no
    /// common protocol or suite) or timed out.
    pub async fn accept<IO>(&self, io: IO) -> std::io::Result<Accepted<IO>>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let stream = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, self.acceptor.accept(io))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out")
            })??;
        let conn = stream.get_ref().1;
        let alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
        let common_name = if self.client_cert_auth {
            conn.peer_certificates()
                .and_then(|certs| certs.first())
                .and_then(|c| common_name(c.as_ref()))
        } else {
            None
        };
        let chain_common_names = if self.client_cert_auth {
            chain_common_names(conn.peer_certificates().unwrap_or_default())
        } else {
            Vec::new()
        };
        Ok(Accepted {
            stream,
            alpn,
            common_name,
            chain_common_names,
        })
    }
}

/// The common names of a verified chain as Go's `VerifiedChains[0]` holds
/// it: each certificate the client presented, then the CA that signed the
/// last of them (its issuer name is the trusted CA's subject). The handshake
/// verified the chain; a presented CA certificate that is itself the trust
/// anchor is not repeated.
fn chain_common_names(presented: &[CertificateDer<'_>]) -> Vec<String> {
    let mut names: Vec<String> = presented
        .iter()
        .filter_map(|c| common_name(c.as_ref()))
        .collect();
    if let Some(last) = presented.last()
        && let Some(issuer) = issuer_common_name(last.as_ref())
        && names.last() != Some(&issuer)
    {
        names.push(issuer);
    }
    names
}

/// rustls's ring provider with its TLS 1.2 suites restricted to and ordered as
/// `names` (etcd's), when given.
fn provider(names: &[String]) -> Result<CryptoProvider, TlsError> {
    let mut provider = rustls::crypto::ring::default_provider();
    if names.is_empty() {
        return Ok(provider);
    }
    let wanted = rustls_names(names)?;
    let all = std::mem::take(&mut provider.cipher_suites);
    let (tls13, tls12): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|s| matches!(s, rustls::SupportedCipherSuite::Tls13(_)));
    provider.cipher_suites = tls13;
    for name in wanted {
        if let Some(s) = tls12.iter().find(|s| s.suite().as_str() == Some(name)) {
            provider.cipher_suites.push(*s);
        }
    }
    Ok(provider)
}

fn file_error(path: &Path, e: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// The PEM certificates of `path` (at least one).
fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| file_error(path, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, e))?;
    if certs.is_empty() {
        return Err(file_error(path, "no PEM certificate found"));
    }
    Ok(certs)
}

/// The roots client certificates are verified against: `ca_file`'s, or the
/// system bundle's.
fn roots(ca_file: Option<&Path>) -> Result<Arc<RootCertStore>, TlsError> {
    let path = match ca_file {
        Some(p) => p.to_path_buf(),
        None => SYSTEM_CA_BUNDLES
            .iter()
            .map(Path::new)
            .find(|p| p.is_file())
            .ok_or_else(|| TlsError::File {
                path: "--trusted-ca-file".into(),
                reason: "client certificates are required and no system CA bundle was found".into(),
            })?
            .to_path_buf(),
    };
    let mut store = RootCertStore::empty();
    let (added, _ignored) = store.add_parsable_certificates(read_certs(&path)?);
    if added == 0 {
        return Err(file_error(&path, "no usable CA certificate"));
    }
    Ok(Arc::new(store))
}

/// The CRLs of `path`, PEM or DER (etcd reads either).
fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
    if bytes.starts_with(b"-----BEGIN") {
        let crls = CertificateRevocationListDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| file_error(path, e))?;
        if crls.is_empty() {
            return Err(file_error(path, "no PEM CRL found"));
        }
        return Ok(crls);
    }
    Ok(vec![CertificateRevocationListDer::from(bytes)])
}
