//! HTTP handlers of an application that embeds the server (etcd's
//! `embed.Config.UserHandlers`), served on the client port beside etcd's own.
//!
//! etcd mounts them on the client port's outer `http.ServeMux`, next to the
//! `/v3/` gateway and `/` (etcd's own handler, which holds `/health`,
//! `/metrics`, `/version`, `/v2/...`). So Go's `ServeMux` rules decide: an
//! exact pattern matches its path only, a pattern ending in `/` matches its
//! subtree, the longest pattern wins, and a user pattern therefore wins over
//! etcd's own paths below `/` (a user `/health` replaces etcd's) and over the
//! gateway below `/v3/` (a user `/v3/kv/range` replaces that call). A request
//! for a subtree's root without its slash (`/app` when only `/app/` is
//! registered) is redirected there (301). The patterns `/` and `/v3/` are
//! etcd's: Go panics registering them twice, and the embed configuration
//! refuses them ([`check_pattern`]).
//!
//! The router ([`super::router`]) finds them as a request extension
//! ([`UserRoutes`]) after etcd's access checks (CORS, `OPTIONS`, the `/v3beta`
//! rewrite) and the path cleaning; the handler's response gets etcd's CORS
//! headers. A handler that panics is caught: the connection is closed without
//! a response (HTTP/1) or the stream reset (HTTP/2), as Go's server does.

use super::response::{Body, full};
use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use http::{Request, Response};
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

/// One HTTP handler: called with the request (its body read whole, at most
/// 32 MiB, the member's body limit) and answering with a whole
/// response. Cheap to clone; two are equal when they are the same handler.
///
/// ```
/// use etcd_sim::api::v2::user_handlers::UserHandler;
/// let hello = UserHandler::new(|_req| async { http::Response::new("hello\n".into()) });
/// ```
#[derive(Clone)]
pub struct UserHandler(
    Arc<dyn Fn(Request<Bytes>) -> BoxFuture<'static, Response<Bytes>> + Send + Sync>,
);

impl UserHandler {
    /// A handler that answers each request with what `f`'s future returns.
    pub fn new<F, Fut>(f: F) -> UserHandler
    where
        F: Fn(Request<Bytes>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response<Bytes>> + Send + 'static,
    {
        UserHandler(Arc::new(move |req| f(req).boxed()))
    }

    /// Calls it; `None` when the handler panicked (the panic is logged).
    pub async fn call(&self, req: Request<Bytes>) -> Option<Response<Bytes>> {
        let path = req.uri().path().to_string();
        let called = std::panic::catch_unwind(AssertUnwindSafe(|| (self.0)(req)));
        let result = match called {
            Ok(fut) => AssertUnwindSafe(fut).catch_unwind().await,
            Err(panic) => Err(panic),
        };
        match result {
            Ok(resp) => Some(resp),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-string panic".into());
                tracing::error!(%path, panic = %what, "member: panic serving a user handler");
                None
            }
        }
    }
}

impl fmt::Debug for UserHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserHandler")
    }
}

impl PartialEq for UserHandler {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// Marks a response whose handler panicked: the connection's service turns it
/// into an error, so that hyper closes the connection (HTTP/1) or resets the
/// stream (HTTP/2) without answering.
#[derive(Clone, Copy, Debug, thiserror::Error)]
#[error("a user handler panicked")]
pub struct HandlerPanicked;

/// A registered pattern etcd-sim refuses: why, in Go's words where Go has them.
///
/// # Errors
///
/// The reason: an empty pattern, a host pattern (not starting with `/`, which
/// etcd-sim does not implement), or one of etcd's own patterns (`/`, `/v3/`).
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    if pattern.is_empty() {
        return Err("http: invalid pattern".into());
    }
    if !pattern.starts_with('/') {
        return Err(format!(
            "user handler {pattern:?}: host-specific patterns are not supported (the pattern must start with /)"
        ));
    }
    if ETCD_PATTERNS.contains(&pattern) {
        return Err(format!("http: multiple registrations for {pattern}"));
    }
    Ok(())
}

/// The patterns etcd registers on the client port's outer mux itself.
const ETCD_PATTERNS: [&str; 2] = ["/", "/v3/"];

/// The user handlers of a client port, by pattern (what the router looks up).
/// Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct UserRoutes {
    handlers: Arc<BTreeMap<String, UserHandler>>,
}

/// Where a request goes, by Go's `ServeMux` rules over the user patterns and
/// etcd's own.
#[derive(Clone, Debug, PartialEq)]
pub enum UserRoute {
    /// To this user handler.
    Handler(UserHandler),
    /// A 301 to this path (a subtree's root without its slash).
    Redirect(String),
    /// To etcd's own routing (the gateway or `/`).
    Etcd,
}

impl UserRoutes {
    /// The routes of `handlers` (patterns already checked with [`check_pattern`];
    /// others are never matched).
    pub fn new(handlers: BTreeMap<String, UserHandler>) -> UserRoutes {
        UserRoutes {
            handlers: Arc::new(handlers),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.handlers.is_empty()
    }

    /// Where the (cleaned) `path` goes; `gateway`: whether etcd's `/v3/` is
    /// registered.
    pub fn lookup(&self, path: &str, gateway: bool) -> UserRoute {
        let registered =
            |p: &str| self.handlers.contains_key(p) || p == "/" || (gateway && p == "/v3/");
        // Go's redirect of a subtree's root named without its slash.
        // (etcd's own `/v3` → `/v3/` is left to etcd's routing.)
        if !registered(path) && !path.ends_with('/') {
            let to = format!("{path}/");
            if self.handlers.contains_key(&to) {
                return UserRoute::Redirect(to);
            }
        }
        if let Some(h) = self.handlers.get(path) {
            return UserRoute::Handler(h.clone());
        }
        // The longest subtree pattern above the path; etcd's `/v3/` competes.
        let best = self
            .handlers
            .iter()
            .filter(|(p, _)| p.ends_with('/') && path.starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len());
        match best {
            Some((p, _)) if gateway && path.starts_with("/v3/") && p.len() < "/v3/".len() => {
                UserRoute::Etcd
            }
            Some((_, h)) => UserRoute::Handler(h.clone()),
            None => UserRoute::Etcd,
        }
    }
}

/// Calls `handler` with `req`; a panic becomes an empty response marked
/// [`HandlerPanicked`].
pub async fn serve(handler: &UserHandler, req: Request<Bytes>) -> Response<Body> {
    match handler.call(req).await {
        Some(resp) => resp.map(full),
        None => {
            let mut resp = Response::new(full(Bytes::new()));
            resp.extensions_mut().insert(HandlerPanicked);
            resp
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answering(text: &'static str) -> UserHandler {
        UserHandler::new(move |_| async move { Response::new(Bytes::from_static(text.as_bytes())) })
    }

    fn routes(patterns: &[&str]) -> UserRoutes {
        UserRoutes::new(
            patterns
                .iter()
                .map(|p| ((*p).to_string(), answering("x")))
                .collect(),
        )
    }

    fn handler_of(r: &UserRoutes, p: &str) -> UserHandler {
        r.handlers[p].clone()
    }

    #[test]
    fn go_servemux_rules() {
        let r = routes(&[
            "/hello",
            "/app/",
            "/app/deep/",
            "/health",
            "/v3/kv/range",
            "/x/",
        ]);
        assert_eq!(
            r.lookup("/hello", true),
            UserRoute::Handler(handler_of(&r, "/hello"))
        );
        assert_eq!(r.lookup("/hello/", true), UserRoute::Etcd, "exact only");
        assert_eq!(r.lookup("/hello/x", true), UserRoute::Etcd);
        assert_eq!(
            r.lookup("/app/", true),
            UserRoute::Handler(handler_of(&r, "/app/"))
        );
        assert_eq!(
            r.lookup("/app/a/b", true),
            UserRoute::Handler(handler_of(&r, "/app/"))
        );
        assert_eq!(
            r.lookup("/app/deep/er", true),
            UserRoute::Handler(handler_of(&r, "/app/deep/")),
            "the longest pattern wins"
        );
        assert_eq!(r.lookup("/app", true), UserRoute::Redirect("/app/".into()));
        assert_eq!(
            r.lookup("/app/deep", true),
            UserRoute::Redirect("/app/deep/".into())
        );
        assert_eq!(
            r.lookup("/health", true),
            UserRoute::Handler(handler_of(&r, "/health"))
        );
        assert_eq!(r.lookup("/metrics", true), UserRoute::Etcd);
        assert_eq!(r.lookup("/v2/keys/a", true), UserRoute::Etcd);
        assert_eq!(
            r.lookup("/v3/kv/range", true),
            UserRoute::Handler(handler_of(&r, "/v3/kv/range"))
        );
        assert_eq!(r.lookup("/v3/kv/put", true), UserRoute::Etcd);
        assert_eq!(r.lookup("/", true), UserRoute::Etcd);
        // etcd's own subtree redirect (`/v3`) stays etcd's.
        assert_eq!(r.lookup("/v3", true), UserRoute::Etcd);
        assert_eq!(r.lookup("/apples", true), UserRoute::Etcd);
    }

    #[test]
    fn a_user_subtree_above_v3_loses_to_the_gateway() {
        let r = routes(&["/v"]);
        assert_eq!(r.lookup("/v3/kv/range", true), UserRoute::Etcd);
        let r = routes(&["/v3/kv/"]);
        assert_eq!(
            r.lookup("/v3/kv/range", true),
            UserRoute::Handler(handler_of(&r, "/v3/kv/"))
        );
        assert_eq!(
            r.lookup("/v3/kv", true),
            UserRoute::Redirect("/v3/kv/".into())
        );
    }

    #[test]
    fn etcds_patterns_and_host_patterns_are_refused() {
        assert!(check_pattern("/hello").is_ok());
        assert!(check_pattern("/v3/kv/").is_ok());
        assert_eq!(
            check_pattern("/v3/").unwrap_err(),
            "http: multiple registrations for /v3/"
        );
        assert_eq!(
            check_pattern("/").unwrap_err(),
            "http: multiple registrations for /"
        );
        assert_eq!(check_pattern("").unwrap_err(), "http: invalid pattern");
        assert!(check_pattern("example.com/").is_err());
    }

    #[tokio::test]
    async fn a_panic_is_caught_and_marked() {
        let boom = UserHandler::new(|req: Request<Bytes>| async move {
            if req.uri().path() == "/boom" {
                panic!("boom");
            }
            Response::new(Bytes::from_static(b"ok"))
        });
        let req = Request::builder().uri("/boom").body(Bytes::new()).unwrap();
        let resp = serve(&boom, req).await;
        assert!(resp.extensions().get::<HandlerPanicked>().is_some());
        let req = Request::builder().uri("/fine").body(Bytes::new()).unwrap();
        let resp = serve(&boom, req).await;
        assert!(resp.extensions().get::<HandlerPanicked>().is_none());
        let sync_panic = UserHandler(Arc::new(|_| panic!("before the future")));
        let req = Request::builder().uri("/").body(Bytes::new()).unwrap();
        assert!(sync_panic.call(req).await.is_none());
        assert_eq!(boom, boom.clone());
        assert_ne!(boom, answering("x"));
    }
}
