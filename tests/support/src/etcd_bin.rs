//! Whether the etcd binary the real-etcd tests need is installed, checked once
//! up front so a machine without it fails with one clear line instead of a
//! panic deep inside every test.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// The etcd binary (Debian package `etcd-server`; `scripts/install-deps.sh` installs it).
pub const ETCD_BIN: &str = "/usr/bin/etcd";

/// `Ok` if `bin` is an executable file; otherwise the one line to show, which
/// names the binary, what is wrong and `scripts/install-deps.sh`.
pub fn check_binary(bin: &Path) -> Result<(), String> {
    let problem = match std::fs::metadata(bin) {
        Err(_) => "is missing",
        Ok(m) if !m.is_file() => "is not a file",
        Ok(m) if m.permissions().mode() & 0o111 == 0 => "is not executable",
        Ok(_) => return Ok(()),
    };
    Err(format!(
        "{} {problem}: run scripts/install-deps.sh (installs etcd 3.4.23) before cargo test",
        bin.display()
    ))
}

/// Ends the test process at once with [`check_binary`]'s line (on stderr,
/// past the test harness's output capture) when `bin` is not usable.
pub fn require_binary(bin: &Path) {
    if let Err(line) = check_binary(bin) {
        let _ = writeln!(std::io::stderr(), "{line}");
        std::process::exit(1);
    }
}
