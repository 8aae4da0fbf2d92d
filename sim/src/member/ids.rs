//! Member and cluster ids, computed as etcd 3.4 does (`membership.NewMember`,
//! `RaftCluster.genID`), so the same URLs and token give the ids a real etcd
//! cluster would show.

use sha1::{Digest, Sha1};

/// The first 8 bytes of `digest`, big-endian.
fn leading_u64(digest: [u8; 20]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(b)
}

/// The id etcd gives a member with these peer URLs in a cluster started with
/// `cluster_token` (`--initial-cluster-token`): SHA-1 over the sorted URLs, then the
/// token, then (for a member added at run time) the Unix seconds of `added_at`; the
/// first 8 bytes big-endian.
pub fn member_id_of(peer_urls: &[String], cluster_token: &str, added_at: Option<u64>) -> u64 {
    let mut urls: Vec<&str> = peer_urls.iter().map(String::as_str).collect();
    urls.sort_unstable();
    let mut b = Vec::new();
    for u in urls {
        b.extend_from_slice(u.as_bytes());
    }
    b.extend_from_slice(cluster_token.as_bytes());
    if let Some(secs) = added_at {
        b.extend_from_slice(secs.to_string().as_bytes());
    }
    leading_u64(Sha1::digest(&b).into())
}

/// The id of a member with one peer URL in a cluster started with `cluster_token`:
/// deterministic, and the one etcd would compute for an initial member.
pub fn member_id(peer_url: &str, cluster_token: &str) -> u64 {
    member_id_of(&[peer_url.to_string()], cluster_token, None)
}

/// The cluster id of a cluster whose initial members have `ids`: SHA-1 over the
/// sorted ids as 8-byte big-endian words, first 8 bytes big-endian.
pub fn cluster_id(ids: &[u64]) -> u64 {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    let mut b = Vec::with_capacity(ids.len() * 8);
    for id in ids {
        b.extend_from_slice(&id.to_be_bytes());
    }
    leading_u64(Sha1::digest(&b).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_match_a_live_etcd() {
        // etcd 3.4.23, one member, peer URL http://127.0.0.1:24801, default token
        // (spec §9 V1, V35, V37).
        let id = member_id("http://127.0.0.1:24801", "etcd-cluster");
        assert_eq!(id, 0xf4a4_5700_8d14_41f2);
        assert_eq!(cluster_id(&[id]), 0xf10b_0bf1_d8ed_a5d5);
    }

    #[test]
    fn order_does_not_matter_and_time_changes_the_id() {
        let a = vec!["http://b:2".to_string(), "http://a:1".to_string()];
        let b = vec!["http://a:1".to_string(), "http://b:2".to_string()];
        assert_eq!(member_id_of(&a, "t", None), member_id_of(&b, "t", None));
        assert_ne!(member_id_of(&a, "t", None), member_id_of(&a, "t", Some(5)));
        assert_ne!(member_id_of(&a, "t", None), member_id_of(&a, "u", None));
        assert_eq!(cluster_id(&[3, 1, 2]), cluster_id(&[1, 2, 3]));
    }
}
