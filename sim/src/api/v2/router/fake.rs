//! A stand-in server for handler tests: applies every command at once, keeps a
//! member list in memory.

use crate::api::v2::members::{ClusterBackend, MembersError};
use crate::api::v2::response::Body;
use crate::api::v2::stats::{LeaderInfo, LeaderStats, SelfStats, StatsBackend};
use crate::server::backend::{RaftStatus, ReplicationError, V2Backend};
use crate::server::testing::Local;
use crate::server::v2_command::V2Command;
use crate::store::v2::{Reply, Store, StoreError};
use async_trait::async_trait;
use bytes::Bytes;
use etcd_sdk::v3::pb::etcdserverpb::Member as V3Member;
use etcd_sdk::wire::Member;
use http::Response;
use http_body_util::BodyExt;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

pub(crate) struct Fake {
    /// The store and its proposals (set `v2.fail` to fail them).
    pub v2: Local,
    pub members: Mutex<Vec<Member>>,
    pub removed: Mutex<Vec<u64>>,
    /// The members (by hex id) that are learners.
    pub learners: Mutex<Vec<String>>,
    pub leader: Option<u64>,
    pub version: Option<String>,
}

pub(crate) fn member(id: u64, name: &str, n: u8) -> Member {
    Member {
        id: format!("{id:x}"),
        name: name.into(),
        peer_urls: vec![format!("http://10.0.0.{n}:2380")],
        client_urls: vec![format!("http://10.0.0.{n}:2379")],
    }
}

impl Fake {
    pub fn new() -> Self {
        Fake {
            v2: Local::new(),
            members: Mutex::new(vec![member(1, "one", 1), member(2, "two", 2)]),
            removed: Mutex::new(vec![]),
            learners: Mutex::new(vec![]),
            leader: Some(1),
            version: Some("3.4.0".into()),
        }
    }
}

pub(crate) const CLUSTER_ID: u64 = 0xf10b_0bf1_d8ed_a5d5;

/// The v2 part is [`Local`]'s, under this fake's cluster id.
#[async_trait]
impl V2Backend for Fake {
    async fn propose_v2(
        &self,
        command: V2Command,
        now: SystemTime,
    ) -> Result<Result<Reply, StoreError>, ReplicationError> {
        self.v2.propose_v2(command, now).await
    }
    fn v2_store(&self) -> Arc<Mutex<Store>> {
        self.v2.v2_store()
    }
    fn cluster_id(&self) -> u64 {
        CLUSTER_ID
    }
    fn raft_status(&self) -> RaftStatus {
        self.v2.raft_status()
    }
    fn now(&self) -> SystemTime {
        self.v2.now()
    }
}

#[async_trait]
impl ClusterBackend for Fake {
    fn member_list(&self) -> Vec<Member> {
        self.members.lock().unwrap().clone()
    }
    fn leader_id(&self) -> Option<u64> {
        self.leader
    }
    fn cluster_version(&self) -> Option<String> {
        self.version.clone()
    }
    async fn add_member(&self, peer_urls: Vec<String>) -> Result<Member, MembersError> {
        let mut members = self.members.lock().unwrap();
        if members
            .iter()
            .any(|m| m.peer_urls.iter().any(|u| peer_urls.contains(u)))
        {
            return Err(MembersError::PeerUrlExists);
        }
        let m = Member {
            id: "77de7ee9858fd88a".into(),
            name: String::new(),
            peer_urls,
            client_urls: vec![],
        };
        members.push(m.clone());
        Ok(m)
    }
    async fn remove_member(&self, id: u64) -> Result<(), MembersError> {
        if self.removed.lock().unwrap().contains(&id) {
            return Err(MembersError::IdRemoved);
        }
        let mut members = self.members.lock().unwrap();
        let before = members.len();
        members.retain(|m| m.id != format!("{id:x}"));
        if members.len() == before {
            return Err(MembersError::IdNotFound);
        }
        self.removed.lock().unwrap().push(id);
        Ok(())
    }
    async fn update_member(&self, id: u64, peer_urls: Vec<String>) -> Result<(), MembersError> {
        let mut members = self.members.lock().unwrap();
        let hex = format!("{id:x}");
        if members
            .iter()
            .any(|m| m.id != hex && m.peer_urls.iter().any(|u| peer_urls.contains(u)))
        {
            return Err(MembersError::PeerUrlExists);
        }
        let m = members
            .iter_mut()
            .find(|m| m.id == hex)
            .ok_or(MembersError::IdNotFound)?;
        m.peer_urls = peer_urls;
        Ok(())
    }

    fn v3_members(&self) -> Vec<V3Member> {
        let learners = self.learners.lock().unwrap().clone();
        self.member_list()
            .into_iter()
            .map(|m| V3Member {
                id: u64::from_str_radix(&m.id, 16).unwrap_or(0),
                is_learner: learners.contains(&m.id),
                name: m.name,
                peer_ur_ls: m.peer_urls,
                client_ur_ls: m.client_urls,
            })
            .collect()
    }

    async fn add_member_as(
        &self,
        peer_urls: Vec<String>,
        learner: bool,
    ) -> Result<V3Member, MembersError> {
        if learner && !self.learners.lock().unwrap().is_empty() {
            return Err(MembersError::TooManyLearners);
        }
        let m = self.add_member(peer_urls).await?;
        if learner {
            self.learners.lock().unwrap().push(m.id.clone());
        }
        Ok(V3Member {
            id: u64::from_str_radix(&m.id, 16).unwrap_or(0),
            peer_ur_ls: m.peer_urls,
            is_learner: learner,
            ..V3Member::default()
        })
    }

    async fn promote_member(&self, id: u64) -> Result<(), MembersError> {
        let hex = format!("{id:x}");
        if !self.members.lock().unwrap().iter().any(|m| m.id == hex) {
            return Err(MembersError::IdNotFound);
        }
        let mut learners = self.learners.lock().unwrap();
        let before = learners.len();
        learners.retain(|l| *l != hex);
        if learners.len() == before {
            return Err(MembersError::MemberNotLearner);
        }
        Ok(())
    }
}

impl StatsBackend for Fake {
    fn self_stats(&self) -> SelfStats {
        SelfStats {
            name: "one".into(),
            id: "1".into(),
            state: "StateLeader".into(),
            start_time: "2026-11-20T23:00:00Z".into(),
            leader_info: LeaderInfo {
                leader: "1".into(),
                uptime: "1s".into(),
                start_time: "2026-11-20T23:00:01Z".into(),
            },
            recv_append_request_cnt: 0,
            send_append_request_cnt: 4,
        }
    }
    fn leader_stats(&self) -> Option<LeaderStats> {
        (self.leader == Some(1)).then(|| LeaderStats {
            leader: "1".into(),
            followers: BTreeMap::new(),
        })
    }
}

/// Sends a request through the router.
pub(crate) async fn send(
    fake: &Fake,
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: &str,
) -> Response<Body> {
    let mut req = http::Request::builder().method(method).uri(uri);
    if let Some(ct) = content_type {
        req = req.header("Content-Type", ct);
    }
    let req = req.body(Bytes::from(body.to_string())).unwrap();
    super::route(fake, req).await
}

pub(crate) async fn body_text(resp: Response<Body>) -> String {
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

pub(crate) fn header<'a>(resp: &'a Response<Body>, name: &str) -> Option<&'a str> {
    resp.headers().get(name).map(|v| v.to_str().unwrap())
}
