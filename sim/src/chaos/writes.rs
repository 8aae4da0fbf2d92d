//! The writes a history proves happened: operations that succeeded, with the key
//! they changed, the value they left and the index they got.

use super::history::{Op, Operation, Outcome, Response};

/// A write the server acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoneWrite<'a> {
    /// The operation.
    pub op: &'a Operation,
    /// The key changed (for a create-in-order, the key it made).
    pub key: &'a str,
    /// The value after the write (`None` for a delete).
    pub value: Option<&'a str>,
    /// The write's `modifiedIndex`.
    pub index: u64,
    /// The action a watcher reports for it.
    pub action: &'static str,
}

/// The acknowledged write `op` is, if it is one.
pub fn done_write(op: &Operation) -> Option<DoneWrite<'_>> {
    let Outcome::Ok(Response::Done {
        node_key,
        modified_index,
        ..
    }) = &op.outcome
    else {
        return None;
    };
    let (key, value, action) = match &op.op {
        Op::Get { .. } => return None,
        Op::Set { key, value } => (key.as_str(), Some(value.as_str()), "set"),
        Op::Create { key, value } => (key.as_str(), Some(value.as_str()), "create"),
        Op::CompareAndSwap { key, value, .. } => {
            (key.as_str(), Some(value.as_str()), "compareAndSwap")
        }
        Op::CompareAndDelete { key, .. } => (key.as_str(), None, "compareAndDelete"),
        Op::Delete { key } => (key.as_str(), None, "delete"),
        Op::CreateInOrder { value, .. } => (node_key.as_str(), Some(value.as_str()), "create"),
    };
    Some(DoneWrite {
        op,
        key,
        value,
        index: *modified_index,
        action,
    })
}

/// The value `op` writes and the key it writes it to, whatever its outcome (for a
/// create-in-order whose key is unknown: the directory).
pub fn written_value(op: &Op) -> Option<(&str, &str)> {
    match op {
        Op::Set { key, value }
        | Op::Create { key, value }
        | Op::CompareAndSwap { key, value, .. } => Some((key, value)),
        Op::CreateInOrder { dir, value } => Some((dir, value)),
        Op::Get { .. } | Op::CompareAndDelete { .. } | Op::Delete { .. } => None,
    }
}

/// The index a definite answer reports as the store's current index (the
/// `X-Etcd-Index` of a success, the `index` of an error).
pub fn reported_etcd_index(response: &Response) -> u64 {
    match response {
        Response::Done { etcd_index, .. } => *etcd_index,
        Response::NotFound { index }
        | Response::CompareFailed { index }
        | Response::AlreadyExists { index } => *index,
    }
}
