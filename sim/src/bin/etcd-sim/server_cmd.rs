//! The server command (real builds). Placeholder until the embed API lands.

use std::process::ExitCode;

/// Runs the server command line.
pub fn main(_args: Vec<String>) -> ExitCode {
    eprintln!("etcd-sim: the server command is not built yet");
    ExitCode::from(2)
}
