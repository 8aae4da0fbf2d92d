//! The `/v2/auth/*` handlers (spec §6.2, §1.3, §1.4): routing inside `/v2/auth`,
//! the method and root checks, JSON bodies, and etcd's statuses, headers and
//! messages. Under `--client-cert-auth`, a request without an `Authorization`
//! header is made by the user its client certificate's chain names.
//!
//! Header rules, as etcd writes them: 405 and 401 responses (and the 400 for an
//! invalid path) come before the handler sets `X-Etcd-Cluster-Id`, so they do not
//! carry it; every later response, error or success, does. Success bodies end in
//! `\n`; `{"message":..}` errors do not.
//!
//! Not modelled: the query string (etcd parses it on GETs and answers a malformed
//! one with 500), and the rolling-upgrade capability check.

use super::response::{Body, json, key_error, method_not_allowed, set_header, text};
use crate::auth::v2::AuthError;
use crate::auth::v2::model::permissions_empty;
use crate::server::backend::V2Backend;
use crate::server::v2_auth::{AuthStore, caller_is_root_as};
use crate::store::v2::clean_path;
use etcd_sdk::wire::{
    AuthStatus, MessageBody, Role, RoleList, User, UserList, UserWithRoles, to_go_json,
    to_go_json_line,
};
use http::{Response, StatusCode};
use serde::de::DeserializeOwned;

/// Serves one `/v2/auth/...` request. `path` is the percent-decoded path after
/// `/v2/auth` (`/enable`, `/users`, `/users/bob`, `/roles/r1`, ...), `credentials`
/// the `Authorization` header and the common names of the verified client
/// certificate chain (`--client-cert-auth`; empty otherwise).
pub async fn handle(
    backend: &dyn V2Backend,
    method: &str,
    path: &str,
    (authorization, cert_names): (Option<&str>, &[String]),
    body: &[u8],
) -> Response<Body> {
    let req = Request {
        backend,
        method,
        authorization,
        cert_names,
        body,
    };
    match route(path) {
        Route::Enable => req.enable().await,
        Route::Users => req.users().await,
        Route::User(name) => req.user(&name).await,
        Route::Roles => req.roles().await,
        Route::Role(name) => req.role(&name).await,
        Route::InvalidPath => message(StatusCode::BAD_REQUEST, "Invalid path"),
        Route::NotFound => text(StatusCode::NOT_FOUND, "404 page not found"),
    }
}

/// What a path inside `/v2/auth` names.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Enable,
    Users,
    User(String),
    Roles,
    Role(String),
    InvalidPath,
    NotFound,
}

/// etcd's mux patterns (`/users` exact, `/users/` subtree, `/enable` exact), then
/// `path.Clean` and a split on `/`: two pieces are the collection, three an item,
/// more an invalid path.
fn route(path: &str) -> Route {
    let item = |collection: Route, make: fn(String) -> Route| {
        let cleaned = clean_path(path);
        let pieces: Vec<&str> = cleaned.split('/').collect();
        match pieces.len() {
            2 => collection,
            3 => make(pieces[2].to_string()),
            _ => Route::InvalidPath,
        }
    };
    match path {
        "/enable" => Route::Enable,
        "/users" => Route::Users,
        "/roles" => Route::Roles,
        p if p.starts_with("/users/") => item(Route::Users, Route::User),
        p if p.starts_with("/roles/") => item(Route::Roles, Route::Role),
        _ => Route::NotFound,
    }
}

/// `{"message":..}` without a newline (etcd's `HTTPError`).
fn message(status: StatusCode, text: &str) -> Response<Body> {
    json(
        status,
        to_go_json(&MessageBody {
            message: text.to_string(),
        }),
    )
}

/// One request being served.
struct Request<'a> {
    backend: &'a dyn V2Backend,
    method: &'a str,
    authorization: Option<&'a str>,
    cert_names: &'a [String],
    body: &'a [u8],
}

impl Request<'_> {
    fn store(&self) -> AuthStore<'_> {
        AuthStore::new(self.backend)
    }

    /// Adds `X-Etcd-Cluster-Id`.
    fn with_cluster_id(&self, mut resp: Response<Body>) -> Response<Body> {
        set_header(
            &mut resp,
            "X-Etcd-Cluster-Id",
            format!("{:x}", self.backend.cluster_id()),
        );
        resp
    }

    /// A JSON success body with its newline.
    fn success<T: serde::Serialize>(&self, status: StatusCode, value: &T) -> Response<Body> {
        self.with_cluster_id(json(status, to_go_json_line(value)))
    }

    /// 200 with no body (but the JSON content type).
    fn empty(&self) -> Response<Body> {
        self.with_cluster_id(json(StatusCode::OK, Vec::new()))
    }

    /// An error after the cluster id was set (etcd's `writeError`).
    fn error(&self, e: AuthError) -> Response<Body> {
        match e {
            AuthError::Auth { status, message: m } => self.with_cluster_id(message(status, &m)),
            AuthError::Store(e) => key_error(self.backend.cluster_id(), &e.to_body()),
            AuthError::Internal(cause) => {
                tracing::warn!(%cause, "auth: internal error");
                self.with_cluster_id(message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                ))
            }
        }
    }

    fn reply<T: serde::Serialize>(
        &self,
        status: StatusCode,
        result: Result<T, AuthError>,
    ) -> Response<Body> {
        match result {
            Ok(v) => self.success(status, &v),
            Err(e) => self.error(e),
        }
    }

    fn reply_empty(&self, result: Result<(), AuthError>) -> Response<Body> {
        match result {
            Ok(()) => self.empty(),
            Err(e) => self.error(e),
        }
    }

    /// The method check, then the root check; `None` means go on.
    async fn gate(&self, allowed: &[&str], allow_header: &'static str) -> Option<Response<Body>> {
        if !allowed.contains(&self.method) {
            return Some(method_not_allowed(allow_header));
        }
        if !caller_is_root_as(self.backend, self.authorization, self.cert_names).await {
            return Some(message(
                StatusCode::UNAUTHORIZED,
                "Insufficient credentials",
            ));
        }
        None
    }

    /// `/v2/auth/enable`: anyone may GET; PUT and DELETE need root.
    async fn enable(&self) -> Response<Body> {
        if !matches!(self.method, "GET" | "PUT" | "DELETE") {
            return method_not_allowed("GET,PUT,DELETE");
        }
        if self.method != "GET"
            && !caller_is_root_as(self.backend, self.authorization, self.cert_names).await
        {
            return message(StatusCode::UNAUTHORIZED, "Insufficient credentials");
        }
        let store = self.store();
        // etcd reads the flag for every method, before acting.
        let enabled = store.enabled();
        match self.method {
            "GET" => self.success(StatusCode::OK, &AuthStatus { enabled }),
            "PUT" => self.reply_empty(store.enable().await),
            _ => self.reply_empty(store.disable().await),
        }
    }

    /// `GET /v2/auth/users`: every user with its role objects (missing roles left
    /// out), sorted by name; `{"users":null}` when there are none.
    async fn users(&self) -> Response<Body> {
        if let Some(resp) = self.gate(&["GET"], "GET").await {
            return resp;
        }
        let store = self.store();
        let list = async {
            let mut users = Vec::new();
            for name in store.user_names()? {
                let user = store.user(&name, false).await?;
                let mut roles = Vec::new();
                for role in user.roles.iter().flatten() {
                    if let Ok(r) = store.role(role, false).await {
                        roles.push(r);
                    }
                }
                users.push(UserWithRoles {
                    user: user.user,
                    roles,
                });
            }
            Ok(UserList {
                users: (!users.is_empty()).then_some(users),
            })
        };
        self.reply(StatusCode::OK, list.await)
    }

    /// `/v2/auth/users/<name>`.
    async fn user(&self, name: &str) -> Response<Body> {
        if let Some(resp) = self.gate(&["GET", "PUT", "DELETE"], "GET,PUT,DELETE").await {
            return resp;
        }
        let store = self.store();
        match self.method {
            "GET" => {
                let found = async {
                    let user = store.user(name, false).await?;
                    let mut roles = Vec::new();
                    for role in user.roles.iter().flatten() {
                        roles.push(store.role(role, false).await?);
                    }
                    Ok(UserWithRoles {
                        user: user.user,
                        roles,
                    })
                };
                self.reply(StatusCode::OK, found.await)
            }
            "PUT" => self.put_user(name).await,
            _ => self.reply_empty(store.delete_user(name).await),
        }
    }

    /// `PUT /v2/auth/users/<name>`: create or password change (201 only when created
    /// without roles), create with roles (200), or grant/revoke (200).
    async fn put_user(&self, name: &str) -> Response<Body> {
        let Some(change) = decode_body::<User>(self.body) else {
            return self.invalid_json();
        };
        if change.user != name {
            return self.with_cluster_id(message(
                StatusCode::BAD_REQUEST,
                "User JSON name does not match the name in the URL",
            ));
        }
        let store = self.store();
        let non_empty = |l: &Option<Vec<String>>| l.as_ref().is_some_and(|l| !l.is_empty());
        let has_roles = non_empty(&change.roles);
        let result = if !non_empty(&change.grant) && !non_empty(&change.revoke) {
            if has_roles {
                store.create_user(change).await.map(|u| (u, false))
            } else {
                store.create_or_update_user(change).await
            }
        } else if has_roles {
            return self.with_cluster_id(message(
                StatusCode::BAD_REQUEST,
                "User JSON contains both roles and grant/revoke",
            ));
        } else {
            store.update_user(change).await.map(|u| (u, false))
        };
        match result {
            Ok((mut user, created)) => {
                user.password = None;
                let status = if created {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                self.success(status, &user)
            }
            Err(e) => self.error(e),
        }
    }

    /// `GET /v2/auth/roles`: every role, `root` included, sorted by name.
    async fn roles(&self) -> Response<Body> {
        if let Some(resp) = self.gate(&["GET"], "GET").await {
            return resp;
        }
        let store = self.store();
        let list = async {
            let mut roles = Vec::new();
            for name in store.role_names()? {
                roles.push(store.role(&name, false).await?);
            }
            Ok(RoleList { roles: Some(roles) })
        };
        self.reply(StatusCode::OK, list.await)
    }

    /// `/v2/auth/roles/<name>`.
    async fn role(&self, name: &str) -> Response<Body> {
        if let Some(resp) = self.gate(&["GET", "PUT", "DELETE"], "GET,PUT,DELETE").await {
            return resp;
        }
        let store = self.store();
        match self.method {
            "GET" => self.reply(StatusCode::OK, store.role(name, false).await),
            "PUT" => self.put_role(name).await,
            _ => self.reply_empty(store.delete_role(name).await),
        }
    }

    /// `PUT /v2/auth/roles/<name>`: without grant and revoke, create the role as sent
    /// (201, echoed); with them, merge (200, the merged role).
    async fn put_role(&self, name: &str) -> Response<Body> {
        let Some(change) = decode_body::<Role>(self.body) else {
            return self.invalid_json();
        };
        if change.role != name {
            return self.with_cluster_id(message(
                StatusCode::BAD_REQUEST,
                "Role JSON name does not match the name in the URL",
            ));
        }
        let store = self.store();
        if permissions_empty(change.grant.as_ref()) && permissions_empty(change.revoke.as_ref()) {
            return match store.create_role(&change).await {
                Ok(()) => self.success(StatusCode::CREATED, &change),
                Err(e) => self.error(e),
            };
        }
        if !permissions_empty(Some(&change.permissions)) {
            return self.with_cluster_id(message(
                StatusCode::BAD_REQUEST,
                "Role JSON contains both permissions and grant/revoke",
            ));
        }
        self.reply(StatusCode::OK, store.update_role(&change).await)
    }

    fn invalid_json(&self) -> Response<Body> {
        self.with_cluster_id(message(
            StatusCode::BAD_REQUEST,
            "Invalid JSON in request body.",
        ))
    }
}

/// Decodes the first JSON value of a body as Go's `json.NewDecoder(..).Decode`
/// does: leading whitespace is skipped, anything after the value is ignored, and
/// `null` gives the zero value. An empty body, an array or a malformed object is
/// `None`.
fn decode_body<T: DeserializeOwned + Default>(body: &[u8]) -> Option<T> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
    if !matches!(first, b'{' | b'n') {
        return None;
    }
    let mut values = serde_json::Deserializer::from_slice(body).into_iter::<Option<T>>();
    match values.next() {
        Some(Ok(v)) => Some(v.unwrap_or_default()),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
