//! Builds a rustls `ClientConfig` from a [`TlsConfig`] (real builds): the
//! roots, the client identity and the verifier (the CA chain check, the
//! server-name override, or none at all for `insecure_skip_verify`).

use super::{Pem, TlsConfig, TlsError};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;

/// The config for `tls` (pairs already checked).
pub(super) fn build(tls: &TlsConfig) -> Result<ClientConfig, TlsError> {
    // The provider is named, not taken from the process default: with both
    // of rustls's providers compiled in (ours and another crate's), rustls
    // could not pick one on its own.
    let provider = Arc::new(aws_lc_rs::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = if tls.insecure_skip_verify {
        Arc::new(SkipVerify {
            provider: provider.clone(),
        })
    } else {
        let roots = Arc::new(roots(tls.ca.as_ref())?);
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| TlsError::Roots(Box::new(e)))?;
        match &tls.server_name {
            Some(name) => {
                let name = ServerName::try_from(name.clone())
                    .map_err(|_| TlsError::InvalidServerName(name.clone()))?;
                Arc::new(NamedVerifier {
                    inner: webpki,
                    name,
                })
            }
            None => webpki,
        }
    };
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Roots(Box::new(e)))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match (&tls.client_cert, &tls.client_key) {
        (Some(cert), Some(key)) => {
            let chain = certificates(cert, "client certificate")?;
            let key = private_key(key)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| TlsError::ClientIdentity(Box::new(e)))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

/// The trusted roots: the CA PEM's certificates, or the system's.
fn roots(ca: Option<&Pem>) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    match ca {
        Some(pem) => {
            for cert in certificates(pem, "CA")? {
                store.add(cert).map_err(|e| TlsError::InvalidPem {
                    what: "CA",
                    origin: pem.origin(),
                    source: Box::new(e),
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                let why = if found.errors.is_empty() {
                    "the store is empty".to_string()
                } else {
                    found
                        .errors
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                return Err(TlsError::NoSystemRoots(why));
            }
        }
    }
    Ok(store)
}

/// Every `CERTIFICATE` block of `pem` (at least one).
fn certificates(pem: &Pem, what: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let text = pem.read(what)?;
    let certs = CertificateDer::pem_slice_iter(&text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::InvalidPem {
            what,
            origin: pem.origin(),
            source: Box::new(e),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Missing {
            what,
            origin: pem.origin(),
            expected: "CERTIFICATE",
        });
    }
    Ok(certs)
}

/// The first private key of `pem`.
fn private_key(pem: &Pem) -> Result<PrivateKeyDer<'static>, TlsError> {
    let what = "client key";
    let text = pem.read(what)?;
    PrivateKeyDer::from_pem_slice(&text).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::Missing {
            what,
            origin: pem.origin(),
            expected: "PRIVATE KEY",
        },
        other => TlsError::InvalidPem {
            what,
            origin: pem.origin(),
            source: Box::new(other),
        },
    })
}

/// Checks the chain as usual, against a fixed name instead of the
/// endpoint's host ([`TlsConfig::server_name`]).
#[derive(Debug)]
struct NamedVerifier {
    inner: Arc<WebPkiServerVerifier>,
    name: ServerName<'static>,
}

impl ServerCertVerifier for NamedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
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

/// Accepts any certificate ([`TlsConfig::insecure_skip_verify`]); the
/// handshake's signatures are still checked, so the peer must hold the key
/// of the certificate it shows.
#[derive(Debug)]
struct SkipVerify {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for SkipVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
