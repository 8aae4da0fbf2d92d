//! [`AuthUserAPI`] over HTTP (Go's `httpAuthUserAPI`): `/v2/auth/users`.

use super::response::{collection_path, decode, expect_status, item_path, once_if_write};
use super::{AuthUserAPI, User};
use crate::client::shared::per_call_bounds;
use crate::client::{Caller, Request, Response, SharedClient};
use crate::error::Result;
use crate::wire::{UserWithRoles, to_go_json};
use async_trait::async_trait;
use http::{Method, StatusCode};
use serde::Deserialize;

/// The HTTP [`AuthUserAPI`]; build it with [`new_auth_user_api`].
#[derive(Clone)]
pub struct HttpAuthUserAPI {
    caller: Caller,
}

per_call_bounds!(HttpAuthUserAPI);

impl std::fmt::Debug for HttpAuthUserAPI {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpAuthUserAPI").finish_non_exhaustive()
    }
}

/// An [`AuthUserAPI`] that sends its requests through `client` (by value, in an `Arc`, or as
/// an `Arc<dyn Client>`: see [`SharedClient`]; Go's `NewAuthUserAPI`).
pub fn new_auth_user_api(client: impl Into<SharedClient>) -> HttpAuthUserAPI {
    HttpAuthUserAPI {
        caller: Caller::new(client),
    }
}

/// The part of `GET /v2/auth/users` the list needs (the roles, objects in
/// etcd 3.4, are not needed).
#[derive(Deserialize)]
struct UserNames {
    #[serde(default)]
    users: Option<Vec<UserName>>,
}

#[derive(Deserialize)]
struct UserName {
    user: String,
}

/// A user body for a PUT; Go omits an empty password.
fn user_body(
    username: &str,
    password: Option<&str>,
    grant: Option<&[String]>,
    revoke: Option<&[String]>,
) -> Vec<u8> {
    to_go_json(&User {
        user: username.to_string(),
        password: password.filter(|p| !p.is_empty()).map(str::to_string),
        roles: None,
        grant: grant.map(<[String]>::to_vec),
        revoke: revoke.map(<[String]>::to_vec),
    })
}

/// Decodes a user whose roles are names or, as `GET` returns them, role objects
/// (whose names are kept).
fn decode_user(resp: &Response) -> Result<User> {
    if let Ok(user) = decode::<User>(resp) {
        return Ok(user);
    }
    let expanded: UserWithRoles = decode(resp)?;
    let names: Vec<String> = expanded.roles.into_iter().map(|r| r.role).collect();
    Ok(User {
        user: expanded.user,
        roles: (!names.is_empty()).then_some(names),
        ..Default::default()
    })
}

impl HttpAuthUserAPI {
    /// Sends `req`; the answer must be 200 or 201.
    async fn add_remove(&self, req: Request) -> Result<()> {
        let resp = self.caller.send(once_if_write(req)).await?;
        expect_status(&resp, &[StatusCode::OK, StatusCode::CREATED])
    }

    /// Sends `req`; the answer must be 200 with the user.
    async fn modify(&self, req: Request) -> Result<User> {
        let resp = self.caller.send(once_if_write(req)).await?;
        expect_status(&resp, &[StatusCode::OK])?;
        decode_user(&resp)
    }

    fn put(username: &str, body: Vec<u8>) -> Result<Request> {
        Ok(Request::new(Method::PUT, item_path("users", username)?).json(body))
    }
}

#[async_trait]
impl AuthUserAPI for HttpAuthUserAPI {
    async fn add_user(&self, username: &str, password: &str) -> Result<()> {
        self.add_remove(Self::put(
            username,
            user_body(username, Some(password), None, None),
        )?)
        .await
    }

    async fn remove_user(&self, username: &str) -> Result<()> {
        self.add_remove(Request::new(Method::DELETE, item_path("users", username)?))
            .await
    }

    async fn get_user(&self, username: &str) -> Result<User> {
        self.modify(Request::new(Method::GET, item_path("users", username)?))
            .await
    }

    async fn grant_user(&self, username: &str, roles: &[String]) -> Result<User> {
        self.modify(Self::put(
            username,
            user_body(username, None, Some(roles), None),
        )?)
        .await
    }

    async fn revoke_user(&self, username: &str, roles: &[String]) -> Result<User> {
        self.modify(Self::put(
            username,
            user_body(username, None, None, Some(roles)),
        )?)
        .await
    }

    /// Only 200 is accepted, as in Go: if the user did not exist the server
    /// creates it and answers 201, which this call reports as an
    /// [`crate::Error::Auth`] with an empty message.
    async fn change_password(&self, username: &str, password: &str) -> Result<User> {
        self.modify(Self::put(
            username,
            user_body(username, Some(password), None, None),
        )?)
        .await
    }

    async fn list_users(&self) -> Result<Vec<String>> {
        // Go sets the JSON Content-Type even on this GET.
        let req = Request::new(Method::GET, collection_path("users")).json(Vec::new());
        let resp = self.caller.send(once_if_write(req)).await?;
        expect_status(&resp, &[StatusCode::OK])?;
        let list: UserNames = decode(&resp)?;
        Ok(list
            .users
            .unwrap_or_default()
            .into_iter()
            .map(|u| u.user)
            .collect())
    }
}
