//! The server command (real builds): etcd's command line → [`Config`] → validate →
//! start → "ready to serve client requests" → run until SIGINT/SIGTERM → close
//! gracefully. Exit status 2 for usage errors, 1 for bad settings or a server that
//! failed; after a requested shutdown the process ends by the signal that asked for
//! it, as etcd's does (a shell sees 143 for SIGTERM, 130 for SIGINT).

use crate::log_format::LogFormat;
use etcd_sim::embed::help::{flags_text, usage_line};
use etcd_sim::embed::{Command, Config, EmbedError, parse_command_line, start};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriterExt};

/// The etcd version our server reports (and mirrors).
const ETCD_VERSION: &str = "3.4.23";

/// Runs the server command line (`args[0]` is the program name).
pub fn main(args: Vec<String>) -> ExitCode {
    if args.get(1).map(String::as_str) == Some("chaos") {
        eprintln!(
            "etcd-sim chaos runs inside the simulator: build with RUSTFLAGS=\"--cfg madsim\" \
             (see scripts/chaos.sh), e.g.\n  RUSTFLAGS=\"--cfg madsim\" cargo run -p etcd-sim \
             --target-dir target/sim -- chaos ..."
        );
        return ExitCode::from(2);
    }
    if args.get(1).map(String::as_str) == Some("benchmark") {
        return crate::benchmark_cmd::main(args.get(2..).unwrap_or(&[]));
    }
    if args.get(1).map(String::as_str) == Some("snapshot") {
        return crate::snapshot_cmd::main(args.get(2..).unwrap_or(&[]));
    }
    let env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let (config, notices, warnings) = match parse_command_line(args.get(1..).unwrap_or(&[]), &env) {
        Ok(Command::Help) => {
            eprint!("{}", usage_line());
            print!("{}", flags_text());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("etcd Version: {ETCD_VERSION}");
            println!(
                "Git SHA: Not provided (etcd-sim {})",
                env!("CARGO_PKG_VERSION")
            );
            println!("Go Version: none (etcd-sim is written in Rust)");
            let arch = match std::env::consts::ARCH {
                "x86_64" => "amd64",
                "aarch64" => "arm64",
                other => other,
            };
            println!("Go OS/Arch: {}/{arch}", std::env::consts::OS);
            return ExitCode::SUCCESS;
        }
        Ok(Command::Run {
            config,
            notices,
            warnings,
        }) => (*config, notices, warnings),
        Err(e @ EmbedError::Usage(_)) => {
            eprintln!("{e}");
            eprint!("{}", usage_line());
            return ExitCode::from(e.exit_code());
        }
        Err(e) => {
            eprintln!("etcd-sim: error verifying flags, {e}. See 'etcd-sim --help'.");
            return ExitCode::from(e.exit_code());
        }
    };
    // etcd validates (its logging settings first) before it logs anything.
    if let Err(e) = config.validate() {
        eprintln!("etcd-sim: {e}");
        return ExitCode::from(e.exit_code());
    }
    if let Err(e) = init_logging(&config) {
        eprintln!("etcd-sim: error verifying flags, {e}. See 'etcd-sim --help'.");
        return ExitCode::FAILURE;
    }
    for n in notices {
        tracing::info!("{n}");
    }
    for w in warnings {
        tracing::warn!("{w}");
    }
    tracing::info!(
        "etcd-sim: etcd Version: {ETCD_VERSION} (etcd-sim {})",
        env!("CARGO_PKG_VERSION")
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("etcd-sim: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(serve(config));
    drop(runtime);
    match outcome {
        Ok(signal) => die_of(signal),
        Err(e) => {
            eprintln!("etcd-sim: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Logs with tracing to the configured outputs at the configured level (`RUST_LOG`
/// overrides the level). Files are created if missing and appended to; a file that
/// cannot be opened is an error, with etcd's text.
fn init_logging(config: &Config) -> Result<(), String> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(config.log_filter()));
    let outputs = config.log_output_set();
    let mut writer: Option<BoxMakeWriter> = None;
    let mut ansi = outputs.len() == 1;
    for output in outputs {
        let next = match output {
            "default" | "stderr" => {
                ansi &= std::io::stderr().is_terminal();
                BoxMakeWriter::new(std::io::stderr)
            }
            "stdout" => {
                ansi &= std::io::stdout().is_terminal();
                BoxMakeWriter::new(std::io::stdout)
            }
            path => {
                ansi = false;
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        format!("open sink {path:?}: open {path}: {}", go_error_text(&e))
                    })?;
                BoxMakeWriter::new(Arc::new(file))
            }
        };
        writer = Some(match writer {
            None => next,
            Some(all) => BoxMakeWriter::new(all.and(next)),
        });
    }
    let writer = writer.unwrap_or_else(|| BoxMakeWriter::new(std::io::stderr));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer)
        .event_format(LogFormat::from_logger(&config.logger))
        .try_init()
        .map_err(|e| format!("logging not set up: {e}"))
}

/// An OS error as Go prints it: `no such file or directory`, not Rust's
/// `No such file or directory (os error 2)`.
fn go_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(at) => &text[..at],
        None => &text,
    };
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Why the server is stopping.
enum Stop {
    /// A signal (its name, its number) asked for a shutdown.
    Signal(&'static str, libc::c_int),
    Failed(EmbedError),
}

/// Ends the process by `signal`, as etcd does once its shutdown handlers have run
/// (it restores the default action and signals itself), so a shell or supervisor
/// sees 128 + the signal's number: 143 after SIGTERM, 130 after SIGINT.
fn die_of(signal: libc::c_int) -> ExitCode {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: restoring a signal's default action and raising it in this process
    // touches no memory of ours; the default action of both signals ends it.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
    ExitCode::from(128u8.saturating_add(u8::try_from(signal).unwrap_or(0)))
}

/// Starts the server, announces readiness, and runs until a signal (returned once
/// the server has closed) or a fatal error.
async fn serve(config: Config) -> Result<libc::c_int, EmbedError> {
    use tokio::signal::unix::{SignalKind, signal};
    let etcd = start(config).await?;
    let mut errors = etcd.err();
    let mut sigterm =
        signal(SignalKind::terminate()).map_err(|e| EmbedError::Stopped(e.to_string()))?;
    let mut sigint =
        signal(SignalKind::interrupt()).map_err(|e| EmbedError::Stopped(e.to_string()))?;
    let stop = tokio::select! {
        biased;
        _ = sigterm.recv() => Stop::Signal("terminated", libc::SIGTERM),
        _ = sigint.recv() => Stop::Signal("interrupt", libc::SIGINT),
        e = errors.recv() => Stop::Failed(e.unwrap_or_else(|| EmbedError::Stopped("closed".into()))),
        r = etcd.ready() => match r {
            Ok(()) => {
                tracing::info!("embed: ready to serve client requests");
                for url in etcd.client_urls() {
                    let addr = url.split_once("://").map_or(url.as_str(), |(_, a)| a);
                    tracing::info!(
                        capnslog = "N",
                        zap_msg = "serving client traffic insecurely; this is strongly discouraged!",
                        address = addr,
                        "embed: serving insecure client requests on {addr}, this is strongly discouraged!"
                    );
                }
                tokio::select! {
                    biased;
                    _ = sigterm.recv() => Stop::Signal("terminated", libc::SIGTERM),
                    _ = sigint.recv() => Stop::Signal("interrupt", libc::SIGINT),
                    e = errors.recv() => Stop::Failed(e.unwrap_or_else(|| EmbedError::Stopped("closed".into()))),
                }
            }
            Err(e) => Stop::Failed(e),
        },
    };
    match stop {
        Stop::Signal(name, number) => {
            tracing::info!("etcd-sim: received {name} signal, shutting down...");
            etcd.close().await;
            Ok(number)
        }
        Stop::Failed(e) => {
            etcd.close().await;
            Err(e)
        }
    }
}
