//! [`AuthAPI`] over HTTP (Go's `httpAuthAPI`): `PUT`/`DELETE /v2/auth/enable`.

use super::AuthAPI;
use super::response::{collection_path, expect_status, once_if_write};
use crate::client::shared::per_call_bounds;
use crate::client::{Caller, Request, SharedClient};
use crate::error::Result;
use async_trait::async_trait;
use http::{Method, StatusCode};

/// The HTTP [`AuthAPI`]; build it with [`new_auth_api`].
#[derive(Clone)]
pub struct HttpAuthAPI {
    caller: Caller,
}

per_call_bounds!(HttpAuthAPI);

impl std::fmt::Debug for HttpAuthAPI {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpAuthAPI").finish_non_exhaustive()
    }
}

/// An [`AuthAPI`] that sends its requests through `client` (by value, in an `Arc`, or as
/// an `Arc<dyn Client>`: see [`SharedClient`]; Go's `NewAuthAPI`).
pub fn new_auth_api(client: impl Into<SharedClient>) -> HttpAuthAPI {
    HttpAuthAPI {
        caller: Caller::new(client),
    }
}

impl HttpAuthAPI {
    async fn enable_disable(&self, method: Method) -> Result<()> {
        let resp = self
            .caller
            .send(once_if_write(Request::new(
                method,
                collection_path("enable"),
            )))
            .await?;
        expect_status(&resp, &[StatusCode::OK, StatusCode::CREATED])
    }
}

#[async_trait]
impl AuthAPI for HttpAuthAPI {
    async fn enable(&self) -> Result<()> {
        self.enable_disable(Method::PUT).await
    }

    async fn disable(&self) -> Result<()> {
        self.enable_disable(Method::DELETE).await
    }
}
