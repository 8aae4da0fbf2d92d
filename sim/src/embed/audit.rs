//! Every field of etcd 3.4.23's `embed.Config` (`embed/config.go`) and what
//! etcd-sim does with it: [`AUDIT`]. `README.md` in this directory shows it
//! as a table ([`markdown_table`]; a unit test keeps the two equal, and
//! `ETCD_SIM_WRITE_AUDIT=1 cargo test -p etcd-sim --lib embed::audit` rewrites
//! the README's table). Each entry that is a flag is also checked: the sample
//! value of an honoured flag changes the [`Config`], a refused one fails
//! validation with the stated error, an ignored one is accepted.
//!
//! [`Config`]: super::Config

use super::settings::find;

/// What etcd-sim does with a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Honoured: the flag's `sample` value (not the default) is kept in
    /// [`super::Config`] and acted on.
    Honoured {
        /// A value other than the default.
        sample: &'static str,
    },
    /// Refused by validation with [`refusal_text`] when set to `sample`.
    Refused {
        /// A value other than the default.
        sample: &'static str,
    },
    /// Accepted and ignored, for `reason`.
    Ignored {
        /// A value other than the default.
        sample: &'static str,
        /// Why it changes nothing.
        reason: &'static str,
    },
    /// Not a flag (a Go-only field): what stands in for it.
    NotAFlag {
        /// What etcd-sim does instead.
        note: &'static str,
    },
}

/// One field of etcd's `embed.Config`.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    /// The Go field (`Name`, `ClientTLSInfo.CertFile`).
    pub go: &'static str,
    /// Its flag (and YAML key), without dashes; empty when it has none.
    pub flag: &'static str,
    /// What etcd-sim does with it.
    pub verdict: Verdict,
}

const fn f(go: &'static str, flag: &'static str, verdict: Verdict) -> Field {
    Field { go, flag, verdict }
}

const fn honoured(sample: &'static str) -> Verdict {
    Verdict::Honoured { sample }
}

const fn refused(sample: &'static str) -> Verdict {
    Verdict::Refused { sample }
}

const fn ignored(sample: &'static str, reason: &'static str) -> Verdict {
    Verdict::Ignored { sample, reason }
}

const GO_ONLY_LOGGER: &str = "Go-only (the zap logger's internals): etcd-sim logs through `tracing`, set up by `--logger`, `--log-outputs`, `--log-level`";

/// Every field of etcd 3.4.23's `embed.Config`, in its order.
pub const AUDIT: &[Field] = &[
    f("Name", "name", honoured("n1")),
    f("Dir", "data-dir", honoured("/tmp/audit.etcd")),
    f("WalDir", "wal-dir", honoured("/tmp/audit.wal")),
    f("SnapshotCount", "snapshot-count", honoured("5")),
    f(
        "SnapshotCatchUpEntries",
        "",
        Verdict::NotAFlag {
            note: "fixed at etcd's 5000 entries kept behind a snapshot for slow followers",
        },
    ),
    f("MaxSnapFiles", "max-snapshots", honoured("3")),
    f("MaxWalFiles", "max-wals", honoured("3")),
    f("TickMs", "heartbeat-interval", honoured("50")),
    f("ElectionMs", "election-timeout", honoured("2000")),
    f(
        "InitialElectionTickAdvance",
        "initial-election-tick-advance",
        honoured("false"),
    ),
    f(
        "BackendBatchInterval",
        "backend-batch-interval",
        ignored(
            "1s",
            "checked as etcd checks it; no bbolt backend, so nothing to batch",
        ),
    ),
    f(
        "BackendBatchLimit",
        "backend-batch-limit",
        ignored(
            "10",
            "checked as etcd checks it; no bbolt backend, so nothing to batch",
        ),
    ),
    f(
        "QuotaBackendBytes",
        "quota-backend-bytes",
        honoured("1048576"),
    ),
    f("MaxTxnOps", "max-txn-ops", honoured("64")),
    f("MaxRequestBytes", "max-request-bytes", honoured("4096")),
    f(
        "MaxConcurrentStreams",
        "max-concurrent-streams",
        ignored("100", "kept; the gRPC server keeps its own stream limit"),
    ),
    f(
        "LPUrls",
        "listen-peer-urls",
        honoured("http://127.0.0.1:23809"),
    ),
    f(
        "LCUrls",
        "listen-client-urls",
        honoured("http://127.0.0.1:23799"),
    ),
    f(
        "APUrls",
        "initial-advertise-peer-urls",
        honoured("http://127.0.0.1:23809"),
    ),
    f(
        "ACUrls",
        "advertise-client-urls",
        honoured("http://127.0.0.1:23799"),
    ),
    f(
        "ClientTLSInfo.CertFile",
        "cert-file",
        honoured("/tmp/audit-cert.pem"),
    ),
    f(
        "ClientTLSInfo.KeyFile",
        "key-file",
        honoured("/tmp/audit-key.pem"),
    ),
    f(
        "ClientTLSInfo.ClientCertAuth",
        "client-cert-auth",
        honoured("true"),
    ),
    f(
        "ClientTLSInfo.CRLFile",
        "client-crl-file",
        honoured("/tmp/audit-crl.pem"),
    ),
    f(
        "ClientTLSInfo.AllowedHostname",
        "client-cert-allowed-hostname",
        honoured("host.example"),
    ),
    f(
        "ClientTLSInfo.TrustedCAFile",
        "trusted-ca-file",
        honoured("/tmp/audit-ca.pem"),
    ),
    f("ClientAutoTLS", "auto-tls", honoured("true")),
    f(
        "PeerTLSInfo.CertFile",
        "peer-cert-file",
        refused("/tmp/peer.pem"),
    ),
    f(
        "PeerTLSInfo.KeyFile",
        "peer-key-file",
        refused("/tmp/peer.key"),
    ),
    f(
        "PeerTLSInfo.ClientCertAuth",
        "peer-client-cert-auth",
        refused("true"),
    ),
    f(
        "PeerTLSInfo.TrustedCAFile",
        "peer-trusted-ca-file",
        refused("/tmp/ca.pem"),
    ),
    f(
        "PeerTLSInfo.AllowedCN",
        "peer-cert-allowed-cn",
        refused("etcd"),
    ),
    f(
        "PeerTLSInfo.AllowedHostname",
        "peer-cert-allowed-hostname",
        refused("etcd.local"),
    ),
    f(
        "PeerTLSInfo.CRLFile",
        "peer-crl-file",
        refused("/tmp/peer.crl"),
    ),
    f(
        "PeerTLSInfo.SkipClientSANVerify",
        "experimental-peer-skip-client-san-verification",
        refused("true"),
    ),
    f("PeerAutoTLS", "peer-auto-tls", refused("true")),
    f(
        "CipherSuites",
        "cipher-suites",
        honoured("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
    ),
    f(
        "ClusterState",
        "initial-cluster-state",
        honoured("existing"),
    ),
    f("DNSCluster", "discovery-srv", honoured("example.com")),
    f(
        "DNSClusterServiceName",
        "discovery-srv-name",
        honoured("audit"),
    ),
    f(
        "Dproxy",
        "discovery-proxy",
        honoured("http://127.0.0.1:8080"),
    ),
    f(
        "Durl",
        "discovery",
        honoured("http://127.0.0.1:2379/v2/keys/discovery/audit"),
    ),
    f(
        "InitialCluster",
        "initial-cluster",
        honoured("a=http://127.0.0.1:23801"),
    ),
    f(
        "InitialClusterToken",
        "initial-cluster-token",
        honoured("tok"),
    ),
    f(
        "StrictReconfigCheck",
        "strict-reconfig-check",
        honoured("false"),
    ),
    f("EnableV2", "enable-v2", honoured("false")),
    f(
        "AutoCompactionMode",
        "auto-compaction-mode",
        honoured("revision"),
    ),
    f(
        "AutoCompactionRetention",
        "auto-compaction-retention",
        honoured("100"),
    ),
    f(
        "GRPCKeepAliveMinTime",
        "grpc-keepalive-min-time",
        ignored(
            "10s",
            "kept; the gRPC server keeps its own keepalive policy",
        ),
    ),
    f(
        "GRPCKeepAliveInterval",
        "grpc-keepalive-interval",
        ignored(
            "1h0m0s",
            "kept; the gRPC server keeps its own keepalive policy",
        ),
    ),
    f(
        "GRPCKeepAliveTimeout",
        "grpc-keepalive-timeout",
        ignored(
            "10s",
            "kept; the gRPC server keeps its own keepalive policy",
        ),
    ),
    f("PreVote", "pre-vote", honoured("true")),
    f("CORS", "cors", refused("http://a.example")),
    f("HostWhitelist", "host-whitelist", refused("a.example")),
    f(
        "UserHandlers",
        "",
        Verdict::NotAFlag {
            note: "honoured as `Config::user_handlers` (path → `UserHandler`): Go `ServeMux` patterns on every client port, winning over etcd's own paths; `/` and `/v3/` refused as etcd panics on them; a panicking handler closes its connection",
        },
    ),
    f(
        "ServiceRegister",
        "",
        Verdict::NotAFlag {
            note: "honoured as `Config::service_register` (`ServiceRegister`, adding tonic services): served beside etcd's on every client port's HTTP/2, plaintext and TLS; a name registered twice fails `start`, as it is fatal in etcd",
        },
    ),
    f(
        "AuthToken",
        "auth-token",
        honoured("jwt,sign-method=HS256,priv-key=/tmp/audit.key"),
    ),
    f("BcryptCost", "bcrypt-cost", honoured("4")),
    f("AuthTokenTTL", "auth-token-ttl", honoured("60")),
    f(
        "ExperimentalInitialCorruptCheck",
        "experimental-initial-corrupt-check",
        honoured("true"),
    ),
    f(
        "ExperimentalCorruptCheckTime",
        "experimental-corrupt-check-time",
        honoured("1m0s"),
    ),
    f(
        "ExperimentalEnableV2V3",
        "experimental-enable-v2v3",
        refused("/v2"),
    ),
    f(
        "ExperimentalBackendFreelistType",
        "experimental-backend-bbolt-freelist-type",
        ignored("map", "no bbolt backend"),
    ),
    f(
        "ExperimentalEnableLeaseCheckpoint",
        "experimental-enable-lease-checkpoint",
        ignored(
            "true",
            "not wired to the member yet (the lessor has checkpoints: `store::v3::lease::CheckpointConfig`): a new leader restarts every lease's TTL, as etcd 3.4 does without the flag",
        ),
    ),
    f(
        "ExperimentalEnableLeaseCheckpointPersist",
        "experimental-enable-lease-checkpoint-persist",
        ignored(
            "true",
            "not wired to the member yet (`CheckpointConfig::persist` in the lessor)",
        ),
    ),
    f(
        "ExperimentalCompactionBatchLimit",
        "experimental-compaction-batch-limit",
        ignored("10", "a compaction runs as one step on the in-memory store"),
    ),
    f(
        "ExperimentalWatchProgressNotifyInterval",
        "experimental-watch-progress-notify-interval",
        honoured("5s"),
    ),
    f(
        "ExperimentalWarningApplyDuration",
        "experimental-warning-apply-duration",
        ignored("1s", "no slow-apply warnings"),
    ),
    f("ForceNewCluster", "force-new-cluster", honoured("true")),
    f("EnablePprof", "enable-pprof", refused("true")),
    f("Metrics", "metrics", honoured("extensive")),
    f(
        "ListenMetricsUrls",
        "listen-metrics-urls",
        honoured("http://127.0.0.1:23790"),
    ),
    f(
        "ListenMetricsUrlsJSON",
        "listen-metrics-urls",
        honoured("http://127.0.0.1:23790"),
    ),
    f("Logger", "logger", honoured("zap")),
    f("LogLevel", "log-level", honoured("debug")),
    f("LogOutputs", "log-outputs", honoured("stdout")),
    f(
        "ZapLoggerBuilder",
        "",
        Verdict::NotAFlag {
            note: GO_ONLY_LOGGER,
        },
    ),
    f(
        "loggerMu",
        "",
        Verdict::NotAFlag {
            note: GO_ONLY_LOGGER,
        },
    ),
    f(
        "logger",
        "",
        Verdict::NotAFlag {
            note: GO_ONLY_LOGGER,
        },
    ),
    f(
        "loggerConfig",
        "",
        Verdict::NotAFlag {
            note: GO_ONLY_LOGGER,
        },
    ),
    f(
        "loggerCore",
        "",
        Verdict::NotAFlag {
            note: GO_ONLY_LOGGER,
        },
    ),
    f(
        "loggerWriteSyncer",
        "",
        Verdict::NotAFlag {
            note: GO_ONLY_LOGGER,
        },
    ),
    f(
        "EnableGRPCGateway",
        "enable-grpc-gateway",
        ignored("false", "the /v3 JSON gateway is always served"),
    ),
    f("DeprecatedLogOutput", "log-output", honoured("stdout")),
    f("Debug", "debug", honoured("true")),
    f(
        "LogPkgLevels",
        "log-package-levels",
        refused("etcdserver=DEBUG"),
    ),
    f("UnsafeNoFsync", "unsafe-no-fsync", refused("true")),
];

/// The error a refused flag set to `sample` fails validation with.
pub fn refusal_text(flag: &str, sample: &str) -> String {
    let help = find(flag).map_or("", |s| s.help);
    format!("--{flag}: {sample:?} is not supported by etcd-sim (only the default works): {help}")
}

/// [`AUDIT`] as a markdown table.
pub fn markdown_table() -> String {
    let mut out = String::from("| `embed.Config` field | flag | etcd-sim |\n|---|---|---|\n");
    for e in AUDIT {
        let flag = if e.flag.is_empty() {
            "(none)".to_string()
        } else {
            format!("`--{}`", e.flag)
        };
        let what = match e.verdict {
            Verdict::Honoured { .. } => "honoured".to_string(),
            Verdict::Refused { sample } => {
                format!("refused: `{}`", refusal_text(e.flag, sample))
            }
            Verdict::Ignored { reason, .. } => format!("accepted and ignored: {reason}"),
            Verdict::NotAFlag { note } => format!("not a flag: {note}"),
        };
        out.push_str(&format!(
            "| `{}` | {flag} | {} |\n",
            e.go,
            what.replace('|', "\\|")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::config::Config;
    use crate::embed::error::EmbedError;
    use crate::embed::settings::{Support, apply};

    /// A valid configuration on loopback (name `a`).
    fn base() -> Config {
        Config {
            name: "a".into(),
            enable_v2: true,
            listen_client_urls: vec!["http://127.0.0.1:23791".into()],
            advertise_client_urls: vec!["http://127.0.0.1:23791".into()],
            listen_peer_urls: vec!["http://127.0.0.1:23801".into()],
            initial_advertise_peer_urls: vec!["http://127.0.0.1:23801".into()],
            ..Config::default()
        }
    }

    /// `base` with `flag` set to `raw` as the command line sets it.
    fn with(flag: &str, raw: &str) -> Config {
        let setting = find(flag).unwrap_or_else(|| panic!("--{flag} is not a setting"));
        let value = setting
            .parse(raw)
            .unwrap_or_else(|e| panic!("--{flag}={raw}: {e}"));
        let mut cfg = base();
        apply(&mut cfg, setting, raw, value).unwrap_or_else(|e| panic!("--{flag}={raw}: {e}"));
        cfg
    }

    #[test]
    fn every_flag_behaves_as_the_table_says() {
        base().validate().unwrap();
        for e in AUDIT {
            match e.verdict {
                Verdict::Honoured { sample } => {
                    let cfg = with(e.flag, sample);
                    assert_ne!(cfg, base(), "--{}={sample} changed nothing", e.flag);
                    assert!(cfg.unsupported.is_empty(), "--{}", e.flag);
                    assert_eq!(find(e.flag).map(|s| s.support), Some(Support::Field));
                    // It may be invalid with the rest (a JWT key file that is
                    // not there), but never refused as unsupported.
                    if let Err(EmbedError::Unsupported { setting, .. }) = cfg.validate() {
                        panic!("--{}={sample}: refused as {setting}", e.flag);
                    }
                }
                Verdict::Refused { sample } => {
                    let err = with(e.flag, sample).validate().unwrap_err();
                    assert!(
                        matches!(&err, EmbedError::Unsupported { setting, .. } if setting == e.flag),
                        "--{}={sample}: {err:?}",
                        e.flag
                    );
                    assert_eq!(err.to_string(), refusal_text(e.flag, sample));
                }
                Verdict::Ignored { sample, .. } => {
                    let cfg = with(e.flag, sample);
                    assert!(cfg.unsupported.is_empty(), "--{}", e.flag);
                    cfg.validate()
                        .unwrap_or_else(|err| panic!("--{}={sample}: {err}", e.flag));
                }
                Verdict::NotAFlag { .. } => assert!(e.flag.is_empty(), "{}", e.go),
            }
        }
    }

    #[test]
    fn the_table_names_each_go_field_once() {
        let mut seen = std::collections::BTreeSet::new();
        for e in AUDIT {
            assert!(seen.insert(e.go), "{} twice", e.go);
        }
        // etcd 3.4.23's embed.Config has 75 fields; its two TLS infos count
        // here by the members etcd's flags set (6 client, 8 peer).
        assert_eq!(AUDIT.len(), 75 - 2 + 6 + 8);
    }

    /// The README's table is [`markdown_table`]; with `ETCD_SIM_WRITE_AUDIT=1`
    /// this rewrites it instead.
    #[test]
    fn the_readme_shows_the_table() {
        const BEGIN: &str = "<!-- audit table: begin -->\n";
        const END: &str = "<!-- audit table: end -->";
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/embed/README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let (head, rest) = readme.split_once(BEGIN).expect("begin marker");
        let (table, tail) = rest.split_once(END).expect("end marker");
        let want = markdown_table();
        if std::env::var_os("ETCD_SIM_WRITE_AUDIT").is_some() {
            std::fs::write(&path, format!("{head}{BEGIN}{want}{END}{tail}")).unwrap();
            return;
        }
        assert_eq!(
            table, want,
            "sim/src/embed/README.md is stale: rerun with ETCD_SIM_WRITE_AUDIT=1"
        );
    }
}
