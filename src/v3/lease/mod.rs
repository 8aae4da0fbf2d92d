//! The [`Lease`] trait (Go's `clientv3.Lease`), its typed responses, and its
//! implementation by [`Client`]: grant, revoke, time-to-live and list as
//! unary calls, keepalives over one shared stream.

mod keepalive;
mod schedule;
mod stream;

pub(crate) use keepalive::KeepAliveHub;
pub use stream::KeepAliveStream;

use super::client::{Client, Retry};
use super::error::{Error, EtcdError, Result};
use super::kv::ResponseHeader;
use super::pb::etcdserverpb::{self as pb, lease_client::LeaseClient};
use crate::v3::streams::sleep_until;
use async_trait::async_trait;
use futures_util::StreamExt;
use keepalive::{Command, Sink};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tonic::Code;

/// A lease's ID (Go's `LeaseID`); `0` means no lease.
pub type LeaseId = i64;

/// The result of a grant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeaseGrantResponse {
    /// The header.
    pub header: Option<ResponseHeader>,
    /// The new lease.
    pub id: LeaseId,
    /// The TTL granted, in seconds (at least the server's minimum, 2 s by
    /// default).
    pub ttl: i64,
    /// etcd's `error` field (always empty in 3.4).
    pub error: String,
}

/// The result of a revoke.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeaseRevokeResponse {
    /// The header (its revision is the one that deleted the lease's keys).
    pub header: Option<ResponseHeader>,
}

/// One answer of a keepalive.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeaseKeepAliveResponse {
    /// The header.
    pub header: Option<ResponseHeader>,
    /// The lease.
    pub id: LeaseId,
    /// The TTL it was renewed for, in seconds (the granted TTL).
    pub ttl: i64,
}

/// The result of a time-to-live query.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeaseTimeToLiveResponse {
    /// The header.
    pub header: Option<ResponseHeader>,
    /// The lease.
    pub id: LeaseId,
    /// Seconds left (rounded down); `-1` when the lease does not exist
    /// (etcd answers that rather than an error).
    pub ttl: i64,
    /// The TTL it was granted with (`0` when it does not exist).
    pub granted_ttl: i64,
    /// The keys attached, with [`TimeToLiveOptions::keys`].
    pub keys: Vec<Vec<u8>>,
}

/// A lease in a [`LeaseLeasesResponse`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeaseStatus {
    /// The lease.
    pub id: LeaseId,
}

/// The result of listing the leases.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeaseLeasesResponse {
    /// The header.
    pub header: Option<ResponseHeader>,
    /// Every lease, in the server's order (not sorted).
    pub leases: Vec<LeaseStatus>,
}

/// Options of a time-to-live query. `Default`: without the keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeToLiveOptions {
    /// Also list the keys attached to the lease (`WithAttachedKeys`).
    pub keys: bool,
}

impl TimeToLiveOptions {
    /// With the attached keys (`WithAttachedKeys`).
    pub fn with_keys() -> TimeToLiveOptions {
        TimeToLiveOptions { keys: true }
    }
}

impl From<pb::LeaseKeepAliveResponse> for LeaseKeepAliveResponse {
    fn from(r: pb::LeaseKeepAliveResponse) -> Self {
        LeaseKeepAliveResponse {
            header: r.header,
            id: r.id,
            ttl: r.ttl,
        }
    }
}

/// Lease calls (Go's `clientv3.Lease`). [`Client`] implements it.
///
/// ```no_run
/// use etcd_sdk::v3::{Client, KV, Lease, PutOptions};
/// use futures_util::StreamExt;
///
/// # async fn demo() -> etcd_sdk::v3::Result<()> {
/// let client = Client::connect(["127.0.0.1:2379"]).await?;
/// let lease = client.grant(10).await?;
/// client
///     .put("service/a", "up", PutOptions { lease: lease.id, ..Default::default() })
///     .await?;
/// let mut renewals = client.keep_alive(lease.id).await?;
/// while let Some(answer) = renewals.next().await {
///     println!("renewed for {} s", answer?.ttl);
/// }
/// # Ok(()) }
/// ```
#[async_trait]
pub trait Lease: Send + Sync {
    /// Grants a lease of `ttl` seconds (the server raises it to its minimum,
    /// 2 s by default, and refuses more than 9,000,000,000 with
    /// [`EtcdError::LeaseTtlTooLarge`]).
    async fn grant(&self, ttl: i64) -> Result<LeaseGrantResponse>;

    /// Revokes lease `id`, deleting its keys in one revision; fails with
    /// [`EtcdError::LeaseNotFound`] when it does not exist.
    async fn revoke(&self, id: LeaseId) -> Result<LeaseRevokeResponse>;

    /// The time left on lease `id` (TTL -1 when it does not exist).
    async fn time_to_live(
        &self,
        id: LeaseId,
        opts: TimeToLiveOptions,
    ) -> Result<LeaseTimeToLiveResponse>;

    /// Every lease of the cluster.
    async fn leases(&self) -> Result<LeaseLeasesResponse>;

    /// Keeps lease `id` alive until the returned stream is dropped (or the
    /// client closed), renewing it a third of its TTL after each answer
    /// over the client's one keepalive stream. See [`KeepAliveStream`] for
    /// what it yields and how it ends. Fails only when the client is closed.
    async fn keep_alive(&self, id: LeaseId) -> Result<KeepAliveStream>;

    /// Renews lease `id` once, on a stream of its own; fails with
    /// [`EtcdError::LeaseNotFound`] when it expired or does not exist.
    async fn keep_alive_once(&self, id: LeaseId) -> Result<LeaseKeepAliveResponse>;

    /// Stops every keepalive of the client (their streams yield
    /// [`Error::Closed`]); leases are not revoked. [`Client::close`] does
    /// this too.
    async fn close(&self) -> Result<()>;
}

/// The pause between attempts of [`Lease::keep_alive_once`].
const ONCE_RETRY_PAUSE: Duration = Duration::from_millis(25);
/// The bound on attempts of [`Lease::keep_alive_once`].
const ONCE_MAX_ATTEMPTS: u32 = 100;

impl Client {
    fn lease_client(&self) -> LeaseClient<crate::v3::layer::GrpcChannel> {
        LeaseClient::new(self.channel())
            .max_encoding_message_size(self.config().effective_max_call_send_msg_size())
            .max_decoding_message_size(self.config().effective_max_call_recv_msg_size())
    }

    /// One keepalive request on a stream of its own: the first answer.
    async fn keep_alive_attempt(
        &self,
        id: LeaseId,
        deadline: Option<Instant>,
    ) -> std::result::Result<pb::LeaseKeepAliveResponse, tonic::Status> {
        let mut lc = self.lease_client();
        let req = self.request(
            futures_util::stream::iter([pb::LeaseKeepAliveRequest { id }])
                .chain(futures_util::stream::pending()),
            deadline,
        );
        let mut answers = lc.lease_keep_alive(req).await?.into_inner();
        match answers.next().await {
            Some(r) => r,
            None => Err(tonic::Status::unavailable(
                "the keepalive stream ended without an answer",
            )),
        }
    }
}

/// Whether a failed keepalive attempt is worth another one (Go: anything
/// but a halting error; here transport-like codes only).
fn retry_once(status: &tonic::Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Internal | Code::Unknown
    ) && status.message() != "Timeout expired"
}

#[async_trait]
impl Lease for Client {
    /// Repeatable, as Go tags it: re-sent on Unavailable (a grant that was
    /// applied and then re-sent leaves an extra lease that expires).
    async fn grant(&self, ttl: i64) -> Result<LeaseGrantResponse> {
        let r = self
            .unary(Retry::Repeatable, |c, d| {
                let mut lc = c.lease_client();
                let req = c.request(pb::LeaseGrantRequest { ttl, id: 0 }, d);
                async move { lc.lease_grant(req).await }
            })
            .await?;
        Ok(LeaseGrantResponse {
            header: r.header,
            id: r.id,
            ttl: r.ttl,
            error: r.error,
        })
    }

    /// Repeatable, as Go tags it (a revoke applied and then re-sent fails
    /// with [`EtcdError::LeaseNotFound`]).
    async fn revoke(&self, id: LeaseId) -> Result<LeaseRevokeResponse> {
        let r = self
            .unary(Retry::Repeatable, |c, d| {
                let mut lc = c.lease_client();
                let req = c.request(pb::LeaseRevokeRequest { id }, d);
                async move { lc.lease_revoke(req).await }
            })
            .await?;
        Ok(LeaseRevokeResponse { header: r.header })
    }

    async fn time_to_live(
        &self,
        id: LeaseId,
        opts: TimeToLiveOptions,
    ) -> Result<LeaseTimeToLiveResponse> {
        let r = self
            .unary(Retry::Repeatable, |c, d| {
                let mut lc = c.lease_client();
                let req = c.request(
                    pb::LeaseTimeToLiveRequest {
                        id,
                        keys: opts.keys,
                    },
                    d,
                );
                async move { lc.lease_time_to_live(req).await }
            })
            .await?;
        Ok(LeaseTimeToLiveResponse {
            header: r.header,
            id: r.id,
            ttl: r.ttl,
            granted_ttl: r.granted_ttl,
            keys: r.keys,
        })
    }

    async fn leases(&self) -> Result<LeaseLeasesResponse> {
        let r = self
            .unary(Retry::Repeatable, |c, d| {
                let mut lc = c.lease_client();
                let req = c.request(pb::LeaseLeasesRequest {}, d);
                async move { lc.lease_leases(req).await }
            })
            .await?;
        Ok(LeaseLeasesResponse {
            header: r.header,
            leases: r
                .leases
                .into_iter()
                .map(|l| LeaseStatus { id: l.id })
                .collect(),
        })
    }

    async fn keep_alive(&self, id: LeaseId) -> Result<KeepAliveStream> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        let hub = &self.streams().lease;
        let caller = hub.new_caller();
        let (answers, rx) = mpsc::channel(stream::RESPONSE_BUFFER);
        let (halt, halted) = oneshot::channel();
        let sink = Sink::new(answers, halt);
        let tx = hub.send(self, Command::Add { id, caller, sink });
        Ok(KeepAliveStream::new(id, caller, rx, halted, tx))
    }

    async fn keep_alive_once(&self, id: LeaseId) -> Result<LeaseKeepAliveResponse> {
        let deadline = self.call_deadline();
        let mut attempts = 0;
        loop {
            if self.is_closed() {
                return Err(Error::Closed);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(Error::Timeout);
            }
            attempts += 1;
            let attempt = tokio::select! {
                biased;
                _ = self.closed() => return Err(Error::Closed),
                _ = sleep_until(deadline) => return Err(Error::Timeout),
                r = self.keep_alive_attempt(id, deadline) => r,
            };
            match attempt {
                Ok(r) if r.ttl <= 0 => return Err(Error::etcd_error(EtcdError::LeaseNotFound)),
                Ok(r) => return Ok(r.into()),
                Err(status) if retry_once(&status) && attempts < ONCE_MAX_ATTEMPTS => {
                    tracing::debug!(error = %status, lease = id, "v3 lease: retrying a keepalive");
                    tokio::time::sleep(ONCE_RETRY_PAUSE).await;
                }
                Err(status)
                    if deadline.is_some()
                        && (status.code() == Code::DeadlineExceeded
                            || status.message() == "Timeout expired") =>
                {
                    return Err(Error::Timeout);
                }
                Err(status) => return Err(Error::from_status(status)),
            }
        }
    }

    async fn close(&self) -> Result<()> {
        self.streams().lease.send_if_running(Command::CloseAll);
        Ok(())
    }
}
