//! [`JwtKeys`]: the keys of etcd's `jwt` token provider, read as etcd reads
//! them (`auth/options.go`): a sign method by its JWT name, a private key to
//! sign with and a public key to verify with.
//!
//! - RS*/PS*: PEM RSA keys (PKCS#1 or PKCS#8 private, PKCS#1 or SPKI public);
//! - ES256/ES384/ES512: PEM EC keys on P-256/P-384/P-521 (SEC1 or PKCS#8
//!   private, SPKI public); ES512 is signed by [`super::jwt_es512`], the JWT
//!   crate has no P-521;
//! - HS*: the private key file's bytes are the secret.
//!
//! With a private key, tokens are verified with its own public part (as
//! etcd); with only a public key the provider is verify-only.

use super::jwt_es512::Es512Keys;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPublicKey as _};
use rsa::traits::PublicKeyParts as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::fmt;

/// golang-jwt's words for a key it cannot parse.
const NOT_PEM: &str = "Invalid Key: Key must be PEM encoded PKCS1 or PKCS8 private key";

/// Why the JWT keys cannot be built (etcd refuses to start).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtKeyError {
    /// Not a sign method etcd knows (etcd: "invalid auth options").
    #[error("auth: invalid auth options (unknown sign-method {0:?})")]
    UnknownMethod(String),
    /// Neither key was given (or the HS* secret is empty).
    #[error("auth: missing key data")]
    MissingKey,
    /// A key that does not parse.
    #[error("{NOT_PEM} ({0})")]
    BadKey(String),
    /// The public key is not the private key's.
    #[error("auth: public and private keys don't match")]
    KeyMismatch,
}

/// A JWT sign method etcd accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignMethod {
    /// One the `jsonwebtoken` crate signs.
    Crate(Algorithm),
    /// ECDSA on P-521 with SHA-512 ([`super::jwt_es512`]).
    Es512,
}

/// The sign method named `name` (etcd's `jwt.GetSigningMethod`).
///
/// # Errors
///
/// [`JwtKeyError::UnknownMethod`].
pub fn sign_method(name: &str) -> Result<SignMethod, JwtKeyError> {
    Ok(SignMethod::Crate(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "HS256" => Algorithm::HS256,
        "HS384" => Algorithm::HS384,
        "HS512" => Algorithm::HS512,
        "ES512" => return Ok(SignMethod::Es512),
        _ => return Err(JwtKeyError::UnknownMethod(name.into())),
    }))
}

/// The signing and verifying keys of a JWT provider.
#[derive(Clone)]
pub enum JwtKeys {
    /// Keys of a method the `jsonwebtoken` crate signs.
    Crate(CrateKeys),
    /// ES512 keys (boxed: P-521 keys are large).
    Es512(Box<Es512Keys>),
}

/// Keys of a method the `jsonwebtoken` crate signs.
#[derive(Clone)]
pub struct CrateKeys {
    /// The sign method.
    pub alg: Algorithm,
    /// The key tokens are signed with (`None`: verify-only).
    pub encoding: Option<EncodingKey>,
    /// The key tokens are verified with.
    pub decoding: DecodingKey,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwtKeys::Crate(k) => f
                .debug_struct("JwtKeys")
                .field("alg", &k.alg)
                .field("verify_only", &k.encoding.is_none())
                .finish_non_exhaustive(),
            JwtKeys::Es512(k) => k.fmt(f),
        }
    }
}

fn bad(e: impl fmt::Display) -> JwtKeyError {
    JwtKeyError::BadKey(e.to_string())
}

/// The DER inside one PEM block.
fn der(pem_bytes: &[u8]) -> Result<(String, Vec<u8>), JwtKeyError> {
    let p = pem::parse(pem_bytes).map_err(bad)?;
    Ok((p.tag().to_string(), p.contents().to_vec()))
}

impl JwtKeys {
    /// The keys for `alg` from the contents of the `priv-key` and `pub-key`
    /// files (`None`: not given).
    ///
    /// # Errors
    ///
    /// [`JwtKeyError::MissingKey`], [`JwtKeyError::BadKey`], [`JwtKeyError::KeyMismatch`].
    pub fn new(
        method: SignMethod,
        private: Option<&[u8]>,
        public: Option<&[u8]>,
    ) -> Result<JwtKeys, JwtKeyError> {
        let private = private.filter(|p| !p.is_empty());
        let public = public.filter(|p| !p.is_empty());
        let alg = match method {
            SignMethod::Es512 => {
                return Ok(JwtKeys::Es512(Box::new(Es512Keys::new(private, public)?)));
            }
            SignMethod::Crate(alg) => alg,
        };
        Ok(JwtKeys::Crate(match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                let secret = private.ok_or(JwtKeyError::MissingKey)?;
                CrateKeys {
                    alg,
                    encoding: Some(EncodingKey::from_secret(secret).map_err(bad)?),
                    decoding: DecodingKey::from_secret(secret).map_err(bad)?,
                }
            }
            Algorithm::ES256 | Algorithm::ES384 => ec_keys(alg, private, public)?,
            _ => rsa_keys(alg, private, public)?,
        }))
    }

    /// Whether these keys can only verify.
    pub fn verify_only(&self) -> bool {
        match self {
            JwtKeys::Crate(k) => k.encoding.is_none(),
            JwtKeys::Es512(k) => k.verify_only(),
        }
    }

    /// `claims` signed as a token, or why not (verify-only keys, a signing
    /// failure).
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, String> {
        match self {
            JwtKeys::Crate(k) => {
                let key = k.encoding.as_ref().ok_or("no private key to sign with")?;
                jsonwebtoken::encode(&Header::new(k.alg), claims, key).map_err(|e| e.to_string())
            }
            JwtKeys::Es512(k) => k.sign(claims),
        }
    }

    /// The claims of `token` if its method is this one and its signature
    /// verifies, or why not. Expiry is the caller's to check.
    pub fn verify<T: DeserializeOwned>(&self, token: &str) -> Result<T, String> {
        match self {
            JwtKeys::Crate(k) => {
                let mut v = Validation::new(k.alg);
                v.validate_exp = false;
                v.leeway = 0;
                v.required_spec_claims = HashSet::new();
                jsonwebtoken::decode::<T>(token, &k.decoding, &v)
                    .map(|d| d.claims)
                    .map_err(|e| e.to_string())
            }
            JwtKeys::Es512(k) => k.verify(token),
        }
    }
}

/// An RSA private key from PKCS#1 or PKCS#8 PEM.
fn rsa_private(pem_bytes: &[u8]) -> Result<rsa::PrivateKey, JwtKeyError> {
    let (tag, der) = der(pem_bytes)?;
    if tag == "RSA PRIVATE KEY" {
        rsa::PrivateKey::from_pkcs1_der(&der).map_err(bad)
    } else {
        rsa::PrivateKey::from_pkcs8_der(&der).map_err(bad)
    }
}

fn rsa_keys(
    alg: Algorithm,
    private: Option<&[u8]>,
    public: Option<&[u8]>,
) -> Result<CrateKeys, JwtKeyError> {
    let public_key = public
        .map(|p| DecodingKey::from_rsa_pem(p).map_err(bad))
        .transpose()?;
    let Some(private) = private else {
        let decoding = public_key.ok_or(JwtKeyError::MissingKey)?;
        return Ok(CrateKeys {
            alg,
            encoding: None,
            decoding,
        });
    };
    let key = rsa_private(private)?;
    let own_public = key.to_public_key();
    if let Some(p) = public {
        use rsa::pkcs8::DecodePublicKey as _;
        let (_, d) = der(p)?;
        let given = rsa::PublicKey::from_public_key_der(&d)
            .or_else(|_| {
                use rsa::pkcs1::DecodeRsaPublicKey as _;
                rsa::PublicKey::from_pkcs1_der(&d)
            })
            .map_err(bad)?;
        if given.n() != own_public.n() || given.e() != own_public.e() {
            return Err(JwtKeyError::KeyMismatch);
        }
    }
    let private_der = {
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        key.to_pkcs1_der().map_err(bad)?
    };
    let public_der = own_public.to_pkcs1_der().map_err(bad)?;
    Ok(CrateKeys {
        alg,
        encoding: Some(EncodingKey::from_rsa_der(private_der.as_bytes())),
        decoding: DecodingKey::from_rsa_der(public_der.as_bytes()),
    })
}

/// An EC private key on one curve as PKCS#8 DER and its public point
/// (uncompressed SEC1), from SEC1 or PKCS#8 PEM.
fn ec_private(alg: Algorithm, pem_bytes: &[u8]) -> Result<(Vec<u8>, Vec<u8>), JwtKeyError> {
    let (tag, der) = der(pem_bytes)?;
    let sec1 = tag == "EC PRIVATE KEY";
    if alg == Algorithm::ES256 {
        let k = if sec1 {
            p256::SecretKey::from_sec1_der(&der).map_err(bad)?
        } else {
            p256::SecretKey::from_pkcs8_der(&der).map_err(bad)?
        };
        let point = k.public_key().to_sec1_bytes().to_vec();
        Ok((k.to_pkcs8_der().map_err(bad)?.as_bytes().to_vec(), point))
    } else {
        let k = if sec1 {
            p384::SecretKey::from_sec1_der(&der).map_err(bad)?
        } else {
            p384::SecretKey::from_pkcs8_der(&der).map_err(bad)?
        };
        let point = k.public_key().to_sec1_bytes().to_vec();
        Ok((k.to_pkcs8_der().map_err(bad)?.as_bytes().to_vec(), point))
    }
}

/// The uncompressed point of an SPKI PEM public key on `alg`'s curve.
fn ec_public(alg: Algorithm, pem_bytes: &[u8]) -> Result<Vec<u8>, JwtKeyError> {
    use p256::pkcs8::DecodePublicKey as _;
    let (_, der) = der(pem_bytes)?;
    if alg == Algorithm::ES256 {
        let k = p256::PublicKey::from_public_key_der(&der).map_err(bad)?;
        Ok(k.to_sec1_bytes().to_vec())
    } else {
        let k = p384::PublicKey::from_public_key_der(&der).map_err(bad)?;
        Ok(k.to_sec1_bytes().to_vec())
    }
}

fn ec_keys(
    alg: Algorithm,
    private: Option<&[u8]>,
    public: Option<&[u8]>,
) -> Result<CrateKeys, JwtKeyError> {
    let given = public.map(|p| ec_public(alg, p)).transpose()?;
    let Some(private) = private else {
        let point = given.ok_or(JwtKeyError::MissingKey)?;
        return Ok(CrateKeys {
            alg,
            encoding: None,
            decoding: DecodingKey::from_ec_der(&point),
        });
    };
    let (pkcs8, point) = ec_private(alg, private)?;
    if given.is_some_and(|g| g != point) {
        return Err(JwtKeyError::KeyMismatch);
    }
    Ok(CrateKeys {
        alg,
        encoding: Some(EncodingKey::from_ec_der(&pkcs8)),
        decoding: DecodingKey::from_ec_der(&point),
    })
}
