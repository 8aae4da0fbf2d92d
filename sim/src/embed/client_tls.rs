//! The client port's TLS at start (etcd's `ClientSelfCert` and the TLS
//! listeners of `configureClientListeners`): the certificate `--auto-tls`
//! makes when no `--cert-file`/`--key-file` is given, the TLS server built
//! once from [`Config::client_tls`] and `--cipher-suites`, and which listen
//! client URLs it serves (the `https://` ones).
//!
//! Sim builds accept every TLS setting and serve `https://` URLs in
//! plaintext (madsim's gRPC passes values, not bytes); `--auto-tls` writes no
//! files there.

use super::config::Config;
use super::error::EmbedError;
use crate::member::ClientListener;
use tokio::net::TcpListener;

/// What a TLS listener is served with: the rustls server (real builds).
#[cfg(not(madsim))]
pub(super) type Tls = crate::tls::ServerTls;
/// Sim builds: nothing.
#[cfg(madsim)]
pub(super) type Tls = ();

fn has_https(config: &Config) -> bool {
    config
        .listen_client_urls
        .iter()
        .any(|u| u.starts_with("https://"))
}

/// The TLS server of the `https://` listen client URLs (`None` when there are
/// none), after `--auto-tls` made its certificate if it is to.
///
/// # Errors
///
/// [`EmbedError::Tls`]: the certificate could not be made, a file could not
/// be read, rustls refused the certificate and key.
#[cfg(not(madsim))]
pub(super) fn server_tls(config: &Config) -> Result<Option<Tls>, EmbedError> {
    let tls_error = |e: &dyn std::fmt::Display| EmbedError::Tls(e.to_string());
    let mut tls = config.client_tls.clone();
    if config.client_auto_tls {
        if tls.is_empty() {
            let hosts: Vec<String> = config
                .listen_client_urls
                .iter()
                .map(|u| {
                    let rest = u.split_once("://").map_or(u.as_str(), |(_, r)| r);
                    rest.split('/').next().unwrap_or(rest).to_string()
                })
                .collect();
            let dir = config.data_dir().join("fixtures").join("client");
            tls = crate::tls::self_cert::self_cert(&dir, &hosts).map_err(|e| tls_error(&e))?;
        } else {
            tracing::warn!("embed: ignoring client auto TLS since certs given");
        }
    }
    if !has_https(config) {
        return Ok(None);
    }
    let server =
        crate::tls::ServerTls::new(&tls, &config.cipher_suites).map_err(|e| tls_error(&e))?;
    tracing::info!(
        cert = ?tls.cert_file,
        trusted_ca = ?tls.trusted_ca_file,
        client_cert_auth = tls.client_cert_auth,
        crl = ?tls.crl_file,
        "embed: starting with client TLS"
    );
    Ok(Some(server))
}

/// Sim builds: no TLS server; `https://` URLs are served in plaintext.
///
/// # Errors
///
/// None in sim builds.
#[cfg(madsim)]
pub(super) fn server_tls(config: &Config) -> Result<Option<Tls>, EmbedError> {
    if has_https(config) {
        tracing::info!("embed: sim build: https client URLs are served in plaintext");
    }
    Ok(None)
}

/// The client listener of `url`: TLS when it is `https://` and there is a TLS
/// server (real builds), plaintext otherwise.
pub(super) fn client_listener(
    listener: TcpListener,
    url: &str,
    tls: Option<&Tls>,
) -> ClientListener {
    #[cfg(not(madsim))]
    if let Some(tls) = tls.filter(|_| url.starts_with("https://")) {
        return ClientListener::tls(listener, tls.clone());
    }
    #[cfg(madsim)]
    let _ = (url, tls);
    ClientListener::plain(listener)
}
