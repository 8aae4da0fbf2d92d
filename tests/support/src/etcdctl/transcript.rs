//! Running etcdctl (v2 or v3 mode) against one server and recording what it printed.

use super::servers::Server;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
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
    /// Compare stdout's (and stderr's) lines in sorted order: their order differs
    /// for a reason the scenario states (member ids, Go's map order, concurrent
    /// commands, etcdctl printing members as they answer).
    pub sort_lines: bool,
}

/// Which etcdctl API a session speaks (`ETCDCTL_API`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Api {
    /// v2: `--endpoints <client URL>`, the v2 HTTP API.
    V2,
    /// v3: `--endpoints=<host:port>`, gRPC.
    V3,
}

/// What a command reads on its standard input.
enum Input<'i> {
    /// Nothing (`/dev/null`).
    Null,
    /// This text, then end of file; recorded as `shown`.
    Text { text: &'i str, shown: &'i str },
    /// What the scenario feeds it while it runs ([`Feed`]); kept open until the
    /// command is stopped.
    Open,
}

/// The standard input of an interactive command (`watch -i`), fed while it runs.
pub struct Feed {
    stdin: Option<ChildStdin>,
    fed: String,
}

impl Feed {
    /// Writes `text` to the command's standard input (recorded in its step).
    pub fn send(&mut self, text: &str) {
        self.fed.push_str(text);
        if let Some(stdin) = self.stdin.as_mut() {
            // The command may have exited: its output tells.
            let _ = stdin.write_all(text.as_bytes());
            let _ = stdin.flush();
        }
    }
}

/// A scenario's etcdctl runs against one server.
pub struct Session<'a> {
    server: &'a Server,
    api: Api,
    steps: Vec<Step>,
    aliases: Vec<(String, String)>,
}

impl<'a> Session<'a> {
    /// A v2 session with no steps yet.
    pub fn new(server: &'a Server) -> Self {
        Session::with_api(server, Api::V2)
    }

    /// A session of etcdctl `api` with no steps yet.
    pub fn with_api(server: &'a Server, api: Api) -> Self {
        Session {
            server,
            api,
            steps: Vec::new(),
            aliases: Vec::new(),
        }
    }

    /// The v3 store's current revision (not recorded).
    pub fn revision(&self) -> i64 {
        self.server.revision()
    }

    /// Puts `key` = `value` through the v3 JSON gateway (not recorded).
    pub fn put_raw(&self, key: &str, value: &str) {
        self.server.put_v3_raw(key, value);
    }

    /// Lets `d` pass, e.g. until a watch started without `--rev` is in place.
    pub fn pause(&self, d: Duration) {
        self.server.wait(d);
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
        self.run(args, Input::Null, false, None, |_, _| {})
    }

    /// Runs etcdctl with `input` on stdin (password prompts, txn) and records it.
    pub fn ctl_stdin(&mut self, args: &[&str], input: &str) -> &Step {
        let input = Input::Text {
            text: input,
            shown: input,
        };
        self.run(args, input, false, None, |_, _| {})
    }

    /// As [`Session::ctl_stdin`], recording `shown` for the input (a large value).
    pub fn ctl_stdin_shown(&mut self, args: &[&str], input: &str, shown: &str) -> &Step {
        let input = Input::Text { text: input, shown };
        self.run(args, input, false, None, |_, _| {})
    }

    /// Runs etcdctl and records it, its stdout lines compared in sorted order.
    pub fn ctl_sorted(&mut self, args: &[&str]) -> &Step {
        self.run(args, Input::Null, true, None, |_, _| {})
    }

    /// Starts an interactive etcdctl (`watch -i`), runs `during` with its standard
    /// input (the steps `during` records come first), waits until the command has
    /// printed `lines` lines or exited, stops it if it still runs, and records it.
    pub fn interactive(
        &mut self,
        args: &[&str],
        lines: usize,
        during: impl FnOnce(&mut Session<'a>, &mut Feed),
    ) {
        self.run(args, Input::Open, false, Some(lines), |s, feed| {
            if let Some(feed) = feed {
                during(s, feed);
            }
        });
    }

    /// Starts a long-running etcdctl (`watch`, `exec-watch`), runs `during` (whose
    /// own steps are recorded first), waits until the command has printed `lines`
    /// lines or exited, stops it if it still runs, and records its output.
    pub fn watch(&mut self, args: &[&str], lines: usize, during: impl FnOnce(&mut Session<'a>)) {
        self.run(args, Input::Null, false, Some(lines), |s, _| during(s));
    }

    /// As [`Session::watch`], its stdout lines compared in sorted order
    /// (`exec-watch` starts each event's command without waiting for the last one).
    pub fn watch_unordered(
        &mut self,
        args: &[&str],
        lines: usize,
        during: impl FnOnce(&mut Session<'a>),
    ) {
        self.run(args, Input::Null, true, Some(lines), |s, _| during(s));
    }

    /// Runs etcdctl with its output going to files, runs `during`, then waits until
    /// it exits, has printed `lines` lines, or [`COMMAND_TIMEOUT`] passes.
    fn run(
        &mut self,
        args: &[&str],
        input: Input<'_>,
        sort_lines: bool,
        lines: Option<usize>,
        during: impl FnOnce(&mut Session<'a>, Option<&mut Feed>),
    ) -> &Step {
        let dir = tempfile::tempdir().expect("tempdir");
        let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
        let mut child = self
            .command(args)
            .stdin(match input {
                Input::Null => Stdio::null(),
                Input::Text { .. } | Input::Open => Stdio::piped(),
            })
            .stdout(File::create(&out_path).expect("stdout file"))
            .stderr(File::create(&err_path).expect("stderr file"))
            .spawn()
            .expect("spawn etcdctl");
        let mut recorded_input = None;
        let mut feed = None;
        match input {
            Input::Null => {}
            Input::Text { text, shown } => {
                recorded_input = Some(shown.to_string());
                if let Some(mut stdin) = child.stdin.take() {
                    // etcdctl may exit before reading it all: a failed write is its
                    // business.
                    let _ = stdin.write_all(text.as_bytes());
                }
            }
            Input::Open => {
                feed = Some(Feed {
                    stdin: child.stdin.take(),
                    fed: String::new(),
                });
            }
        }
        during(self, feed.as_mut());
        if let Some(feed) = &feed {
            recorded_input = Some(feed.fed.clone());
        }
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
            stdin: recorded_input,
            stdout: if args.iter().any(|a| a.ends_with("protobuf")) {
                std::fs::read(&out_path)
                    .map(|b| super::protobuf::render(&b))
                    .unwrap_or_default()
            } else {
                read(&out_path)
            },
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
        match self.api {
            Api::V2 => {
                cmd.env("ETCDCTL_API", "2")
                    .arg("--endpoints")
                    .arg(self.server.endpoint());
            }
            Api::V3 => {
                let url = self.server.endpoint();
                let addr = url.strip_prefix("http://").unwrap_or(url);
                cmd.env("ETCDCTL_API", "3")
                    .arg(format!("--endpoints={addr}"));
            }
        }
        cmd.args(args);
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

/// The file's text; bytes that are not UTF-8 (`-w protobuf`) replaced, not dropped.
fn read(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}
