//! Running etcdctl (v2 mode) against one server and recording what it printed.

use super::servers::Server;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The etcdctl binary (Debian package `etcd-client`; `scripts/install-deps.sh`).
pub const ETCDCTL_BIN: &str = "/usr/bin/etcdctl";

/// How long a command may run (a watch: until it has printed the lines a scenario
/// waits for) before the harness stops it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a watch may go on after printing the awaited lines.
const GRACE: Duration = Duration::from_millis(300);

/// How a recorded command ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// It died of a signal it was not sent by the harness.
    Signal,
    /// The harness stopped it (SIGKILL): after the lines it waited for, or at the
    /// command timeout.
    Stopped,
}

/// One etcdctl run.
#[derive(Clone, Debug)]
pub struct Step {
    /// The arguments after `--endpoints <url>`, space-separated.
    pub command: String,
    /// What was fed to its standard input.
    pub stdin: Option<String>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// How it ended.
    pub exit: Exit,
    /// Compare stdout's lines in sorted order: their order differs for a reason
    /// the scenario states (member ids, Go's map order, concurrent commands).
    pub sort_lines: bool,
}

/// A scenario's etcdctl runs against one server.
pub struct Session<'a> {
    server: &'a Server,
    steps: Vec<Step>,
    aliases: Vec<(String, String)>,
}

impl<'a> Session<'a> {
    /// A session with no steps yet.
    pub fn new(server: &'a Server) -> Self {
        Session {
            server,
            steps: Vec::new(),
            aliases: Vec::new(),
        }
    }

    /// The server the session talks to.
    pub fn server(&self) -> &'a Server {
        self.server
    }

    /// The store's current index (not recorded).
    pub fn index(&self) -> u64 {
        self.server.index()
    }

    /// The steps recorded so far.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Names `text` (a value the scenario chose per run, such as a free port) as
    /// `label` in the normalized transcript.
    pub fn alias(&mut self, text: &str, label: &str) {
        self.aliases.push((text.to_string(), label.to_string()));
    }

    /// The recorded steps and the scenario's aliases.
    pub fn finish(self) -> (Vec<Step>, Vec<(String, String)>) {
        (self.steps, self.aliases)
    }

    /// Runs `etcdctl --endpoints <m0> <args>` with nothing on stdin and records it.
    pub fn ctl(&mut self, args: &[&str]) -> &Step {
        self.run(args, None, false, None, |_| {})
    }

    /// Runs etcdctl with `input` on stdin (password prompts) and records it.
    pub fn ctl_stdin(&mut self, args: &[&str], input: &str) -> &Step {
        self.run(args, Some(input), false, None, |_| {})
    }

    /// Runs etcdctl and records it, its stdout lines compared in sorted order.
    pub fn ctl_sorted(&mut self, args: &[&str]) -> &Step {
        self.run(args, None, true, None, |_| {})
    }

    /// Starts a long-running etcdctl (`watch`, `exec-watch`), runs `during` (whose
    /// own steps are recorded first), waits until the command has printed `lines`
    /// lines or exited, stops it if it still runs, and records its output.
    pub fn watch(&mut self, args: &[&str], lines: usize, during: impl FnOnce(&mut Session<'a>)) {
        self.run(args, None, false, Some(lines), during);
    }

    /// As [`Session::watch`], its stdout lines compared in sorted order
    /// (`exec-watch` starts each event's command without waiting for the last one).
    pub fn watch_unordered(
        &mut self,
        args: &[&str],
        lines: usize,
        during: impl FnOnce(&mut Session<'a>),
    ) {
        self.run(args, None, true, Some(lines), during);
    }

    /// Runs etcdctl with its output going to files, runs `during`, then waits until
    /// it exits, has printed `lines` lines, or [`COMMAND_TIMEOUT`] passes.
    fn run(
        &mut self,
        args: &[&str],
        input: Option<&str>,
        sort_lines: bool,
        lines: Option<usize>,
        during: impl FnOnce(&mut Session<'a>),
    ) -> &Step {
        let dir = tempfile::tempdir().expect("tempdir");
        let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
        let mut child = self
            .command(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(File::create(&out_path).expect("stdout file"))
            .stderr(File::create(&err_path).expect("stderr file"))
            .spawn()
            .expect("spawn etcdctl");
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            // etcdctl may exit before reading it all: a failed write is its business.
            let _ = stdin.write_all(text.as_bytes());
        }
        during(self);
        let mut deadline = Instant::now() + COMMAND_TIMEOUT;
        let mut enough = false;
        let exit = loop {
            if let Ok(Some(status)) = child.try_wait() {
                break exit_of(status);
            }
            if Instant::now() > deadline {
                break stop(&mut child);
            }
            if !enough && lines.is_some_and(|n| read(&out_path).lines().count() >= n) {
                // A one-shot watch exits by itself after its event; anything printed
                // after the awaited lines is part of the transcript too.
                enough = true;
                deadline = Instant::now() + GRACE;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        self.steps.push(Step {
            command: args.join(" "),
            stdin: input.map(str::to_string),
            stdout: read(&out_path),
            stderr: read(&err_path),
            exit,
            sort_lines,
        });
        self.steps.last().expect("just pushed")
    }

    fn command(&self, args: &[&str]) -> Command {
        assert!(
            Path::new(ETCDCTL_BIN).exists(),
            "{ETCDCTL_BIN} is missing: run scripts/install-deps.sh"
        );
        let mut cmd = Command::new(ETCDCTL_BIN);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCDCTL") {
                cmd.env_remove(k);
            }
        }
        cmd.env("ETCDCTL_API", "2")
            .arg("--endpoints")
            .arg(self.server.endpoint())
            .args(args);
        cmd
    }
}

fn stop(child: &mut Child) -> Exit {
    let _ = child.kill();
    let _ = child.wait();
    Exit::Stopped
}

fn exit_of(status: std::process::ExitStatus) -> Exit {
    status.code().map_or(Exit::Signal, Exit::Code)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}
