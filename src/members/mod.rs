//! The members API (`/v2/members`): Go's `MembersAPI`.

mod http;
mod peer_url;

pub use self::http::{HttpMembersAPI, new_members_api};
pub use self::peer_url::PeerUrlError;
use crate::error::Result;
pub use crate::wire::Member;
use async_trait::async_trait;

/// Lists and changes cluster membership (Go's `client.MembersAPI`).
#[async_trait]
pub trait MembersAPI: Send + Sync {
    /// The current members.
    async fn list(&self) -> Result<Vec<Member>>;
    /// Adds a member with this peer URL (validated first). At-most-once.
    async fn add(&self, peer_url: &str) -> Result<Member>;
    /// Removes the member with this hex id (a member already removed counts as success).
    async fn remove(&self, member_id: &str) -> Result<()>;
    /// Replaces a member's peer URLs.
    async fn update(&self, member_id: &str, peer_urls: &[String]) -> Result<()>;
    /// The current leader.
    async fn leader(&self) -> Result<Member>;
}

#[cfg(test)]
mod tests;
