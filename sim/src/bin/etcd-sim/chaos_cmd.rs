//! `etcd-sim chaos` (sim builds). Placeholder until the chaos runner lands.

use std::process::ExitCode;

/// Runs the chaos command line.
pub fn main(_args: Vec<String>) -> ExitCode {
    eprintln!("etcd-sim: the chaos runner is not built yet");
    ExitCode::from(2)
}
