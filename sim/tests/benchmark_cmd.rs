//! `etcd-sim benchmark`: every subcommand with small totals against an
//! `etcd-sim` process and an etcd 3.4.23 process (both started here); the
//! JSON summary must count every request and no error, and the text output
//! must be etcd's layout.

#[cfg(not(madsim))]
mod real {
    use etcd_test_support::EtcdCluster;
    use serde_json::Value;
    use std::path::Path;
    use std::process::Command;

    const BIN: &str = env!("CARGO_BIN_EXE_etcd-sim");

    /// Runs `etcd-sim benchmark --endpoints <ep> <args>`; stdout, and fails
    /// the test on a non-zero exit.
    async fn bench(endpoint: &str, args: &[&str]) -> String {
        let mut full = vec!["benchmark".to_string(), format!("--endpoints={endpoint}")];
        full.extend(args.iter().map(|a| a.to_string()));
        let out = tokio::task::spawn_blocking(move || Command::new(BIN).args(&full).output())
            .await
            .expect("join")
            .expect("run etcd-sim benchmark");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "benchmark {args:?}: {}\nstdout:\n{stdout}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Runs a subcommand with `--json`; checks each report's count and that
    /// it has no errors.
    async fn counts(endpoint: &str, args: &[&str], expected: &[(&str, u64)]) {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let out = bench(endpoint, &a).await;
        let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
        let reports = v["reports"].as_array().expect("reports");
        for (name, count) in expected {
            let r = reports
                .iter()
                .find(|r| r["name"] == *name)
                .unwrap_or_else(|| panic!("no report {name} in {out}"));
            assert_eq!(r["count"].as_u64(), Some(*count), "{args:?} {name}: {out}");
            assert_eq!(r["errors"], serde_json::json!({}), "{args:?} {name}: {out}");
            assert!(r["requests_per_sec"].as_f64().unwrap_or(0.0) > 0.0, "{out}");
            let hist: u64 = r["histogram"]
                .as_array()
                .expect("histogram")
                .iter()
                .map(|b| b["count"].as_u64().unwrap_or(0))
                .sum();
            assert_eq!(hist, *count, "{args:?} {name}: histogram {out}");
        }
    }

    async fn every_subcommand(endpoint: &str) {
        counts(
            endpoint,
            &[
                "--conns=2",
                "--clients=4",
                "put",
                "--total=200",
                "--key-space-size=50",
                "--val-size=64",
            ],
            &[("put", 200)],
        )
        .await;
        for c in ["l", "s"] {
            counts(
                endpoint,
                &[
                    "--clients=3",
                    "range",
                    "foo",
                    "fop",
                    "--total=100",
                    "--consistency",
                    c,
                ],
                &[("range", 100)],
            )
            .await;
        }
        counts(
            endpoint,
            &[
                "--clients=2",
                "txn-put",
                "--total=50",
                "--txn-ops=3",
                "--key-space-size=100",
            ],
            &[("txn-put", 50)],
        )
        .await;
        counts(
            endpoint,
            &["--clients=2", "delete", "--total=50", "--key-space-size=50"],
            &[("delete", 50)],
        )
        .await;
        // 10 watchers on 2 keys (5 each), 20 puts (10 per key): 100 events.
        counts(
            endpoint,
            &[
                "--clients=2",
                "watch",
                "--streams=2",
                "--watch-per-stream=5",
                "--put-total=20",
                "--key-space-size=2",
                "--sequential-keys",
            ],
            &[("watch creation", 10), ("watch events", 100)],
        )
        .await;
        counts(
            endpoint,
            &[
                "watch-latency",
                "--put-total=10",
                "--put-rate=200",
                "--streams=2",
                "--watchers-per-stream=2",
            ],
            &[("put", 10), ("watch", 40)],
        )
        .await;
        counts(
            endpoint,
            &["--clients=2", "lease-keepalive", "--total=50"],
            &[("lease-keepalive", 50)],
        )
        .await;
        counts(
            endpoint,
            &[
                "--clients=3",
                "stm",
                "--total=30",
                "--keys=5",
                "--keys-per-txn=2",
                "--isolation=ss",
            ],
            &[("stm", 30)],
        )
        .await;
    }

    /// The text report: etcd's sections, the count in the histogram.
    async fn text_output(endpoint: &str) {
        let out = bench(endpoint, &["put", "--total=40"]).await;
        for line in [
            "\nSummary:\n  Total:\t",
            "\n  Slowest:\t",
            "\n  Fastest:\t",
            "\n  Average:\t",
            "\n  Stddev:\t",
            "\n  Requests/sec:\t",
            "\n\nResponse time histogram:\n",
            "\n\nLatency distribution:\n  10% in ",
        ] {
            assert!(out.contains(line), "no {line:?} in:\n{out}");
        }
        let in_histogram: u64 = out
            .lines()
            .skip_while(|l| !l.starts_with("Response time histogram"))
            .skip(1)
            .take_while(|l| !l.is_empty())
            .filter_map(|l| l.split('[').nth(1)?.split(']').next()?.parse::<u64>().ok())
            .sum();
        assert_eq!(in_histogram, 40, "{out}");
        let out = bench(endpoint, &["--precise", "range", "foo", "--total=5"]).await;
        assert!(out.contains(" secs.\n"), "{out}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn subcommands_against_etcd_sim() {
        let c = EtcdCluster::start_with(Path::new(BIN), 1).await;
        let ep = c.client_urls()[0].clone();
        every_subcommand(&ep).await;
        text_output(&ep).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn subcommands_against_etcd() {
        let c = EtcdCluster::start(1).await;
        let ep = c.client_urls()[0].clone();
        every_subcommand(&ep).await;
        text_output(&ep).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn target_leader_of_three_and_bad_flags() {
        let c = EtcdCluster::start_with(Path::new(BIN), 3).await;
        let eps = c.client_urls().join(",");
        counts(
            &eps,
            &["--target-leader", "--clients=2", "put", "--total=20"],
            &[("put", 20)],
        )
        .await;
        let out = Command::new(BIN)
            .args(["benchmark", "put", "--no-such-flag=1"])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-flag"));
    }
}
