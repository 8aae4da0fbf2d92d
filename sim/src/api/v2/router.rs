//! The v2 HTTP router (spec §1): CORS on every response, OPTIONS answered before
//! routing, the path percent-decoded, unclean paths redirected (301, query kept),
//! then Go `ServeMux`-style routing to the handlers; anything else is the 404 page.
//! When the request carries a v3 [`Gateway`] (an extension the member's HTTP
//! service adds), `/v3/...` and `/v3beta/...` go to it after those steps. When it
//! carries [`UserRoutes`] (an embedding application's handlers), those are matched
//! first, with etcd's own patterns, by Go's `ServeMux` rules.

use super::auth;
use super::http_checks::BodyError;
use super::keys::{self, KeysCall};
use super::members::{self, ClusterBackend, MembersCall};
use super::misc;
use super::response::{Body, full, text, with_cors};
use super::stats::{self, StatsBackend};
use super::user_handlers::{self, UserRoute, UserRoutes};
use crate::api::v3::gateway::{Gateway, is_gateway_path, rewrite_beta};
use crate::server::backend::V2Backend;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};

/// The common names of a request's verified client certificate chain, the
/// client's certificate first (an extension the member's HTTP service adds
/// on a TLS port under `--client-cert-auth`): without an `Authorization`
/// header, v2 auth takes the first that names a user as the caller, as etcd
/// 3.4's v2http does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientCertNames(pub Vec<String>);

/// Everything the v2 API needs from a member.
pub trait V2Server: V2Backend + ClusterBackend + StatsBackend {}

impl<T: V2Backend + ClusterBackend + StatsBackend + ?Sized> V2Server for T {}

/// Serves one request whose body has been read.
pub async fn route<S: V2Server>(server: &S, req: Request<Bytes>) -> Response<Body> {
    with_cors(dispatch(server, req).await)
}

async fn dispatch<S: V2Server>(server: &S, req: Request<Bytes>) -> Response<Body> {
    let method = req.method().as_str();
    if method == "OPTIONS" {
        let mut resp = Response::new(full(Bytes::new()));
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        return resp;
    }
    let Some(path) = percent_decode(req.uri().path()) else {
        return bad_request();
    };
    // The v3 gateway hook (etcd's accessController and mux): `/v3beta/` is
    // rewritten to `/v3/` before routing, and with a gateway attached (by the
    // member's HTTP service) `/v3/...` is the gateway's and `/v3` redirects there.
    let gateway = req.extensions().get::<Gateway>();
    let path = if gateway.is_some() {
        rewrite_beta(path)
    } else {
        path
    };
    let query = req.uri().query();
    let cleaned = clean_path(&path);
    if cleaned != path {
        return redirect(method, &cleaned, query);
    }
    // The embedding application's handlers (etcd's UserHandlers), by Go's
    // ServeMux rules over theirs and etcd's own patterns.
    if let Some(user) = req.extensions().get::<UserRoutes>() {
        match user.lookup(&path, gateway.is_some()) {
            UserRoute::Handler(handler) => return user_handlers::serve(&handler, req).await,
            UserRoute::Redirect(to) => return redirect(method, &to, query),
            UserRoute::Etcd => {}
        }
    }
    if let Some(gateway) = gateway {
        if path == "/v3" {
            return redirect(method, "/v3/", query);
        }
        if is_gateway_path(&path) {
            let body = match req.extensions().get::<BodyError>() {
                Some(BodyError(e)) => Err(e.clone()),
                None => Ok(req.body().clone()),
            };
            return gateway.handle(method, &path, req.headers(), body).await;
        }
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let body = req.body().as_ref();
    // An empty Authorization header counts as none.
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());
    let body_error = req.extensions().get::<BodyError>();
    let cert_names = req
        .extensions()
        .get::<ClientCertNames>()
        .map_or(&[][..], |n| n.0.as_slice());
    if !server.v2_enabled() && subtree(&path, "/v2").is_some() {
        // etcd 3.4 without --enable-v2 registers no /v2 handler.
        return not_found();
    }
    if let Some(key_path) = subtree(&path, "/v2/keys") {
        let call = KeysCall {
            body_error,
            method,
            key_path,
            raw_query: query,
            content_type,
            body,
            authorization,
            cert_names,
        };
        return keys::handle(server, call).await;
    }
    if let Some(sub_path) = subtree(&path, "/v2/members") {
        let call = MembersCall {
            method,
            sub_path,
            content_type,
            body,
            authorization,
            cert_names,
            body_error,
        };
        return members::handle(server, call).await;
    }
    if let Some(auth_path) = path.strip_prefix("/v2/auth").filter(|rest| {
        matches!(*rest, "/enable" | "/users" | "/roles")
            || rest.starts_with("/users/")
            || rest.starts_with("/roles/")
    }) {
        return auth::handle(server, method, auth_path, (authorization, cert_names), body).await;
    }
    match path.as_str() {
        "/v2/machines" => misc::machines(server, method),
        "/v2/stats/store" => stats::handle(server, method, "store"),
        "/v2/stats/self" => stats::handle(server, method, "self"),
        "/v2/stats/leader" => stats::handle(server, method, "leader"),
        "/version" => misc::version(server, method),
        "/health" => misc::health(server, method, query).await,
        "/metrics" => match server.metrics_text() {
            Some(text) => misc::metrics(method, text),
            None => not_found(),
        },
        _ => not_found(),
    }
}

/// The rest of `path` when it is `prefix` or below it (Go's pair of patterns
/// `prefix` and `prefix/`).
fn subtree<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// Go's 404 page.
pub fn not_found() -> Response<Body> {
    text(StatusCode::NOT_FOUND, "404 page not found")
}

fn bad_request() -> Response<Body> {
    let mut resp = text(StatusCode::BAD_REQUEST, "400 Bad Request");
    *resp.body_mut() = full("400 Bad Request");
    resp.headers_mut().remove("X-Content-Type-Options");
    resp
}

/// Decodes `%XX` escapes (Go's path unescaping: `+` stays `+`); `None` when an
/// escape is malformed. Invalid UTF-8 is replaced.
pub fn percent_decode(raw: &str) -> Option<String> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let s = std::str::from_utf8(hex).ok()?;
            if !s.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(s, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Go `ServeMux`'s `cleanPath`: `path.Clean`, keeping a trailing slash.
pub fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return "/".into();
    }
    let mut np = crate::store::v2::clean_path(p);
    if p.ends_with('/') && np != "/" {
        np.push('/');
    }
    np
}

/// Go's `url.PathEscape`-style escaping of a path for a `Location` header.
fn escape_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for &c in p.as_bytes() {
        let keep = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'_'
                    | b'.'
                    | b'~'
                    | b'$'
                    | b'&'
                    | b'+'
                    | b','
                    | b'/'
                    | b':'
                    | b';'
                    | b'='
                    | b'@'
            );
        if keep {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// Go's `http.Redirect` with 301 to `path` (query kept): an HTML body on GET, a
/// content type on GET and HEAD.
fn redirect(method: &str, path: &str, query: Option<&str>) -> Response<Body> {
    let mut location = escape_path(path);
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        location.push('?');
        location.push_str(q);
    }
    let body = if method == "GET" {
        format!(
            "<a href=\"{}\">Moved Permanently</a>.\n\n",
            html_escape(&location)
        )
    } else {
        String::new()
    };
    let mut resp = Response::new(full(body));
    *resp.status_mut() = StatusCode::MOVED_PERMANENTLY;
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    if matches!(method, "GET" | "HEAD") {
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
    }
    resp
}

#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
mod tests;
