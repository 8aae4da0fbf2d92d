//! [`TlsConfig`]: TLS settings shared by the v2 [`crate::Config`] and the v3
//! [`crate::v3::Config`] (Go's `tls.Config` as etcd's clients use it).
//!
//! - **Trusted CAs** ([`TlsConfig::ca_file`], [`TlsConfig::ca_pem`]): the
//!   server's certificate must chain to one of them. Without one, the
//!   system's roots are used (the platform's certificate store, as Go's
//!   `tls.Config` with no `RootCAs` uses the system pool), so a cluster with
//!   a private CA needs its CA here.
//! - **Client certificate** ([`TlsConfig::client_cert_files`],
//!   [`TlsConfig::client_cert_pem`]): sent when the server asks for one
//!   (etcd's `--client-cert-auth`).
//! - **Server name** ([`TlsConfig::server_name`]): the name the server's
//!   certificate is checked against (and sent as SNI) instead of the
//!   endpoint's host, e.g. to dial a member by IP whose certificate names
//!   only `localhost` (Go's `ServerName`).
//! - [`TlsConfig::insecure_skip_verify`]: accepts any server certificate.
//!   For tests only.
//!
//! Everything is read and checked when a client is built: an unreadable
//! file or a PEM that does not parse fails with a [`TlsError`] naming it.
//! rustls does the work (with the aws-lc-rs provider); in sim builds
//! (`--cfg madsim`) the settings are accepted and not loaded, and every
//! connection runs in plaintext.
//!
//! ```no_run
//! use etcd_sdk::tls::TlsConfig;
//! use etcd_sdk::v3::{KV as _, PutOptions};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let tls = TlsConfig::new()
//!     .ca_file("/etc/etcd/ca.pem")
//!     .client_cert_files("/etc/etcd/client.pem", "/etc/etcd/client-key.pem");
//!
//! // v3: https endpoints, the client certificate for --client-cert-auth.
//! let v3 = etcd_sdk::v3::Client::new(etcd_sdk::v3::Config {
//!     tls: Some(tls.clone()),
//!     ..etcd_sdk::v3::Config::new(["https://10.0.0.1:2379", "https://10.0.0.2:2379"])
//! })
//! .await?;
//! v3.put("greeting", "hello", PutOptions::default()).await?;
//!
//! // v2: the same settings over the default transport.
//! let v2 = etcd_sdk::HttpClient::new(etcd_sdk::Config {
//!     tls: Some(tls),
//!     ..etcd_sdk::Config::new(["https://10.0.0.1:2379"])
//! })?;
//! # let _ = v2;
//! # Ok(()) }
//! ```

use std::fmt;
use std::path::PathBuf;
#[cfg(not(madsim))]
use std::sync::{Arc, OnceLock};

#[cfg(not(madsim))]
mod first_bytes;
#[cfg(not(madsim))]
mod rustls_config;

#[cfg(not(madsim))]
pub(crate) use first_bytes::{Prefixed, await_first_bytes};

/// A PEM source: a file or bytes in memory.
#[derive(Clone, PartialEq, Eq)]
pub enum Pem {
    /// A file, read when a client is built.
    File(PathBuf),
    /// PEM text in memory.
    Bytes(Vec<u8>),
}

impl Pem {
    /// Where the PEM comes from, for error messages: the file's path or
    /// `<in-memory PEM>`.
    pub fn origin(&self) -> String {
        match self {
            Pem::File(p) => p.display().to_string(),
            Pem::Bytes(_) => "<in-memory PEM>".to_string(),
        }
    }

    /// The PEM text (reads the file). `what` names it in the error.
    pub fn read(&self, what: &'static str) -> Result<Vec<u8>, TlsError> {
        match self {
            Pem::Bytes(b) => Ok(b.clone()),
            Pem::File(path) => std::fs::read(path).map_err(|source| TlsError::Read {
                what,
                path: path.clone(),
                source,
            }),
        }
    }
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pem::File(p) => f.debug_tuple("File").field(p).finish(),
            Pem::Bytes(b) => write!(f, "Bytes(<{} bytes>)", b.len()),
        }
    }
}

/// Why TLS settings could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("tls: cannot read the {what} file {}", .path.display())]
    Read {
        /// Which setting: "CA", "client certificate" or "client key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A PEM source does not parse.
    #[error("tls: the {what} in {origin} is not valid PEM")]
    InvalidPem {
        /// Which setting.
        what: &'static str,
        /// The file's path, or `<in-memory PEM>`.
        origin: String,
        /// The parser's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A PEM source holds no item of the expected kind (no `CERTIFICATE`
    /// block, no private key).
    #[error("tls: no {what} found in {origin} (expected a PEM {expected} block)")]
    Missing {
        /// Which setting.
        what: &'static str,
        /// The file's path, or `<in-memory PEM>`.
        origin: String,
        /// The PEM block looked for.
        expected: &'static str,
    },
    /// A client certificate without its key, or a key without its certificate.
    #[error("tls: a client certificate and its key go together; {0}")]
    Incomplete(&'static str),
    /// The client certificate and key were refused by rustls (e.g. the key
    /// does not match the certificate, or its algorithm is not supported).
    #[error("tls: the client certificate or key is not usable")]
    ClientIdentity(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// [`TlsConfig::server_name`] is not a DNS name or IP address.
    #[error("tls: invalid server name {0:?}")]
    InvalidServerName(String),
    /// No CA was given and the system has no usable root certificates.
    #[error("tls: no CA given and no system root certificates found ({0})")]
    NoSystemRoots(String),
    /// The CA certificates could not be used to verify servers.
    #[error("tls: the CA certificates cannot verify servers")]
    Roots(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// What a failed TLS connection ran into (see
/// [`crate::v3::Error::Tls`]; a v2 transport error's message names it too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The server's certificate was not accepted: not signed by a trusted
    /// CA, issued for another name, expired, or otherwise invalid.
    ServerCertificate,
    /// The server refused the client's certificate: none was sent to a
    /// server that requires one (etcd's `--client-cert-auth`), or it is not
    /// signed by a CA the server trusts.
    ClientCertificateRefused,
    /// Another handshake failure (no common protocol or cipher, a peer that
    /// does not speak TLS, ...).
    Handshake,
}

impl fmt::Display for TlsFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsFailure::ServerCertificate => "the server's certificate was refused",
            TlsFailure::ClientCertificateRefused => {
                "the server refused the client certificate (missing or not trusted)"
            }
            TlsFailure::Handshake => "the TLS handshake failed",
        })
    }
}

/// The TLS failure somewhere in `err`'s chain of sources, with rustls's
/// words for it. Real builds (sim builds never encrypt).
#[cfg(not(madsim))]
pub(crate) fn failure_in(err: &(dyn std::error::Error + 'static)) -> Option<(TlsFailure, String)> {
    let mut next = Some(err);
    while let Some(e) = next {
        let found = e.downcast_ref::<rustls::Error>().or_else(|| {
            e.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(r) = found {
            return Some((classify(r), r.to_string()));
        }
        next = e.source();
    }
    // Some libraries (reqwest) keep only the words of rustls's error.
    classify_text(&crate::transport::error_chain(err))
}

/// The TLS failure rustls's words in `text` name (its `Display` forms).
#[cfg(not(madsim))]
fn classify_text(text: &str) -> Option<(TlsFailure, String)> {
    const CLIENT_REFUSED: [&str; 8] = [
        "BadCertificate",
        "CertificateRequired",
        "UnknownCA",
        "CertificateUnknown",
        "UnsupportedCertificate",
        "CertificateRevoked",
        "CertificateExpired",
        "AccessDenied",
    ];
    let from = |marker: &str| text.find(marker).map(|i| text[i..].to_string());
    if let Some(words) = from("invalid peer certificate") {
        return Some((TlsFailure::ServerCertificate, words));
    }
    if let Some(words) = from("received fatal alert: ") {
        let failure = if CLIENT_REFUSED.iter().any(|a| words.contains(a)) {
            TlsFailure::ClientCertificateRefused
        } else {
            TlsFailure::Handshake
        };
        return Some((failure, words));
    }
    None
}

#[cfg(not(madsim))]
fn classify(e: &rustls::Error) -> TlsFailure {
    use rustls::AlertDescription as A;
    match e {
        rustls::Error::InvalidCertificate(_) => TlsFailure::ServerCertificate,
        rustls::Error::AlertReceived(
            A::BadCertificate
            | A::CertificateRequired
            | A::UnknownCA
            | A::CertificateUnknown
            | A::UnsupportedCertificate
            | A::CertificateRevoked
            | A::CertificateExpired
            | A::AccessDenied,
        ) => TlsFailure::ClientCertificateRefused,
        _ => TlsFailure::Handshake,
    }
}

/// TLS settings for a client (v2 and v3). See the [module docs](self).
///
/// `Default` (= [`TlsConfig::new`]) trusts the system's roots, sends no
/// client certificate and verifies the server's certificate against the
/// endpoint's host.
#[derive(Clone, Default)]
pub struct TlsConfig {
    ca: Option<Pem>,
    client_cert: Option<Pem>,
    client_key: Option<Pem>,
    server_name: Option<String>,
    insecure_skip_verify: bool,
    /// The rustls config, built once (real builds).
    #[cfg(not(madsim))]
    loaded: Arc<OnceLock<Arc<rustls::ClientConfig>>>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("ca", &self.ca)
            .field("client_cert", &self.client_cert)
            .field(
                "client_key",
                &self.client_key.as_ref().map(|_| "<redacted>"),
            )
            .field("server_name", &self.server_name)
            .field("insecure_skip_verify", &self.insecure_skip_verify)
            .finish()
    }
}

impl TlsConfig {
    /// The defaults: system roots, no client certificate.
    pub fn new() -> TlsConfig {
        TlsConfig::default()
    }

    /// Replaces the settings' cached rustls config (each builder method
    /// changes what it would be).
    fn changed(self) -> TlsConfig {
        TlsConfig {
            #[cfg(not(madsim))]
            loaded: Arc::default(),
            ..self
        }
    }

    /// Trusts the CA certificates in this PEM file (one or more
    /// `CERTIFICATE` blocks; etcdctl's `--cacert`) instead of the system's roots.
    pub fn ca_file(self, path: impl Into<PathBuf>) -> TlsConfig {
        TlsConfig {
            ca: Some(Pem::File(path.into())),
            ..self
        }
        .changed()
    }

    /// Trusts the CA certificates in this PEM text instead of the system's roots.
    pub fn ca_pem(self, pem: impl Into<Vec<u8>>) -> TlsConfig {
        TlsConfig {
            ca: Some(Pem::Bytes(pem.into())),
            ..self
        }
        .changed()
    }

    /// Sends this client certificate (PEM file, its chain may follow) with
    /// its private key (PEM file: PKCS#8, PKCS#1 or SEC1); etcdctl's
    /// `--cert` and `--key`.
    pub fn client_cert_files(self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> TlsConfig {
        TlsConfig {
            client_cert: Some(Pem::File(cert.into())),
            client_key: Some(Pem::File(key.into())),
            ..self
        }
        .changed()
    }

    /// Sends this client certificate and key, given as PEM text.
    pub fn client_cert_pem(self, cert: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> TlsConfig {
        TlsConfig {
            client_cert: Some(Pem::Bytes(cert.into())),
            client_key: Some(Pem::Bytes(key.into())),
            ..self
        }
        .changed()
    }

    /// Checks the server's certificate against `name` (a DNS name or an IP
    /// address) instead of the endpoint's host, and sends it as SNI (Go's
    /// `ServerName`).
    pub fn server_name(self, name: impl Into<String>) -> TlsConfig {
        TlsConfig {
            server_name: Some(name.into()),
            ..self
        }
        .changed()
    }

    /// **Accepts any server certificate: no chain, name or expiry check.**
    /// The connection is encrypted but anyone on the path can impersonate
    /// the server and read everything, credentials included. For tests
    /// against throw-away certificates only (Go's `InsecureSkipVerify`,
    /// etcdctl's `--insecure-skip-tls-verify`). A client certificate set
    /// here is still sent.
    pub fn insecure_skip_verify(self) -> TlsConfig {
        TlsConfig {
            insecure_skip_verify: true,
            ..self
        }
        .changed()
    }

    /// The trusted CAs (`None`: the system's roots).
    pub fn ca(&self) -> Option<&Pem> {
        self.ca.as_ref()
    }

    /// The client certificate and key, when set.
    pub fn client_cert(&self) -> Option<(&Pem, &Pem)> {
        self.client_cert.as_ref().zip(self.client_key.as_ref())
    }

    /// The server-name override.
    pub fn server_name_override(&self) -> Option<&str> {
        self.server_name.as_deref()
    }

    /// Whether server certificates go unchecked.
    pub fn skips_verification(&self) -> bool {
        self.insecure_skip_verify
    }

    /// Reads and checks everything (real builds: builds the rustls config
    /// once and keeps it; sim builds: reads the files and checks that each
    /// setting is there, since nothing is encrypted).
    pub fn validate(&self) -> Result<(), TlsError> {
        #[cfg(not(madsim))]
        {
            self.rustls_client_config().map(|_| ())
        }
        #[cfg(madsim)]
        {
            self.check_pairs()?;
            for (what, pem) in [
                ("CA", &self.ca),
                ("client certificate", &self.client_cert),
                ("client key", &self.client_key),
            ] {
                if let Some(p) = pem {
                    p.read(what)?;
                }
            }
            Ok(())
        }
    }

    fn check_pairs(&self) -> Result<(), TlsError> {
        match (&self.client_cert, &self.client_key) {
            (Some(_), None) => Err(TlsError::Incomplete("the key is missing")),
            (None, Some(_)) => Err(TlsError::Incomplete("the certificate is missing")),
            _ => Ok(()),
        }
    }

    /// The rustls client config these settings make (no ALPN protocols
    /// set), built on first use and kept. Real builds.
    #[cfg(not(madsim))]
    pub fn rustls_client_config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        if let Some(c) = self.loaded.get() {
            return Ok(c.clone());
        }
        self.check_pairs()?;
        let built = Arc::new(rustls_config::build(self)?);
        let _ = self.loaded.set(built.clone());
        Ok(built)
    }

    /// The rustls config with `alpn` as its ALPN protocols. Real builds.
    #[cfg(not(madsim))]
    pub(crate) fn rustls_with_alpn(
        &self,
        alpn: &[&[u8]],
    ) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        let base = self.rustls_client_config()?;
        let mut c = (*base).clone();
        c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(c))
    }

    /// The name to verify and send as SNI for a connection to `host`: the
    /// override, or `host` without IPv6 brackets. Real builds.
    #[cfg(not(madsim))]
    pub(crate) fn sni_for(
        &self,
        host: &str,
    ) -> Result<rustls::pki_types::ServerName<'static>, TlsError> {
        let name = match &self.server_name {
            Some(n) => n.as_str(),
            None => host.trim_start_matches('[').trim_end_matches(']'),
        };
        rustls::pki_types::ServerName::try_from(name.to_string())
            .map_err(|_| TlsError::InvalidServerName(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_named_in_the_error() {
        let t = TlsConfig::new().ca_file("/nonexistent/ca.pem");
        let e = t.validate().unwrap_err();
        assert!(matches!(e, TlsError::Read { what: "CA", .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "tls: cannot read the CA file /nonexistent/ca.pem"
        );
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn a_cert_needs_its_key() {
        let t = TlsConfig {
            client_cert: Some(Pem::Bytes(b"x".to_vec())),
            ..TlsConfig::new()
        };
        assert!(matches!(t.validate(), Err(TlsError::Incomplete(_))));
    }

    #[test]
    fn debug_hides_the_key() {
        let t = TlsConfig::new().client_cert_pem("CERT", "SECRET KEY");
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("SECRET"), "{dbg}");
        assert!(t.client_cert().is_some());
        assert!(!t.skips_verification());
        assert!(TlsConfig::new().insecure_skip_verify().skips_verification());
    }

    #[cfg(not(madsim))]
    #[test]
    fn garbage_pem_is_refused_with_its_origin() {
        let t = TlsConfig::new().ca_pem("not a certificate");
        let e = t.validate().unwrap_err();
        assert!(e.to_string().contains("<in-memory PEM>"), "{e}");
        assert!(matches!(e, TlsError::Missing { what: "CA", .. }), "{e:?}");
        let t = TlsConfig::new()
            .insecure_skip_verify()
            .client_cert_pem("nope", "nope");
        let e = t.validate().unwrap_err();
        assert!(
            matches!(
                e,
                TlsError::Missing {
                    what: "client certificate",
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[cfg(not(madsim))]
    #[test]
    fn server_names() {
        let t = TlsConfig::new();
        assert!(t.sni_for("[::1]").is_ok());
        assert!(t.sni_for("127.0.0.1").is_ok());
        assert!(t.sni_for("localhost").is_ok());
        let o = TlsConfig::new().server_name("etcd.example");
        assert_eq!(
            format!("{:?}", o.sni_for("127.0.0.1").unwrap()),
            format!(
                "{:?}",
                rustls::pki_types::ServerName::try_from("etcd.example").unwrap()
            )
        );
        assert!(matches!(
            TlsConfig::new().server_name("bad name!").sni_for("x"),
            Err(TlsError::InvalidServerName(_))
        ));
    }
}
