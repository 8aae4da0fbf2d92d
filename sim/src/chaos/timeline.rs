//! An HTML timeline of a history: one self-contained file (inline CSS, no script,
//! no external assets) that a person opens in a browser.
//!
//! One row per client, one bar per operation from its invocation to its
//! completion, coloured by outcome (ok, failed, unknown; an unknown operation's bar
//! continues as a dashed tail to the end, since it may take effect any time
//! later). Hovering a bar shows the operation. The nemesis's faults are vertical
//! markers with their text. Each client's watchers are thin lines under its row,
//! with a tick per event. Operations some violation involves have a red outline;
//! the violations are listed at the top, with their minimized sub-histories and
//! links to the bars. A run that crashed (a member or the run panicked) says so
//! first, in red, with the panic's message, the member and the virtual time, and
//! its crash is a solid red marker on the timeline.

use super::check::CheckReport;
use super::describe;
use super::history::{History, Operation, Outcome};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, Write};

/// Escapes text for HTML content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The fault kind of the entry that ends the history of a run that panicked (its
/// text names the member and the panic's message).
pub const CRASH_FAULT_KIND: &str = "crash";

/// The crash that ended the run, if it crashed.
fn crash_of(history: &History) -> Option<&super::history::FaultEntry> {
    history.faults.iter().find(|f| f.kind == CRASH_FAULT_KIND)
}

/// Space left of time 0.
const PAD: f64 = 8.0;
const ROW_H: f64 = 34.0;
const BAR_H: f64 = 16.0;
const FAULT_LANE_H: f64 = 15.0;
const FAULT_LANES: usize = 4;
const AXIS_H: f64 = 18.0;

const CSS: &str = "
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:18px;margin:0 0 6px} h2{font-size:15px;margin:14px 0 6px}
code,pre{font:12px/1.35 ui-monospace,monospace}
pre{background:#f6f6f6;border:1px solid #ddd;padding:6px 8px;overflow-x:auto;margin:4px 0 10px}
.ok-verdict{color:#1b7c1b;font-weight:bold} .bad-verdict{color:#c00;font-weight:bold}
.partial-verdict{color:#555;font-weight:bold}
.crash-box{border:2px solid #c00;background:#fff0f0;padding:4px 10px;margin:8px 0}
.crash-box pre{background:#fff;border-color:#e0a0a0}
.violation{border-left:4px solid #d00;padding-left:8px;margin:8px 0}
.legend span{display:inline-block;margin-right:14px}
.sw{display:inline-block;width:22px;height:10px;vertical-align:middle;margin-right:4px;border-radius:2px}
.wrap{display:flex;border:1px solid #ccc;margin-top:8px}
.labels{position:relative;flex:0 0 170px;background:#fafafa;border-right:1px solid #ccc}
.scroll{overflow-x:auto;flex:1 1 auto}
.tl{position:relative}
.lbl{position:absolute;left:0;width:164px;padding-left:6px;overflow:hidden;white-space:nowrap;font-size:12px;
  border-top:1px solid #eee}
.lbl small{color:#666}
.row{position:absolute;height:34px;border-top:1px solid #eee}
.op{position:absolute;height:16px;border-radius:2px;box-sizing:border-box;min-width:2px;display:block}
.op:hover{filter:brightness(0.8);z-index:4}
.ok{background:#43a047} .okr{background:#81c784} .failed{background:#bdbdbd} .unknown{background:#fb8c00}
.viol{outline:3px solid #e00;outline-offset:1px;z-index:3}
.ctx{outline:2px dashed #e00;outline-offset:1px;z-index:3}
.vlabel{position:absolute;font-size:10px;font-weight:bold;color:#d00;white-space:nowrap;z-index:4}
:target{outline:3px solid #000;z-index:6}
.tail{position:absolute;height:0;border-top:2px dashed #fb8c00;opacity:.55}
.watch{position:absolute;height:2px;background:#7e57c2;opacity:.7}
.tick{position:absolute;width:1px;height:7px;background:#5e35b1}
.fault{position:absolute;top:0;width:0;border-left:1px dashed #c62828;opacity:.6;z-index:2}
.flabel{position:absolute;font-size:11px;color:#b71c1c;white-space:nowrap;background:#fff8;padding:0 2px;z-index:3}
.fault.crash{border-left:3px solid #d00;opacity:1;z-index:5}
.flabel.crash{color:#fff;background:#d00;font-weight:bold;z-index:6}
.axis{position:absolute;font-size:10px;color:#777;white-space:nowrap}
.grid{position:absolute;width:0;border-left:1px solid #f0f0f0}
";

/// Maps virtual nanoseconds to pixels.
struct Scale {
    px_per_ns: f64,
    width: f64,
}

impl Scale {
    fn x(&self, ns: u64) -> f64 {
        PAD + ns as f64 * self.px_per_ns
    }
}

fn end_of(history: &History) -> u64 {
    let ops = history.ops.iter().map(|o| o.complete_ns.max(o.invoke_ns));
    let watches = history.watches.iter().map(|w| w.ended_ns);
    let faults = history.faults.iter().map(|f| f.at_ns);
    let last = ops.chain(watches).chain(faults).max().unwrap_or(0);
    // A margin, so unknown operations' tails show past the last event.
    last + last / 25 + 1
}

fn scale_for(history: &History, end: u64) -> Scale {
    let mut per_client: BTreeMap<usize, usize> = BTreeMap::new();
    for o in &history.ops {
        *per_client.entry(o.client).or_default() += 1;
    }
    let busiest = per_client.values().copied().max().unwrap_or(0) as f64;
    // Room for about 8 px per operation of the busiest client, within bounds a
    // browser handles.
    let width = (busiest * 8.0).clamp(1200.0, 60_000.0);
    Scale {
        px_per_ns: width / end as f64,
        width,
    }
}

/// A tick interval (ns) of 1, 2 or 5 times a power of ten giving ~120 px.
fn tick_ns(scale: &Scale) -> u64 {
    let target = 120.0 / scale.px_per_ns;
    let mut step = 1u64;
    loop {
        for m in [1, 2, 5] {
            let s = step.saturating_mul(m);
            if s as f64 >= target || s == u64::MAX {
                return s.max(1);
            }
        }
        step = step.saturating_mul(10);
    }
}

fn outcome_class(o: &Operation) -> &'static str {
    match o.outcome {
        Outcome::Ok(_) if o.op.is_write() => "ok",
        Outcome::Ok(_) => "okr",
        Outcome::Failed { .. } => "failed",
        Outcome::Unknown { .. } => "unknown",
    }
}

fn header(h: &mut String, history: &History, report: &CheckReport) {
    let info = &history.info;
    let _ = write!(
        h,
        "<h1>Chaos run: seed {} &middot; {} nodes &middot; {} clients</h1>\
         <div>faults: <code>{}</code>{}</div>",
        info.seed,
        info.nodes,
        info.clients,
        esc(&info.faults),
        info.unsafe_mode
            .as_deref()
            .map(|m| format!(
                " &middot; <b>unsafe server mode: <code>{}</code></b>",
                esc(m)
            ))
            .unwrap_or_default()
    );
    if !info.replay.is_empty() {
        let _ = write!(h, "<div>replay: <code>{}</code></div>", esc(&info.replay));
    }
    let crash = crash_of(history);
    if let Some(c) = crash {
        let _ = write!(
            h,
            "<h2 class=\"bad-verdict\">RUN CRASHED at {} ms (virtual time)</h2>\
             <div class=\"crash-box\"><pre>{}</pre>The history below ends at the crash \
             (<a href=\"#crash\">marked on the timeline</a>); operations in flight then \
             have no outcome.</div>",
            describe::ms(c.at_ns),
            esc(&c.what)
        );
    }
    let (class, verdict) = match (report.is_ok(), crash.is_some()) {
        (true, false) => ("ok-verdict", "no violation found"),
        (true, true) => (
            "partial-verdict",
            "no violation found in the history recorded until the crash",
        ),
        (false, _) => ("bad-verdict", "VIOLATIONS FOUND"),
    };
    let _ = write!(
        h,
        "<h2 class=\"{class}\">{verdict}</h2><pre>{}</pre>",
        esc(report.to_string().lines().next().unwrap_or(""))
    );
    for (n, v) in report.violations.iter().enumerate() {
        let links: Vec<String> = v
            .ops
            .iter()
            .map(|id| format!("<a href=\"#op-{id}\">#{id}</a>"))
            .collect();
        let _ = write!(
            h,
            "<div class=\"violation\"><b>{}. {}</b>{} &mdash; {}<br>ops: {}{}",
            n + 1,
            esc(v.kind.name()),
            v.key
                .as_deref()
                .map(|k| format!(" on <code>{}</code>", esc(k)))
                .unwrap_or_default(),
            esc(&v.message),
            if links.is_empty() {
                "-".to_string()
            } else {
                links.join(" ")
            },
            if v.watches.is_empty() {
                String::new()
            } else {
                format!(" &middot; watchers: {:?}", v.watches)
            }
        );
        if !v.sub_history.is_empty() {
            let _ = write!(h, "<pre>{}</pre>", esc(&v.sub_history));
        }
        h.push_str("</div>");
    }
    if report.suppressed > 0 {
        let _ = write!(
            h,
            "<div>&hellip; and {} more violations not listed</div>",
            report.suppressed
        );
    }
    for u in &report.undecided {
        let _ = write!(
            h,
            "<div>undecided: key <code>{}</code> ({} ops, search budget exceeded)</div>",
            esc(&u.key),
            u.ops
        );
    }
    h.push_str(
        "<h2>Timeline</h2><div class=\"legend\">\
         <span><i class=\"sw ok\"></i>write ok</span>\
         <span><i class=\"sw okr\"></i>read ok</span>\
         <span><i class=\"sw failed\"></i>failed (not applied)</span>\
         <span><i class=\"sw unknown\"></i>unknown (may apply later)</span>\
         <span><i class=\"sw\" style=\"outline:3px solid #e00\"></i>in a violation</span>\
         <span><i class=\"sw\" style=\"outline:2px dashed #e00\"></i>its values' writes</span>\
         <span><i class=\"sw\" style=\"background:#7e57c2;height:3px\"></i>watch, ticks = events</span>\
         <span style=\"color:#b71c1c\">&#x2506; fault</span>\
         <span style=\"color:#d00;font-weight:bold\">&#x2503; crash</span>\
         &middot; hover a bar for the operation; times in ms of virtual time</div>",
    );
}

/// Writes the timeline of `history`, marking what `report` found.
///
/// # Errors
///
/// Any I/O error of `out`.
pub fn write_html(history: &History, report: &CheckReport, mut out: impl Write) -> io::Result<()> {
    let end = end_of(history);
    let scale = scale_for(history, end);
    let violating: BTreeSet<u64> = report.violating_ops().into_iter().collect();
    let context: BTreeSet<u64> = report
        .violations
        .iter()
        .flat_map(|v| v.context.iter().copied())
        .filter(|id| !violating.contains(id))
        .collect();
    let mut clients: BTreeSet<usize> = history.ops.iter().map(|o| o.client).collect();
    clients.extend(history.watches.iter().map(|w| w.client));
    let row_of: BTreeMap<usize, usize> = clients.iter().enumerate().map(|(i, &c)| (c, i)).collect();
    let top = FAULT_LANES as f64 * FAULT_LANE_H + AXIS_H;
    let height = top + clients.len() as f64 * ROW_H + 4.0;
    let total_w = scale.x(end) + 40.0;

    let mut h = String::with_capacity(4096 + history.ops.len() * 220);
    let _ = write!(
        h,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>chaos seed {}{}</title>\
         <style>{CSS}</style></head><body>",
        history.info.seed,
        if crash_of(history).is_some() {
            " (crashed)"
        } else {
            ""
        }
    );
    header(&mut h, history, report);
    // The client labels sit in a column left of the scrolling timeline.
    let mut labels = String::new();
    let scroll_at = h.len();
    let _ = write!(
        h,
        "<div class=\"scroll\"><div class=\"tl\" style=\"width:{total_w:.0}px;height:{height:.0}px\">"
    );

    // Time axis and grid.
    let step = tick_ns(&scale);
    let mut t = 0u64;
    while t <= end {
        let x = scale.x(t);
        let _ = write!(
            h,
            "<div class=\"grid\" style=\"left:{x:.1}px;top:{}px;height:{:.0}px\"></div>\
             <div class=\"axis\" style=\"left:{:.1}px;top:{:.0}px\">{} ms</div>",
            top as u64,
            height - top,
            x + 2.0,
            top - AXIS_H,
            describe::ms(t).trim_end_matches('0').trim_end_matches('.')
        );
        t = match t.checked_add(step) {
            Some(t) => t,
            None => break,
        };
    }

    // Client rows, their labels and watches.
    for (&client, &row) in &row_of {
        let y = top + row as f64 * ROW_H;
        let ops = history.ops.iter().filter(|o| o.client == client).count();
        let watches: Vec<_> = history
            .watches
            .iter()
            .filter(|w| w.client == client)
            .collect();
        let events: usize = watches.iter().map(|w| w.events.len()).sum();
        let watch_note = if watches.is_empty() {
            String::new()
        } else {
            let keys: BTreeSet<&str> = watches.iter().map(|w| w.key.as_str()).collect();
            let keys: Vec<&str> = keys.into_iter().collect();
            format!(
                "<br><small title=\"{}\">{} watch{}, {} events</small>",
                esc(&keys.join(" ")),
                watches.len(),
                if watches.len() == 1 { "" } else { "es" },
                events
            )
        };
        let _ = write!(
            h,
            "<div class=\"row\" style=\"left:0;top:{y:.0}px;width:{total_w:.0}px\"></div>"
        );
        let _ = write!(
            labels,
            "<div class=\"lbl\" style=\"top:{y:.0}px;height:{ROW_H}px\"><b>client {client}</b> \
             <small>{ops} ops</small>{watch_note}</div>"
        );
        for w in watches {
            let wy = y + 4.0 + BAR_H + 5.0;
            let x0 = scale.x(w.started_ns);
            let x1 = scale.x(w.ended_ns.max(w.started_ns)).max(x0 + 1.0);
            let title = format!(
                "watcher {}: {} (ended: {}), {} events",
                w.id,
                describe_watch_span(w),
                w.end,
                w.events.len()
            );
            let _ = write!(
                h,
                "<div class=\"watch\" style=\"left:{x0:.1}px;top:{wy:.0}px;width:{:.1}px\" title=\"{}\"></div>",
                x1 - x0,
                esc(&title)
            );
            for e in &w.events {
                let title = format!(
                    "watcher {}: {} {} = {} @{} at {} ms",
                    w.id,
                    e.action,
                    e.key,
                    e.value.as_deref().unwrap_or("-"),
                    e.modified_index,
                    describe::ms(e.received_ns)
                );
                let _ = write!(
                    h,
                    "<div class=\"tick\" style=\"left:{:.1}px;top:{:.0}px\" title=\"{}\"></div>",
                    scale.x(e.received_ns),
                    wy - 2.5,
                    esc(&title)
                );
            }
        }
    }

    // Operations.
    for o in &history.ops {
        let row = row_of.get(&o.client).copied().unwrap_or(0);
        let y = top + row as f64 * ROW_H + 4.0;
        let x0 = scale.x(o.invoke_ns);
        let x1 = scale.x(o.complete_ns.max(o.invoke_ns));
        let mut class = outcome_class(o).to_string();
        if violating.contains(&o.id) {
            class.push_str(" viol");
            let _ = write!(
                h,
                "<div class=\"vlabel\" style=\"left:{x0:.1}px;top:{:.0}px\">#{}</div>",
                y - 13.0,
                o.id
            );
        } else if context.contains(&o.id) {
            class.push_str(" ctx");
        }
        let title = describe::line(o);
        let _ = write!(
            h,
            "<a class=\"op {class}\" id=\"op-{}\" href=\"#op-{}\" style=\"left:{x0:.1}px;top:{y:.0}px;width:{:.1}px\" title=\"{}\"></a>",
            o.id,
            o.id,
            (x1 - x0).max(2.0),
            esc(&title)
        );
        if matches!(o.outcome, Outcome::Unknown { .. }) {
            let tail_end = scale.x(end);
            if tail_end > x1 {
                let _ = write!(
                    h,
                    "<div class=\"tail\" style=\"left:{x1:.1}px;top:{:.0}px;width:{:.1}px\"></div>",
                    y + BAR_H / 2.0,
                    tail_end - x1
                );
            }
        }
    }

    // Faults: a marker line through all rows and a label in the band above.
    for (n, f) in history.faults.iter().enumerate() {
        let x = scale.x(f.at_ns);
        let lane = n % FAULT_LANES;
        let text = format!("{} ms: {}", describe::ms(f.at_ns), f.what);
        let (class, id, label) = if f.kind == CRASH_FAULT_KIND {
            (" crash", " id=\"crash\"", format!("CRASH: {}", f.what))
        } else {
            ("", "", f.what.clone())
        };
        let _ = write!(
            h,
            "<div class=\"fault{class}\"{id} style=\"left:{x:.1}px;top:{:.0}px;height:{:.0}px\" title=\"{}\"></div>\
             <div class=\"flabel{class}\" style=\"left:{:.1}px;top:{:.0}px\" title=\"{}\">{}</div>",
            lane as f64 * FAULT_LANE_H,
            height - lane as f64 * FAULT_LANE_H,
            esc(&text),
            x + 1.0,
            lane as f64 * FAULT_LANE_H,
            esc(&text),
            esc(&label)
        );
    }
    let before = format!(
        "<div class=\"wrap\"><div class=\"labels\" style=\"height:{height:.0}px\">{labels}</div>"
    );
    h.insert_str(scroll_at, &before);
    let _ = writeln!(
        h,
        "</div></div></div><p><small>{} operations, {} watches, {} faults; {:.0} px wide ({:.3} px/ms)</small></p></body></html>",
        history.ops.len(),
        history.watches.len(),
        history.faults.len(),
        scale.width,
        scale.px_per_ns * 1e6
    );
    out.write_all(h.as_bytes())
}

fn describe_watch_span(w: &super::history::WatchRecord) -> String {
    format!(
        "{}{} from index {}, {}..{} ms",
        w.key,
        if w.recursive { " (recursive)" } else { "" },
        w.start_index,
        describe::ms(w.started_ns),
        describe::ms(w.ended_ns)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chaos::check::{CheckOptions, check};
    use crate::chaos::history::{FaultEntry, Op, Response, RunInfo};

    fn history() -> History {
        let set = |id, client, t0, t1, value: &str, outcome| Operation {
            id,
            client,
            endpoint: None,
            invoke_ns: t0,
            complete_ns: t1,
            op: Op::Set {
                key: "/k<&>".into(),
                value: value.into(),
            },
            outcome,
        };
        let done = |v: &str, i| {
            Outcome::Ok(Response::Done {
                value: Some(v.into()),
                prev: None,
                node_key: "/k<&>".into(),
                modified_index: i,
                etcd_index: i,
            })
        };
        History {
            info: RunInfo {
                seed: 9,
                nodes: 3,
                clients: 2,
                faults: "all".into(),
                unsafe_mode: None,
                replay: "etcd-sim chaos --seed 9 \"quoted\"".into(),
            },
            ops: vec![
                set(0, 0, 1_000_000, 2_000_000, "<script>", done("<script>", 4)),
                set(1, 1, 3_000_000, 4_000_000, "b", done("b", 3)),
                set(
                    2,
                    1,
                    5_000_000,
                    6_000_000,
                    "c",
                    Outcome::Unknown {
                        error: "timeout".into(),
                    },
                ),
            ],
            watches: Vec::new(),
            faults: vec![FaultEntry {
                at_ns: 2_500_000,
                kind: "partition".into(),
                what: "partition [m0] <-> [m1 m2]".into(),
            }],
        }
    }

    #[test]
    fn the_page_is_self_contained_escaped_and_marks_violations() {
        let h = history();
        let report = check(&h, &CheckOptions::default());
        assert!(!report.is_ok(), "write #1 got a lower index: {report}");
        let mut buf = Vec::new();
        write_html(&h, &report, &mut buf).unwrap();
        let page = String::from_utf8(buf).unwrap();
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(!page.contains("<script"), "user data must be escaped");
        assert!(page.contains("&lt;script&gt;"));
        assert!(
            !page.contains("http://") && !page.contains("https://"),
            "no external assets"
        );
        assert!(page.contains("id=\"op-1\""));
        assert!(page.contains("class=\"op ok viol\" id=\"op-1\""));
        assert!(page.contains("class=\"op unknown\" id=\"op-2\""));
        assert!(page.contains("class=\"tail\""));
        assert!(page.contains("partition [m0] &lt;-&gt; [m1 m2]"));
        assert!(page.contains("href=\"#op-1\""));
        assert!(page.contains("&quot;quoted&quot;"));
    }

    #[test]
    fn a_crashed_run_says_so_first_in_red_and_marks_the_crash() {
        let mut h = history();
        // Only the valid writes: the history itself has no violation.
        h.ops.remove(0);
        h.faults.push(FaultEntry {
            at_ns: 5_500_000,
            kind: CRASH_FAULT_KIND.into(),
            what: "member m2 (id 92cd) panicked at raft.rs:943:18: called `Option::unwrap()` \
                   on a `None` value"
                .into(),
        });
        let report = check(&h, &CheckOptions::default());
        assert!(report.is_ok(), "{report}");
        let mut buf = Vec::new();
        write_html(&h, &report, &mut buf).unwrap();
        let page = String::from_utf8(buf).unwrap();
        assert!(page.contains("<title>chaos seed 9 (crashed)</title>"));
        let body = &page[page.find("<body>").unwrap()..];
        let crashed = body
            .find("<h2 class=\"bad-verdict\">RUN CRASHED at 5.500 ms (virtual time)</h2>")
            .expect("a red crash heading");
        let verdict = body.find("<h2 class=").unwrap();
        assert_eq!(crashed, verdict, "the crash comes before any verdict");
        assert!(body.contains("member m2 (id 92cd) panicked at raft.rs:943:18"));
        assert!(body.contains("called `Option::unwrap()` on a `None` value"));
        assert!(!body.contains("class=\"ok-verdict\""), "no green verdict");
        assert!(body.contains("no violation found in the history recorded until the crash"));
        assert!(body.contains("class=\"fault crash\" id=\"crash\""));
        assert!(body.contains("class=\"flabel crash\""));
        assert!(body.contains("CRASH: member m2"));
        assert!(body.contains("href=\"#crash\""));
    }

    #[test]
    fn a_run_without_a_crash_has_no_crash_heading() {
        let mut h = history();
        h.ops.remove(0);
        let report = check(&h, &CheckOptions::default());
        let mut buf = Vec::new();
        write_html(&h, &report, &mut buf).unwrap();
        let page = String::from_utf8(buf).unwrap();
        assert!(!page.contains("RUN CRASHED") && !page.contains("(crashed)"));
        assert!(page.contains("<h2 class=\"ok-verdict\">no violation found</h2>"));
    }

    #[test]
    fn an_empty_history_renders() {
        let h = History::default();
        let report = check(&h, &CheckOptions::default());
        let mut buf = Vec::new();
        write_html(&h, &report, &mut buf).unwrap();
        assert!(
            String::from_utf8(buf)
                .unwrap()
                .contains("no violation found")
        );
    }
}
