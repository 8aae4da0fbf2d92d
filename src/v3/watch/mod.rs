//! The [`Watcher`] trait (Go's `clientv3.Watcher`), its options and typed
//! responses, and its implementation by [`Client`] over shared streams.
//!
//! Every watcher of a client (and its clones) runs on one gRPC Watch
//! stream (two when some watchers set
//! [`WatchOptions::require_leader`]); a stream that fails is re-created and
//! its watchers resume exactly where they were (see [`WatchStream`]).

mod hub;
mod options;
mod response;
mod resume;
mod session;
mod stream;

pub(crate) use hub::WatchHub;
pub use options::WatchOptions;
pub use response::{Event, EventType, WatchResponse};
pub use stream::WatchStream;

use super::client::Client;
use super::error::{Error, Result};
use async_trait::async_trait;
use hub::{Command, Created};
use tokio::sync::oneshot;
use tokio::time::Instant;

/// Watching keys (Go's `clientv3.Watcher`). [`Client`] implements it.
///
/// ```no_run
/// use etcd_sdk::v3::{Client, PutOptions, Watcher, WatchOptions, KV};
/// use futures_util::StreamExt;
///
/// # async fn demo() -> etcd_sdk::v3::Result<()> {
/// let client = Client::connect(["127.0.0.1:2379"]).await?;
/// let mut events = client.watch("config/", WatchOptions::prefix()).await?;
/// client.put("config/a", "1", PutOptions::default()).await?;
/// while let Some(resp) = events.next().await {
///     for ev in resp?.events {
///         println!("{:?} {:?}", ev.kind, String::from_utf8_lossy(&ev.kv.key));
///     }
/// }
/// # Ok(()) }
/// ```
#[async_trait]
pub trait Watcher: Send + Sync {
    /// Watches `key` (or a range, per `opts`) and returns once the server
    /// created the watcher: every change after that (or from
    /// [`WatchOptions::revision`]) is delivered. Fails with the refusal
    /// when the server does not create it ([`Error::WatchCanceled`]), and
    /// with [`Error::Timeout`] when the client's call deadline passes first.
    async fn watch<K>(&self, key: K, opts: WatchOptions) -> Result<WatchStream>
    where
        K: Into<Vec<u8>> + Send;

    /// Asks every stream for a progress reply (Go's `RequestProgress`): each
    /// created watcher gets a response with
    /// [`WatchResponse::is_progress_notify`] and the store's revision. With
    /// no watcher there is no stream and nothing is sent.
    async fn request_progress(&self) -> Result<()>;

    /// Ends every watcher (their streams yield [`Error::Closed`]) and closes
    /// the streams. Later watches open new ones. [`Client::close`] does this
    /// too.
    async fn close(&self) -> Result<()>;
}

#[async_trait]
impl Watcher for Client {
    async fn watch<K>(&self, key: K, opts: WatchOptions) -> Result<WatchStream>
    where
        K: Into<Vec<u8>> + Send,
    {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        let deadline = self.call_deadline();
        let (reply, created) = oneshot::channel();
        let require_leader = opts.require_leader;
        let cmd = Command::Create {
            key: key.into(),
            opts,
            reply,
        };
        let tx = self.streams().watch.send(self, require_leader, cmd);
        let created = match deadline {
            Some(d) => tokio::time::timeout(d.saturating_duration_since(Instant::now()), created)
                .await
                .map_err(|_| Error::Timeout)?,
            None => created.await,
        };
        let Created { local, rx } = created.map_err(|_| Error::Closed)??;
        Ok(WatchStream::from_hub(rx, tx, local))
    }

    async fn request_progress(&self) -> Result<()> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        self.streams().watch.broadcast(|| Command::Progress);
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        self.streams().watch.broadcast(|| Command::CloseAll);
        Ok(())
    }
}
