//! Membership: the change requests a node proposes, the events its state machine sees,
//! the peer address book, and the byte layouts that carry addresses through the log
//! (a conf change's context) and through snapshots (ahead of the state machine's bytes).

use protobuf::Message as _;
use raft::eraftpb::{
    ConfChangeSingle, ConfChangeTransition, ConfChangeType, ConfChangeV2, ConfState, Entry,
    EntryType,
};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// What a membership change does to one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChangeKind {
    /// Add the node as a voter (or promote a learner).
    AddVoter,
    /// Add the node as a learner (a non-voting member that receives the log).
    AddLearner,
    /// Remove the node.
    Remove,
}

/// A membership change to propose with [`crate::raft::RaftNode::change_membership`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipChange {
    /// What happens to the node.
    pub kind: ChangeKind,
    /// The node's Raft id (never 0).
    pub node_id: u64,
    /// Where the node listens for Raft messages, recorded in every member's address book
    /// when the change is applied (for additions).
    pub peer_addr: Option<SocketAddr>,
    /// Opaque bytes handed to every member's state machine with the change (etcd puts
    /// the member's name and URLs here).
    pub context: Vec<u8>,
}

/// A committed membership change, as a state machine sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct MembershipEvent {
    /// Log index of the change.
    pub index: u64,
    /// The changes, in order.
    pub changes: Vec<(ChangeKind, u64)>,
    /// The peer address carried by the change, if any.
    pub peer_addr: Option<SocketAddr>,
    /// The proposer's opaque context.
    pub context: Vec<u8>,
    /// This member's membership after the change (ids ascending). While replaying the
    /// bootstrap entries a member that bootstrapped already holds the whole initial
    /// membership, while one that joined later builds it up entry by entry; from then on
    /// all members agree.
    pub conf_state: ConfState,
}

impl MembershipChange {
    /// The raft-rs conf change that carries this request.
    pub fn to_conf_change(&self) -> ConfChangeV2 {
        let change_type = match self.kind {
            ChangeKind::AddVoter => ConfChangeType::AddNode,
            ChangeKind::AddLearner => ConfChangeType::AddLearnerNode,
            ChangeKind::Remove => ConfChangeType::RemoveNode,
        };
        let mut single = ConfChangeSingle::default();
        single.set_change_type(change_type);
        single.node_id = self.node_id;
        let mut cc = ConfChangeV2::default();
        cc.set_transition(ConfChangeTransition::Auto);
        cc.set_changes(vec![single].into());
        cc.context = encode_context(self.peer_addr, &self.context).into();
        cc
    }
}

/// The log a new cluster starts from: one committed conf change entry per initial
/// member (term 1, indices from 1), adding it as a voter with its address.
///
/// # Errors
///
/// The protobuf encoder's error.
pub(crate) fn bootstrap_entries(
    members: &[(u64, Option<SocketAddr>)],
) -> Result<Vec<Entry>, protobuf::ProtobufError> {
    members
        .iter()
        .zip(1u64..)
        .map(|(&(node_id, peer_addr), index)| {
            let change = MembershipChange {
                kind: ChangeKind::AddVoter,
                node_id,
                peer_addr,
                context: Vec::new(),
            };
            let mut e = Entry {
                term: 1,
                index,
                data: change.to_conf_change().write_to_bytes()?.into(),
                ..Default::default()
            };
            e.set_entry_type(EntryType::EntryConfChangeV2);
            Ok(e)
        })
        .collect()
}

/// The changes of a conf change, in our terms.
pub(crate) fn changes_of(cc: &ConfChangeV2) -> Vec<(ChangeKind, u64)> {
    cc.get_changes()
        .iter()
        .map(|c| {
            let kind = match c.get_change_type() {
                ConfChangeType::AddNode => ChangeKind::AddVoter,
                ConfChangeType::AddLearnerNode => ChangeKind::AddLearner,
                ConfChangeType::RemoveNode => ChangeKind::Remove,
            };
            (kind, c.node_id)
        })
        .collect()
}

const CONTEXT_VERSION: u8 = 1;

/// Conf change context: version byte, u16 (LE) address length, address text, user bytes.
pub(crate) fn encode_context(addr: Option<SocketAddr>, user: &[u8]) -> Vec<u8> {
    let addr = addr.map(|a| a.to_string()).unwrap_or_default();
    let mut out = Vec::with_capacity(3 + addr.len() + user.len());
    out.push(CONTEXT_VERSION);
    out.extend_from_slice(&(addr.len() as u16).to_le_bytes());
    out.extend_from_slice(addr.as_bytes());
    out.extend_from_slice(user);
    out
}

/// Splits a conf change context into the peer address and the user's bytes.
///
/// # Errors
///
/// A description if the bytes are not in [`encode_context`]'s layout.
pub(crate) fn decode_context(ctx: &[u8]) -> Result<(Option<SocketAddr>, Vec<u8>), String> {
    if ctx.is_empty() {
        return Ok((None, Vec::new()));
    }
    let [version, l0, l1, rest @ ..] = ctx else {
        return Err("conf change context too short".into());
    };
    if *version != CONTEXT_VERSION {
        return Err(format!("conf change context version {version}"));
    }
    let len = usize::from(u16::from_le_bytes([*l0, *l1]));
    if rest.len() < len {
        return Err("conf change context address truncated".into());
    }
    let (addr, user) = rest.split_at(len);
    let addr = if addr.is_empty() {
        None
    } else {
        let text = std::str::from_utf8(addr).map_err(|e| e.to_string())?;
        Some(
            text.parse()
                .map_err(|e| format!("peer address {text:?}: {e}"))?,
        )
    };
    Ok((addr, user.to_vec()))
}

/// Where each member listens for Raft messages, and which ids were removed from the
/// cluster for good (their messages are answered with a removal notice, as etcd
/// answers them with 410 Gone). Clones share one book.
#[derive(Debug, Clone, Default)]
pub struct AddressBook {
    inner: Arc<Mutex<BTreeMap<u64, SocketAddr>>>,
    removed: Arc<Mutex<BTreeSet<u64>>>,
}

impl AddressBook {
    /// A book holding `peers`.
    pub fn new(peers: BTreeMap<u64, SocketAddr>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(peers)),
            removed: Arc::default(),
        }
    }

    fn removed(&self) -> MutexGuard<'_, BTreeSet<u64>> {
        self.removed.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records that node `id` was removed from the cluster (ids are never reused).
    pub fn mark_removed(&self, id: u64) {
        self.removed().insert(id);
    }

    /// Replaces the removed ids (after restoring a snapshot).
    pub fn set_removed(&self, ids: impl IntoIterator<Item = u64>) {
        *self.removed() = ids.into_iter().collect();
    }

    /// Whether node `id` was removed from the cluster.
    pub fn is_removed(&self, id: u64) -> bool {
        self.removed().contains(&id)
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<u64, SocketAddr>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The address of node `id`.
    pub fn get(&self, id: u64) -> Option<SocketAddr> {
        self.lock().get(&id).copied()
    }

    /// Records (or replaces) node `id`'s address.
    pub fn insert(&self, id: u64, addr: SocketAddr) {
        self.lock().insert(id, addr);
    }

    /// Forgets node `id`.
    pub fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// All entries, by id.
    pub fn entries(&self) -> BTreeMap<u64, SocketAddr> {
        self.lock().clone()
    }
}

const SNAPSHOT_MAGIC: &[u8; 4] = b"ESS1";

/// Snapshot data: magic, u32 (LE) entry count, then per entry u64 id, u16 length and
/// address text (all LE), then the state machine's bytes.
pub(crate) fn encode_snapshot(book: &BTreeMap<u64, SocketAddr>, state: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + book.len() * 32 + state.len());
    out.extend_from_slice(SNAPSHOT_MAGIC);
    out.extend_from_slice(&(book.len() as u32).to_le_bytes());
    for (id, addr) in book {
        let text = addr.to_string();
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(text.len() as u16).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
    }
    out.extend_from_slice(state);
    out
}

fn take<'a>(data: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    if data.len() < n {
        return Err("snapshot data truncated".into());
    }
    let (head, tail) = data.split_at(n);
    *data = tail;
    Ok(head)
}

/// Splits snapshot data into the address book and the state machine's bytes.
///
/// # Errors
///
/// A description if the bytes are not in [`encode_snapshot`]'s layout.
pub(crate) fn decode_snapshot(
    mut data: &[u8],
) -> Result<(BTreeMap<u64, SocketAddr>, &[u8]), String> {
    if take(&mut data, 4)? != SNAPSHOT_MAGIC {
        return Err("snapshot data has no address book header".into());
    }
    let count = u32::from_le_bytes(take(&mut data, 4)?.try_into().map_err(|_| "count")?);
    let mut book = BTreeMap::new();
    for _ in 0..count {
        let id = u64::from_le_bytes(take(&mut data, 8)?.try_into().map_err(|_| "id")?);
        let len = u16::from_le_bytes(take(&mut data, 2)?.try_into().map_err(|_| "len")?);
        let text =
            std::str::from_utf8(take(&mut data, usize::from(len))?).map_err(|e| e.to_string())?;
        let addr = text
            .parse()
            .map_err(|e| format!("snapshot peer address {text:?}: {e}"))?;
        book.insert(id, addr);
    }
    Ok((book, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_round_trip() {
        let addr: SocketAddr = "10.0.0.4:2380".parse().unwrap();
        let enc = encode_context(Some(addr), b"member-json");
        assert_eq!(
            decode_context(&enc),
            Ok((Some(addr), b"member-json".to_vec()))
        );
        assert_eq!(
            decode_context(&encode_context(None, b"")),
            Ok((None, vec![]))
        );
        assert_eq!(decode_context(&[]), Ok((None, vec![])));
        assert!(decode_context(&[2, 0, 0]).is_err());
        assert!(decode_context(&[1, 9, 0, b'x']).is_err());
        assert!(decode_context(&[1, 1, 0, b'x']).is_err());
    }

    #[test]
    fn snapshot_round_trip() {
        let mut book = BTreeMap::new();
        book.insert(1, "10.0.0.1:2380".parse().unwrap());
        book.insert(7, "[::1]:2380".parse().unwrap());
        let enc = encode_snapshot(&book, b"state");
        let (got, state) = decode_snapshot(&enc).unwrap();
        assert_eq!(got, book);
        assert_eq!(state, b"state");
        assert!(decode_snapshot(b"nope").is_err());
        assert!(decode_snapshot(&enc[..10]).is_err());
    }

    #[test]
    fn change_becomes_a_single_step_conf_change() {
        let change = MembershipChange {
            kind: ChangeKind::AddLearner,
            node_id: 4,
            peer_addr: None,
            context: b"ctx".to_vec(),
        };
        let cc = change.to_conf_change();
        assert_eq!(changes_of(&cc), vec![(ChangeKind::AddLearner, 4)]);
        assert_eq!(cc.get_transition(), ConfChangeTransition::Auto);
        assert_eq!(decode_context(&cc.context), Ok((None, b"ctx".to_vec())));
    }
}
