//! [`JwtKeys`]: the keys of etcd's `jwt` token provider, read as etcd reads
//! them (`auth/options.go`): a sign method by its JWT name, a private key to
//! sign with and a public key to verify with.
//!
//! - RS*/PS*: PEM RSA keys (PKCS#1 or PKCS#8 private, PKCS#1 or SPKI public);
//! - ES256/ES384: PEM EC keys on P-256/P-384 (SEC1 or PKCS#8 private, SPKI public);
//! - HS*: the private key file's bytes are the secret.
//!
//! With a private key, tokens are verified with its own public part (as
//! etcd); with only a public key the provider is verify-only. ES512 (P-521)
//! is refused: the JWT crate has no P-521.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use p256::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPublicKey as _};
use rsa::traits::PublicKeyParts as _;
use std::fmt;

/// golang-jwt's words for a key it cannot parse.
const NOT_PEM: &str = "Invalid Key: Key must be PEM encoded PKCS1 or PKCS8 private key";

/// Why the JWT keys cannot be built (etcd refuses to start).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtKeyError {
    /// Not a sign method etcd knows (etcd: "invalid auth options").
    #[error("auth: invalid auth options (unknown sign-method {0:?})")]
    UnknownMethod(String),
    /// A sign method etcd knows that etcd-sim cannot do.
    #[error("auth: sign-method {0:?} is not supported by etcd-sim")]
    UnsupportedMethod(String),
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

/// The sign method named `name` (etcd's `jwt.GetSigningMethod`).
///
/// # Errors
///
/// [`JwtKeyError::UnknownMethod`], or [`JwtKeyError::UnsupportedMethod`] for ES512.
pub fn sign_method(name: &str) -> Result<Algorithm, JwtKeyError> {
    Ok(match name {
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
        "ES512" => return Err(JwtKeyError::UnsupportedMethod(name.into())),
        _ => return Err(JwtKeyError::UnknownMethod(name.into())),
    })
}

/// The signing and verifying keys of a JWT provider.
#[derive(Clone)]
pub struct JwtKeys {
    /// The sign method.
    pub alg: Algorithm,
    /// The key tokens are signed with (`None`: verify-only).
    pub encoding: Option<EncodingKey>,
    /// The key tokens are verified with.
    pub decoding: DecodingKey,
}

impl fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtKeys")
            .field("alg", &self.alg)
            .field("verify_only", &self.encoding.is_none())
            .finish_non_exhaustive()
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
        alg: Algorithm,
        private: Option<&[u8]>,
        public: Option<&[u8]>,
    ) -> Result<JwtKeys, JwtKeyError> {
        let private = private.filter(|p| !p.is_empty());
        let public = public.filter(|p| !p.is_empty());
        match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                let secret = private.ok_or(JwtKeyError::MissingKey)?;
                Ok(JwtKeys {
                    alg,
                    encoding: Some(EncodingKey::from_secret(secret).map_err(bad)?),
                    decoding: DecodingKey::from_secret(secret).map_err(bad)?,
                })
            }
            Algorithm::ES256 | Algorithm::ES384 => ec_keys(alg, private, public),
            _ => rsa_keys(alg, private, public),
        }
    }

    /// Whether these keys can only verify.
    pub fn verify_only(&self) -> bool {
        self.encoding.is_none()
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
) -> Result<JwtKeys, JwtKeyError> {
    let public_key = public
        .map(|p| DecodingKey::from_rsa_pem(p).map_err(bad))
        .transpose()?;
    let Some(private) = private else {
        let decoding = public_key.ok_or(JwtKeyError::MissingKey)?;
        return Ok(JwtKeys {
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
    Ok(JwtKeys {
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
) -> Result<JwtKeys, JwtKeyError> {
    let given = public.map(|p| ec_public(alg, p)).transpose()?;
    let Some(private) = private else {
        let point = given.ok_or(JwtKeyError::MissingKey)?;
        return Ok(JwtKeys {
            alg,
            encoding: None,
            decoding: DecodingKey::from_ec_der(&point),
        });
    };
    let (pkcs8, point) = ec_private(alg, private)?;
    if given.is_some_and(|g| g != point) {
        return Err(JwtKeyError::KeyMismatch);
    }
    Ok(JwtKeys {
        alg,
        encoding: Some(EncodingKey::from_ec_der(&pkcs8)),
        decoding: DecodingKey::from_ec_der(&point),
    })
}
