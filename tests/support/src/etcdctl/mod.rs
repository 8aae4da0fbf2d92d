//! Side-by-side runs of `etcdctl` (v2 mode) against etcd 3.4.23 and etcd-sim.
//!
//! - [`servers`]: a fresh server of either kind (real etcd from the root package's
//!   harness, or our members in-process on a runtime of their own), with member
//!   `m0` in the lead.
//! - [`transcript`]: running etcdctl against one server and recording each command's
//!   stdout, stderr and exit code.
//! - [`normalize`]: what legitimately differs between the two (URLs, member ids,
//!   expiration times), and the comparison of two transcripts.
//!
//! [`compare`] runs one scenario against both servers and asserts that the
//! normalized transcripts are equal.

pub mod normalize;
pub mod servers;
pub mod transcript;

pub use servers::{Flavor, Server};
pub use transcript::Session;

/// Runs `scenario` against a fresh `members`-member etcd 3.4.23 cluster and a fresh
/// etcd-sim cluster of the same size (both at once, each on a thread of its own),
/// and panics with every differing step if the normalized transcripts differ.
/// `ETCDCTL_COMPAT_SHOW=1` prints both transcripts.
pub fn compare(members: usize, scenario: impl Fn(&mut Session<'_>) + Sync) {
    let (etcd, ours) = std::thread::scope(|scope| {
        // Each server lives and dies on its thread (etcd's processes are tied to the
        // thread that started them).
        let etcd = scope.spawn(|| transcript_of(Flavor::Etcd, members, &scenario));
        let ours = scope.spawn(|| transcript_of(Flavor::Sim, members, &scenario));
        let join = |h: std::thread::ScopedJoinHandle<'_, Vec<String>>| {
            h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
        };
        (join(etcd), join(ours))
    });
    if std::env::var_os("ETCDCTL_COMPAT_SHOW").is_some() {
        eprintln!("===== etcd 3.4.23\n{}", etcd.concat());
        eprintln!("===== etcd-sim\n{}", ours.concat());
    }
    if let Err(diff) = normalize::diff(&etcd, &ours) {
        panic!("etcdctl transcripts differ (etcd 3.4.23 vs etcd-sim):\n{diff}");
    }
}

/// `scenario`'s normalized transcript against a fresh server of `flavor`.
fn transcript_of(
    flavor: Flavor,
    members: usize,
    scenario: &(impl Fn(&mut Session<'_>) + Sync),
) -> Vec<String> {
    let server = Server::start(flavor, members);
    let mut session = Session::new(&server);
    scenario(&mut session);
    let (steps, aliases) = session.finish();
    normalize::Normalizer::for_run(&server, &steps, aliases).apply_all(&steps)
}
