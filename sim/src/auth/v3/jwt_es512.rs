//! [`Es512Keys`]: JWTs signed with ECDSA on P-521 and SHA-512 (`ES512`), which
//! etcd's JWT library offers and the `jsonwebtoken` crate does not.
//!
//! The token is `base64url(header).base64url(claims).base64url(signature)`
//! (RFC 7515, no padding), the header `{"alg":"ES512","typ":"JWT"}` as
//! golang-jwt writes it, the signature the fixed-width `r || s` of RFC 7518
//! §3.4: 66 bytes each for P-521. Signing is deterministic (RFC 6979), so a
//! simulated member signs the same token for the same claims on every run.
//! Keys are read as for ES256/ES384: SEC1 or PKCS#8 private keys, SPKI public
//! keys, PEM-encoded.

use super::jwt_keys::JwtKeyError;
use base64::Engine as _;
use p521::ecdsa::signature::{Signer as _, Verifier as _};
use p521::ecdsa::{Signature, SigningKey, VerifyingKey};
use p521::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The header golang-jwt puts on an ES512 token (its field order).
const HEADER: &str = r#"{"alg":"ES512","typ":"JWT"}"#;

/// The width of `r` and of `s` in a signature (P-521: ⌈521 / 8⌉).
const SCALAR_BYTES: usize = 66;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// An ES512 key pair, or a public key alone (verify-only).
#[derive(Clone)]
pub struct Es512Keys {
    signing: Option<SigningKey>,
    verifying: VerifyingKey,
}

impl std::fmt::Debug for Es512Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Es512Keys")
            .field("verify_only", &self.signing.is_none())
            .finish_non_exhaustive()
    }
}

fn bad(e: impl std::fmt::Display) -> JwtKeyError {
    JwtKeyError::BadKey(e.to_string())
}

/// The tag and DER of the one PEM block in `pem_bytes`.
fn der(pem_bytes: &[u8]) -> Result<(String, Vec<u8>), JwtKeyError> {
    let p = pem::parse(pem_bytes).map_err(bad)?;
    Ok((p.tag().to_string(), p.contents().to_vec()))
}

impl Es512Keys {
    /// The keys from the contents of the `priv-key` and `pub-key` files
    /// (`None` or empty: not given). With a private key, tokens are verified
    /// with its own public part; a public key given too must be that part.
    ///
    /// # Errors
    ///
    /// [`JwtKeyError::MissingKey`], [`JwtKeyError::BadKey`] (not PEM, not a
    /// P-521 key), [`JwtKeyError::KeyMismatch`].
    pub fn new(private: Option<&[u8]>, public: Option<&[u8]>) -> Result<Es512Keys, JwtKeyError> {
        let private = private.filter(|p| !p.is_empty());
        let public = public.filter(|p| !p.is_empty());
        let given = public
            .map(|p| {
                let (_, d) = der(p)?;
                p521::PublicKey::from_public_key_der(&d).map_err(bad)
            })
            .transpose()?;
        let Some(private) = private else {
            let key = given.ok_or(JwtKeyError::MissingKey)?;
            return Ok(Es512Keys {
                signing: None,
                verifying: VerifyingKey::from(&key),
            });
        };
        let (tag, d) = der(private)?;
        let secret = if tag == "EC PRIVATE KEY" {
            p521::SecretKey::from_sec1_der(&d).map_err(bad)?
        } else {
            p521::SecretKey::from_pkcs8_der(&d).map_err(bad)?
        };
        let own = secret.public_key();
        if given.is_some_and(|g| g != own) {
            return Err(JwtKeyError::KeyMismatch);
        }
        Ok(Es512Keys {
            signing: Some(SigningKey::from(&secret)),
            verifying: VerifyingKey::from(&own),
        })
    }

    /// Whether these keys can only verify.
    pub fn verify_only(&self) -> bool {
        self.signing.is_none()
    }

    /// `claims` as a signed token, or why not (verify-only keys, claims that
    /// do not serialise).
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, String> {
        let key = self.signing.as_ref().ok_or("no private key to sign with")?;
        let body = serde_json::to_vec(claims).map_err(|e| e.to_string())?;
        let input = format!("{}.{}", B64.encode(HEADER), B64.encode(body));
        let sig: Signature = key.sign(input.as_bytes());
        Ok(format!("{input}.{}", B64.encode(sig.to_bytes())))
    }

    /// The claims of `token` if it is an ES512 token whose signature these
    /// keys verify, or why not. Expiry is the caller's to check.
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<T, String> {
        let mut parts = token.split('.');
        let (Some(header), Some(body), Some(sig), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("a token has three dot-separated parts".into());
        };
        let header: serde_json::Value = B64
            .decode(header)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or("the header is not base64url JSON")?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("ES512") {
            return Err(format!("signing method {} is not ES512", header["alg"]));
        }
        let sig = B64
            .decode(sig)
            .map_err(|e| format!("the signature is not base64url: {e}"))?;
        if sig.len() != 2 * SCALAR_BYTES {
            return Err(format!(
                "an ES512 signature has 132 bytes, not {}",
                sig.len()
            ));
        }
        let sig = Signature::from_slice(&sig).map_err(|e| e.to_string())?;
        let input = token.rsplit_once('.').map_or("", |(input, _)| input);
        self.verifying
            .verify(input.as_bytes(), &sig)
            .map_err(|_| "the signature does not verify".to_string())?;
        let body = B64
            .decode(body)
            .map_err(|e| format!("the claims are not base64url: {e}"))?;
        serde_json::from_slice(&body).map_err(|e| format!("the claims do not parse: {e}"))
    }
}
