//! Who a v3 request comes from, and the serve-time auth checks (etcd's
//! `AuthInfoFromCtx`, `doSerialize` and `IsAdminPermitted` as the services
//! call them).
//!
//! A request names its user with the gRPC metadata `token` (the gateway puts
//! an HTTP `Authorization` header there). A simple token names the raft index
//! that minted it: a member that has not applied that index yet waits for it
//! (at most [`TOKEN_INDEX_WAIT`]) before judging the token; a JWT is judged at
//! once, at the auth revision it was signed at. A token that is
//! unknown, expired, or not a token fails every call, auth on or off, with
//! Unauthenticated "etcdserver: invalid auth token"; no token means no user.
//!
//! Writes are checked when applied, with the user and the auth revision put in
//! the entry's header here ([`stamp`]); reads served locally are checked here
//! ([`check_read`]), and refused afterwards when the auth store changed while
//! they were served (etcd's "revision of auth store is old").
//!
//! [`authorize_admin`] is the one check Maintenance and Cluster services call
//! for their admin-only RPCs.
//!
//! # The client certificate as the user
//!
//! Under `--client-cert-auth` a request without a token is the user its
//! connection's client certificate names in its subject common name (etcd's
//! `AuthInfoFromTLS`), checked at the auth store's current revision. The TLS
//! connection handler puts that name in each gRPC request's extensions
//! ([`CertCommonName`]); the services pass it on with the metadata as
//! [`Credentials`]. A name that is no user is refused as any unknown user is
//! (permission denied); a request from the `/v3` gateway (it carries the
//! `grpcgateway-accept` metadata) never takes a certificate's name, as in etcd.

use super::error::etcd_status;
use crate::auth::v3::{Access, AuthError};
use crate::server::v3_backend::V3Backend;
use crate::server::v3_state::V3Stores;
use etcd_sdk::v3::pb::etcdserverpb::{InternalRaftRequest, RequestHeader};
use etcd_sdk::v3::tonic::metadata::MetadataMap;
use etcd_sdk::v3::tonic::{Code, Extensions, Request, Status};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The metadata key of the auth token.
pub const TOKEN: &str = "token";

/// The metadata key the `/v3` gateway's requests carry (etcd's gateway sets
/// it on every request it forwards).
pub const GATEWAY_MARK: &str = "grpcgateway-accept";

/// The subject common name of the verified client certificate of the TLS
/// connection a gRPC request came on, put in the request's extensions by the
/// client port's TLS handler when `--client-cert-auth` is on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertCommonName(pub String);

/// What a request says about who sent it: its metadata (the token) and, under
/// `--client-cert-auth`, its client certificate's common name. Made from a
/// request ([`Credentials::of`]), its parts ([`Credentials::new`]), or from
/// metadata alone (`From<&MetadataMap>`: no certificate).
#[derive(Clone, Copy, Debug)]
pub struct Credentials<'a> {
    meta: &'a MetadataMap,
    cert_cn: Option<&'a str>,
}

impl<'a> Credentials<'a> {
    /// The credentials of a request's metadata and extensions.
    pub fn new(meta: &'a MetadataMap, extensions: &'a Extensions) -> Credentials<'a> {
        Credentials {
            meta,
            cert_cn: extensions.get::<CertCommonName>().map(|c| c.0.as_str()),
        }
    }

    /// The credentials of metadata and a certificate's common name.
    pub fn with_common_name(meta: &'a MetadataMap, cert_cn: Option<&'a str>) -> Credentials<'a> {
        Credentials { meta, cert_cn }
    }

    /// The credentials of `req`.
    pub fn of<T>(req: &'a Request<T>) -> Credentials<'a> {
        Credentials::new(req.metadata(), req.extensions())
    }

    /// The request's metadata.
    pub fn metadata(&self) -> &'a MetadataMap {
        self.meta
    }

    /// The client certificate's common name, unless the request came through
    /// the `/v3` gateway.
    fn cert_user(&self) -> Option<&'a str> {
        self.cert_cn
            .filter(|_| self.meta.get(GATEWAY_MARK).is_none())
    }
}

impl<'a> From<&'a MetadataMap> for Credentials<'a> {
    fn from(meta: &'a MetadataMap) -> Credentials<'a> {
        Credentials {
            meta,
            cert_cn: None,
        }
    }
}

impl<'a, T> From<&'a Request<T>> for Credentials<'a> {
    fn from(req: &'a Request<T>) -> Credentials<'a> {
        Credentials::of(req)
    }
}

/// The longest a member waits to apply the index a simple token names.
pub const TOKEN_INDEX_WAIT: Duration = Duration::from_secs(5);

/// The user a request was authenticated as, and the auth revision it was
/// checked at (etcd's `AuthInfo`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthInfo {
    /// The user name.
    pub username: String,
    /// The auth revision the request is checked at: the auth store's when a
    /// simple token was looked up, the one a JWT was signed at.
    pub revision: u64,
}

fn lock(stores: &Mutex<V3Stores>) -> MutexGuard<'_, V3Stores> {
    stores.lock().unwrap_or_else(|p| p.into_inner())
}

/// The token a request carries, if any.
pub fn token_of(meta: &MetadataMap) -> Option<String> {
    meta.get(TOKEN)
        .map(|v| v.to_str().map(str::to_string).unwrap_or_default())
}

/// The user of `token`, looked up in `stores` at `now` (extending its life).
///
/// # Errors
///
/// [`AuthError::InvalidAuthToken`] for an unknown or expired token.
pub fn lookup(stores: &mut V3Stores, token: &str, now: Instant) -> Result<AuthInfo, AuthError> {
    let revision = stores.auth.revision();
    stores
        .tokens
        .info(token, revision, now)
        .map(|t| AuthInfo {
            username: t.username,
            revision: t.revision,
        })
        .ok_or(AuthError::InvalidAuthToken)
}

/// Who sent a request with `creds`: its token's user, else its client
/// certificate's common name (`--client-cert-auth`), else `None`.
///
/// # Errors
///
/// [`AuthError::InvalidAuthToken`]: not a token, unknown, or expired.
pub async fn auth_info<'a>(
    creds: impl Into<Credentials<'a>>,
    backend: &dyn V3Backend,
) -> Result<Option<AuthInfo>, AuthError> {
    auth_info_within(creds.into(), backend, TOKEN_INDEX_WAIT).await
}

/// As [`auth_info`], waiting at most `wait` for the token's index.
async fn auth_info_within(
    creds: Credentials<'_>,
    backend: &dyn V3Backend,
    wait: Duration,
) -> Result<Option<AuthInfo>, AuthError> {
    let Some(token) = token_of(creds.meta) else {
        return Ok(creds.cert_user().map(|cn| AuthInfo {
            username: cn.to_string(),
            revision: lock(&backend.v3_stores()).auth.revision(),
        }));
    };
    let stores = backend.v3_stores();
    let Some(index) = lock(&stores).tokens.wait_index(&token)? else {
        return lookup(&mut lock(&stores), &token, Instant::now()).map(Some);
    };
    let activity = backend.v3_activity();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let notified = activity.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut s = lock(&stores);
            if s.applied_index >= index {
                return lookup(&mut s, &token, Instant::now()).map(Some);
            }
        }
        tokio::select! {
            biased;
            _ = &mut notified => {}
            _ = tokio::time::sleep_until(deadline) => return Err(AuthError::InvalidAuthToken),
        }
    }
}

/// The status of an auth refusal: etcd's typed error, or Unknown with the raw
/// text when etcd sends it so.
pub fn auth_status(e: &AuthError) -> Status {
    match e.etcd_error() {
        Some(x) => etcd_status(x),
        None => Status::new(Code::Unknown, e.to_string()),
    }
}

/// The status of a refused admin-only Maintenance call: etcd 3.4 sends the raw
/// `auth: …` text with gRPC code Unknown there (e.g. `auth: permission denied`).
pub fn admin_status(e: &AuthError) -> Status {
    Status::new(Code::Unknown, e.to_string())
}

/// Who sent a request, as a status on failure (for the services).
///
/// # Errors
///
/// Unauthenticated "etcdserver: invalid auth token".
pub async fn caller<'a>(
    creds: impl Into<Credentials<'a>>,
    backend: &dyn V3Backend,
) -> Result<Option<AuthInfo>, Status> {
    auth_info(creds, backend).await.map_err(|e| auth_status(&e))
}

/// Puts the caller's user and auth revision in `req`'s header, for the
/// applier's checks (etcd's `processInternalRaftRequestOnce`).
pub fn stamp(req: &mut InternalRaftRequest, who: Option<&AuthInfo>) {
    if let Some(who) = who {
        let h = req.header.get_or_insert_with(RequestHeader::default);
        h.username = who.username.clone();
        h.auth_revision = who.revision;
    }
}

/// Resolves the caller of `meta` and stamps `req` with it.
///
/// # Errors
///
/// Unauthenticated "etcdserver: invalid auth token".
pub async fn stamped<'a>(
    creds: impl Into<Credentials<'a>>,
    backend: &dyn V3Backend,
    mut req: InternalRaftRequest,
) -> Result<InternalRaftRequest, Status> {
    let who = caller(creds, backend).await?;
    stamp(&mut req, who.as_ref());
    Ok(req)
}

/// The serve-time read check: whether `who` may read `key`..`range_end`.
///
/// # Errors
///
/// The auth store's refusal (user name empty, permission denied, old revision).
pub fn check_read(
    stores: &V3Stores,
    who: Option<&AuthInfo>,
    key: &[u8],
    range_end: &[u8],
) -> Result<(), AuthError> {
    let (user, rev) = who.map_or(("", 0), |w| (w.username.as_str(), w.revision));
    stores.auth.check(user, rev, Access::Read, key, range_end)
}

/// After a local read: refused when the auth store changed since `who` was
/// looked up (etcd's `doSerialize`).
///
/// # Errors
///
/// [`AuthError::AuthOldRevision`].
pub fn check_still_current(stores: &V3Stores, who: Option<&AuthInfo>) -> Result<(), AuthError> {
    match who {
        Some(w) if w.revision != 0 && w.revision != stores.auth.revision() => {
            Err(AuthError::AuthOldRevision)
        }
        _ => Ok(()),
    }
}

/// The admin check of Maintenance and Cluster RPCs (etcd's
/// `IsAdminPermitted` after `AuthInfoFromCtx`): passes while auth is off, or
/// for a caller whose token names a user holding role `root`.
///
/// Map the error with [`admin_status`] (Maintenance: raw text, code Unknown,
/// as etcd 3.4) or [`auth_status`] (typed).
///
/// # Errors
///
/// [`AuthError::InvalidAuthToken`], [`AuthError::UserEmpty`] (no token),
/// [`AuthError::UserNotFound`], [`AuthError::PermissionDenied`].
pub async fn authorize_admin<'a>(
    creds: impl Into<Credentials<'a>>,
    backend: &dyn V3Backend,
) -> Result<(), AuthError> {
    let who = auth_info(creds, backend).await?;
    let stores = backend.v3_stores();
    let stores = lock(&stores);
    stores
        .auth
        .check_admin(who.as_ref().map_or("", |w| w.username.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::v3_testing::LocalV3;

    fn meta(token: Option<&str>) -> MetadataMap {
        let mut m = MetadataMap::new();
        if let Some(t) = token {
            m.insert(TOKEN, t.parse().unwrap());
        }
        m
    }

    fn enable_with_root(backend: &LocalV3) -> String {
        let stores = backend.v3_stores();
        let mut s = lock(&stores);
        s.auth.user_add("root", "h", false).unwrap();
        s.auth.user_grant_role("root", "root").unwrap();
        s.auth.user_add("u", "h", false).unwrap();
        s.auth.enable().unwrap();
        s.applied_index = 9;
        s.tokens.assign("u", "abc", 9, 0, Instant::now()).unwrap();
        s.tokens
            .assign("root", "def", 9, 0, Instant::now())
            .unwrap()
    }

    #[tokio::test]
    async fn tokens_name_users_and_bad_ones_are_refused() {
        let backend = LocalV3::new();
        let root = enable_with_root(&backend);
        assert_eq!(auth_info(&meta(None), &backend).await, Ok(None));
        let who = auth_info(&meta(Some("abc.9")), &backend).await.unwrap();
        assert_eq!(who.map(|w| w.username).as_deref(), Some("u"));
        for bad in ["nodot", "abc.x", "zzz.9"] {
            assert_eq!(
                auth_info(&meta(Some(bad)), &backend).await,
                Err(AuthError::InvalidAuthToken),
                "{bad}"
            );
        }
        assert_eq!(authorize_admin(&meta(Some(&root)), &backend).await, Ok(()));
        assert_eq!(
            authorize_admin(&meta(Some("abc.9")), &backend).await,
            Err(AuthError::PermissionDenied)
        );
        assert_eq!(
            authorize_admin(&meta(None), &backend).await,
            Err(AuthError::UserEmpty)
        );
        let s = admin_status(&AuthError::PermissionDenied);
        assert_eq!(
            (s.code(), s.message()),
            (Code::Unknown, "auth: permission denied")
        );
    }

    #[tokio::test]
    async fn a_token_from_an_index_not_applied_yet_waits_then_fails() {
        let backend = LocalV3::new();
        enable_with_root(&backend);
        let wait = Duration::from_millis(50);
        let started = tokio::time::Instant::now();
        assert_eq!(
            auth_info_within((&meta(Some("abc.10"))).into(), &backend, wait).await,
            Err(AuthError::InvalidAuthToken)
        );
        assert!(started.elapsed() >= wait);
    }

    #[tokio::test]
    async fn a_certificate_names_the_user_only_without_a_token_and_not_via_the_gateway() {
        let backend = LocalV3::new();
        enable_with_root(&backend);
        let revision = lock(&backend.v3_stores()).auth.revision();
        let mut ext = Extensions::new();
        ext.insert(CertCommonName("client".into()));
        let plain = meta(None);
        let who = auth_info(Credentials::new(&plain, &ext), &backend).await;
        assert_eq!(
            who,
            Ok(Some(AuthInfo {
                username: "client".into(),
                revision
            }))
        );
        // A token wins over the certificate.
        let with_token = meta(Some("abc.9"));
        let who = auth_info(Credentials::new(&with_token, &ext), &backend).await;
        assert_eq!(who.unwrap().unwrap().username, "u");
        // The gateway's requests never take the certificate's name.
        let mut gw = meta(None);
        gw.insert(GATEWAY_MARK, "application/json".parse().unwrap());
        assert_eq!(
            auth_info(Credentials::new(&gw, &ext), &backend).await,
            Ok(None)
        );
        // No certificate: no user.
        assert_eq!(
            auth_info(Credentials::new(&plain, &Extensions::new()), &backend).await,
            Ok(None)
        );
        // A name that is no user is refused as an unknown user.
        let mut ext = Extensions::new();
        ext.insert(CertCommonName("nobody".into()));
        let who = auth_info(Credentials::new(&plain, &ext), &backend)
            .await
            .unwrap();
        let stores = backend.v3_stores();
        assert_eq!(
            check_read(&lock(&stores), who.as_ref(), b"k", b""),
            Err(AuthError::PermissionDenied)
        );
    }

    #[test]
    fn stamping_puts_the_user_in_the_header() {
        let mut req = InternalRaftRequest::default();
        stamp(&mut req, None);
        assert!(req.header.is_none());
        let who = AuthInfo {
            username: "u".into(),
            revision: 4,
        };
        stamp(&mut req, Some(&who));
        let h = req.header.unwrap();
        assert_eq!((h.username.as_str(), h.auth_revision), ("u", 4));
    }
}
