//! The [`Maintenance`] trait (Go's `clientv3.Maintenance`): alarms, status,
//! hashes, defragmentation, snapshots and leadership transfer; typed
//! responses; the implementation by [`Client`].

use super::client::{Client, Retry};
use super::error::{Error, Result};
use super::pb::etcdserverpb::{
    AlarmRequest, DefragmentRequest, HashKvRequest, MoveLeaderRequest, SnapshotRequest,
    SnapshotResponse, StatusRequest, alarm_request::AlarmAction,
};
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use super::pb::etcdserverpb::{AlarmMember, AlarmType, ResponseHeader};

/// The result of an alarm list or disarm.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlarmResponse {
    /// The header (etcd 3.4 sends none).
    pub header: Option<ResponseHeader>,
    /// The alarms listed, or those disarmed.
    pub alarms: Vec<AlarmMember>,
}

/// The result of a defragment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DefragmentResponse {
    /// The header (etcd 3.4 sends none).
    pub header: Option<ResponseHeader>,
}

/// One member's status.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatusResponse {
    /// The header; its `member_id` is the answering member's.
    pub header: Option<ResponseHeader>,
    /// The server's version (`3.4.23`).
    pub version: String,
    /// The backend database's size in bytes.
    pub db_size: i64,
    /// The leader's member ID as this member knows it (0: none).
    pub leader: u64,
    /// The member's raft index.
    pub raft_index: u64,
    /// The member's raft term.
    pub raft_term: u64,
    /// The member's applied raft index.
    pub raft_applied_index: u64,
    /// Problems the member reports (alarms, no leader).
    pub errors: Vec<String>,
    /// The bytes of the database in use (the rest is free after compaction
    /// and is returned by a defragment).
    pub db_size_in_use: i64,
    /// Whether the member is a learner.
    pub is_learner: bool,
}

impl StatusResponse {
    /// The answering member's ID (from the header; 0 if there is none).
    pub fn member_id(&self) -> u64 {
        self.header.as_ref().map_or(0, |h| h.member_id)
    }

    /// Whether the answering member is the leader it reports.
    pub fn is_leader(&self) -> bool {
        self.leader != 0 && self.leader == self.member_id()
    }
}

/// The result of a hash of the key-value store.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HashKvResponse {
    /// The header; its revision is the member's current one.
    pub header: Option<ResponseHeader>,
    /// The hash of the MVCC keys and values up to the revision asked for.
    pub hash: u32,
    /// The store's compacted revision.
    pub compact_revision: i64,
}

/// The result of a leadership transfer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MoveLeaderResponse {
    /// The header (etcd 3.4 sends none).
    pub header: Option<ResponseHeader>,
}

/// A snapshot of the backend as it streams in (from
/// [`Maintenance::snapshot`]): a [`Stream`] of chunks whose concatenation
/// is what `etcdctl snapshot save` writes — the database file followed by
/// the SHA-256 of it (32 bytes). A failure mid-way ends the stream with the
/// error; it is not resumed.
pub struct Snapshot {
    inner: tonic::Streaming<SnapshotResponse>,
    done: bool,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// Reads the whole snapshot into memory.
    pub async fn read_all(mut self) -> Result<Vec<u8>> {
        use futures_util::StreamExt;
        let mut all = Vec::new();
        while let Some(chunk) = self.next().await {
            all.extend_from_slice(&chunk?);
        }
        Ok(all)
    }
}

impl Stream for Snapshot {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Ok(r))) => Poll::Ready(Some(Ok(Bytes::from(r.blob)))),
            Poll::Ready(Some(Err(status))) => {
                self.done = true;
                Poll::Ready(Some(Err(Error::from_status(status))))
            }
        }
    }
}

/// Maintenance calls (Go's `clientv3.Maintenance`). The calls that take an
/// endpoint go to exactly that endpoint (one of the client's or any other
/// member's client URL); the others to any. Defragment is not repeatable;
/// the rest are.
#[async_trait]
pub trait Maintenance: Send + Sync {
    /// The cluster's active alarms.
    async fn alarm_list(&self) -> Result<AlarmResponse>;

    /// Deactivates an alarm. With `member_id` 0 and alarm
    /// [`AlarmType::None`], every listed alarm is deactivated (Go's
    /// behaviour) and the response lists them.
    async fn alarm_disarm(&self, alarm: AlarmMember) -> Result<AlarmResponse>;

    /// Defragments the backend of the member at `endpoint` (it blocks that
    /// member while it runs).
    async fn defragment(&self, endpoint: &str) -> Result<DefragmentResponse>;

    /// The status of the member at `endpoint`.
    async fn status(&self, endpoint: &str) -> Result<StatusResponse>;

    /// The hash of the member at `endpoint`'s key-value store up to
    /// `revision` (0: its current one). Members at the same revision give
    /// the same hash.
    async fn hash_kv(&self, endpoint: &str, revision: i64) -> Result<HashKvResponse>;

    /// Streams a snapshot of one member's backend. The call's deadline
    /// ([`Client::with_timeout`], [`crate::v3::Config::request_timeout`])
    /// bounds the whole stream.
    async fn snapshot(&self) -> Result<Snapshot>;

    /// Hands leadership to the member `target_id`. Sent to the leader,
    /// found by asking every endpoint's status (etcd refuses it elsewhere
    /// with "not leader"); if none of the endpoints reports itself leader,
    /// sent to any, whose answer is returned.
    async fn move_leader(&self, target_id: u64) -> Result<MoveLeaderResponse>;
}

impl Client {
    /// The endpoint (of [`Client::endpoints`]) whose member reports itself
    /// leader, asking all of them at once.
    async fn leader_endpoint(&self) -> Option<String> {
        let endpoints = self.endpoints();
        let asks = endpoints.iter().map(|ep| async move {
            match self.status(ep).await {
                Ok(s) if s.is_leader() => Some(ep.clone()),
                _ => None,
            }
        });
        futures_util::future::join_all(asks)
            .await
            .into_iter()
            .flatten()
            .next()
    }
}

#[async_trait]
impl Maintenance for Client {
    async fn alarm_list(&self) -> Result<AlarmResponse> {
        let req = AlarmRequest {
            action: AlarmAction::Get as i32,
            member_id: 0,
            alarm: AlarmType::None as i32,
        };
        let r = self
            .unary(Retry::Repeatable, |c, d| {
                let mut m = c.maintenance_client();
                let req = c.request(req, d);
                async move { m.alarm(req).await }
            })
            .await?;
        Ok(AlarmResponse {
            header: r.header,
            alarms: r.alarms,
        })
    }

    async fn alarm_disarm(&self, alarm: AlarmMember) -> Result<AlarmResponse> {
        if alarm.member_id == 0 && alarm.alarm == AlarmType::None as i32 {
            let listed = self.alarm_list().await?;
            let mut out = AlarmResponse {
                header: listed.header,
                alarms: Vec::new(),
            };
            for a in listed.alarms {
                let r = self.alarm_disarm(a).await?;
                out.alarms.extend(r.alarms);
            }
            return Ok(out);
        }
        let req = AlarmRequest {
            action: AlarmAction::Deactivate as i32,
            member_id: alarm.member_id,
            alarm: alarm.alarm,
        };
        let r = self
            .unary(Retry::Repeatable, |c, d| {
                let mut m = c.maintenance_client();
                let req = c.request(req, d);
                async move { m.alarm(req).await }
            })
            .await?;
        Ok(AlarmResponse {
            header: r.header,
            alarms: r.alarms,
        })
    }

    async fn defragment(&self, endpoint: &str) -> Result<DefragmentResponse> {
        let r = self
            .unary_at(endpoint, Retry::NonRepeatable, |c, d| {
                let mut m = c.maintenance_client();
                let req = c.request(DefragmentRequest {}, d);
                async move { m.defragment(req).await }
            })
            .await?;
        Ok(DefragmentResponse { header: r.header })
    }

    async fn status(&self, endpoint: &str) -> Result<StatusResponse> {
        let r = self
            .unary_at(endpoint, Retry::Repeatable, |c, d| {
                let mut m = c.maintenance_client();
                let req = c.request(StatusRequest {}, d);
                async move { m.status(req).await }
            })
            .await?;
        Ok(StatusResponse {
            header: r.header,
            version: r.version,
            db_size: r.db_size,
            leader: r.leader,
            raft_index: r.raft_index,
            raft_term: r.raft_term,
            raft_applied_index: r.raft_applied_index,
            errors: r.errors,
            db_size_in_use: r.db_size_in_use,
            is_learner: r.is_learner,
        })
    }

    async fn hash_kv(&self, endpoint: &str, revision: i64) -> Result<HashKvResponse> {
        let r = self
            .unary_at(endpoint, Retry::Repeatable, |c, d| {
                let mut m = c.maintenance_client();
                let req = c.request(HashKvRequest { revision }, d);
                async move { m.hash_kv(req).await }
            })
            .await?;
        Ok(HashKvResponse {
            header: r.header,
            hash: r.hash,
            compact_revision: r.compact_revision,
        })
    }

    async fn snapshot(&self) -> Result<Snapshot> {
        let inner = self
            .unary(Retry::Repeatable, |c, d| {
                let mut m = c.maintenance_client();
                let req = c.request(SnapshotRequest {}, d);
                async move { m.snapshot(req).await }
            })
            .await?;
        Ok(Snapshot { inner, done: false })
    }

    async fn move_leader(&self, target_id: u64) -> Result<MoveLeaderResponse> {
        let call = |c: &Client, d| {
            let mut m = c.maintenance_client();
            let req = c.request(MoveLeaderRequest { target_id }, d);
            async move { m.move_leader(req).await }
        };
        let r = match self.leader_endpoint().await {
            Some(ep) => self.unary_at(&ep, Retry::Repeatable, call).await?,
            None => self.unary(Retry::Repeatable, call).await?,
        };
        Ok(MoveLeaderResponse { header: r.header })
    }
}
