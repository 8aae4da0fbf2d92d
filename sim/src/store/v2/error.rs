//! The store's error: an etcd v2 error code, its cause and the store index.

use etcd_sdk::wire::{ErrorBody, ErrorCode};

/// A failed store operation, as etcd's `v2error.Error`: the code, the cause (a path
/// or a failed comparison, with internal `/1`-style prefixes still present) and the
/// store's current index when it failed.
///
/// Its `Display` is etcd's `Error()` text: `100: Key not found (/1/foo) [5]`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}: {} ({}) [{}]", .code, .code.message(), .cause, .index)]
pub struct StoreError {
    /// The v2 error code.
    pub code: ErrorCode,
    /// Details: usually an internal path, or `[prev != current]` for failed compares.
    pub cause: String,
    /// The store index when the error happened.
    pub index: u64,
}

impl StoreError {
    /// A new error.
    pub fn new(code: ErrorCode, cause: impl Into<String>, index: u64) -> Self {
        StoreError {
            code,
            cause: cause.into(),
            index,
        }
    }

    /// etcd's fixed message for the code.
    pub fn message(&self) -> &'static str {
        self.code.message()
    }

    /// Strips `prefix` (normally `/1`) from the cause, as `/v2/keys` responses do: the
    /// cause `/1/foo` becomes `/foo`, and `/1` itself becomes empty (and is then
    /// omitted from the JSON body).
    pub fn trim_cause_prefix(mut self, prefix: &str) -> Self {
        if let Some(rest) = self.cause.strip_prefix(prefix) {
            self.cause = rest.to_string();
        }
        self
    }

    /// The JSON error body (send it with [`etcd_sdk::wire::to_go_json_line`]).
    pub fn to_body(&self) -> ErrorBody {
        ErrorBody::new(self.code, self.cause.clone(), self.index)
    }
}

impl From<StoreError> for ErrorBody {
    fn from(e: StoreError) -> Self {
        ErrorBody::new(e.code, e.cause, e.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_sdk::wire::to_go_json_line;

    #[test]
    fn display_is_etcds_error_text() {
        let e = StoreError::new(ErrorCode::KEY_NOT_FOUND, "/1/foo", 5);
        assert_eq!(e.to_string(), "100: Key not found (/1/foo) [5]");
    }

    #[test]
    fn trimmed_root_cause_disappears_from_the_body() {
        let e = StoreError::new(ErrorCode::NOT_FILE, "/1", 35).trim_cause_prefix("/1");
        assert_eq!(
            to_go_json_line(&e.to_body()),
            b"{\"errorCode\":102,\"message\":\"Not a file\",\"index\":35}\n".to_vec()
        );
        let e = StoreError::new(ErrorCode::ROOT_R_ONLY, "/", 33).trim_cause_prefix("/1");
        let body: ErrorBody = e.into();
        assert_eq!(body.cause, "/");
    }
}
