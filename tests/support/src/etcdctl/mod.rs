//! Side-by-side runs of `etcdctl` (v2 and v3 modes) against etcd 3.4.23 and
//! etcd-sim.
//!
//! - [`servers`]: a fresh server of either kind (real etcd from the root package's
//!   harness, or our members in-process on a runtime of their own), with member
//!   `m0` in the lead.
//! - [`transcript`]: running etcdctl against one server and recording each command's
//!   stdout, stderr and exit code.
//! - [`protobuf`]: `-w protobuf` output (raw bytes) as text with the ids visible.
//! - [`normalize`]: what legitimately differs between the two (URLs, member ids,
//!   expiration times), and the comparison of two transcripts.
//!
//! [`compare`] (v2) and [`compare_v3`] run one scenario against both servers and
//! assert that the normalized transcripts are equal.

pub mod normalize;
pub mod protobuf;
pub mod servers;
pub mod transcript;

pub use servers::{Flags, Flavor, Server};
pub use transcript::{Api, Feed, Session};

/// Runs `scenario` against a fresh `members`-member etcd 3.4.23 cluster and a fresh
/// etcd-sim cluster of the same size (both at once, each on a thread of its own),
/// and panics with every differing step if the normalized transcripts differ.
/// `ETCDCTL_COMPAT_SHOW=1` prints both transcripts.
pub fn compare(members: usize, scenario: impl Fn(&mut Session<'_>) + Sync) {
    compare_with(Api::V2, members, &Flags::default(), scenario);
}

/// As [`compare`], with etcdctl in v3 mode (`ETCDCTL_API=3`, gRPC) and `flags`
/// given to both servers.
pub fn compare_v3(members: usize, flags: &Flags, scenario: impl Fn(&mut Session<'_>) + Sync) {
    compare_with(Api::V3, members, flags, scenario);
}

fn compare_with(
    api: Api,
    members: usize,
    flags: &Flags,
    scenario: impl Fn(&mut Session<'_>) + Sync,
) {
    let run = |flavor| transcript_of(flavor, api, members, flags, &scenario);
    let run = &run;
    let (etcd, ours) = std::thread::scope(|scope| {
        // Each server lives and dies on its thread (etcd's processes are tied to the
        // thread that started them).
        let etcd = scope.spawn(move || run(Flavor::Etcd));
        let ours = scope.spawn(move || run(Flavor::Sim));
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
    api: Api,
    members: usize,
    flags: &Flags,
    scenario: &(impl Fn(&mut Session<'_>) + Sync),
) -> Vec<String> {
    let server = Server::start_with(flavor, members, flags);
    let mut session = Session::with_api(&server, api);
    scenario(&mut session);
    let (steps, aliases) = session.finish();
    normalize::Normalizer::for_run(&server, &steps, aliases).apply_all(&steps)
}
