//! [`Config::validate`]: etcd's checks with etcd's texts (`embed.Config.Validate`,
//! then the server's bootstrap checks), and etcd-sim's own limits in between.

use super::config::{ClusterState, Config, MAX_ELECTION_MS};
use super::error::EmbedError;
use super::settings::find;
use super::urls::{
    UrlsMap, go_quoted_list, parse_initial_cluster, split_host_port, url_host, urls_map_string,
};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// The `--log-outputs` value that sends etcd's logs to systemd's journal.
const JOURNAL_LOG_OUTPUT: &str = "systemd/journal";

/// etcd's `ErrConflictBootstrapFlags`.
pub const ERR_CONFLICT_BOOTSTRAP: &str = "multiple discovery or bootstrap flags are set. Choose one of \"initial-cluster\", \"discovery\" or \"discovery-srv\"";
/// etcd's `ErrUnsetAdvertiseClientURLsFlag`.
pub const ERR_UNSET_ADVERTISE_CLIENT_URLS: &str =
    "--advertise-client-urls is required when --listen-client-urls is set explicitly";

impl Config {
    /// Checks the configuration as etcd does, with etcd's error texts, and rejects
    /// what etcd-sim does not implement.
    ///
    /// # Errors
    ///
    /// [`EmbedError::Invalid`] (etcd's `embed.Config.Validate`),
    /// [`EmbedError::Unsupported`], [`EmbedError::Bootstrap`] (etcd's bootstrap
    /// checks: the initial cluster against the name and advertised peer URLs).
    pub fn validate(&self) -> Result<(), EmbedError> {
        self.validate_like_etcd()?;
        self.validate_supported()?;
        self.validate_client_tls()?;
        self.validate_hooks()?;
        self.initial_cluster_map().map(|_| ())
    }

    /// The application's hooks: each user handler pattern one Go's `ServeMux`
    /// takes beside etcd's (etcd panics serving otherwise), each gRPC service
    /// name registered once (fatal in etcd otherwise). It calls the register
    /// function once.
    fn validate_hooks(&self) -> Result<(), EmbedError> {
        for pattern in self.user_handlers.keys() {
            crate::api::v2::user_handlers::check_pattern(pattern).map_err(EmbedError::Invalid)?;
        }
        if let Some(register) = &self.service_register {
            register.check().map_err(EmbedError::Invalid)?;
        }
        Ok(())
    }

    /// etcd's logging checks (`setupLogging`, the first step of its `Validate`):
    /// capnslog, 3.4's default logger, takes exactly one of `default`, `stderr` and
    /// `stdout`; zap also takes files, and `default` or `systemd/journal` only alone.
    /// Values are compared as etcd's flag parser leaves them ([`Config::log_output_set`]).
    fn check_log_outputs(&self) -> Result<(), EmbedError> {
        let invalid = |m: String| Err(EmbedError::Invalid(m));
        let outputs = self.log_output_set();
        let listed = || go_quoted_list(&outputs);
        if self.logger == "capnslog" {
            if outputs.len() != 1 {
                return invalid(format!(
                    "--logger=capnslog supports only 1 value in '--log-outputs', got {}",
                    listed()
                ));
            }
            if !matches!(outputs[0], "default" | "stderr" | "stdout") {
                return invalid(format!(
                    "unknown log-output {:?} (only supports \"default\", \"stderr\", \"stdout\")",
                    outputs[0]
                ));
            }
            return Ok(());
        }
        if outputs.len() > 1 && outputs.contains(&"default") {
            return invalid("multi logoutput for \"default\" is not supported yet".into());
        }
        if outputs.len() > 1 && outputs.contains(&JOURNAL_LOG_OUTPUT) {
            return invalid(format!(
                "running with systemd/journal but other '--log-outputs' values ({}) are \
                 configured with 'default'; override 'default' value with something else",
                listed()
            ));
        }
        Ok(())
    }

    /// etcd's `embed.Config.Validate`.
    fn validate_like_etcd(&self) -> Result<(), EmbedError> {
        let invalid = |m: String| Err(EmbedError::Invalid(m));
        if !matches!(self.logger.as_str(), "capnslog" | "zap") {
            return invalid(format!("unknown logger option {:?}", self.logger));
        }
        self.check_log_outputs()?;
        if !matches!(
            self.log_level.as_str(),
            "debug" | "info" | "warn" | "error" | "panic" | "fatal" | "dpanic"
        ) {
            return invalid(format!("unknown log level {:?}", self.log_level));
        }
        for url in self
            .listen_peer_urls
            .iter()
            .chain(&self.listen_client_urls)
            .chain(&self.listen_metrics_urls)
        {
            check_bind_url(url).map_err(EmbedError::Invalid)?;
        }
        for (flag, urls) in [
            (
                "--initial-advertise-peer-urls",
                &self.initial_advertise_peer_urls,
            ),
            ("--advertise-client-urls", &self.advertise_client_urls),
        ] {
            if let Some(bad) = urls.iter().find(|u| url_host(u).is_empty()) {
                return invalid(format!(
                    "{flag} {:?} must be \"host:port\" (unexpected empty host ({bad}))",
                    urls.join(",")
                ));
            }
        }
        let discovery = [&self.discovery, &self.discovery_srv]
            .iter()
            .filter(|v| !v.is_empty())
            .count();
        if discovery + usize::from(self.initial_cluster.is_some()) > 1 {
            return invalid(ERR_CONFLICT_BOOTSTRAP.into());
        }
        if self.heartbeat_ms == 0 {
            return invalid(format!(
                "--heartbeat-interval must be >0 (set to {}ms)",
                self.heartbeat_ms
            ));
        }
        if self.election_ms == 0 {
            return invalid(format!(
                "--election-timeout must be >0 (set to {}ms)",
                self.election_ms
            ));
        }
        if 5 * self.heartbeat_ms > self.election_ms {
            return invalid(format!(
                "--election-timeout[{}ms] should be at least as 5 times as --heartbeat-interval[{}ms]",
                self.election_ms, self.heartbeat_ms
            ));
        }
        if self.election_ms > MAX_ELECTION_MS {
            return invalid(format!(
                "--election-timeout[{}ms] is too long, and should be set less than {MAX_ELECTION_MS}ms",
                self.election_ms
            ));
        }
        if !self.listen_client_urls.is_empty() && self.advertise_client_urls.is_empty() {
            return invalid(ERR_UNSET_ADVERTISE_CLIENT_URLS.into());
        }
        if !matches!(
            self.auto_compaction_mode.as_str(),
            "" | "periodic" | "revision"
        ) {
            return invalid(format!(
                "unknown auto-compaction-mode {:?}",
                self.auto_compaction_mode
            ));
        }
        self.auto_compaction()?;
        Ok(())
    }

    /// What etcd-sim does not implement.
    fn validate_supported(&self) -> Result<(), EmbedError> {
        let unsupported = |setting: &str, reason: String| {
            Err(EmbedError::Unsupported {
                setting: setting.into(),
                reason,
            })
        };
        if let Some((flag, value)) = self.unsupported.iter().next() {
            let what = find(flag).map_or("", |s| s.help);
            return unsupported(
                flag,
                format!("{value:?} is not supported by etcd-sim (only the default works): {what}"),
            );
        }
        if let Err(e @ EmbedError::Unsupported { .. }) = self.token_kind() {
            return Err(e);
        }
        if self.log_outputs.iter().any(|o| o == JOURNAL_LOG_OUTPUT) {
            return unsupported(
                "log-outputs",
                "etcd-sim cannot log to systemd's journal; log to stderr (journald \
                 collects it under systemd) or to a file"
                    .to_string(),
            );
        }
        for (flag, urls) in [
            ("listen-peer-urls", &self.listen_peer_urls),
            (
                "initial-advertise-peer-urls",
                &self.initial_advertise_peer_urls,
            ),
            ("listen-metrics-urls", &self.listen_metrics_urls),
        ] {
            if let Some(bad) = urls.iter().find(|u| !u.starts_with("http://")) {
                return unsupported(
                    flag,
                    format!(
                        "{bad}: etcd-sim peers speak plain http only (no TLS, no unix sockets)"
                    ),
                );
            }
        }
        for (flag, urls) in [
            ("listen-client-urls", &self.listen_client_urls),
            ("advertise-client-urls", &self.advertise_client_urls),
        ] {
            if let Some(bad) = urls
                .iter()
                .find(|u| !u.starts_with("http://") && !u.starts_with("https://"))
            {
                return unsupported(
                    flag,
                    format!(
                        "{bad}: etcd-sim serves clients on http and https only (no unix sockets)"
                    ),
                );
            }
        }
        for (flag, urls) in [
            ("listen-peer-urls", &self.listen_peer_urls),
            (
                "initial-advertise-peer-urls",
                &self.initial_advertise_peer_urls,
            ),
        ] {
            if urls.len() != 1 {
                return unsupported(
                    flag,
                    format!(
                        "{:?}: an etcd-sim member has exactly one peer URL",
                        urls.join(",")
                    ),
                );
            }
        }
        if let Some(bad) = self
            .initial_advertise_peer_urls
            .iter()
            .find(|u| !is_ip_or_localhost(url_host(u)))
        {
            return unsupported(
                "initial-advertise-peer-urls",
                format!("{bad}: etcd-sim needs an IP address or localhost in peer URLs"),
            );
        }
        if self.listen_client_urls.is_empty() {
            return unsupported(
                "listen-client-urls",
                "empty: etcd-sim serves the v2 API on the client URLs and needs one".into(),
            );
        }
        Ok(())
    }

    /// etcd's client TLS checks at start (`updateCipherSuites`, the check of
    /// each `https` listen client URL, `TLSInfo.baseConfig`'s pair check).
    fn validate_client_tls(&self) -> Result<(), EmbedError> {
        use crate::tls::cipher::{CipherError, rustls_names};
        match rustls_names(&self.cipher_suites) {
            Ok(_) => {}
            Err(e @ CipherError::Unknown(_)) => return Err(EmbedError::Invalid(e.to_string())),
            Err(e @ CipherError::Unsupported(_)) => {
                return Err(EmbedError::Unsupported {
                    setting: "cipher-suites".into(),
                    reason: e.to_string(),
                });
            }
        }
        let Some(https) = self
            .listen_client_urls
            .iter()
            .find(|u| u.starts_with("https://"))
        else {
            return Ok(());
        };
        if self.client_tls.is_empty() {
            if self.client_auto_tls {
                return Ok(());
            }
            return Err(EmbedError::Invalid(format!(
                "TLS key/cert (--cert-file, --key-file) must be provided for client url {https} with HTTPS scheme"
            )));
        }
        self.client_tls.check_pair().map_err(EmbedError::Invalid)
    }

    /// The initial cluster as a map, after etcd's bootstrap checks.
    ///
    /// # Errors
    ///
    /// [`EmbedError::Bootstrap`] with etcd's texts; [`EmbedError::Unsupported`] for
    /// a member with several peer URLs or a peer host that is not an IP.
    pub fn initial_cluster_map(&self) -> Result<UrlsMap, EmbedError> {
        let bootstrap = |m: String| Err(EmbedError::Bootstrap(m));
        let map = parse_initial_cluster(&self.initial_cluster())
            .map_err(|e| EmbedError::Bootstrap(format!("error setting up initial cluster: {e}")))?;
        if !map.contains_key(&self.name) {
            return bootstrap(format!(
                "couldn't find local name {:?} in the initial cluster configuration",
                self.name
            ));
        }
        if self.initial_cluster_state == ClusterState::New {
            advertise_matches_cluster(&self.name, &self.initial_advertise_peer_urls, &map)
                .map_err(EmbedError::Bootstrap)?;
        }
        let mut seen = BTreeSet::new();
        if map.values().flatten().any(|u| !seen.insert(u.clone())) {
            return bootstrap(format!(
                "initial cluster {} has duplicate url",
                urls_map_string(&map)
            ));
        }
        for (name, urls) in &map {
            if urls.len() != 1 {
                return Err(EmbedError::Unsupported {
                    setting: "initial-cluster".into(),
                    reason: format!(
                        "member {name:?} has {} peer URLs: an etcd-sim member has exactly one",
                        urls.len()
                    ),
                });
            }
            if !is_ip_or_localhost(url_host(&urls[0])) || !urls[0].starts_with("http://") {
                return Err(EmbedError::Unsupported {
                    setting: "initial-cluster".into(),
                    reason: format!(
                        "{}: etcd-sim needs http:// and an IP address or localhost in peer URLs",
                        urls[0]
                    ),
                });
            }
        }
        Ok(map)
    }
}

/// etcd's `checkBindURLs` for one URL: the host must be an IP or `localhost`.
fn check_bind_url(url: &str) -> Result<(), String> {
    if url.starts_with("unix") {
        return Ok(());
    }
    let host = url_host(url);
    if host == "localhost" || host.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    if split_host_port(url.split_once("://").map_or(url, |(_, r)| r)).is_none() {
        return Err(format!("missing port in address {url}"));
    }
    Err(format!("expected IP in URL for binding ({url})"))
}

fn is_ip_or_localhost(host: &str) -> bool {
    host == "localhost" || host.parse::<IpAddr>().is_ok()
}

/// etcd's `advertiseMatchesCluster` (URLs compared as written; etcd also resolves
/// host names, which matters only for names other than IPs).
fn advertise_matches_cluster(
    name: &str,
    advertised: &[String],
    map: &UrlsMap,
) -> Result<(), String> {
    let listed: Vec<String> = map.get(name).cloned().unwrap_or_default();
    let mut ap: Vec<String> = advertised.to_vec();
    ap.sort();
    let reason = if ap.len() != listed.len() {
        format!(
            "len({}) != len({})",
            go_quoted_list(&ap),
            go_quoted_list(&listed)
        )
    } else if let Some((a, b)) = ap.iter().zip(&listed).find(|(a, b)| a != b) {
        format!("resolved urls: {a:?} != {b:?}")
    } else {
        return Ok(());
    };
    let missing: Vec<String> = listed
        .iter()
        .filter(|u| !ap.contains(u))
        .map(|u| format!("{name}={u}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "--initial-cluster has {} but missing from --initial-advertise-peer-urls={} ({reason})",
            missing.join(","),
            ap.join(",")
        ));
    }
    let extra: Vec<String> = ap.iter().filter(|u| !listed.contains(u)).cloned().collect();
    let own: Vec<String> = ap.iter().map(|u| format!("{name}={u}")).collect();
    if !extra.is_empty() {
        return Err(format!(
            "--initial-advertise-peer-urls has {} but missing from --initial-cluster={}",
            extra.join(","),
            own.join(",")
        ));
    }
    Err(format!(
        "failed to resolve {} to match --initial-cluster={} ({reason})",
        ap.join(","),
        own.join(",")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid single-member configuration on loopback.
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

    fn msg(c: &Config) -> String {
        c.validate().unwrap_err().to_string()
    }

    #[test]
    fn client_tls_checks_as_etcd() {
        let mut c = base();
        c.listen_client_urls = vec!["https://127.0.0.1:23791".into()];
        c.advertise_client_urls = vec!["https://127.0.0.1:23791".into()];
        assert_eq!(
            msg(&c),
            "TLS key/cert (--cert-file, --key-file) must be provided for client url \
             https://127.0.0.1:23791 with HTTPS scheme"
        );
        c.client_auto_tls = true;
        c.validate().unwrap();
        c.client_auto_tls = false;
        c.client_tls.cert_file = Some("srv.pem".into());
        assert_eq!(
            msg(&c),
            "KeyFile and CertFile must both be present[key: , cert: srv.pem]"
        );
        c.client_tls.key_file = Some("srv.key".into());
        c.validate().unwrap();
        c.cipher_suites = vec!["FOO".into()];
        assert_eq!(msg(&c), "unexpected TLS cipher suite \"FOO\"");
        c.cipher_suites = vec!["TLS_RSA_WITH_AES_128_CBC_SHA".into()];
        assert!(matches!(
            c.validate(),
            Err(EmbedError::Unsupported { setting, .. }) if setting == "cipher-suites"
        ));
        // Peer TLS stays refused.
        let mut p = base();
        p.listen_peer_urls = vec!["https://127.0.0.1:23801".into()];
        assert!(matches!(
            p.validate(),
            Err(EmbedError::Unsupported { setting, .. }) if setting == "listen-peer-urls"
        ));
    }

    #[test]
    fn a_plain_config_is_valid() {
        base().validate().unwrap();
        let mut defaults = Config {
            enable_v2: true,
            ..Config::default()
        };
        defaults.validate().unwrap();
        defaults.name = "n".into();
        assert_eq!(defaults.initial_cluster_map().unwrap().len(), 1);
    }

    #[test]
    fn etcds_validate_texts() {
        let mut c = base();
        c.heartbeat_ms = 300;
        assert_eq!(
            msg(&c),
            "--election-timeout[1000ms] should be at least as 5 times as --heartbeat-interval[300ms]"
        );
        c.heartbeat_ms = 0;
        assert_eq!(msg(&c), "--heartbeat-interval must be >0 (set to 0ms)");
        let mut c = base();
        c.election_ms = 60_000;
        assert_eq!(
            msg(&c),
            "--election-timeout[60000ms] is too long, and should be set less than 50000ms"
        );
        let mut c = base();
        c.advertise_client_urls.clear();
        assert_eq!(msg(&c), ERR_UNSET_ADVERTISE_CLIENT_URLS);
        let mut c = base();
        c.listen_client_urls = vec!["http://myhost:23791".into()];
        assert_eq!(
            msg(&c),
            "expected IP in URL for binding (http://myhost:23791)"
        );
        let mut c = base();
        c.initial_advertise_peer_urls = vec!["http://:23801".into()];
        assert_eq!(
            msg(&c),
            "--initial-advertise-peer-urls \"http://:23801\" must be \"host:port\" (unexpected empty host (http://:23801))"
        );
        let mut c = base();
        c.auto_compaction_mode = "foo".into();
        assert_eq!(msg(&c), "unknown auto-compaction-mode \"foo\"");
        let mut c = base();
        c.discovery = "http://x".into();
        c.initial_cluster = Some("a=http://127.0.0.1:23801".into());
        assert_eq!(msg(&c), ERR_CONFLICT_BOOTSTRAP);
    }

    /// The texts etcd 3.4.23 printed for these `--logger`/`--log-outputs` values.
    #[test]
    fn etcds_log_output_texts() {
        let with = |logger: &str, outputs: &[&str]| {
            let mut c = base();
            c.logger = logger.into();
            c.log_outputs = outputs.iter().map(|o| o.to_string()).collect();
            c
        };
        assert_eq!(
            msg(&with("capnslog", &["/tmp/le/x.log"])),
            "unknown log-output \"/tmp/le/x.log\" (only supports \"default\", \"stderr\", \"stdout\")"
        );
        assert_eq!(
            msg(&with("capnslog", &["stdout", "stderr"])),
            "--logger=capnslog supports only 1 value in '--log-outputs', got [\"stderr\" \"stdout\"]"
        );
        assert_eq!(
            msg(&with("zap", &["default", "stderr"])),
            "multi logoutput for \"default\" is not supported yet"
        );
        assert_eq!(
            msg(&with("zap", &["systemd/journal", "stderr"])),
            "running with systemd/journal but other '--log-outputs' values ([\"stderr\" \"systemd/journal\"]) are configured with 'default'; override 'default' value with something else"
        );
        for ok in [
            with("capnslog", &["stdout"]),
            with("capnslog", &["stderr", "stderr"]),
            with("zap", &["stderr", "/var/log/etcd.log"]),
            with("zap", &["default"]),
        ] {
            ok.validate().unwrap();
        }
    }

    #[test]
    fn etcds_bootstrap_texts() {
        let mut c = base();
        c.initial_cluster = Some("a=http://127.0.0.1:23802".into());
        assert_eq!(
            msg(&c),
            "--initial-cluster has a=http://127.0.0.1:23802 but missing from --initial-advertise-peer-urls=http://127.0.0.1:23801 (resolved urls: \"http://127.0.0.1:23801\" != \"http://127.0.0.1:23802\")"
        );
        c.initial_cluster = Some(
            "c=http://127.0.0.1:23803,a=http://127.0.0.1:23801,a=http://127.0.0.1:23802".into(),
        );
        assert_eq!(
            msg(&c),
            "--initial-cluster has a=http://127.0.0.1:23802 but missing from --initial-advertise-peer-urls=http://127.0.0.1:23801 (len([\"http://127.0.0.1:23801\"]) != len([\"http://127.0.0.1:23801\" \"http://127.0.0.1:23802\"]))"
        );
        c.name = "b".into();
        c.initial_cluster = Some("a=http://127.0.0.1:23801".into());
        assert_eq!(
            msg(&c),
            "couldn't find local name \"b\" in the initial cluster configuration"
        );
        let mut c = base();
        c.initial_cluster = Some("a=http://127.0.0.1:23801,b=http://127.0.0.1:23801".into());
        assert_eq!(
            msg(&c),
            "initial cluster a=http://127.0.0.1:23801,b=http://127.0.0.1:23801 has duplicate url"
        );
        c.initial_cluster = Some("foo".into());
        assert_eq!(
            msg(&c),
            "error setting up initial cluster: URL scheme must be http, https, unix, or unixs: "
        );
        // The default name keeps etcd's default initial cluster.
        let mut c = base();
        c.name = "default".into();
        assert_eq!(
            msg(&c),
            "--initial-cluster has default=http://localhost:2380 but missing from --initial-advertise-peer-urls=http://127.0.0.1:23801 (resolved urls: \"http://127.0.0.1:23801\" != \"http://localhost:2380\")"
        );
        // Joining an existing cluster does not compare the advertised URLs.
        let mut c = base();
        c.initial_cluster_state = ClusterState::Existing;
        c.initial_cluster = Some("a=http://127.0.0.1:23801,b=http://127.0.0.1:23802".into());
        c.validate().unwrap();
    }

    #[test]
    fn what_etcd_sim_rejects() {
        let rejects = |f: &dyn Fn(&mut Config), flag: &str| {
            let mut c = base();
            f(&mut c);
            match c.validate() {
                Err(EmbedError::Unsupported { setting, .. }) => assert_eq!(setting, flag),
                other => panic!("{flag}: {other:?}"),
            }
        };
        rejects(
            &|c| {
                c.unsupported.insert("peer-cert-file".into(), "/c".into());
            },
            "peer-cert-file",
        );
        rejects(
            &|c| {
                c.logger = "zap".into();
                c.log_outputs = vec!["systemd/journal".into()];
            },
            "log-outputs",
        );
        rejects(
            &|c| c.listen_client_urls = vec!["unixs://127.0.0.1:1".into()],
            "listen-client-urls",
        );
        rejects(
            &|c| c.listen_peer_urls.push("http://127.0.0.2:1".into()),
            "listen-peer-urls",
        );
        rejects(
            &|c| c.initial_cluster = Some("a=http://127.0.0.1:23801,b=http://h:1".into()),
            "initial-cluster",
        );
        // etcd 3.4's default, v3 only, is served.
        let mut c = base();
        c.enable_v2 = false;
        assert!(c.validate().is_ok());
    }
}
