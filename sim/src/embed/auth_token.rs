//! `--auth-token`: the v3 token provider, as etcd reads it (`decomposeOpts`
//! and `NewTokenProvider` in `auth/store.go`, `auth/options.go`).
//!
//! The value is `<type>[,<option>=<value>...]`: `simple`, or `jwt` with
//! `sign-method=` (RS256/384/512, PS256/384/512, ES256/384, HS256/384/512),
//! `priv-key=<file>` (HS*: the file's bytes are the secret), `pub-key=<file>`
//! (alone: verify-only) and `ttl=<Go duration>` (5m). Unknown options are
//! logged and ignored. etcd refuses to start with "auth: invalid auth options"
//! (a malformed value, an unknown type or method, an unreadable file or a bad
//! `ttl`, whose reason it logs), "auth: missing key data", or the JWT
//! library's words for a key it cannot parse.

use super::error::EmbedError;
use super::values::parse_duration;
use crate::auth::v3::TokenKind;
use crate::auth::v3::jwt::DEFAULT_JWT_TTL;
use crate::auth::v3::jwt_keys::{JwtKeys, sign_method};
use std::collections::BTreeMap;
use std::sync::Arc;

/// etcd's refusal of token options.
const INVALID_OPTS: &str = "auth: invalid auth options";

/// The options etcd's JWT provider knows.
const KNOWN: [&str; 4] = ["sign-method", "pub-key", "priv-key", "ttl"];

fn invalid(why: &str) -> EmbedError {
    tracing::error!("auth: problem loading token options: {why}");
    EmbedError::Invalid(INVALID_OPTS.into())
}

/// The type and options of an `--auth-token` value.
///
/// # Errors
///
/// [`EmbedError::Invalid`] for an option without exactly one `=` or given twice.
pub fn decompose(value: &str) -> Result<(&str, BTreeMap<&str, &str>), EmbedError> {
    let mut parts = value.split(',');
    let kind = parts.next().unwrap_or_default();
    let mut opts = BTreeMap::new();
    for opt in parts {
        let pair: Vec<&str> = opt.split('=').collect();
        let [k, v] = pair[..] else {
            return Err(invalid(&format!("invalid token option {opt:?}")));
        };
        if opts.insert(k, v).is_some() {
            return Err(invalid(&format!("duplicated token option {k:?}")));
        }
    }
    Ok((kind, opts))
}

/// The provider `value` names, with its keys read from disk.
///
/// # Errors
///
/// [`EmbedError::Invalid`] with etcd's words.
pub fn token_kind(value: &str) -> Result<TokenKind, EmbedError> {
    let (kind, opts) = decompose(value)?;
    match kind {
        "simple" => Ok(TokenKind::Simple),
        "jwt" => jwt(&opts),
        other => Err(invalid(&format!("unknown token type {other:?}"))),
    }
}

fn read(opts: &BTreeMap<&str, &str>, key: &str) -> Result<Option<Vec<u8>>, EmbedError> {
    match opts.get(key).filter(|f| !f.is_empty()) {
        None => Ok(None),
        Some(file) => std::fs::read(file)
            .map(Some)
            .map_err(|e| invalid(&format!("open {file}: {e}"))),
    }
}

fn jwt(opts: &BTreeMap<&str, &str>) -> Result<TokenKind, EmbedError> {
    let ttl = match opts.get("ttl").filter(|t| !t.is_empty()) {
        None => DEFAULT_JWT_TTL,
        Some(t) => parse_duration(t).map_err(|e| invalid(&e))?,
    };
    let method = opts.get("sign-method").copied().unwrap_or_default();
    let alg = sign_method(method).map_err(|e| invalid(&e.to_string()))?;
    let public = read(opts, "pub-key")?;
    let private = read(opts, "priv-key")?;
    let unknown: Vec<&str> = opts
        .keys()
        .filter(|k| !KNOWN.contains(k))
        .copied()
        .collect();
    if !unknown.is_empty() {
        tracing::warn!(?unknown, "auth: unknown JWT options");
    }
    let keys = JwtKeys::new(alg, private.as_deref(), public.as_deref())
        .map_err(|e| EmbedError::Invalid(e.to_string()))?;
    Ok(TokenKind::Jwt {
        keys: Arc::new(keys),
        ttl,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_decompose_as_etcds() {
        let (k, o) = decompose("jwt,sign-method=HS256,ttl=1s").unwrap();
        assert_eq!(k, "jwt");
        assert_eq!(o.get("ttl"), Some(&"1s"));
        let refused = Err(EmbedError::Invalid(INVALID_OPTS.into()));
        assert_eq!(decompose("jwt,ttl").map(|_| ()), refused);
        assert_eq!(decompose("jwt,a=b=c").map(|_| ()), refused);
        assert_eq!(decompose("jwt,ttl=1s,ttl=2s").map(|_| ()), refused);
        assert_eq!(token_kind("simple"), Ok(TokenKind::Simple));
        assert_eq!(token_kind("bogus").map(|_| ()), refused);
    }

    #[test]
    fn jwt_options_are_checked_at_startup() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, b"s3cret").unwrap();
        let s = secret.display();
        let refused = Err(EmbedError::Invalid(INVALID_OPTS.into()));
        let kind = |v: &str| token_kind(v).map(|_| ());
        assert_eq!(kind(&format!("jwt,sign-method=XX,priv-key={s}")), refused);
        assert_eq!(kind("jwt,sign-method=HS256,priv-key=/nonexistent"), refused);
        assert_eq!(
            kind(&format!("jwt,sign-method=HS256,priv-key={s},ttl=x")),
            refused
        );
        assert_eq!(
            kind("jwt,sign-method=RS256"),
            Err(EmbedError::Invalid("auth: missing key data".into()))
        );
        assert!(matches!(
            token_kind(&format!("jwt,sign-method=RS256,priv-key={s}")),
            Err(EmbedError::Invalid(m)) if m.starts_with("Invalid Key")
        ));
        assert!(matches!(
            token_kind(&format!("jwt,sign-method=ES512,priv-key={s}")),
            Err(EmbedError::Invalid(m)) if m.starts_with("Invalid Key")
        ));
        match token_kind(&format!("jwt,sign-method=HS256,priv-key={s},ttl=1m30s,x=y")) {
            Ok(TokenKind::Jwt { keys, ttl }) => {
                assert_eq!(ttl, std::time::Duration::from_secs(90));
                assert!(!keys.verify_only());
            }
            other => panic!("{other:?}"),
        }
        match token_kind(&format!("jwt,sign-method=HS512,priv-key={s}")) {
            Ok(TokenKind::Jwt { ttl, .. }) => assert_eq!(ttl, DEFAULT_JWT_TTL),
            other => panic!("{other:?}"),
        }
    }
}
