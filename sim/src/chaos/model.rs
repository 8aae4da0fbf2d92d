//! The sequential specification of one v2 key, as the linearizability checker uses
//! it.
//!
//! The state of a key is its value, or `None` when it does not exist. Values are
//! interned to small integers ([`ValueId`], see [`Interner`]) so the search can copy
//! and hash states cheaply; two values are equal iff their ids are. Workloads write
//! a unique value per write, which is what makes a read's value name the write it
//! read from.
//!
//! [`step`] says whether an operation could have returned its recorded response
//! in a given state, and what the state is afterwards; [`apply_blind`] applies an
//! operation whose response is unknown, with whatever response the model gives
//! (a conditional write whose condition fails changes nothing).
//!
//! etcd's answers this follows (v2 API, 3.4): a set returns `prevNode` iff the key
//! existed; a create (`prevExist=false`) fails with 105 "Key already exists" when it
//! does; compare-and-swap and compare-and-delete fail with 100 "Key not found" on a
//! missing key and 101 "Compare failed" on another value; a delete fails with 100 on
//! a missing key.

use super::history::{Op, Outcome, Response};
use std::collections::HashMap;

/// An interned value (see [`Interner`]).
pub type ValueId = u32;

/// The state of one key: its value, `None` when the key does not exist.
pub type KeyState = Option<ValueId>;

/// Maps value strings to [`ValueId`]s, one table per key.
#[derive(Debug, Default)]
pub struct Interner {
    ids: HashMap<String, ValueId>,
}

impl Interner {
    /// The id of `value`, allocating one on first sight.
    pub fn id(&mut self, value: &str) -> ValueId {
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        let id = ValueId::try_from(self.ids.len()).unwrap_or(ValueId::MAX);
        self.ids.insert(value.to_string(), id);
        id
    }

    fn opt(&mut self, value: Option<&String>) -> Option<ValueId> {
        value.map(|v| self.id(v))
    }
}

/// An operation on one key, with values interned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyOp {
    /// A quorum get.
    Get,
    /// An unconditional set.
    Set {
        /// The value written.
        value: ValueId,
    },
    /// A create (`prevExist=false`); also a create-in-order, on its fresh key.
    Create {
        /// The value written.
        value: ValueId,
    },
    /// Compare-and-swap on the value.
    CompareAndSwap {
        /// The value the key must hold.
        prev: ValueId,
        /// The value written.
        value: ValueId,
    },
    /// Compare-and-delete on the value.
    CompareAndDelete {
        /// The value the key must hold.
        prev: ValueId,
    },
    /// An unconditional delete.
    Delete,
}

/// A definite response, with values interned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyResult {
    /// Success: the node's value (read, or written; `None` for a delete) and the
    /// `prevNode` value when the server sent one.
    Done {
        /// The value in the answer's node.
        value: Option<ValueId>,
        /// The value of the answer's `prevNode`.
        prev: Option<ValueId>,
    },
    /// 100 "Key not found".
    NotFound,
    /// 101 "Compare failed".
    CompareFailed,
    /// 105 "Key already exists".
    AlreadyExists,
}

impl KeyOp {
    /// The key operation a recorded [`Op`] is, or `None` for a non-quorum get (not
    /// linearizable by design, checked elsewhere). A create-in-order becomes a
    /// create of the key it made.
    pub fn from_op(op: &Op, values: &mut Interner) -> Option<KeyOp> {
        Some(match op {
            Op::Get { quorum: true, .. } => KeyOp::Get,
            Op::Get { quorum: false, .. } => return None,
            Op::Set { value, .. } => KeyOp::Set {
                value: values.id(value),
            },
            Op::Create { value, .. } | Op::CreateInOrder { value, .. } => KeyOp::Create {
                value: values.id(value),
            },
            Op::CompareAndSwap { prev, value, .. } => KeyOp::CompareAndSwap {
                prev: values.id(prev),
                value: values.id(value),
            },
            Op::CompareAndDelete { prev, .. } => KeyOp::CompareAndDelete {
                prev: values.id(prev),
            },
            Op::Delete { .. } => KeyOp::Delete,
        })
    }

    /// Whether the operation can change the key.
    pub fn is_write(self) -> bool {
        !matches!(self, KeyOp::Get)
    }

    /// The value the operation writes, if it writes one.
    pub fn written(self) -> Option<ValueId> {
        match self {
            KeyOp::Set { value }
            | KeyOp::Create { value }
            | KeyOp::CompareAndSwap { value, .. } => Some(value),
            KeyOp::Get | KeyOp::CompareAndDelete { .. } | KeyOp::Delete => None,
        }
    }

    /// The value a conditional operation compares against.
    pub fn prev(self) -> Option<ValueId> {
        match self {
            KeyOp::CompareAndSwap { prev, .. } | KeyOp::CompareAndDelete { prev } => Some(prev),
            _ => None,
        }
    }
}

impl KeyResult {
    /// The key result a recorded definite response is.
    pub fn from_response(response: &Response, values: &mut Interner) -> KeyResult {
        match response {
            Response::Done { value, prev, .. } => KeyResult::Done {
                value: values.opt(value.as_ref()),
                prev: values.opt(prev.as_ref()),
            },
            Response::NotFound { .. } => KeyResult::NotFound,
            Response::CompareFailed { .. } => KeyResult::CompareFailed,
            Response::AlreadyExists { .. } => KeyResult::AlreadyExists,
        }
    }

    /// The key result of a recorded outcome: `Some` for a definite answer, `None`
    /// for an unknown or failed one.
    pub fn from_outcome(outcome: &Outcome, values: &mut Interner) -> Option<KeyResult> {
        match outcome {
            Outcome::Ok(r) => Some(KeyResult::from_response(r, values)),
            Outcome::Failed { .. } | Outcome::Unknown { .. } => None,
        }
    }

    /// The values this result says the key held (read, or reported as `prevNode`).
    pub fn observed(self) -> impl Iterator<Item = ValueId> {
        let (a, b) = match self {
            KeyResult::Done { value, prev } => (value, prev),
            _ => (None, None),
        };
        a.into_iter().chain(b)
    }
}

/// Whether `op` could have answered `result` in `state`, and if so the state after.
pub fn step(state: KeyState, op: KeyOp, result: KeyResult) -> Option<KeyState> {
    use KeyResult::{AlreadyExists, CompareFailed, Done, NotFound};
    match (op, result) {
        (KeyOp::Get, Done { value, .. }) => (value.is_some() && value == state).then_some(state),
        (KeyOp::Get, NotFound) => state.is_none().then_some(None),
        (KeyOp::Set { value: v }, Done { value, prev }) => {
            (value == Some(v) && prev == state).then_some(Some(v))
        }
        (KeyOp::Create { value: v }, Done { value, prev }) => {
            (state.is_none() && value == Some(v) && prev.is_none()).then_some(Some(v))
        }
        (KeyOp::Create { .. }, AlreadyExists) => state.is_some().then_some(state),
        (KeyOp::CompareAndSwap { prev: p, value: v }, Done { value, prev }) => {
            let ok = state == Some(p) && value == Some(v) && prev.is_none_or(|x| x == p);
            ok.then_some(Some(v))
        }
        (KeyOp::CompareAndDelete { prev: p }, Done { value, prev }) => {
            let ok = state == Some(p) && value.is_none() && prev.is_none_or(|x| x == p);
            ok.then_some(None)
        }
        (
            KeyOp::CompareAndSwap { prev: p, .. } | KeyOp::CompareAndDelete { prev: p },
            CompareFailed,
        ) => state.is_some_and(|x| x != p).then_some(state),
        (
            KeyOp::CompareAndSwap { .. } | KeyOp::CompareAndDelete { .. } | KeyOp::Delete,
            NotFound,
        ) => state.is_none().then_some(None),
        (KeyOp::Delete, Done { value, prev }) => {
            let ok = state.is_some() && value.is_none() && prev.is_none_or(|x| Some(x) == state);
            ok.then_some(None)
        }
        _ => None,
    }
}

/// The state after `op` took effect with the response the model gives: how an
/// operation whose outcome is unknown is applied.
pub fn apply_blind(state: KeyState, op: KeyOp) -> KeyState {
    match op {
        KeyOp::Get => state,
        KeyOp::Set { value } => Some(value),
        KeyOp::Create { value } => state.or(Some(value)),
        KeyOp::CompareAndSwap { prev, value } => {
            if state == Some(prev) {
                Some(value)
            } else {
                state
            }
        }
        KeyOp::CompareAndDelete { prev } => {
            if state == Some(prev) {
                None
            } else {
                state
            }
        }
        KeyOp::Delete => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ValueId = 1;
    const B: ValueId = 2;

    fn done(value: Option<ValueId>, prev: Option<ValueId>) -> KeyResult {
        KeyResult::Done { value, prev }
    }

    #[test]
    fn get_reads_the_state() {
        assert_eq!(
            step(Some(A), KeyOp::Get, done(Some(A), None)),
            Some(Some(A))
        );
        assert_eq!(step(Some(A), KeyOp::Get, done(Some(B), None)), None);
        assert_eq!(step(None, KeyOp::Get, done(Some(A), None)), None);
        assert_eq!(step(None, KeyOp::Get, KeyResult::NotFound), Some(None));
        assert_eq!(step(Some(A), KeyOp::Get, KeyResult::NotFound), None);
    }

    #[test]
    fn set_reports_prev_iff_the_key_existed() {
        let set = KeyOp::Set { value: B };
        assert_eq!(step(Some(A), set, done(Some(B), Some(A))), Some(Some(B)));
        assert_eq!(step(None, set, done(Some(B), None)), Some(Some(B)));
        assert_eq!(step(Some(A), set, done(Some(B), None)), None);
        assert_eq!(step(None, set, done(Some(B), Some(A))), None);
        assert_eq!(
            step(None, set, done(Some(A), None)),
            None,
            "wrong value echoed"
        );
        assert_eq!(step(None, set, KeyResult::NotFound), None);
    }

    #[test]
    fn create_needs_a_missing_key() {
        let create = KeyOp::Create { value: A };
        assert_eq!(step(None, create, done(Some(A), None)), Some(Some(A)));
        assert_eq!(step(Some(B), create, done(Some(A), None)), None);
        assert_eq!(
            step(Some(B), create, KeyResult::AlreadyExists),
            Some(Some(B))
        );
        assert_eq!(step(None, create, KeyResult::AlreadyExists), None);
    }

    #[test]
    fn compare_and_swap() {
        let cas = KeyOp::CompareAndSwap { prev: A, value: B };
        assert_eq!(step(Some(A), cas, done(Some(B), Some(A))), Some(Some(B)));
        assert_eq!(step(Some(A), cas, done(Some(B), None)), Some(Some(B)));
        assert_eq!(
            step(Some(B), cas, done(Some(B), Some(A))),
            None,
            "success on a wrong value"
        );
        assert_eq!(step(Some(B), cas, KeyResult::CompareFailed), Some(Some(B)));
        assert_eq!(step(Some(A), cas, KeyResult::CompareFailed), None);
        assert_eq!(step(None, cas, KeyResult::CompareFailed), None);
        assert_eq!(step(None, cas, KeyResult::NotFound), Some(None));
        assert_eq!(step(Some(A), cas, KeyResult::NotFound), None);
    }

    #[test]
    fn compare_and_delete() {
        let cad = KeyOp::CompareAndDelete { prev: A };
        assert_eq!(step(Some(A), cad, done(None, Some(A))), Some(None));
        assert_eq!(step(Some(B), cad, done(None, Some(B))), None);
        assert_eq!(step(Some(B), cad, KeyResult::CompareFailed), Some(Some(B)));
        assert_eq!(step(None, cad, KeyResult::NotFound), Some(None));
        assert_eq!(step(Some(A), cad, KeyResult::NotFound), None);
    }

    #[test]
    fn delete() {
        assert_eq!(
            step(Some(A), KeyOp::Delete, done(None, Some(A))),
            Some(None)
        );
        assert_eq!(step(Some(A), KeyOp::Delete, done(None, Some(B))), None);
        assert_eq!(step(None, KeyOp::Delete, done(None, None)), None);
        assert_eq!(step(None, KeyOp::Delete, KeyResult::NotFound), Some(None));
    }

    #[test]
    fn blind_application_follows_the_conditions() {
        assert_eq!(apply_blind(Some(A), KeyOp::Set { value: B }), Some(B));
        assert_eq!(apply_blind(Some(A), KeyOp::Create { value: B }), Some(A));
        assert_eq!(apply_blind(None, KeyOp::Create { value: B }), Some(B));
        let cas = KeyOp::CompareAndSwap { prev: A, value: B };
        assert_eq!(apply_blind(Some(A), cas), Some(B));
        assert_eq!(apply_blind(Some(B), cas), Some(B));
        assert_eq!(apply_blind(None, cas), None);
        assert_eq!(
            apply_blind(Some(A), KeyOp::CompareAndDelete { prev: A }),
            None
        );
        assert_eq!(
            apply_blind(Some(B), KeyOp::CompareAndDelete { prev: A }),
            Some(B)
        );
        assert_eq!(apply_blind(Some(B), KeyOp::Delete), None);
    }

    #[test]
    fn interning_is_stable_and_skips_plain_gets() {
        let mut values = Interner::default();
        let a = values.id("a");
        assert_eq!(values.id("a"), a);
        assert_ne!(values.id("b"), a);
        let get = Op::Get {
            key: "/k".into(),
            quorum: false,
        };
        assert_eq!(KeyOp::from_op(&get, &mut values), None);
    }
}
