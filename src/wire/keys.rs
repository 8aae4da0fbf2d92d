//! The `/v2/keys` wire types: events (`Response`), nodes and error bodies.
//!
//! Field order and omission rules follow etcd 3.4 exactly (see the v2 spec, §2.4
//! and §3.1), so the server can encode them byte for byte and the SDK decodes the
//! same types.

use super::error_code::ErrorCode;
use super::time::{format_rfc3339_nano, parse_rfc3339};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::{Duration, SystemTime};

/// The operation an event (or a response) reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// A read.
    Get,
    /// An unconditional write.
    Set,
    /// A delete.
    Delete,
    /// A write that required the key to exist.
    Update,
    /// A write that required the key not to exist (also in-order creates).
    Create,
    /// A conditional write (prevValue / prevIndex).
    CompareAndSwap,
    /// A conditional delete.
    CompareAndDelete,
    /// A TTL expiry performed by the leader.
    Expire,
}

impl Action {
    /// The name on the wire (`"compareAndSwap"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Get => "get",
            Action::Set => "set",
            Action::Delete => "delete",
            Action::Update => "update",
            Action::Create => "create",
            Action::CompareAndSwap => "compareAndSwap",
            Action::CompareAndDelete => "compareAndDelete",
            Action::Expire => "expire",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One node of the v2 tree: a file (with a value) or a directory (with children).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// The full path, e.g. `/foo/bar`. Empty for the root.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// The value of a file. `None` for directories and in delete/expire events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Whether the node is a directory.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dir: bool,
    /// When the node expires (server clock), if it has a TTL.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_time",
        deserialize_with = "de_time"
    )]
    pub expiration: Option<SystemTime>,
    /// Whole seconds left until expiry, rounded up; 0 when there is no TTL.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub ttl: i64,
    /// The children of a directory (recursively, for recursive gets).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "de_nodes"
    )]
    pub nodes: Vec<Node>,
    /// The index of the last change to this node.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub modified_index: u64,
    /// The index at which this node was created.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub created_index: u64,
}

impl Node {
    /// The TTL as a duration (`ttl` seconds), like Go's `Node.TTLDuration`.
    pub fn ttl_duration(&self) -> Duration {
        Duration::from_secs(self.ttl.max(0) as u64)
    }

    /// The value, or `""` for directories (Go's `Node.Value`).
    pub fn value_str(&self) -> &str {
        self.value.as_deref().unwrap_or("")
    }

    /// Sorts the children by key at every level (Go's `sort.Sort(Nodes)`, applied recursively).
    pub fn sort_recursive(&mut self) {
        self.nodes.sort_by(|a, b| a.key.cmp(&b.key));
        for n in &mut self.nodes {
            n.sort_recursive();
        }
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{Key: {}, CreatedIndex: {}, ModifiedIndex: {}, TTL: {}}}",
            self.key, self.created_index, self.modified_index, self.ttl
        )
    }
}

/// The body of a successful `/v2/keys` response, and of each watch event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// What happened.
    pub action: Action,
    /// The node after the action (or the deleted node, for deletes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<Node>,
    /// The node before the action, when it existed and the action changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_node: Option<Node>,
}

/// The body of a failed `/v2/keys` request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// The error code.
    pub error_code: ErrorCode,
    /// etcd's fixed message for the code.
    #[serde(default)]
    pub message: String,
    /// Details: usually the key, or the failed comparison.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cause: String,
    /// The store index when the error happened (0 for parse and auth errors).
    #[serde(default)]
    pub index: u64,
}

impl ErrorBody {
    /// An error body with the code's fixed message.
    pub fn new(code: ErrorCode, cause: impl Into<String>, index: u64) -> Self {
        ErrorBody {
            error_code: code,
            message: code.message().to_string(),
            cause: cause.into(),
            index,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}
fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}
fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

fn ser_time<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_rfc3339_nano(*t)),
        None => s.serialize_none(),
    }
}

fn de_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    match s {
        None => Ok(None),
        Some(s) => parse_rfc3339(&s)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid RFC 3339 time {s:?}"))),
    }
}

fn de_nodes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Node>, D::Error> {
    // Go encodes an absent slice as `null`.
    Ok(Option::<Vec<Node>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::json::to_go_json;
    use std::time::UNIX_EPOCH;

    #[test]
    fn root_get_is_exactly_etcds() {
        let ev = Event {
            action: Action::Get,
            node: Some(Node {
                dir: true,
                ..Default::default()
            }),
            prev_node: None,
        };
        assert_eq!(
            to_go_json(&ev),
            br#"{"action":"get","node":{"dir":true}}"#.to_vec()
        );
    }

    #[test]
    fn field_order_and_omission() {
        let node = Node {
            key: "/foo".into(),
            value: Some("bar".into()),
            expiration: Some(UNIX_EPOCH + Duration::new(1_795_215_679, 885_059_002)),
            ttl: 5,
            modified_index: 9,
            created_index: 7,
            ..Default::default()
        };
        assert_eq!(
            String::from_utf8(to_go_json(&node)).unwrap(),
            r#"{"key":"/foo","value":"bar","expiration":"2026-11-20T23:01:19.885059002Z","ttl":5,"modifiedIndex":9,"createdIndex":7}"#
        );
        let empty_value = Node {
            key: "/e".into(),
            value: Some(String::new()),
            modified_index: 4,
            created_index: 4,
            ..Default::default()
        };
        assert_eq!(
            String::from_utf8(to_go_json(&empty_value)).unwrap(),
            r#"{"key":"/e","value":"","modifiedIndex":4,"createdIndex":4}"#
        );
    }

    #[test]
    fn error_body_omits_empty_cause() {
        let e = ErrorBody::new(ErrorCode::NOT_FILE, "", 35);
        assert_eq!(
            to_go_json(&e),
            br#"{"errorCode":102,"message":"Not a file","index":35}"#.to_vec()
        );
    }

    #[test]
    fn decodes_go_nulls_and_unknown_fields() {
        let ev: Event = serde_json::from_str(
            r#"{"action":"get","node":{"key":"/d","dir":true,"nodes":null,"extra":1},"prevNode":null}"#,
        )
        .unwrap();
        assert!(ev.node.unwrap().nodes.is_empty());
        assert!(ev.prev_node.is_none());
    }
}
