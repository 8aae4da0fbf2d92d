//! [`SharedClient`]: what the API constructors take, so a client can be passed
//! by value, in an `Arc`, or as an `Arc<dyn Client>`; and the per-call bound the
//! API handles apply to each request they send.

use super::{Client, HttpClient, Request, Response};
use crate::error::Result;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// A shared [`Client`]: an `Arc<dyn Client>` that the API constructors
/// ([`crate::new_keys_api`], [`crate::new_members_api`], [`crate::new_auth_api`],
/// …) accept through `impl Into<SharedClient>`, so any of these works:
///
/// ```
/// use etcd_sdk::{Client, Config, HttpClient, new_keys_api, new_members_api};
/// use std::sync::Arc;
///
/// # fn main() -> etcd_sdk::Result<()> {
/// let client = HttpClient::new(Config::new(["http://127.0.0.1:2379"]))?;
/// let keys = new_keys_api(client.clone()); // by value (HttpClient is a cheap handle)
/// let members = new_members_api(Arc::new(client.clone())); // Arc<HttpClient>
/// let dynamic: Arc<dyn Client> = Arc::new(client);
/// let more_keys = new_keys_api(dynamic.clone()); // Arc<dyn Client>
/// # let _ = (keys, members, more_keys);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SharedClient(Arc<dyn Client>);

impl SharedClient {
    /// The client as an `Arc<dyn Client>`.
    pub fn into_inner(self) -> Arc<dyn Client> {
        self.0
    }
}

impl fmt::Debug for SharedClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedClient")
            .field("endpoints", &self.0.endpoints())
            .finish()
    }
}

impl Deref for SharedClient {
    type Target = dyn Client;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl From<HttpClient> for SharedClient {
    fn from(client: HttpClient) -> Self {
        SharedClient(Arc::new(client))
    }
}

impl<C: Client + 'static> From<Arc<C>> for SharedClient {
    fn from(client: Arc<C>) -> Self {
        SharedClient(client)
    }
}

impl From<Arc<dyn Client>> for SharedClient {
    fn from(client: Arc<dyn Client>) -> Self {
        SharedClient(client)
    }
}

impl From<SharedClient> for Arc<dyn Client> {
    fn from(client: SharedClient) -> Self {
        client.0
    }
}

/// The per-call bound an API handle applies to each call
/// (`with_timeout` / `with_deadline`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum CallBound {
    /// Only the client's own bounds.
    #[default]
    None,
    /// Each call gets this long, counted from when it starts.
    Timeout(Duration),
    /// Every call must end by this instant.
    Deadline(Instant),
}

impl CallBound {
    /// The deadline of a call starting now, if any.
    pub(crate) fn deadline(self) -> Option<Instant> {
        match self {
            CallBound::None => None,
            CallBound::Timeout(d) => Some(Instant::now() + d),
            CallBound::Deadline(at) => Some(at),
        }
    }

    /// `req` with the bound of a call starting now.
    pub(crate) fn apply(self, req: Request) -> Request {
        match self.deadline() {
            Some(at) => req.deadline(at),
            None => req,
        }
    }
}

/// A client plus the per-call bound of the API handle that owns it.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub(crate) client: SharedClient,
    pub(crate) bound: CallBound,
}

impl Caller {
    pub(crate) fn new(client: impl Into<SharedClient>) -> Self {
        Caller {
            client: client.into(),
            bound: CallBound::None,
        }
    }

    /// Sends `req` bounded by the handle's per-call bound.
    pub(crate) async fn send(&self, req: Request) -> Result<Response> {
        self.client.send(self.bound.apply(req)).await
    }

    /// A copy whose calls each get `timeout`.
    pub(crate) fn with_timeout(&self, timeout: Duration) -> Self {
        Caller {
            client: self.client.clone(),
            bound: CallBound::Timeout(timeout),
        }
    }

    /// A copy whose calls must all end by `deadline`.
    pub(crate) fn with_deadline(&self, deadline: Instant) -> Self {
        Caller {
            client: self.client.clone(),
            bound: CallBound::Deadline(deadline),
        }
    }
}

/// `with_timeout` and `with_deadline` for an API handle with a `caller: Caller`
/// field (the members and auth handles; the keys handle documents its own).
macro_rules! per_call_bounds {
    ($handle:ident) => {
        impl $handle {
            /// A copy of this handle whose every call gets at most `timeout`,
            /// counted from when the call starts. Unlike wrapping a call in
            /// `tokio::time::timeout`, this keeps the at-most-once
            /// classification: a write that may already have reached a server
            /// fails with [`crate::Error::OutcomeUnknown`] (cause
            /// [`crate::Error::Timeout`]); anything else fails with
            /// [`crate::Error::Timeout`]. The client-wide
            /// [`crate::Config::request_timeout`] still applies; the earlier bound
            /// wins. See [`crate::HttpKeysAPI::with_timeout`] for an example.
            pub fn with_timeout(&self, timeout: std::time::Duration) -> Self {
                $handle {
                    caller: self.caller.with_timeout(timeout),
                }
            }

            /// A copy of this handle whose calls must all end by `deadline` (a
            /// budget shared by a sequence of calls); otherwise as
            #[doc = concat!("[`", stringify!($handle), "::with_timeout`].")]
            pub fn with_deadline(&self, deadline: tokio::time::Instant) -> Self {
                $handle {
                    caller: self.caller.with_deadline(deadline),
                }
            }
        }
    };
}
pub(crate) use per_call_bounds;
