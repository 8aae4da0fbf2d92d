//! Go's client configuration file (Go's `clientv3/yaml`): a YAML mapping
//! read into a [`Config`].
//!
//! ```yaml
//! endpoints: ["127.0.0.1:2379", "127.0.0.1:22379"]
//! dial-timeout: 5000000000        # nanoseconds, as Go writes a time.Duration
//! dial-keep-alive-time: 10s       # a Go duration string is accepted too
//! dial-keep-alive-timeout: 3s
//! auto-sync-interval: 0           # 0: off
//! username: app
//! password: secret
//! reject-old-cluster: false
//! MaxCallSendMsgSize: 2097152     # Go has no tag on these two: its field names
//! MaxCallRecvMsgSize: 0           # 0: the default
//! insecure-transport: true
//! ```
//!
//! The keys, as Go reads them (YAML turned into JSON, then Go's JSON rules):
//!
//! | key | [`Config`] field |
//! | --- | --- |
//! | `endpoints` | `endpoints` |
//! | `dial-timeout` | `dial_timeout` |
//! | `dial-keep-alive-time` / `dial-keep-alive-timeout` | `keep_alive_time` / `keep_alive_timeout` |
//! | `auto-sync-interval` | `auto_sync_interval` |
//! | `username` / `password` | `username` / `password` |
//! | `reject-old-cluster` | `reject_old_cluster` |
//! | `MaxCallSendMsgSize` / `MaxCallRecvMsgSize` (also `max-call-send-msg-size` / `max-call-recv-msg-size`) | `max_call_send_msg_size` / `max_call_recv_msg_size` |
//! | `insecure-transport`, `insecure-skip-tls-verify`, `cert-file`, `key-file`, `trusted-ca-file`, `ca-file` | [`TlsFiles`] |
//! | `permit-without-stream` | none: this client's keepalive pings run without calls in flight anyway |
//!
//! Keys match whatever their case (Go's JSON does). Durations are integers
//! in nanoseconds (Go's encoding) or Go duration strings (`"5s"`,
//! `"1m30s"`, `"250ms"`); a zero duration or size means the default, as
//! in Go. Keys Go does not know are ignored with a warning, as Go ignores
//! them; so are `TLS`, `DialOptions`, `Context` and `LogConfig`, which Go's
//! own marshalling of a config writes as `null`.
//!
//! TLS: the TLS keys are read into [`TlsFiles`] and become
//! [`Config::tls`] ([`TlsFiles::tls_config`]): `trusted-ca-file` the CA,
//! `cert-file` with `key-file` the client certificate (one without the other
//! is ignored, as in Go), `insecure-skip-tls-verify` no verification.
//! `insecure-transport: true` drops them all, as in Go. One difference: Go
//! turns TLS on for every file without `insecure-transport` (so `host:port`
//! endpoints then speak TLS); here a file turns it on only when it sets one
//! of those keys (`https://` endpoints speak TLS either way).

use super::config::Config;
use crate::tls::TlsConfig;
use std::path::{Path, PathBuf};
use std::time::Duration;
use yaml_rust2::{Yaml, YamlLoader};

/// Why a client configuration file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("cannot read the client config file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The text is not YAML.
    #[error("the client config file is not valid YAML")]
    Syntax(#[source] yaml_rust2::ScanError),
    /// The document is not a mapping of keys to values.
    #[error("the client config file is not a YAML mapping of keys to values")]
    NotAMapping,
    /// A key's value has the wrong type or is out of range.
    #[error("client config file: {key}: {reason}")]
    Value {
        /// The key as written.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

/// The TLS keys of a client configuration file (see [the module](self)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// `insecure-transport`: connect without TLS, whatever else is set
    /// (Go then ignores every other TLS key).
    pub insecure_transport: bool,
    /// `insecure-skip-tls-verify`: do not verify the servers' certificates.
    pub insecure_skip_tls_verify: bool,
    /// `cert-file`: the client certificate (used with `key_file`).
    pub cert_file: Option<PathBuf>,
    /// `key-file`: the client certificate's key.
    pub key_file: Option<PathBuf>,
    /// `trusted-ca-file`: the CA bundle that verifies the servers.
    pub trusted_ca_file: Option<PathBuf>,
    /// `ca-file`: deprecated; Go reads it and ignores it.
    pub ca_file: Option<PathBuf>,
}

impl TlsFiles {
    /// The keys that ask for TLS (none when `insecure-transport` is true).
    pub fn requested(&self) -> Vec<&'static str> {
        if self.insecure_transport {
            return Vec::new();
        }
        let mut keys = Vec::new();
        if self.cert_file.is_some() {
            keys.push("cert-file");
        }
        if self.key_file.is_some() {
            keys.push("key-file");
        }
        if self.trusted_ca_file.is_some() {
            keys.push("trusted-ca-file");
        }
        if self.insecure_skip_tls_verify {
            keys.push("insecure-skip-tls-verify");
        }
        keys
    }

    /// The TLS settings these keys ask for; `None` when they ask for none
    /// ([`TlsFiles::requested`] is empty).
    pub fn tls_config(&self) -> Option<TlsConfig> {
        if self.requested().is_empty() {
            return None;
        }
        let mut tls = TlsConfig::new();
        if let Some(ca) = &self.trusted_ca_file {
            tls = tls.ca_file(ca);
        }
        if let (Some(cert), Some(key)) = (&self.cert_file, &self.key_file) {
            tls = tls.client_cert_files(cert, key);
        }
        if self.insecure_skip_tls_verify {
            tls = tls.insecure_skip_verify();
        }
        Some(tls)
    }
}

/// A parsed client configuration file.
#[derive(Clone, Debug, Default)]
pub struct ClientFile {
    /// Everything but TLS.
    pub config: Config,
    /// The TLS keys.
    pub tls: TlsFiles,
    /// `permit-without-stream` (no effect here; see [the module](self)).
    pub permit_without_stream: bool,
    /// Keys ignored (unknown to Go, or without effect), as written.
    pub ignored: Vec<String>,
}

impl ClientFile {
    /// The [`Config`] to connect with, its `tls` from the TLS keys
    /// ([`TlsFiles::tls_config`]). The files are read when the client is built.
    pub fn into_config(self) -> Result<Config, Error> {
        Ok(Config {
            tls: self.tls.tls_config(),
            ..self.config
        })
    }
}

/// Reads a client configuration file into a [`Config`] (Go's
/// `yaml.NewConfig`): [`parse`], then [`ClientFile::into_config`]. The
/// config is not validated here; [`crate::v3::Client::new`] does that.
pub fn load(path: impl AsRef<Path>) -> Result<Config, Error> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file = parse(&text)?;
    for key in &file.ignored {
        tracing::warn!(key = %key, path = %path.display(), "client config file: key ignored");
    }
    file.into_config()
}

/// Parses the text of a client configuration file. An empty document gives
/// the defaults.
pub fn parse(text: &str) -> Result<ClientFile, Error> {
    let docs = YamlLoader::load_from_str(text).map_err(Error::Syntax)?;
    let mut file = ClientFile::default();
    let map = match docs.into_iter().next() {
        None | Some(Yaml::Null) => return Ok(file),
        Some(Yaml::Hash(map)) => map,
        Some(_) => return Err(Error::NotAMapping),
    };
    for (key, value) in map {
        let Some(key) = key.as_str().map(str::to_owned) else {
            file.ignored.push(format!("{key:?}"));
            continue;
        };
        set(&mut file, &key, &value)?;
    }
    Ok(file)
}

fn set(file: &mut ClientFile, key: &str, value: &Yaml) -> Result<(), Error> {
    if value.is_null() {
        // JSON null leaves a Go field as it is.
        return Ok(());
    }
    let v = Value { key, value };
    let cfg = &mut file.config;
    match key.to_ascii_lowercase().as_str() {
        "endpoints" => cfg.endpoints = v.strings()?,
        "dial-timeout" => cfg.dial_timeout = v.duration()?,
        "dial-keep-alive-time" => cfg.keep_alive_time = v.duration()?,
        "dial-keep-alive-timeout" => cfg.keep_alive_timeout = v.duration()?,
        "auto-sync-interval" => cfg.auto_sync_interval = v.duration()?,
        "username" => cfg.username = Some(v.string()?).filter(|s| !s.is_empty()),
        "password" => cfg.password = Some(v.string()?).filter(|s| !s.is_empty()),
        "reject-old-cluster" => cfg.reject_old_cluster = v.bool()?,
        "maxcallsendmsgsize" | "max-call-send-msg-size" => cfg.max_call_send_msg_size = v.size()?,
        "maxcallrecvmsgsize" | "max-call-recv-msg-size" => cfg.max_call_recv_msg_size = v.size()?,
        "permit-without-stream" => file.permit_without_stream = v.bool()?,
        "insecure-transport" => file.tls.insecure_transport = v.bool()?,
        "insecure-skip-tls-verify" => file.tls.insecure_skip_tls_verify = v.bool()?,
        "cert-file" => file.tls.cert_file = v.path()?,
        "key-file" => file.tls.key_file = v.path()?,
        "trusted-ca-file" => file.tls.trusted_ca_file = v.path()?,
        "ca-file" => file.tls.ca_file = v.path()?,
        _ => file.ignored.push(key.to_owned()),
    }
    Ok(())
}

/// One key's value, with typed readers whose errors name the key.
struct Value<'a> {
    key: &'a str,
    value: &'a Yaml,
}

impl Value<'_> {
    fn wrong(&self, reason: impl Into<String>) -> Error {
        Error::Value {
            key: self.key.to_owned(),
            reason: reason.into(),
        }
    }

    fn string(&self) -> Result<String, Error> {
        self.value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| self.wrong(format!("expected a string, got {:?}", self.value)))
    }

    fn strings(&self) -> Result<Vec<String>, Error> {
        let items = self
            .value
            .as_vec()
            .ok_or_else(|| self.wrong(format!("expected a list, got {:?}", self.value)))?;
        items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| self.wrong(format!("expected a list of strings, got {item:?}")))
            })
            .collect()
    }

    fn path(&self) -> Result<Option<PathBuf>, Error> {
        Ok(Some(self.string()?)
            .filter(|s| !s.is_empty())
            .map(PathBuf::from))
    }

    fn bool(&self) -> Result<bool, Error> {
        self.value
            .as_bool()
            .ok_or_else(|| self.wrong(format!("expected true or false, got {:?}", self.value)))
    }

    /// A byte count; 0 means the default (`None`).
    fn size(&self) -> Result<Option<usize>, Error> {
        let n = self.value.as_i64().ok_or_else(|| {
            self.wrong(format!("expected a number of bytes, got {:?}", self.value))
        })?;
        let n = usize::try_from(n).map_err(|_| self.wrong("a size cannot be negative"))?;
        Ok(Some(n).filter(|n| *n > 0))
    }

    /// Nanoseconds (Go's JSON for a `time.Duration`) or a Go duration
    /// string; 0 means the default (`None`).
    fn duration(&self) -> Result<Option<Duration>, Error> {
        let d = match self.value {
            Yaml::Integer(ns) => {
                let ns =
                    u64::try_from(*ns).map_err(|_| self.wrong("a duration cannot be negative"))?;
                Duration::from_nanos(ns)
            }
            Yaml::String(s) => parse_go_duration(s).map_err(|e| self.wrong(e))?,
            other => {
                return Err(self.wrong(format!(
                    "expected nanoseconds or a duration such as \"5s\", got {other:?}"
                )));
            }
        };
        Ok(Some(d).filter(|d| !d.is_zero()))
    }
}

/// Parses a Go duration string (`time.ParseDuration`) that is not negative:
/// a sequence of decimal numbers, each with a unit (`ns`, `us`, `µs`, `ms`,
/// `s`, `m`, `h`), e.g. `"1h30m"`, `"1.5s"`, `"0"`.
fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?}");
    let s = text.strip_prefix('+').unwrap_or(text);
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() || s.starts_with('-') {
        return Err(bad());
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += number * nanos_per;
    }
    if !total.is_finite() || total > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(Duration::from_nanos(total.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::Pem;

    #[test]
    fn every_key_reaches_its_field() {
        let f = parse(
            "endpoints: [\"127.0.0.1:2379\", \"http://127.0.0.1:22379\"]\n\
             dial-timeout: 5000000000\n\
             dial-keep-alive-time: 10s\n\
             dial-keep-alive-timeout: 1m30s\n\
             auto-sync-interval: 250ms\n\
             username: app\n\
             password: secret\n\
             reject-old-cluster: true\n\
             MaxCallSendMsgSize: 1048576\n\
             max-call-recv-msg-size: 4194304\n\
             permit-without-stream: true\n\
             insecure-transport: true\n",
        )
        .unwrap();
        let c = &f.config;
        assert_eq!(c.endpoints, ["127.0.0.1:2379", "http://127.0.0.1:22379"]);
        assert_eq!(c.dial_timeout, Some(Duration::from_secs(5)));
        assert_eq!(c.keep_alive_time, Some(Duration::from_secs(10)));
        assert_eq!(c.keep_alive_timeout, Some(Duration::from_secs(90)));
        assert_eq!(c.auto_sync_interval, Some(Duration::from_millis(250)));
        assert_eq!(c.username.as_deref(), Some("app"));
        assert_eq!(c.password.as_deref(), Some("secret"));
        assert!(c.reject_old_cluster);
        assert_eq!(c.max_call_send_msg_size, Some(1 << 20));
        assert_eq!(c.max_call_recv_msg_size, Some(4 << 20));
        assert!(f.permit_without_stream);
        assert!(f.tls.insecure_transport);
        assert!(f.ignored.is_empty());
        assert!(f.into_config().is_ok());
    }

    #[test]
    fn zero_and_empty_values_mean_the_defaults() {
        let f = parse(
            "endpoints: [a:1]\ndial-timeout: 0\nauto-sync-interval: \"0\"\n\
             maxcallrecvmsgsize: 0\nusername: \"\"\npassword: \"\"\n",
        )
        .unwrap();
        let c = f.into_config().unwrap();
        assert_eq!(c.endpoints, ["a:1"]);
        assert_eq!(
            (
                c.dial_timeout,
                c.auto_sync_interval,
                c.max_call_recv_msg_size
            ),
            (None, None, None)
        );
        assert_eq!((c.username, c.password), (None, None));
        let empty = parse("").unwrap();
        assert!(empty.config.endpoints.is_empty());
        let null = parse("~").unwrap();
        assert!(null.config.endpoints.is_empty());
    }

    /// What Go's `yaml.Marshal` of its `yamlConfig` writes (every field of
    /// the embedded config, nil ones as null, untagged ones by Go name).
    #[test]
    fn reads_what_go_marshals() {
        let go = "Context: null\nDialOptions: null\nLogConfig: null\n\
                  MaxCallRecvMsgSize: 0\nMaxCallSendMsgSize: 0\nTLS: null\n\
                  auto-sync-interval: 0\nca-file: \"\"\ncert-file: \"\"\n\
                  dial-keep-alive-time: 0\ndial-keep-alive-timeout: 0\ndial-timeout: 0\n\
                  endpoints: null\ninsecure-skip-tls-verify: false\ninsecure-transport: false\n\
                  key-file: \"\"\npassword: \"\"\npermit-without-stream: false\n\
                  reject-old-cluster: false\ntrusted-ca-file: \"\"\nusername: \"\"\n";
        let f = parse(go).unwrap();
        assert_eq!(f.tls, TlsFiles::default());
        assert!(f.config.endpoints.is_empty());
        // Null values are skipped.
        assert!(f.ignored.is_empty(), "{:?}", f.ignored);
        assert!(f.into_config().is_ok());
    }

    #[test]
    fn keys_match_whatever_their_case_and_unknown_keys_are_ignored() {
        let f = parse("Endpoints: [x:1]\nDIAL-TIMEOUT: 2s\nfavourite-colour: blue\n").unwrap();
        assert_eq!(f.config.endpoints, ["x:1"]);
        assert_eq!(f.config.dial_timeout, Some(Duration::from_secs(2)));
        assert_eq!(f.ignored, ["favourite-colour"]);
    }

    #[test]
    fn tls_keys_become_the_tls_settings_unless_insecure_transport() {
        let text = "endpoints: [x:1]\ncert-file: /c.crt\nkey-file: /c.key\n\
                    trusted-ca-file: /ca.crt\ninsecure-skip-tls-verify: true\nca-file: /old.crt\n";
        let f = parse(text).unwrap();
        assert_eq!(
            f.tls,
            TlsFiles {
                insecure_transport: false,
                insecure_skip_tls_verify: true,
                cert_file: Some("/c.crt".into()),
                key_file: Some("/c.key".into()),
                trusted_ca_file: Some("/ca.crt".into()),
                ca_file: Some("/old.crt".into()),
            }
        );
        let tls = f.into_config().unwrap().tls.expect("TLS asked for");
        assert_eq!(tls.ca(), Some(&Pem::File("/ca.crt".into())));
        assert_eq!(
            tls.client_cert(),
            Some((&Pem::File("/c.crt".into()), &Pem::File("/c.key".into())))
        );
        assert!(tls.skips_verification());
        // A certificate without its key is ignored, as in Go.
        let half = parse("cert-file: /c.crt\n").unwrap().into_config().unwrap();
        assert!(half.tls.is_some_and(|t| t.client_cert().is_none()));
        // insecure-transport wins, as in Go; ca-file alone asks for nothing.
        let plain = parse(&format!("{text}insecure-transport: true\n")).unwrap();
        assert!(plain.into_config().unwrap().tls.is_none());
        let old = parse("ca-file: /old.crt\n").unwrap().into_config().unwrap();
        assert!(old.tls.is_none());
    }

    #[test]
    fn wrong_types_name_the_key() {
        for (text, key) in [
            ("endpoints: a:1\n", "endpoints"),
            ("endpoints: [1, 2]\n", "endpoints"),
            ("dial-timeout: soon\n", "dial-timeout"),
            ("dial-timeout: -5\n", "dial-timeout"),
            ("dial-timeout: 1.5\n", "dial-timeout"),
            ("reject-old-cluster: maybe\n", "reject-old-cluster"),
            ("MaxCallSendMsgSize: -1\n", "MaxCallSendMsgSize"),
            ("username: [a]\n", "username"),
        ] {
            match parse(text) {
                Err(Error::Value { key: k, .. }) => assert_eq!(k, key, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
        assert!(matches!(parse("endpoints: [a"), Err(Error::Syntax(_))));
        assert!(matches!(parse("- a\n- b\n"), Err(Error::NotAMapping)));
    }

    #[test]
    fn go_duration_strings() {
        for (s, want) in [
            ("0", Duration::ZERO),
            ("1ns", Duration::from_nanos(1)),
            ("1.5s", Duration::from_millis(1500)),
            ("2h45m", Duration::from_secs(2 * 3600 + 45 * 60)),
            ("300us", Duration::from_micros(300)),
            ("300µs", Duration::from_micros(300)),
            ("+5m", Duration::from_secs(300)),
        ] {
            assert_eq!(parse_go_duration(s), Ok(want), "{s}");
        }
        for s in ["", "5", "-1s", "1x", "s", "1..2s"] {
            assert!(parse_go_duration(s).is_err(), "{s}");
        }
    }

    #[test]
    fn load_reads_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("client.yaml");
        std::fs::write(&path, "endpoints: [\"127.0.0.1:2379\"]\ndial-timeout: 3s\n").unwrap();
        let cfg = load(&path).unwrap();
        assert_eq!(cfg.endpoints, ["127.0.0.1:2379"]);
        assert_eq!(cfg.dial_timeout, Some(Duration::from_secs(3)));
        let missing = load(dir.path().join("nope.yaml")).unwrap_err();
        assert!(matches!(missing, Error::Read { .. }), "{missing:?}");
    }
}
