//! The [`Cluster`] trait (Go's `clientv3.Cluster`): membership calls, their
//! typed responses, and their implementation by [`Client`].

use super::client::{Client, Retry};
use super::error::{Error, Result};
use super::pb::etcdserverpb::{
    self as pb, MemberAddRequest, MemberListRequest, MemberPromoteRequest, MemberRemoveRequest,
    MemberUpdateRequest,
};
use async_trait::async_trait;

pub use super::pb::etcdserverpb::{Member, ResponseHeader};

/// The result of a member list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemberListResponse {
    /// The header (etcd leaves its `revision` at 0 for membership calls).
    pub header: Option<ResponseHeader>,
    /// Every member, voters and learners. A member added but not yet
    /// started has an empty name and no client URLs.
    pub members: Vec<Member>,
}

/// The result of a member add.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemberAddResponse {
    /// The header (no revision).
    pub header: Option<ResponseHeader>,
    /// The member added, with the ID the cluster gave it.
    pub member: Option<Member>,
    /// The members after the change.
    pub members: Vec<Member>,
}

/// The result of a member remove, update or promote: the members after the
/// change.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemberChangeResponse {
    /// The header (no revision).
    pub header: Option<ResponseHeader>,
    /// The members after the change.
    pub members: Vec<Member>,
}

/// The result of a member remove.
pub type MemberRemoveResponse = MemberChangeResponse;
/// The result of a member update.
pub type MemberUpdateResponse = MemberChangeResponse;
/// The result of a member promote.
pub type MemberPromoteResponse = MemberChangeResponse;

/// Membership calls (Go's `clientv3.Cluster`). The list is repeatable (sent
/// again on another endpoint when one is unavailable); the changes are not,
/// and a change cut short after it may have reached a member fails with
/// [`Error::OutcomeUnknown`].
#[async_trait]
pub trait Cluster: Send + Sync {
    /// Lists the members.
    async fn member_list(&self) -> Result<MemberListResponse>;

    /// Adds a voting member with these peer URLs (`http://host:port`);
    /// URLs that do not parse are refused before anything is sent.
    async fn member_add(&self, peer_urls: Vec<String>) -> Result<MemberAddResponse>;

    /// Adds a learner (a non-voting member, promoted later with
    /// [`Cluster::member_promote`]).
    async fn member_add_as_learner(&self, peer_urls: Vec<String>) -> Result<MemberAddResponse>;

    /// Removes the member with this ID.
    async fn member_remove(&self, id: u64) -> Result<MemberRemoveResponse>;

    /// Replaces the peer URLs of the member with this ID.
    async fn member_update(&self, id: u64, peer_urls: Vec<String>) -> Result<MemberUpdateResponse>;

    /// Makes the learner with this ID a voter (refused until it has caught
    /// up with the leader).
    async fn member_promote(&self, id: u64) -> Result<MemberPromoteResponse>;
}

/// Refuses peer URLs etcd could not use (Go checks them before sending, as
/// a bad one would make the members' peer transport fail): each must be
/// `http://host:port` or `https://host:port`, and there must be one.
pub(crate) fn check_peer_urls(urls: &[String]) -> Result<()> {
    let invalid = |url: &str, reason: &str| Error::InvalidEndpoint {
        endpoint: url.to_string(),
        reason: format!("peer URL: {reason}"),
    };
    if urls.is_empty() {
        return Err(invalid("", "at least one peer URL is needed"));
    }
    for url in urls {
        let authority = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .ok_or_else(|| invalid(url, "expected http:// or https://"))?;
        let (host, port) = authority
            .rsplit_once(':')
            .ok_or_else(|| invalid(url, "expected scheme://host:port"))?;
        if host.is_empty() || host.contains(['/', '?', '#', ' ']) || port.parse::<u16>().is_err() {
            return Err(invalid(url, "expected scheme://host:port"));
        }
    }
    Ok(())
}

fn change(header: Option<ResponseHeader>, members: Vec<Member>) -> MemberChangeResponse {
    MemberChangeResponse { header, members }
}

impl Client {
    async fn add_member(
        &self,
        peer_urls: Vec<String>,
        is_learner: bool,
    ) -> Result<MemberAddResponse> {
        check_peer_urls(&peer_urls)?;
        let req = MemberAddRequest {
            peer_ur_ls: peer_urls,
            is_learner,
        };
        let r: pb::MemberAddResponse = self
            .unary(Retry::NonRepeatable, |c, d| {
                let mut cl = c.cluster_client();
                let req = c.request(req.clone(), d);
                async move { cl.member_add(req).await }
            })
            .await?;
        Ok(MemberAddResponse {
            header: r.header,
            member: r.member,
            members: r.members,
        })
    }
}

#[async_trait]
impl Cluster for Client {
    async fn member_list(&self) -> Result<MemberListResponse> {
        let r = self
            .unary(Retry::Repeatable, |c, d| {
                let mut cl = c.cluster_client();
                let req = c.request(MemberListRequest {}, d);
                async move { cl.member_list(req).await }
            })
            .await?;
        Ok(MemberListResponse {
            header: r.header,
            members: r.members,
        })
    }

    async fn member_add(&self, peer_urls: Vec<String>) -> Result<MemberAddResponse> {
        self.add_member(peer_urls, false).await
    }

    async fn member_add_as_learner(&self, peer_urls: Vec<String>) -> Result<MemberAddResponse> {
        self.add_member(peer_urls, true).await
    }

    async fn member_remove(&self, id: u64) -> Result<MemberRemoveResponse> {
        let r = self
            .unary(Retry::NonRepeatable, |c, d| {
                let mut cl = c.cluster_client();
                let req = c.request(MemberRemoveRequest { id }, d);
                async move { cl.member_remove(req).await }
            })
            .await?;
        Ok(change(r.header, r.members))
    }

    async fn member_update(&self, id: u64, peer_urls: Vec<String>) -> Result<MemberUpdateResponse> {
        check_peer_urls(&peer_urls)?;
        let req = MemberUpdateRequest {
            id,
            peer_ur_ls: peer_urls,
        };
        let r = self
            .unary(Retry::NonRepeatable, |c, d| {
                let mut cl = c.cluster_client();
                let req = c.request(req.clone(), d);
                async move { cl.member_update(req).await }
            })
            .await?;
        Ok(change(r.header, r.members))
    }

    async fn member_promote(&self, id: u64) -> Result<MemberPromoteResponse> {
        let r = self
            .unary(Retry::NonRepeatable, |c, d| {
                let mut cl = c.cluster_client();
                let req = c.request(MemberPromoteRequest { id }, d);
                async move { cl.member_promote(req).await }
            })
            .await?;
        Ok(change(r.header, r.members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_urls_need_a_scheme_host_and_port() {
        let ok = |u: &[&str]| check_peer_urls(&u.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(ok(&["http://127.0.0.1:2380"]).is_ok());
        assert!(ok(&["https://node1:2380", "http://10.0.0.1:2380"]).is_ok());
        for bad in [
            &[][..],
            &["127.0.0.1:2380"][..],
            &["unix:///tmp/sock"][..],
            &["http://127.0.0.1"][..],
            &["http://:2380"][..],
            &["http://127.0.0.1:2380/path"][..],
            &["http://127.0.0.1:2380", "ftp://x:1"][..],
        ] {
            assert!(
                matches!(ok(bad), Err(Error::InvalidEndpoint { .. })),
                "{bad:?} accepted"
            );
        }
    }
}
