//! The auth checks of one request against a member's v2 store: who is calling
//! (etcd's `hasRootAccess`, `hasKeyPrefixAccess`, `hasGuestAccess`), decided by
//! [`crate::auth::v2::check`] over what is read here.
//!
//! The store lock is held only for the reads, never during the bcrypt verification
//! (about 73 ms at cost 10): an authenticated `/v2/keys` request must not hold up
//! every other request on the member. In real builds the verification runs on
//! tokio's blocking pool, so it occupies no async worker either; in sim builds it
//! runs inline (it takes no virtual time, and the blocking pool would not replay
//! from a seed).

use crate::auth::v2::check::{Caller, Identity, identify_as, key_access, root_access};
use crate::auth::v2::password::check_password;
use crate::server::backend::V2Backend;
use crate::store::v2::Store;
use std::sync::{Mutex, MutexGuard};

/// Checks a password against a stored hash: bcrypt's check, or a test's.
pub(crate) type Verify = fn(&str, &[u8]) -> bool;

fn lock(store: &Mutex<Store>) -> MutexGuard<'_, Store> {
    store.lock().unwrap_or_else(|p| p.into_inner())
}

/// Step 2 of a check (see [`crate::auth::v2::check`]), away from the store lock and,
/// in real builds, off the async workers.
async fn authenticate(caller: Caller, verify: Verify) -> Identity {
    if !matches!(caller, Caller::Claimed { .. }) {
        return caller.authenticate_with(verify);
    }
    #[cfg(not(madsim))]
    {
        match tokio::task::spawn_blocking(move || caller.authenticate_with(verify)).await {
            Ok(identity) => identity,
            Err(e) => {
                tracing::warn!(error = %e, "auth: password verification did not finish");
                Identity::Rejected
            }
        }
    }
    #[cfg(madsim)]
    {
        caller.authenticate_with(verify)
    }
}

/// Whether the request may do what needs root (members writes, auth management):
/// auth is disabled, or the caller is a user with the root role.
pub async fn caller_is_root<B: V2Backend + ?Sized>(
    backend: &B,
    authorization: Option<&str>,
) -> bool {
    caller_is_root_as(backend, authorization, &[]).await
}

/// [`caller_is_root`] for a request with the common names of its verified
/// client certificate chain (`--client-cert-auth`): without an
/// `Authorization` header, the first that names a user is the caller.
pub async fn caller_is_root_as<B: V2Backend + ?Sized>(
    backend: &B,
    authorization: Option<&str>,
    cert_names: &[String],
) -> bool {
    let store = backend.v2_store();
    let caller = identify_as(&mut lock(&store), authorization, cert_names);
    root_access(&authenticate(caller, check_password).await)
}

/// The `/v2/keys` permission check: whether a `method` request on the raw `key`
/// (with its `recursive` parameter) is allowed. GET and HEAD read; every other
/// method writes.
pub async fn key_allowed<B: V2Backend + ?Sized>(
    backend: &B,
    authorization: Option<&str>,
    key: &str,
    method: &str,
    recursive: bool,
) -> bool {
    key_allowed_as(backend, authorization, &[], key, method, recursive).await
}

/// [`key_allowed`] for a request with the common names of its verified client
/// certificate chain (`--client-cert-auth`): without an `Authorization`
/// header, the first that names a user is the caller; none: the guest.
pub async fn key_allowed_as<B: V2Backend + ?Sized>(
    backend: &B,
    authorization: Option<&str>,
    cert_names: &[String],
    key: &str,
    method: &str,
    recursive: bool,
) -> bool {
    key_allowed_with(
        backend,
        (authorization, cert_names),
        key,
        method,
        recursive,
        check_password,
    )
    .await
}

/// [`key_allowed`] with `verify` in place of bcrypt's check.
pub(crate) async fn key_allowed_with<B: V2Backend + ?Sized>(
    backend: &B,
    (authorization, cert_names): (Option<&str>, &[String]),
    key: &str,
    method: &str,
    recursive: bool,
    verify: Verify,
) -> bool {
    let store = backend.v2_store();
    // The guard is a temporary of this statement: released before bcrypt runs.
    let caller = identify_as(&mut lock(&store), authorization, cert_names);
    let identity = authenticate(caller, verify).await;
    if identity == Identity::Open {
        return true;
    }
    let write = !matches!(method, "GET" | "HEAD");
    key_access(&mut lock(&store), &identity, key, recursive, write)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::v2::check::identify;
    use crate::auth::v2::check::require_root;
    use crate::auth::v2::fixtures::{basic, role};
    use crate::auth::v2::model::default_guest_role;
    use crate::server::testing::Local;
    use crate::server::v2_auth::AuthStore;
    use etcd_sdk::wire::User;
    #[cfg(not(madsim))]
    use std::{sync::Arc, sync::mpsc, time::Duration};

    /// Root `rootpw`, user `bob` / `bobpw` with roles `w` (exists) and `gone`
    /// (does not), auth enabled.
    async fn enabled_store() -> Local {
        let b = Local::new();
        let s = AuthStore::new(&b);
        s.create_user(User {
            user: "root".into(),
            password: Some("rootpw".into()),
            ..Default::default()
        })
        .await
        .unwrap();
        s.create_user(User {
            user: "bob".into(),
            password: Some("bobpw".into()),
            roles: Some(vec!["gone".into(), "w".into()]),
            ..Default::default()
        })
        .await
        .unwrap();
        s.create_role(&role("w", &["/w/*"], &["/w/*"]))
            .await
            .unwrap();
        s.enable().await.unwrap();
        b
    }

    #[tokio::test]
    async fn identify_then_authenticate() {
        let b = Local::new();
        assert_eq!(b.with(|s| identify(s, Some("garbage"))), Caller::Open);
        assert!(
            b.with(|s| require_root(s, None)),
            "disabled: anyone is root"
        );
        let b = enabled_store().await;
        assert_eq!(b.with(|s| identify(s, None)), Caller::Anonymous);
        assert_eq!(b.with(|s| identify(s, Some(""))), Caller::Anonymous);
        assert_eq!(b.with(|s| identify(s, Some("Basic x"))), Caller::Rejected);
        let nobody = basic("nobody", "x");
        assert_eq!(b.with(|s| identify(s, Some(&nobody))), Caller::Rejected);
        let wrong = basic("bob", "nope");
        let caller = b.with(|s| identify(s, Some(&wrong)));
        assert!(matches!(caller, Caller::Claimed { .. }));
        assert_eq!(caller.authenticate(), Identity::Rejected);
        let right = basic("bob", "bobpw");
        match b.with(|s| identify(s, Some(&right))).authenticate() {
            Identity::User(u) => assert_eq!(u.user, "bob"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn root_checks_for_members_writes() {
        let b = enabled_store().await;
        assert!(b.with(|s| require_root(s, Some(&basic("root", "rootpw")))));
        assert!(!b.with(|s| require_root(s, Some(&basic("root", "bad")))));
        assert!(!b.with(|s| require_root(s, Some(&basic("bob", "bobpw")))));
        assert!(!b.with(|s| require_root(s, None)), "guest is never root");
        assert!(caller_is_root(&b, Some(&basic("root", "rootpw"))).await);
        assert!(!caller_is_root(&b, None).await);
    }

    #[tokio::test]
    async fn certificate_names_stand_for_a_user_without_a_header() {
        let b = enabled_store().await;
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // The first name that is a user, in chain order.
        match b.with(|s| identify_as(s, None, &names(&["nobody", "bob", "root"]))) {
            Caller::Certified(u) => assert_eq!(u.user, "bob"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            b.with(|s| identify_as(s, None, &names(&["nobody"]))),
            Caller::Anonymous
        );
        assert!(caller_is_root_as(&b, None, &names(&["root"])).await);
        assert!(!caller_is_root_as(&b, None, &names(&["bob"])).await);
        assert!(!caller_is_root_as(&b, None, &names(&["nobody"])).await);
        // A header wins over the certificate.
        let bob = basic("bob", "bobpw");
        assert!(!caller_is_root_as(&b, Some(&bob), &names(&["root"])).await);
        // bob's role allows /w/*, and his certificate needs no password.
        assert!(key_allowed_as(&b, None, &names(&["bob"]), "/w/x", "PUT", false).await);
        assert!(!key_allowed_as(&b, None, &names(&["bob"]), "", "GET", false).await);
        // Auth disabled: anything goes, whoever the certificate names.
        AuthStore::new(&b).disable().await.unwrap();
        assert!(caller_is_root_as(&b, None, &names(&["nobody"])).await);
    }

    #[tokio::test]
    async fn key_access_by_role_and_guest() {
        let b = enabled_store().await;
        let bob = match b
            .with(|s| identify(s, Some(&basic("bob", "bobpw"))))
            .authenticate()
        {
            Identity::User(u) => Identity::User(u),
            other => panic!("{other:?}"),
        };
        let check = |id: &Identity, key: &str, recursive: bool, write: bool| {
            b.with(|s| key_access(s, id, key, recursive, write))
        };
        assert!(
            check(&bob, "/w/x", false, true),
            "the missing role is skipped"
        );
        assert!(check(&bob, "/w/", false, false));
        assert!(
            !check(&bob, "/w", true, false),
            "/w does not start with /w/"
        );
        assert!(!check(&bob, "/other", false, false));
        assert!(!check(&Identity::Rejected, "/w/x", false, false));
        assert!(check(&Identity::Open, "", true, true));
        // The default guest role: read and write /*, non-recursive match.
        assert!(check(&Identity::Anonymous, "/anything", true, true));
        assert!(!check(&Identity::Anonymous, "", false, false));
        // A guest role with an exact pattern still matches recursive requests.
        let s = AuthStore::new(&b);
        s.delete_role("guest").await.unwrap();
        assert!(
            !check(&Identity::Anonymous, "/anything", false, false),
            "no guest: deny"
        );
        s.create_role(&role("guest", &["/g"], &[])).await.unwrap();
        assert!(check(&Identity::Anonymous, "/g", true, false));
        assert!(!check(&Identity::Anonymous, "/g", false, true));
        assert_eq!(
            default_guest_role().permissions.kv.read,
            Some(vec!["/*".into()])
        );
    }

    #[tokio::test]
    async fn every_keys_request_probes_the_enabled_flag() {
        let b = Local::new();
        let before = b.with(|s| s.stats());
        assert!(key_allowed(&b, Some("Basic junk"), "/a", "PUT", false).await);
        let after = b.with(|s| s.stats());
        assert_eq!(
            (after.gets_fail, after.gets_success),
            (before.gets_fail + 1, before.gets_success),
            "one failed get of /2/enabled, as etcd counts it (spec 4.9)"
        );
    }

    #[tokio::test]
    async fn the_keys_check_uses_the_method() {
        let b = enabled_store().await;
        let s = AuthStore::new(&b);
        s.create_user(User {
            user: "reader".into(),
            password: Some("r".into()),
            roles: Some(vec!["ro".into()]),
            ..Default::default()
        })
        .await
        .unwrap();
        s.create_role(&role("ro", &["/ro*"], &[])).await.unwrap();
        let reader = basic("reader", "r");
        assert!(key_allowed(&b, Some(&reader), "/ro/a", "GET", false).await);
        assert!(key_allowed(&b, Some(&reader), "/ro/a", "HEAD", true).await);
        assert!(!key_allowed(&b, Some(&reader), "/ro/a", "PUT", false).await);
        assert!(!key_allowed(&b, Some(&reader), "/ro/a", "POST", false).await);
        assert!(!key_allowed(&b, Some(&reader), "/ro/a", "DELETE", false).await);
    }

    /// The verifier of [`a_verifying_request_holds_up_no_other_request`]: blocks
    /// until the test says the other request finished, and says whether it did.
    #[cfg(not(madsim))]
    static RELEASE: std::sync::Mutex<Option<mpsc::Receiver<()>>> = std::sync::Mutex::new(None);
    #[cfg(not(madsim))]
    static VERIFYING: std::sync::Mutex<Option<mpsc::Sender<()>>> = std::sync::Mutex::new(None);

    #[cfg(not(madsim))]
    fn slow_verify(hash: &str, password: &[u8]) -> bool {
        if let Some(tx) = VERIFYING.lock().unwrap().take() {
            tx.send(()).unwrap();
        }
        let released = RELEASE
            .lock()
            .unwrap()
            .take()
            .is_some_and(|rx| rx.recv_timeout(Duration::from_secs(20)).is_ok());
        released && check_password(hash, password)
    }

    /// One async worker: an authenticated request whose password check blocks until
    /// an anonymous request on the same member has been answered. Before, bcrypt ran
    /// on the worker with the store locked, so the anonymous request could not run
    /// (no worker) and would have waited for the lock: the verifier timed out, the
    /// password counted as wrong, and the order below was reversed.
    #[cfg(not(madsim))]
    #[test]
    fn a_verifying_request_holds_up_no_other_request() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let b = Arc::new(enabled_store().await);
            let (release_tx, release_rx) = mpsc::channel();
            let (verifying_tx, verifying_rx) = mpsc::channel();
            *RELEASE.lock().unwrap() = Some(release_rx);
            *VERIFYING.lock().unwrap() = Some(verifying_tx);
            let authenticated = tokio::spawn({
                let b = b.clone();
                async move {
                    let bob = basic("bob", "bobpw");
                    key_allowed_with(&*b, (Some(&bob), &[]), "/w/x", "PUT", false, slow_verify)
                        .await
                }
            });
            // The verification has started (on the blocking pool, or, before the
            // fix, on the only worker: then this wait blocks that worker too, as a
            // bcrypt would, until the verifier gives up).
            tokio::task::spawn_blocking(move || verifying_rx.recv_timeout(Duration::from_secs(20)))
                .await
                .unwrap()
                .expect("the authenticated request reached its verification");
            let anonymous = tokio::spawn({
                let b = b.clone();
                async move { key_allowed(&*b, None, "/anything", "GET", false).await }
            });
            assert!(anonymous.await.unwrap(), "the guest may read /anything");
            // The anonymous request was answered while the other was verifying.
            release_tx
                .send(())
                .expect("the authenticated request was still verifying");
            assert!(
                authenticated.await.unwrap(),
                "bob's check finished after the release, and passed"
            );
        });
    }

    /// The verifier of [`two_users_verify_at_once`]: counts itself in, then waits
    /// until the other verification is running too; says whether it was.
    #[cfg(not(madsim))]
    fn verify_in_pairs(hash: &str, password: &[u8]) -> bool {
        static VERIFYING: (std::sync::Mutex<usize>, std::sync::Condvar) =
            (std::sync::Mutex::new(0), std::sync::Condvar::new());
        let (count, changed) = &VERIFYING;
        let mut n = count.lock().unwrap();
        *n += 1;
        changed.notify_all();
        let (n, _) = changed
            .wait_timeout_while(n, Duration::from_secs(20), |n| *n < 2)
            .unwrap();
        *n >= 2 && check_password(hash, password)
    }

    /// Two authenticated requests verify their passwords at the same time (one
    /// async worker): before, the first held the store lock (and the worker)
    /// through its verification, so the second could not start until it ended.
    #[cfg(not(madsim))]
    #[test]
    fn two_users_verify_at_once() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let b = Arc::new(enabled_store().await);
            let check = |user: &'static str, password: &'static str| {
                let b = b.clone();
                tokio::spawn(async move {
                    let auth = basic(user, password);
                    key_allowed_with(
                        &*b,
                        (Some(&auth), &[]),
                        "/w/x",
                        "GET",
                        false,
                        verify_in_pairs,
                    )
                    .await
                })
            };
            let (bob, again) = (check("bob", "bobpw"), check("bob", "bobpw"));
            assert!(
                bob.await.unwrap(),
                "the first verified alongside the second"
            );
            assert!(
                again.await.unwrap(),
                "the second verified alongside the first"
            );
        });
    }
}
