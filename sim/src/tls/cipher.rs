//! `--cipher-suites`: etcd's names (Go's `crypto/tls` names, as etcd 3.4's
//! `tlsutil.GetCipherSuite` reads them) and the rustls suites they map to.
//!
//! As in Go, the list orders and restricts the TLS 1.2 suites only: TLS 1.3 is
//! always offered with all its suites (Go does not let them be configured),
//! and a TLS 1.3 name in the list is accepted and changes nothing. A name Go
//! knows but rustls does not offer (CBC, RC4, 3DES and plain-RSA key exchange
//! suites) is refused by name; a name Go does not know gets etcd's error.

/// Go 1.19's cipher-suite names (secure and insecure), with the rustls suite
/// each maps to (`None`: rustls does not offer it).
const GO_SUITES: &[(&str, Option<&str>)] = &[
    // TLS 1.3: always on, as in Go.
    ("TLS_AES_128_GCM_SHA256", Some("TLS13_AES_128_GCM_SHA256")),
    ("TLS_AES_256_GCM_SHA384", Some("TLS13_AES_256_GCM_SHA384")),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        Some("TLS13_CHACHA20_POLY1305_SHA256"),
    ),
    // TLS 1.2, AEAD with ECDHE: the ones rustls offers.
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        Some("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        Some("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        Some("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Some("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        Some("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    ),
    // etcd's own aliases.
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
        Some("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        Some("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
    ),
    // Go knows these; rustls does not offer them.
    ("TLS_RSA_WITH_AES_128_CBC_SHA", None),
    ("TLS_RSA_WITH_AES_256_CBC_SHA", None),
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", None),
    ("TLS_RSA_WITH_AES_256_GCM_SHA384", None),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", None),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", None),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", None),
    ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", None),
    ("TLS_RSA_WITH_RC4_128_SHA", None),
    ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", None),
    ("TLS_RSA_WITH_AES_128_CBC_SHA256", None),
    ("TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", None),
    ("TLS_ECDHE_RSA_WITH_RC4_128_SHA", None),
    ("TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", None),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", None),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", None),
];

/// Why a `--cipher-suites` list cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// A name Go does not know (etcd's text).
    #[error("unexpected TLS cipher suite {0:?}")]
    Unknown(String),
    /// A suite Go offers and rustls does not.
    #[error(
        "TLS cipher suite {0:?} is not supported by etcd-sim (rustls offers only AEAD suites with ECDHE: \
         TLS_ECDHE_{{ECDSA,RSA}}_WITH_AES_{{128_GCM_SHA256,256_GCM_SHA384}}, \
         TLS_ECDHE_{{ECDSA,RSA}}_WITH_CHACHA20_POLY1305_SHA256, and TLS 1.3's)"
    )]
    Unsupported(String),
}

/// The rustls names (`CipherSuite::as_str`) of the suites `names` asks for, in
/// its order, without repeats; TLS 1.3 names included.
///
/// # Errors
///
/// [`CipherError::Unknown`] for a name Go does not know,
/// [`CipherError::Unsupported`] for one rustls does not offer.
pub fn rustls_names(names: &[String]) -> Result<Vec<&'static str>, CipherError> {
    let mut out: Vec<&'static str> = Vec::new();
    for name in names {
        let Some((_, mapped)) = GO_SUITES.iter().find(|(go, _)| go == name) else {
            return Err(CipherError::Unknown(name.clone()));
        };
        let Some(rustls) = mapped else {
            return Err(CipherError::Unsupported(name.clone()));
        };
        if !out.contains(rustls) {
            out.push(rustls);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn go_names_map_to_rustls_names() {
        assert_eq!(
            rustls_names(&names(&[
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS_AES_128_GCM_SHA256",
            ]))
            .unwrap(),
            vec![
                "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                "TLS13_AES_128_GCM_SHA256",
            ]
        );
    }

    #[test]
    fn unknown_and_unsupported_names_are_refused_by_name() {
        assert_eq!(
            rustls_names(&names(&["FOO"])).unwrap_err().to_string(),
            "unexpected TLS cipher suite \"FOO\""
        );
        let e = rustls_names(&names(&["TLS_RSA_WITH_AES_128_CBC_SHA"])).unwrap_err();
        assert_eq!(
            e,
            CipherError::Unsupported("TLS_RSA_WITH_AES_128_CBC_SHA".into())
        );
        assert!(e.to_string().contains("TLS_RSA_WITH_AES_128_CBC_SHA"));
    }

    /// Every suite the table maps to is one rustls's ring provider offers.
    #[cfg(not(madsim))]
    #[test]
    fn every_mapped_name_is_offered_by_rustls() {
        let offered: Vec<&str> = rustls::crypto::ring::default_provider()
            .cipher_suites
            .iter()
            .filter_map(|s| s.suite().as_str())
            .collect();
        for (go, mapped) in GO_SUITES {
            if let Some(m) = mapped {
                assert!(offered.contains(m), "{go} -> {m} not in {offered:?}");
            }
        }
    }
}
