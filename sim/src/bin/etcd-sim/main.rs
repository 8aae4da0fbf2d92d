//! `etcd-sim`: our etcd server as a command, and the chaos runner.
//!
//! Real builds run a member with etcd's own command-line flags (a tool that starts
//! `etcd` can start `etcd-sim` instead). Sim builds (`RUSTFLAGS="--cfg madsim"`) run
//! `etcd-sim chaos ...`: randomized fault-injection runs of a simulated cluster.
//! `etcd-sim benchmark ...` (real builds) is etcd's load tool over our v3 SDK.

#[cfg(not(madsim))]
mod benchmark_cmd;
#[cfg(madsim)]
mod chaos_args;
#[cfg(madsim)]
mod chaos_cmd;
#[cfg(not(madsim))]
mod log_format;
#[cfg(not(madsim))]
mod server_cmd;
#[cfg(not(madsim))]
mod snapshot_cmd;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    #[cfg(madsim)]
    {
        chaos_cmd::main(args)
    }
    #[cfg(not(madsim))]
    {
        server_cmd::main(args)
    }
}
