//! The `/v2/members` handler (spec §5): list, leader, add, remove and update, with
//! etcd's bodies, statuses and error texts. The member behind it implements
//! [`ClusterBackend`].

use super::http_checks::BodyError;
use super::response::{Body, full, json, method_not_allowed, set_header, text};
use crate::server::backend::V2Backend;
use async_trait::async_trait;
use etcd_sdk::v3::pb::etcdserverpb::Member as V3Member;
use etcd_sdk::wire::{Member, MemberList, MessageBody, to_go_json, to_go_json_line};
use go_json::{go_json_syntax_error, go_kind};
use http::{Response, StatusCode};

mod go_json;

/// Why a membership change was refused (etcd's `membership` errors).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MembersError {
    /// The id is a member already.
    #[error("membership: ID exists")]
    IdExists,
    /// Another member has one of the peer URLs.
    #[error("membership: peerURL exists")]
    PeerUrlExists,
    /// No member has the id.
    #[error("membership: ID not found")]
    IdNotFound,
    /// The id was removed from the cluster (it can never come back).
    #[error("membership: ID removed")]
    IdRemoved,
    /// A promotion of a member that is not a learner.
    #[error("membership: can only promote a learner member")]
    MemberNotLearner,
    /// A learner added while the cluster has its one learner already.
    #[error("membership: too many learner members in cluster")]
    TooManyLearners,
    /// A promotion of a learner whose log trails the leader's (its match index
    /// is under 90% of the leader's).
    #[error("etcdserver: can only promote a learner member which is in sync with leader")]
    LearnerNotReady,
    /// A promotion asked of a member that does not lead (only the leader knows
    /// how far a learner has caught up).
    #[error("etcdserver: not leader")]
    NotLeader,
    /// Strict reconfiguration: too few members would be started.
    #[error("etcdserver: re-configuration failed due to not enough started members")]
    NotEnoughStarted,
    /// Strict reconfiguration: this member has not been connected to every
    /// voter for the health interval.
    #[error("etcdserver: unhealthy cluster")]
    Unhealthy,
    /// Anything else (a timeout, a stopped server): answered with 500 `Internal
    /// Server Error` by the v2 API; the text is logged.
    #[error("{0}")]
    Other(String),
}

impl MembersError {
    /// The error a membership change refused at apply time came back with: the
    /// refusal's own text names one of the conflicts; anything else is `Other`.
    pub fn from_apply_error(message: String) -> MembersError {
        [
            MembersError::IdExists,
            MembersError::PeerUrlExists,
            MembersError::IdNotFound,
            MembersError::IdRemoved,
            MembersError::MemberNotLearner,
            MembersError::TooManyLearners,
        ]
        .into_iter()
        .find(|e| e.to_string() == message)
        .unwrap_or(MembersError::Other(message))
    }
}

/// The cluster as the members, machines and version handlers see it.
#[async_trait]
pub trait ClusterBackend: Send + Sync + 'static {
    /// The members, ordered by id.
    fn member_list(&self) -> Vec<Member>;

    /// The leader this member knows of.
    fn leader_id(&self) -> Option<u64>;

    /// The cluster version once decided (e.g. `3.4.0`).
    fn cluster_version(&self) -> Option<String>;

    /// Adds a member with these (validated, sorted) peer URLs through a Raft
    /// configuration change; returns it as listed (no name, no client URLs).
    async fn add_member(&self, peer_urls: Vec<String>) -> Result<Member, MembersError>;

    /// Removes member `id` through a Raft configuration change.
    async fn remove_member(&self, id: u64) -> Result<(), MembersError>;

    /// Replaces member `id`'s peer URLs.
    async fn update_member(&self, id: u64, peer_urls: Vec<String>) -> Result<(), MembersError>;

    /// The members as the v3 API lists them (ids as numbers, learners
    /// flagged), ordered by id. The same membership as [`Self::member_list`].
    fn v3_members(&self) -> Vec<V3Member>;

    /// Adds a member as [`Self::add_member`] does, as a learner when `learner`
    /// (a non-voting member: at most one, and no started-members quorum check).
    async fn add_member_as(
        &self,
        peer_urls: Vec<String>,
        learner: bool,
    ) -> Result<V3Member, MembersError>;

    /// Promotes learner `id` to a voter (this member must lead: only the leader
    /// knows whether the learner has caught up; [`MembersError::NotLeader`]
    /// otherwise).
    async fn promote_member(&self, id: u64) -> Result<(), MembersError>;
}

/// The request parts the handler reads.
#[derive(Clone, Copy, Debug)]
pub struct MembersCall<'a> {
    /// The method.
    pub method: &'a str,
    /// The decoded path after `/v2/members` (`""`, `/`, `/leader`, `/<id>`).
    pub sub_path: &'a str,
    /// The Content-Type header.
    pub content_type: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
    /// The Authorization header (members writes need the root role when auth is on).
    pub authorization: Option<&'a str>,
    /// The common names of the verified client certificate chain
    /// (`--client-cert-auth`; empty otherwise).
    pub cert_names: &'a [String],
    /// Why the body could not be read, if it could not.
    pub body_error: Option<&'a BodyError>,
}

/// `{"message": ..}` with `status`, no trailing newline (etcd's `HTTPError`).
pub fn message_error(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    json(
        status,
        to_go_json(&MessageBody {
            message: message.into(),
        }),
    )
}

fn internal_error(e: &MembersError) -> Response<Body> {
    tracing::warn!(error = %e, "members: request failed");
    message_error(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
}

/// Serves one `/v2/members` request.
pub async fn handle<B>(backend: &B, call: MembersCall<'_>) -> Response<Body>
where
    B: V2Backend + ClusterBackend + ?Sized,
{
    if !matches!(call.method, "GET" | "POST" | "DELETE" | "PUT") {
        return method_not_allowed("GET,POST,DELETE,PUT");
    }
    // With v2 auth, POST, PUT and DELETE need the root role: a refusal is 401
    // `{"message":"Insufficient credentials"}` without X-Etcd-Cluster-Id.
    if call.method != "GET" {
        let allowed =
            crate::server::v2_auth::caller_is_root_as(backend, call.authorization, call.cert_names)
                .await;
        if !allowed {
            return message_error(StatusCode::UNAUTHORIZED, "Insufficient credentials");
        }
    }
    let mut resp = match call.method {
        "GET" => get(backend, call.sub_path),
        "POST" => post(backend, call).await,
        "DELETE" => delete(backend, call.sub_path).await,
        _ => put(backend, call).await,
    };
    set_header(
        &mut resp,
        "X-Etcd-Cluster-Id",
        format!("{:x}", backend.cluster_id()),
    );
    resp
}

fn get<B: ClusterBackend + ?Sized>(backend: &B, sub_path: &str) -> Response<Body> {
    match sub_path.trim_start_matches('/') {
        "" => json(
            StatusCode::OK,
            to_go_json_line(&MemberList {
                members: backend.member_list(),
            }),
        ),
        "leader" => {
            let id = backend.leader_id().map(|id| format!("{id:x}"));
            match backend
                .member_list()
                .into_iter()
                .find(|m| Some(&m.id) == id.as_ref())
            {
                Some(m) => json(StatusCode::OK, to_go_json_line(&m)),
                None => message_error(StatusCode::SERVICE_UNAVAILABLE, "During election"),
            }
        }
        _ => message_error(StatusCode::NOT_FOUND, "Not found"),
    }
}

/// A request refused before the backend is asked.
enum Refusal {
    /// DELETE or PUT without an id: a plain 405 without `Allow`.
    NoId,
    /// `{"message": ..}` with a status.
    Message(StatusCode, String),
}

impl Refusal {
    fn into_response(self) -> Response<Body> {
        match self {
            Refusal::NoId => text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed"),
            Refusal::Message(status, msg) => message_error(status, msg),
        }
    }
}

/// The member id of a DELETE or PUT path.
fn member_id(sub_path: &str) -> Result<u64, Refusal> {
    let raw = sub_path.strip_prefix('/').unwrap_or(sub_path);
    if raw.is_empty() {
        return Err(Refusal::NoId);
    }
    u64::from_str_radix(raw, 16)
        .ok()
        .filter(|_| !raw.starts_with('+'))
        .ok_or_else(|| Refusal::Message(StatusCode::NOT_FOUND, format!("No such member: {raw}")))
}

async fn post<B: ClusterBackend + ?Sized>(backend: &B, call: MembersCall<'_>) -> Response<Body> {
    let peer_urls = match peer_urls_request(call.content_type, call.body, call.body_error) {
        Ok(urls) => urls,
        Err(refusal) => return refusal.into_response(),
    };
    match backend.add_member(peer_urls).await {
        Ok(m) => json(StatusCode::CREATED, to_go_json_line(&m)),
        Err(e @ (MembersError::IdExists | MembersError::PeerUrlExists)) => {
            message_error(StatusCode::CONFLICT, e.to_string())
        }
        Err(e) => internal_error(&e),
    }
}

async fn delete<B: ClusterBackend + ?Sized>(backend: &B, sub_path: &str) -> Response<Body> {
    let id = match member_id(sub_path) {
        Ok(id) => id,
        Err(refusal) => return refusal.into_response(),
    };
    match backend.remove_member(id).await {
        Ok(()) => no_content(),
        Err(MembersError::IdRemoved) => message_error(
            StatusCode::GONE,
            format!("Member permanently removed: {id:x}"),
        ),
        Err(MembersError::IdNotFound) => {
            message_error(StatusCode::NOT_FOUND, format!("No such member: {id:x}"))
        }
        Err(e) => internal_error(&e),
    }
}

async fn put<B: ClusterBackend + ?Sized>(backend: &B, call: MembersCall<'_>) -> Response<Body> {
    let id = match member_id(call.sub_path) {
        Ok(id) => id,
        Err(refusal) => return refusal.into_response(),
    };
    let peer_urls = match peer_urls_request(call.content_type, call.body, call.body_error) {
        Ok(urls) => urls,
        Err(refusal) => return refusal.into_response(),
    };
    match backend.update_member(id, peer_urls).await {
        Ok(()) => no_content(),
        Err(e @ MembersError::PeerUrlExists) => message_error(StatusCode::CONFLICT, e.to_string()),
        Err(MembersError::IdNotFound) => {
            message_error(StatusCode::NOT_FOUND, format!("No such member: {id:x}"))
        }
        Err(e) => internal_error(&e),
    }
}

fn no_content() -> Response<Body> {
    let mut resp = Response::new(full(Vec::new()));
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

/// The peer URLs of a POST or PUT body (etcd's `unmarshalRequest` plus
/// `MemberCreateRequest.UnmarshalJSON`), or why not (415, 400).
fn peer_urls_request(
    content_type: Option<&str>,
    body: &[u8],
    body_error: Option<&BodyError>,
) -> Result<Vec<String>, Refusal> {
    let raw_ct = content_type.unwrap_or("");
    let ct = match raw_ct.find(';') {
        Some(i) => raw_ct[..i].trim().to_ascii_lowercase(),
        None => raw_ct.to_string(),
    };
    if ct != "application/json" {
        return Err(Refusal::Message(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("Bad Content-Type {ct}, accept application/json"),
        ));
    }
    let bad = |msg: String| Refusal::Message(StatusCode::BAD_REQUEST, msg);
    // etcd reads the body after the type check: a read error is its message.
    if let Some(e) = body_error {
        return Err(bad(e.0.clone()));
    }
    decode_peer_urls(body)
        .map_err(bad)
        .and_then(|urls| validate_urls(&urls).map_err(bad))
}

const REQUEST_TYPE: &str = "struct { PeerURLs []string \"json:\\\"peerURLs\\\"\" }";

/// Decodes `{"peerURLs": [...]}` as Go's `json.Unmarshal` would (keys match
/// case-insensitively, `null` is empty), with Go's error texts.
fn decode_peer_urls(body: &[u8]) -> Result<Vec<String>, String> {
    if let Some(e) = go_json_syntax_error(body) {
        return Err(e);
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let obj = match value {
        serde_json::Value::Null => return Ok(Vec::new()),
        serde_json::Value::Object(o) => o,
        other => {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type {REQUEST_TYPE}",
                go_kind(&other)
            ));
        }
    };
    let field = obj
        .get("peerURLs")
        .or_else(|| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("peerURLs"))
                .map(|(_, v)| v)
        })
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    match field {
        serde_json::Value::Null => Ok(Vec::new()),
        serde_json::Value::Array(items) => {
            let mut urls = Vec::with_capacity(items.len());
            let mut first_err = None;
            for item in items {
                match item {
                    serde_json::Value::String(s) => urls.push(s),
                    serde_json::Value::Null => urls.push(String::new()),
                    other => {
                        first_err.get_or_insert_with(|| {
                            format!(
                                "json: cannot unmarshal {} into Go struct field .peerURLs of type string",
                                go_kind(&other)
                            )
                        });
                        urls.push(String::new());
                    }
                }
            }
            match first_err {
                Some(e) => Err(e),
                None => Ok(urls),
            }
        }
        other => Err(format!(
            "json: cannot unmarshal {} into Go struct field .peerURLs of type []string",
            go_kind(&other)
        )),
    }
}

/// etcd's `types.NewURLs`: at least one URL, each with an http(s)/unix(s) scheme, a
/// `host:port` and no path; returned trimmed and sorted.
pub fn validate_urls(urls: &[String]) -> Result<Vec<String>, String> {
    if urls.is_empty() {
        return Err("no valid URLs given".into());
    }
    let mut out = Vec::with_capacity(urls.len());
    for raw in urls {
        let u = raw.trim();
        let (scheme, rest) = split_scheme(u);
        if !matches!(scheme.as_str(), "http" | "https" | "unix" | "unixs") {
            return Err(format!(
                "URL scheme must be http, https, unix, or unixs: {u}"
            ));
        }
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        let (host, path) = match rest.strip_prefix("//") {
            Some(r) => match r.find('/') {
                Some(i) => (&r[..i], &r[i..]),
                None => (r, ""),
            },
            None => ("", rest),
        };
        if !has_host_port(host) {
            return Err(format!(
                "URL address does not have the form \"host:port\": {u}"
            ));
        }
        if !path.is_empty() {
            return Err(format!("URL must not contain a path: {u}"));
        }
        out.push(format!("{scheme}{}", &u[scheme.len()..]));
    }
    out.sort();
    Ok(out)
}

/// Go's `getScheme` (lowercased): letters first, then letters, digits, `+-.`, up to
/// a `:`; no scheme otherwise.
fn split_scheme(u: &str) -> (String, &str) {
    for (i, c) in u.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i > 0 => return (u[..i].to_ascii_lowercase(), &u[i + 1..]),
            _ => break,
        }
    }
    (String::new(), u)
}

/// Go's `net.SplitHostPort` succeeds.
fn has_host_port(host: &str) -> bool {
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.find(']') {
            Some(i) => rest[i + 1..].starts_with(':') && !rest[i + 2..].contains(':'),
            None => false,
        };
    }
    match host.rfind(':') {
        Some(i) => !host[..i].contains(':'),
        None => false,
    }
}

#[cfg(test)]
mod tests;
