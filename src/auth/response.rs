//! What the auth APIs share: paths, status checks and the `{"message"}` error.

use crate::client::{Request, Response};
use crate::error::{AuthError, Error, Result};
use crate::wire::MessageBody;
use http::StatusCode;
use serde::de::DeserializeOwned;

/// `/v2/auth/<collection>`.
pub(super) fn collection_path(collection: &str) -> String {
    format!("/v2/auth/{collection}")
}

/// `/v2/auth/<collection>/<name>`; the name is escaped by the client. An empty
/// name is refused: it would address the collection instead.
pub(super) fn item_path(collection: &str, name: &str) -> Result<String> {
    if name.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "empty name for /v2/auth/{collection}"
        )));
    }
    Ok(format!("/v2/auth/{collection}/{name}"))
}

/// Auth writes are not idempotent (a repeated grant is a 409 duplicate, a
/// repeated add a 409 exists): every request but a GET is sent at-most-once, so a
/// write whose answer was lost fails with [`Error::OutcomeUnknown`] instead of a
/// misleading error from a second attempt.
pub(super) fn once_if_write(req: Request) -> Request {
    if req.method == http::Method::GET {
        req
    } else {
        req.at_most_once()
    }
}

/// Decodes a JSON body; anything undecodable is [`Error::InvalidJson`].
pub(super) fn decode<T: DeserializeOwned>(resp: &Response) -> Result<T> {
    serde_json::from_slice(&resp.body).map_err(|e| Error::invalid_json(e, &resp.body))
}

/// Ok if the status is one of `accepted`; otherwise the server's message as
/// [`Error::Auth`] (or [`Error::InvalidJson`] if the body has none).
pub(super) fn expect_status(resp: &Response, accepted: &[StatusCode]) -> Result<()> {
    if accepted.contains(&resp.status) {
        return Ok(());
    }
    let body: MessageBody = decode(resp)?;
    Err(Error::Auth(AuthError {
        status: resp.status.as_u16(),
        message: body.message,
    }))
}
