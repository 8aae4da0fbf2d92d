//! etcd's YAML configuration file (`--config-file`): the keys are the flag names
//! (`name`, `data-dir`, `listen-client-urls: http://a:1,http://b:2`,
//! `initial-cluster`, ...), durations are integers in nanoseconds (Go's JSON
//! encoding of `time.Duration`), `log-outputs` and `cipher-suites` are lists, TLS
//! settings sit under `client-transport-security` and `peer-transport-security`.
//! Keys etcd does not know are ignored, as etcd ignores them (with a warning here).

use super::config::Config;
use super::error::EmbedError;
use super::settings::{Applied, Kind, Value, apply, find};
use std::path::Path;
use yaml_rust2::{Yaml, YamlLoader};

impl Config {
    /// Reads etcd's YAML configuration file and validates the result
    /// ([`Config::validate`]), as etcd's `embed.ConfigFromFile` does.
    ///
    /// # Errors
    ///
    /// [`EmbedError::ConfigFile`] when the file cannot be read or a value has the
    /// wrong type; the validation errors.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, EmbedError> {
        let (cfg, warnings) = config_from_file(path.as_ref())?;
        for w in warnings {
            tracing::warn!("{w}");
        }
        cfg.validate()?;
        Ok(cfg)
    }
}

/// Reads the file into a configuration (not validated), with warnings for keys
/// ignored or without effect.
///
/// # Errors
///
/// [`EmbedError::ConfigFile`].
pub fn config_from_file(path: &Path) -> Result<(Config, Vec<String>), EmbedError> {
    let err = |error: String| EmbedError::ConfigFile {
        path: path.display().to_string(),
        error,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    config_from_yaml(&text).map_err(err)
}

/// Parses the YAML text of a configuration file.
///
/// # Errors
///
/// A description of the first key with a value of the wrong type.
pub fn config_from_yaml(text: &str) -> Result<(Config, Vec<String>), String> {
    let docs = YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
    let mut cfg = Config::default();
    let mut warnings = Vec::new();
    let Some(doc) = docs.into_iter().next() else {
        return Ok((cfg, warnings));
    };
    let map = match doc {
        Yaml::Hash(h) => h,
        Yaml::Null => return Ok((cfg, warnings)),
        other => return Err(format!("the file is not a YAML mapping: {other:?}")),
    };
    for (key, value) in map {
        let Some(key) = key.as_str() else {
            warnings.push(format!("ignoring non-string key {key:?}"));
            continue;
        };
        match key {
            "client-transport-security" | "peer-transport-security" => {
                let prefix = if key.starts_with("peer") { "peer-" } else { "" };
                security(&mut cfg, key, prefix, &value)?;
            }
            _ => set_key(&mut cfg, key, &value, &mut warnings)?,
        }
    }
    Ok((cfg, warnings))
}

fn security(cfg: &mut Config, key: &str, prefix: &str, value: &Yaml) -> Result<(), String> {
    let Yaml::Hash(h) = value else {
        if value.is_null() {
            return Ok(());
        }
        return Err(format!("{key}: expected a mapping"));
    };
    let mut ignored = Vec::new();
    for (k, v) in h {
        let Some(k) = k.as_str() else { continue };
        let flag = match k {
            "cert-file" | "key-file" | "client-cert-auth" | "trusted-ca-file" | "auto-tls" => {
                format!("{prefix}{k}")
            }
            _ => continue,
        };
        set_key(cfg, &flag, v, &mut ignored)?;
    }
    Ok(())
}

/// A scalar as text (what Go's YAML-to-JSON conversion gives a string field).
fn scalar_text(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn set_key(
    cfg: &mut Config,
    key: &str,
    v: &Yaml,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    let Some(setting) = find(key).filter(|s| s.support != super::settings::Support::Command) else {
        warnings.push(format!("unknown configuration key {key:?} ignored"));
        return Ok(());
    };
    if v.is_null() {
        return Ok(());
    }
    let type_error = |want: &str| format!("{key}: cannot use {v:?} as {want}");
    let (raw, value) = match setting.kind {
        Kind::Bool | Kind::Ignored => {
            let b = match v {
                Yaml::Boolean(b) => *b,
                // YAML 1.1 booleans, which etcd's YAML library also reads.
                Yaml::String(s) => match s.to_ascii_lowercase().as_str() {
                    "yes" | "y" | "on" | "true" => true,
                    "no" | "n" | "off" | "false" => false,
                    _ => return Err(type_error("a bool")),
                },
                _ => return Err(type_error("a bool")),
            };
            (b.to_string(), Value::Bool(b))
        }
        Kind::Uint => match v {
            Yaml::Integer(i) if *i >= 0 => (i.to_string(), Value::Uint(i.unsigned_abs())),
            _ => return Err(type_error("an unsigned integer")),
        },
        Kind::Int => match v {
            Yaml::Integer(i) => (i.to_string(), Value::Int(*i)),
            _ => return Err(type_error("an integer")),
        },
        Kind::Duration => match v {
            Yaml::Integer(i) if *i >= 0 => (
                format!("{i}ns"),
                Value::Duration(std::time::Duration::from_nanos(i.unsigned_abs())),
            ),
            _ => return Err(type_error("a duration in nanoseconds")),
        },
        Kind::Strings => {
            let items: Vec<String> = match v {
                Yaml::Array(a) => a.iter().filter_map(scalar_text).collect(),
                other => scalar_text(other)
                    .map(|s| s.split(',').map(str::to_string).collect())
                    .ok_or_else(|| type_error("a list of strings"))?,
            };
            (items.join(","), Value::List(items))
        }
        Kind::Str | Kind::Urls | Kind::Choice(_) => {
            let text = scalar_text(v).ok_or_else(|| type_error("a string"))?;
            let value = setting
                .parse(&text)
                .map_err(|e| match (key, setting.kind) {
                    ("initial-cluster-state", _) => format!("unexpected clusterState {text:?}"),
                    (_, Kind::Urls) => format!("unexpected error setting up {key}: {e}"),
                    _ => format!("{key}: {e}"),
                })?;
            (text, value)
        }
    };
    if let Applied::Notice(n) = apply(cfg, setting, &raw, value)? {
        warnings.push(n);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::config::ClusterState;
    use std::time::Duration;

    const SAMPLE: &str = r#"
# etcd's sample layout
name: 'infra1'
data-dir: /var/lib/etcd/infra1
wal-dir:
snapshot-count: 10000
heartbeat-interval: 100
election-timeout: 1000
quota-backend-bytes: 0
listen-peer-urls: http://127.0.0.1:12380
listen-client-urls: http://127.0.0.1:12379,http://127.0.0.1:22379
max-snapshots: 5
max-wals: 5
cors:
initial-advertise-peer-urls: http://127.0.0.1:12380
advertise-client-urls: http://127.0.0.1:12379
discovery:
discovery-fallback: 'proxy'
initial-cluster: infra1=http://127.0.0.1:12380,infra2=http://127.0.0.1:22380
initial-cluster-token: 'etcd-cluster-1'
initial-cluster-state: 'existing'
strict-reconfig-check: false
enable-v2: true
enable-pprof: false
proxy: 'off'
client-transport-security:
  cert-file:
  client-cert-auth: false
  auto-tls: false
peer-transport-security:
  auto-tls: false
debug: false
log-outputs: [stderr]
force-new-cluster: false
auto-compaction-mode: periodic
auto-compaction-retention: 1
grpc-keepalive-min-time: 2000000000
unknown-key: 1
"#;

    #[test]
    fn etcds_sample_file() {
        let (c, warnings) = config_from_yaml(SAMPLE).unwrap();
        assert_eq!(c.name, "infra1");
        assert_eq!(
            c.data_dir.as_deref(),
            Some(Path::new("/var/lib/etcd/infra1"))
        );
        assert_eq!(c.wal_dir, None);
        assert_eq!(c.snapshot_count, 10_000);
        assert_eq!(
            c.listen_client_urls,
            vec!["http://127.0.0.1:12379", "http://127.0.0.1:22379"]
        );
        assert_eq!(
            c.initial_cluster.as_deref(),
            Some("infra1=http://127.0.0.1:12380,infra2=http://127.0.0.1:22380")
        );
        assert_eq!(c.initial_cluster_state, ClusterState::Existing);
        assert!(c.enable_v2 && !c.strict_reconfig_check);
        assert_eq!(c.log_outputs, vec!["stderr"]);
        assert_eq!(c.auto_compaction_retention, "1");
        assert_eq!(c.grpc_keepalive_min_time, Duration::from_secs(2));
        assert!(c.unsupported.is_empty(), "{:?}", c.unsupported);
        assert_eq!(
            warnings,
            vec!["unknown configuration key \"unknown-key\" ignored"]
        );
    }

    #[test]
    fn wrong_types_and_unsupported_values() {
        assert!(
            config_from_yaml("snapshot-count: abc")
                .unwrap_err()
                .starts_with("snapshot-count")
        );
        assert_eq!(
            config_from_yaml("initial-cluster-state: foo").unwrap_err(),
            "unexpected clusterState \"foo\""
        );
        assert_eq!(
            config_from_yaml("listen-client-urls: http://127.0.0.1").unwrap_err(),
            "unexpected error setting up listen-client-urls: URL address does not have the form \"host:port\": http://127.0.0.1"
        );
        let (c, _) = config_from_yaml("client-transport-security:\n  cert-file: /c.pem\n").unwrap();
        assert_eq!(
            c.client_tls.cert_file.as_deref(),
            Some(std::path::Path::new("/c.pem"))
        );
        let (c, _) = config_from_yaml("peer-transport-security:\n  cert-file: /c.pem\n").unwrap();
        assert_eq!(
            c.unsupported.get("peer-cert-file").map(String::as_str),
            Some("/c.pem")
        );
        let (c, _) = config_from_yaml("").unwrap();
        assert_eq!(c, Config::default());
    }

    #[test]
    fn from_file_validates() {
        let dir = std::env::temp_dir().join(format!("etcd-sim-yaml-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("etcd.conf.yml");
        // A setting etcd-sim refuses fails validation when the file is read.
        std::fs::write(&path, "name: a\nunsafe-no-fsync: true\n").unwrap();
        let e = Config::from_file(&path).unwrap_err();
        assert!(e.to_string().contains("unsafe-no-fsync"), "{e}");
        std::fs::write(&path, "name: a\nenable-v2: true\n").unwrap();
        let c = Config::from_file(&path).unwrap();
        assert_eq!(c.initial_cluster(), "a=http://localhost:2380");
        assert!(matches!(
            Config::from_file(dir.join("missing.yml")),
            Err(EmbedError::ConfigFile { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
