//! What a `/v2/keys` request turns into (spec §2.3): a watch, a local read, or a
//! [`V2Command`] to replicate. Parsing lives here, in the API layer; the commands
//! and how members apply them live in [`crate::server::v2_command`].

use super::keys_request::KeysRequest;
use crate::server::v2_command::V2Command;
use std::time::{Duration, SystemTime};

/// What a `/v2/keys` request turns into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dispatch {
    /// A long poll on the local watcher hub.
    Watch,
    /// A read of the local store (GET without quorum, HEAD).
    LocalGet,
    /// A command to replicate.
    Propose(V2Command),
}

impl Dispatch {
    /// Maps a validated request to what serves it (spec §2.3). `now` is the
    /// receiving member's clock: a `ttl` becomes an absolute expiration here. A
    /// write's value moves into its command (`req.value` is left empty), so a
    /// large value is not copied.
    pub fn of(req: &mut KeysRequest, now: SystemTime) -> Dispatch {
        let value = std::mem::take(&mut req.value);
        let expire = req.ttl.map(|secs| now + Duration::from_secs(secs));
        let refresh = req.refresh.unwrap_or(false);
        let conditional = req.prev_index > 0 || !req.prev_value.is_empty();
        match req.method.as_str() {
            "GET" if req.quorum => Dispatch::Propose(V2Command::QuorumGet {
                path: req.path.clone(),
                recursive: req.recursive,
            }),
            "GET" if req.wait => Dispatch::Watch,
            "POST" => Dispatch::Propose(V2Command::Create {
                path: req.path.clone(),
                dir: req.dir,
                value,
                unique: true,
                expire,
            }),
            "PUT" => Dispatch::Propose(match req.prev_exist {
                Some(true) if !conditional => V2Command::Update {
                    path: req.path.clone(),
                    value,
                    expire,
                    refresh,
                },
                Some(false) => V2Command::Create {
                    path: req.path.clone(),
                    dir: req.dir,
                    value,
                    unique: false,
                    expire,
                },
                _ if conditional => V2Command::CompareAndSwap {
                    path: req.path.clone(),
                    prev_value: req.prev_value.clone(),
                    prev_index: req.prev_index,
                    value,
                    expire,
                    refresh,
                },
                _ => V2Command::Set {
                    path: req.path.clone(),
                    dir: req.dir,
                    value,
                    expire,
                    refresh,
                },
            }),
            "DELETE" if conditional => Dispatch::Propose(V2Command::CompareAndDelete {
                path: req.path.clone(),
                prev_value: req.prev_value.clone(),
                prev_index: req.prev_index,
            }),
            "DELETE" => Dispatch::Propose(V2Command::Delete {
                path: req.path.clone(),
                dir: req.dir || req.recursive,
                recursive: req.recursive,
            }),
            _ => Dispatch::LocalGet,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::v2::form::Form;
    use std::time::UNIX_EPOCH;

    fn dispatch(method: &str, query: &str, body: &str) -> Dispatch {
        let form = Form::parse(
            method,
            Some(query),
            Some("application/x-www-form-urlencoded"),
            body.as_bytes(),
        );
        let mut req = KeysRequest::parse(method, "/k", form).expect("valid");
        Dispatch::of(&mut req, UNIX_EPOCH + Duration::from_secs(1_000))
    }

    fn action_of(d: Dispatch) -> &'static str {
        match d {
            Dispatch::Watch => "watch",
            Dispatch::LocalGet => "local",
            Dispatch::Propose(c) => match c {
                V2Command::Set { .. } => "set",
                V2Command::Create { unique: true, .. } => "post",
                V2Command::Create { .. } => "create",
                V2Command::Update { .. } => "update",
                V2Command::CompareAndSwap { .. } => "cas",
                V2Command::Delete { .. } => "delete",
                V2Command::CompareAndDelete { .. } => "cad",
                V2Command::QuorumGet { .. } => "qget",
                V2Command::Sync { .. } => "sync",
            },
        }
    }

    #[test]
    fn dispatch_table_of_spec_2_3() {
        assert_eq!(action_of(dispatch("GET", "", "")), "local");
        assert_eq!(action_of(dispatch("HEAD", "", "")), "local");
        assert_eq!(action_of(dispatch("GET", "wait=true", "")), "watch");
        assert_eq!(
            action_of(dispatch("GET", "wait=true&quorum=true", "")),
            "qget",
            "quorum wins over wait"
        );
        assert_eq!(action_of(dispatch("POST", "", "value=x")), "post");
        assert_eq!(
            action_of(dispatch("PUT", "prevExist=true", "value=x")),
            "update"
        );
        assert_eq!(
            action_of(dispatch("PUT", "prevExist=true&prevIndex=3", "value=x")),
            "cas"
        );
        assert_eq!(
            action_of(dispatch("PUT", "prevExist=false&prevValue=a", "value=x")),
            "create"
        );
        assert_eq!(action_of(dispatch("PUT", "prevValue=a", "value=x")), "cas");
        assert_eq!(
            action_of(dispatch("PUT", "prevIndex=0", "value=x")),
            "set",
            "prevIndex=0 is no condition"
        );
        assert_eq!(
            action_of(dispatch("DELETE", "prevIndex=2&recursive=true", "")),
            "cad"
        );
        assert_eq!(action_of(dispatch("DELETE", "", "")), "delete");
    }

    #[test]
    fn ttl_becomes_an_absolute_expiration_and_recursive_implies_dir() {
        match dispatch("PUT", "", "value=v&ttl=5") {
            Dispatch::Propose(V2Command::Set { expire, .. }) => {
                assert_eq!(expire, Some(UNIX_EPOCH + Duration::from_secs(1_005)))
            }
            other => panic!("{other:?}"),
        }
        match dispatch("DELETE", "recursive=true", "") {
            Dispatch::Propose(V2Command::Delete { dir, recursive, .. }) => {
                assert!(dir && recursive)
            }
            other => panic!("{other:?}"),
        }
    }
}
