//! [`MembersAPI`] over HTTP: the requests and accepted statuses of Go's
//! `httpMembersAPI`.

use super::peer_url::validate_peer_url;
use super::{Member, MembersAPI};
use crate::client::shared::per_call_bounds;
use crate::client::{Caller, Request, Response, SharedClient};
use crate::error::{Error, MembersError, Result};
use crate::wire::{MemberList, MemberPeerUrls, MessageBody, to_go_json};
use async_trait::async_trait;
use http::{Method, StatusCode};
use serde::de::DeserializeOwned;

const MEMBERS_PATH: &str = "/v2/members";

/// The HTTP [`MembersAPI`] (Go's `httpMembersAPI`); build it with [`new_members_api`].
#[derive(Clone)]
pub struct HttpMembersAPI {
    caller: Caller,
}

per_call_bounds!(HttpMembersAPI);

impl std::fmt::Debug for HttpMembersAPI {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMembersAPI").finish_non_exhaustive()
    }
}

/// A [`MembersAPI`] that sends its requests through `client` (by value, in an `Arc`, or as
/// an `Arc<dyn Client>`: see [`SharedClient`]; Go's `NewMembersAPI`).
pub fn new_members_api(client: impl Into<SharedClient>) -> HttpMembersAPI {
    HttpMembersAPI {
        caller: Caller::new(client),
    }
}

fn decode<T: DeserializeOwned>(resp: &Response) -> Result<T> {
    serde_json::from_slice(&resp.body).map_err(|e| Error::invalid_json(e, &resp.body))
}

/// The server's `{"message": …}` as [`Error::Members`].
fn members_error(resp: &Response) -> Error {
    match decode::<MessageBody>(resp) {
        Ok(body) => Error::Members(MembersError {
            status: resp.status.as_u16(),
            message: body.message,
        }),
        Err(e) => e,
    }
}

fn member_path(member_id: &str) -> Result<String> {
    if member_id.is_empty() {
        return Err(Error::InvalidArgument("empty member id".into()));
    }
    Ok(format!("{MEMBERS_PATH}/{member_id}"))
}

fn peer_urls_body(peer_urls: &[String]) -> Result<Vec<u8>> {
    for u in peer_urls {
        validate_peer_url(u)?;
    }
    Ok(to_go_json(&MemberPeerUrls {
        peer_urls: peer_urls.to_vec(),
    }))
}

#[async_trait]
impl MembersAPI for HttpMembersAPI {
    async fn list(&self) -> Result<Vec<Member>> {
        let resp = self
            .caller
            .send(Request::new(Method::GET, MEMBERS_PATH))
            .await?;
        if resp.status != StatusCode::OK {
            return Err(Error::UnexpectedStatus(resp.status.as_u16()));
        }
        Ok(decode::<MemberList>(&resp)?.members)
    }

    async fn add(&self, peer_url: &str) -> Result<Member> {
        let body = peer_urls_body(&[peer_url.to_string()])?;
        let req = Request::new(Method::POST, MEMBERS_PATH)
            .json(body)
            .at_most_once();
        let resp = self.caller.send(req).await?;
        match resp.status {
            StatusCode::CREATED => decode(&resp),
            StatusCode::CONFLICT => Err(members_error(&resp)),
            other => Err(Error::UnexpectedStatus(other.as_u16())),
        }
    }

    async fn remove(&self, member_id: &str) -> Result<()> {
        // Repeating a removal is harmless: the server answers 410, a success.
        let resp = self
            .caller
            .send(Request::new(Method::DELETE, member_path(member_id)?))
            .await?;
        match resp.status {
            StatusCode::NO_CONTENT | StatusCode::GONE => Ok(()),
            other => Err(Error::UnexpectedStatus(other.as_u16())),
        }
    }

    async fn update(&self, member_id: &str, peer_urls: &[String]) -> Result<()> {
        let path = member_path(member_id)?;
        let body = peer_urls_body(peer_urls)?;
        let resp = self
            .caller
            .send(Request::new(Method::PUT, path).json(body))
            .await?;
        match resp.status {
            StatusCode::NO_CONTENT => Ok(()),
            StatusCode::NOT_FOUND | StatusCode::CONFLICT => Err(members_error(&resp)),
            other => Err(Error::UnexpectedStatus(other.as_u16())),
        }
    }

    async fn leader(&self) -> Result<Member> {
        let path = format!("{MEMBERS_PATH}/leader");
        let resp = self.caller.send(Request::new(Method::GET, path)).await?;
        if resp.status == StatusCode::OK {
            return decode(&resp);
        }
        match decode::<MessageBody>(&resp) {
            Ok(body) if !body.message.is_empty() => Err(Error::Members(MembersError {
                status: resp.status.as_u16(),
                message: body.message,
            })),
            _ => Err(Error::UnexpectedStatus(resp.status.as_u16())),
        }
    }
}
