//! The server command (real builds): etcd's command line → [`Config`] → validate →
//! start → "ready to serve client requests" → run until SIGINT/SIGTERM → close
//! gracefully. Exit status 2 for usage errors, 1 for bad settings or a server that
//! failed, 0 after a requested shutdown.

use etcd_sim::embed::help::{flags_text, usage_line};
use etcd_sim::embed::{Command, Config, EmbedError, parse_command_line, start};
use std::io::IsTerminal;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

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
    init_logging(&config);
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
    if let Err(e) = config.validate() {
        eprintln!("etcd-sim: {e}");
        return ExitCode::from(e.exit_code());
    }
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
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("etcd-sim: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Logs with tracing to the configured output at the configured level (`RUST_LOG`
/// overrides the level).
fn init_logging(config: &Config) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(config.log_filter()));
    let to_stdout = config.log_outputs.iter().any(|o| o == "stdout");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let result = if to_stdout {
        let ansi = std::io::stdout().is_terminal();
        builder
            .with_ansi(ansi)
            .with_writer(std::io::stdout)
            .try_init()
    } else {
        let ansi = std::io::stderr().is_terminal();
        builder
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
            .try_init()
    };
    if let Err(e) = result {
        eprintln!("etcd-sim: logging not set up: {e}");
    }
}

/// Why the server is stopping.
enum Stop {
    Signal(&'static str),
    Failed(EmbedError),
}

/// Starts the server, announces readiness, and runs until a signal or a fatal error.
async fn serve(config: Config) -> Result<(), EmbedError> {
    use tokio::signal::unix::{SignalKind, signal};
    let etcd = start(config).await?;
    let mut errors = etcd.err();
    let mut sigterm =
        signal(SignalKind::terminate()).map_err(|e| EmbedError::Stopped(e.to_string()))?;
    let mut sigint =
        signal(SignalKind::interrupt()).map_err(|e| EmbedError::Stopped(e.to_string()))?;
    let stop = tokio::select! {
        biased;
        _ = sigterm.recv() => Stop::Signal("terminated"),
        _ = sigint.recv() => Stop::Signal("interrupt"),
        e = errors.recv() => Stop::Failed(e.unwrap_or_else(|| EmbedError::Stopped("closed".into()))),
        r = etcd.ready() => match r {
            Ok(()) => {
                tracing::info!("embed: ready to serve client requests");
                for url in etcd.client_urls() {
                    let addr = url.split_once("://").map_or(url.as_str(), |(_, a)| a);
                    tracing::info!("embed: serving insecure client requests on {addr}, this is strongly discouraged!");
                }
                tokio::select! {
                    biased;
                    _ = sigterm.recv() => Stop::Signal("terminated"),
                    _ = sigint.recv() => Stop::Signal("interrupt"),
                    e = errors.recv() => Stop::Failed(e.unwrap_or_else(|| EmbedError::Stopped("closed".into()))),
                }
            }
            Err(e) => Stop::Failed(e),
        },
    };
    match stop {
        Stop::Signal(name) => {
            tracing::info!("etcd-sim: received {name} signal, shutting down...");
            etcd.close().await;
            Ok(())
        }
        Stop::Failed(e) => {
            etcd.close().await;
            Err(e)
        }
    }
}
