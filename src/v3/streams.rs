//! The per-client registry of the long-lived gRPC streams: the Watch streams
//! ([`crate::v3::Watcher`]) and the LeaseKeepAlive stream
//! ([`crate::v3::Lease::keep_alive`]). Each is started by its first user and
//! ends when its last user is gone.

use super::lease::KeepAliveHub;
use super::watch::WatchHub;

/// What a [`crate::v3::Client`] (and its clones) share besides the channel.
#[derive(Default)]
pub(crate) struct Streams {
    /// One Watch stream per metadata set.
    pub(crate) watch: WatchHub,
    /// The one LeaseKeepAlive stream.
    pub(crate) lease: KeepAliveHub,
}

/// The receiving half of a channel as the request stream of a gRPC call:
/// what is sent on the channel goes out on the call, in order, and the call's
/// request side ends when every sender is dropped.
pub(crate) fn receiver_stream<T: Send + 'static>(
    rx: tokio::sync::mpsc::UnboundedReceiver<T>,
) -> impl futures_util::Stream<Item = T> + Send + 'static {
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
}

/// Sleeps until `at`, or forever when there is nothing to wait for (a
/// `select!` arm that never fires).
pub(crate) async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
