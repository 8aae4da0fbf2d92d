//! Writes the HTML timeline of a synthetic history with one injected stale read,
//! to see what a failing seed's timeline looks like.
//!
//! ```text
//! cargo run -p etcd-sim --example chaos_timeline -- timeline.html [ops, default 300] [seed, default 1]
//! ```
//!
//! Prints the check report; open the file in a browser.

use etcd_sim::chaos::check::{CheckOptions, check};
use etcd_sim::chaos::synthetic::{SyntheticConfig, generate, inject_stale_read};
use etcd_sim::chaos::timeline::write_html;
use std::io::BufWriter;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "timeline.html".into());
    let ops = args.next().and_then(|a| a.parse().ok()).unwrap_or(300);
    let seed = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let cfg = SyntheticConfig {
        seed,
        ops,
        faults: 8,
        ..SyntheticConfig::default()
    };
    let mut history = generate(&cfg);
    let stale = inject_stale_read(&mut history);
    let report = check(&history, &CheckOptions::default());
    print!("{report}");
    let file = std::fs::File::create(&path)?;
    write_html(&history, &report, BufWriter::new(file))?;
    match stale {
        Some(id) => println!("stale read injected as #{id}; timeline written to {path}"),
        None => println!("no read to make stale; timeline written to {path}"),
    }
    Ok(())
}
