//! Unit tests of [`super::JwtTokens`] and its keys (test keys in `testdata/`).

use super::*;
use crate::auth::v3::jwt_keys::{JwtKeyError, sign_method};
use base64::Engine as _;

const RSA: &[u8] = include_bytes!("testdata/rsa.pem");
const RSA_PKCS1: &[u8] = include_bytes!("testdata/rsa_pkcs1.pem");
const RSA_PUB: &[u8] = include_bytes!("testdata/rsa.pub");
const RSA_OTHER_PUB: &[u8] = include_bytes!("testdata/rsa_other.pub");
const EC: &[u8] = include_bytes!("testdata/ec.pem");
const EC_PKCS8: &[u8] = include_bytes!("testdata/ec_pkcs8.pem");
const EC_PUB: &[u8] = include_bytes!("testdata/ec.pub");
const EC384: &[u8] = include_bytes!("testdata/ec384.pem");
const EC384_PUB: &[u8] = include_bytes!("testdata/ec384.pub");
const EC521: &[u8] = include_bytes!("testdata/ec521.pem");
const EC521_PKCS8: &[u8] = include_bytes!("testdata/ec521_pkcs8.pem");
const EC521_PUB: &[u8] = include_bytes!("testdata/ec521.pub");
/// A token etcd 3.4.23 signed with `ec521.pem` (`sign-method=ES512`) for
/// root at auth revision 3, expiring at unix second 1796669172.
const ETCD_ES512_TOKEN: &str = include_str!("testdata/es512_etcd.jwt");

const NOW: i64 = 1_700_000_000;

/// A sign method, its private key, its public key.
type Case<'a> = (&'a str, &'a [u8], Option<&'a [u8]>);

fn tokens(method: &str, private: Option<&[u8]>, public: Option<&[u8]>) -> JwtTokens {
    let keys = JwtKeys::new(sign_method(method).unwrap(), private, public).unwrap();
    JwtTokens::new(Arc::new(keys), Duration::from_secs(60))
}

fn payload(token: &str) -> serde_json::Value {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[1])
        .unwrap();
    serde_json::from_slice(&raw).unwrap()
}

#[test]
fn every_method_family_signs_and_verifies() {
    let cases: [Case; 17] = [
        ("RS256", RSA, Some(RSA_PUB)),
        ("RS384", RSA_PKCS1, None),
        ("RS512", RSA, None),
        ("PS256", RSA, Some(RSA_PUB)),
        ("PS384", RSA_PKCS1, None),
        ("PS512", RSA, None),
        ("ES256", EC, Some(EC_PUB)),
        ("ES256", EC_PKCS8, None),
        ("ES384", EC384, Some(EC384_PUB)),
        ("ES384", EC384, None),
        ("ES512", EC521, Some(EC521_PUB)),
        ("ES512", EC521_PKCS8, None),
        ("ES512", EC521, None),
        ("HS256", b"secret", None),
        ("HS384", b"secret", None),
        ("HS512", b"secret", Some(b"ignored")),
        ("HS256", b"another", None),
    ];
    for (method, private, public) in cases {
        let t = tokens(method, Some(private), public);
        let token = t.sign_at("alice", 7, NOW).unwrap();
        let p = payload(&token);
        assert_eq!(p["username"], "alice", "{method}");
        assert_eq!(p["revision"], 7, "{method}");
        assert_eq!(p["exp"], NOW + 60, "{method}");
        let c = t
            .verify_at(&token, NOW)
            .unwrap_or_else(|| panic!("{method}"));
        assert_eq!((c.username.as_str(), c.revision), ("alice", 7));
        // A forged signature, or another method's token, does not verify.
        let forged = format!("{}x", &token[..token.len() - 2]);
        assert_eq!(t.verify_at(&forged, NOW), None, "{method}");
    }
    let hs = tokens("HS256", Some(b"secret"), None);
    let other = tokens("HS384", Some(b"secret"), None);
    assert_eq!(
        other.verify_at(&hs.sign_at("a", 1, NOW).unwrap(), NOW),
        None
    );
    let wrong = tokens("HS256", Some(b"not the secret"), None);
    assert_eq!(
        wrong.verify_at(&hs.sign_at("a", 1, NOW).unwrap(), NOW),
        None
    );
    assert_eq!(hs.verify_at("not.a.jwt", NOW), None);
    assert_eq!(hs.verify_at("abcdefgh.12", NOW), None);
}

#[test]
fn tokens_expire_after_their_ttl() {
    let t = tokens("HS256", Some(b"k"), None);
    let token = t.sign_at("u", 3, NOW).unwrap();
    assert!(t.verify_at(&token, NOW + 60).is_some(), "valid up to exp");
    assert_eq!(t.verify_at(&token, NOW + 61), None);
}

#[test]
fn a_token_keeps_the_revision_it_was_signed_at() {
    let mut t = tokens("RS256", Some(RSA), None);
    let token = TokenProvider::assign(&mut t, "u", "", 0, 4, Instant::now()).unwrap();
    // The auth store moved on: the token still names revision 4, which the
    // permission checks refuse as old.
    let info = t.info(&token, 9, Instant::now()).unwrap();
    assert_eq!(info.revision, 4);
    // JWTs cannot be recalled.
    t.invalidate_user("u");
    t.clear();
    assert!(t.info(&token, 9, Instant::now()).is_some());
    assert_eq!(t.wait_index(&token), Ok(None));
}

#[test]
fn a_public_key_alone_verifies_but_does_not_sign() {
    for (method, private, public) in [
        ("RS256", RSA, RSA_PUB),
        ("PS512", RSA, RSA_PUB),
        ("ES256", EC, EC_PUB),
        ("ES384", EC384, EC384_PUB),
        ("ES512", EC521, EC521_PUB),
    ] {
        let signer = tokens(method, Some(private), None);
        let verifier = tokens(method, None, Some(public));
        assert!(verifier.keys.verify_only());
        let token = signer.sign_at("u", 1, NOW).unwrap();
        assert!(verifier.verify_at(&token, NOW).is_some(), "{method}");
        assert_eq!(verifier.sign_at("u", 1, NOW), Err(AuthError::VerifyOnly));
    }
}

#[test]
fn keys_are_refused_as_etcd_refuses_them() {
    let rs = sign_method("RS256").unwrap();
    let es = sign_method("ES256").unwrap();
    let hs = sign_method("HS256").unwrap();
    assert_eq!(
        JwtKeys::new(rs, None, None).err(),
        Some(JwtKeyError::MissingKey)
    );
    assert_eq!(
        JwtKeys::new(hs, None, Some(b"x")).err(),
        Some(JwtKeyError::MissingKey)
    );
    assert_eq!(
        JwtKeys::new(hs, Some(b""), None).err(),
        Some(JwtKeyError::MissingKey)
    );
    assert!(matches!(
        JwtKeys::new(rs, Some(b"junk"), None),
        Err(JwtKeyError::BadKey(_))
    ));
    assert!(matches!(
        JwtKeys::new(rs, Some(EC), None),
        Err(JwtKeyError::BadKey(_))
    ));
    assert!(matches!(
        JwtKeys::new(es, Some(RSA), None),
        Err(JwtKeyError::BadKey(_))
    ));
    assert!(matches!(
        JwtKeys::new(es, Some(EC384), None),
        Err(JwtKeyError::BadKey(_))
    ));
    assert_eq!(
        JwtKeys::new(rs, Some(RSA), Some(RSA_OTHER_PUB)).err(),
        Some(JwtKeyError::KeyMismatch)
    );
    // A public key on another curve does not parse for ES256.
    assert!(JwtKeys::new(es, Some(EC), Some(EC384_PUB)).is_err());
    let es512 = sign_method("ES512").unwrap();
    assert!(matches!(
        JwtKeys::new(es512, Some(EC), None),
        Err(JwtKeyError::BadKey(_))
    ));
    assert_eq!(
        JwtKeys::new(es512, Some(EC521), Some(EC_PUB))
            .err()
            .map(|e| matches!(e, JwtKeyError::BadKey(_))),
        Some(true)
    );
    assert_eq!(
        JwtKeys::new(es512, None, None).err(),
        Some(JwtKeyError::MissingKey)
    );
    assert_eq!(
        sign_method("none").err(),
        Some(JwtKeyError::UnknownMethod("none".into()))
    );
}

#[test]
fn an_es512_token_signed_by_etcd_verifies_and_a_tampered_one_does_not() {
    let exp = 1_796_669_172;
    let token = ETCD_ES512_TOKEN.trim();
    for t in [
        tokens("ES512", None, Some(EC521_PUB)),
        tokens("ES512", Some(EC521), None),
    ] {
        let c = t
            .verify_at(token, exp)
            .expect("etcd's ES512 token verifies");
        assert_eq!(
            c,
            Claims {
                exp,
                revision: 3,
                username: "root".into()
            }
        );
        assert_eq!(t.verify_at(token, exp + 1), None, "expired");
    }
    let t = tokens("ES512", None, Some(EC521_PUB));
    // Claims changed under the same signature.
    let parts: Vec<&str> = token.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let forged = b64.encode(br#"{"exp":1796669172,"revision":3,"username":"admin"}"#);
    assert_eq!(
        t.verify_at(&format!("{}.{forged}.{}", parts[0], parts[2]), exp),
        None
    );
    // Our own signature verifies; another method's token, a truncated
    // signature and a non-token do not.
    let other = tokens("ES512", Some(EC521), None)
        .sign_at("root", 3, exp - 300)
        .unwrap();
    assert!(
        t.verify_at(&other, exp - 300).is_some(),
        "same key pair signs"
    );
    let es384 = tokens("ES384", Some(EC384), None)
        .sign_at("root", 3, exp - 300)
        .unwrap();
    assert_eq!(t.verify_at(&es384, exp - 300), None);
    assert_eq!(t.verify_at(&token[..token.len() - 4], exp), None);
    assert_eq!(t.verify_at("a.b", exp), None);
    // Deterministic signing: the same claims give the same token.
    let s = tokens("ES512", Some(EC521), None);
    assert_eq!(s.sign_at("u", 1, exp), s.sign_at("u", 1, exp));
}
