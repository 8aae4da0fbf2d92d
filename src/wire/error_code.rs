//! The v2 error codes, their fixed messages and HTTP statuses (one table shared by
//! the SDK, which decodes them, and the server, which produces them).

use serde::{Deserialize, Serialize};
use std::fmt;

/// A v2 API error code (`errorCode` in an error body).
///
/// A newtype rather than an enum so that codes this table does not know still
/// decode. The named constants are the codes etcd 3.4 defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    /// 100: the key (or the first missing path component) does not exist.
    pub const KEY_NOT_FOUND: Self = Self(100);
    /// 101: a prevValue/prevIndex comparison failed.
    pub const TEST_FAILED: Self = Self(101);
    /// 102: the operation needs a file but found a directory.
    pub const NOT_FILE: Self = Self(102);
    /// 103: reached the maximum number of peers (never produced by 3.4).
    pub const NO_MORE_PEER: Self = Self(103);
    /// 104: a path component is a file, not a directory.
    pub const NOT_DIR: Self = Self(104);
    /// 105: the key already exists.
    pub const NODE_EXIST: Self = Self(105);
    /// 106: the key's prefix is reserved (never produced by 3.4).
    pub const KEY_IS_PRESERVED: Self = Self(106);
    /// 107: the root is read only.
    pub const ROOT_R_ONLY: Self = Self(107);
    /// 108: the directory is not empty.
    pub const DIR_NOT_EMPTY: Self = Self(108);
    /// 109: the peer address exists (never produced by 3.4).
    pub const EXISTING_PEER_ADDR: Self = Self(109);
    /// 110: the request requires user authentication.
    pub const UNAUTHORIZED: Self = Self(110);
    /// 200: value required (never produced by 3.4).
    pub const VALUE_REQUIRED: Self = Self(200);
    /// 201: an empty prevValue was given.
    pub const PREV_VALUE_REQUIRED: Self = Self(201);
    /// 202: the TTL is not a number.
    pub const TTL_NAN: Self = Self(202);
    /// 203: an index is not a number.
    pub const INDEX_NAN: Self = Self(203);
    /// 204: value or TTL required (never produced by 3.4).
    pub const VALUE_OR_TTL_REQUIRED: Self = Self(204);
    /// 205: the timeout is not a number (never produced by 3.4).
    pub const TIMEOUT_NAN: Self = Self(205);
    /// 206: name required (never produced by 3.4).
    pub const NAME_REQUIRED: Self = Self(206);
    /// 207: index or value required (never produced by 3.4).
    pub const INDEX_OR_VALUE_REQUIRED: Self = Self(207);
    /// 208: index and value are exclusive (never produced by 3.4).
    pub const INDEX_VALUE_MUTEX: Self = Self(208);
    /// 209: a field has an invalid value.
    pub const INVALID_FIELD: Self = Self(209);
    /// 210: the form could not be parsed.
    pub const INVALID_FORM: Self = Self(210);
    /// 211: a value was provided on a refresh.
    pub const REFRESH_VALUE: Self = Self(211);
    /// 212: a refresh without a TTL.
    pub const REFRESH_TTL_REQUIRED: Self = Self(212);
    /// 300: an internal Raft error (timeout, stopped server, lost leader).
    pub const RAFT_INTERNAL: Self = Self(300);
    /// 301: a leader election is in progress.
    pub const LEADER_ELECT: Self = Self(301);
    /// 400: the watcher was cleared by a recovery.
    pub const WATCHER_CLEARED: Self = Self(400);
    /// 401: the requested watch index is older than the event history.
    pub const EVENT_INDEX_CLEARED: Self = Self(401);
    /// 402: standby internal error (never produced by 3.4).
    pub const STANDBY_INTERNAL: Self = Self(402);
    /// 403: invalid active size (never produced by 3.4).
    pub const INVALID_ACTIVE_SIZE: Self = Self(403);
    /// 404: standby remove delay (never produced by 3.4).
    pub const INVALID_REMOVE_DELAY: Self = Self(404);
    /// 500: client internal error (never produced by 3.4).
    pub const CLIENT_INTERNAL: Self = Self(500);

    /// etcd's fixed message for this code (`""` for an unknown code).
    pub fn message(self) -> &'static str {
        match self.0 {
            100 => "Key not found",
            101 => "Compare failed",
            102 => "Not a file",
            103 => "Reached the max number of peers in the cluster",
            104 => "Not a directory",
            105 => "Key already exists",
            106 => "The prefix of given key is a keyword in etcd",
            107 => "Root is read only",
            108 => "Directory not empty",
            109 => "Peer address has existed",
            110 => "The request requires user authentication",
            200 => "Value is Required in POST form",
            201 => "PrevValue is Required in POST form",
            202 => "The given TTL in POST form is not a number",
            203 => "The given index in POST form is not a number",
            204 => "Value or TTL is required in POST form",
            205 => "The given timeout in POST form is not a number",
            206 => "Name is required in POST form",
            207 => "Index or value is required",
            208 => "Index and value cannot both be specified",
            209 => "Invalid field",
            210 => "Invalid POST form",
            211 => "Value provided on refresh",
            212 => "A TTL must be provided on refresh",
            300 => "Raft Internal Error",
            301 => "During Leader Election",
            400 => "watcher is cleared due to etcd recovery",
            401 => "The event in requested index is outdated and cleared",
            402 => "Standby Internal Error",
            403 => "Invalid active size",
            404 => "Standby remove delay",
            500 => "Client Internal Error",
            _ => "",
        }
    }

    /// The HTTP status etcd sends with this code (400 for every code not mapped).
    pub fn http_status(self) -> u16 {
        match self.0 {
            100 => 404,
            101 | 105 => 412,
            102 | 108 => 403,
            110 => 401,
            300 | 301 => 500,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_match_etcd_3_4() {
        let expect = [
            (100, 404),
            (101, 412),
            (102, 403),
            (104, 400),
            (105, 412),
            (107, 400),
            (108, 403),
            (110, 401),
            (202, 400),
            (209, 400),
            (210, 400),
            (300, 500),
            (301, 500),
            (401, 400),
            (999, 400),
        ];
        for (code, status) in expect {
            assert_eq!(ErrorCode(code).http_status(), status, "code {code}");
        }
    }

    #[test]
    fn messages() {
        assert_eq!(ErrorCode::KEY_NOT_FOUND.message(), "Key not found");
        assert_eq!(
            ErrorCode::EVENT_INDEX_CLEARED.message(),
            "The event in requested index is outdated and cleared"
        );
        assert_eq!(ErrorCode(7).message(), "");
    }
}
