//! One-line descriptions of recorded operations, for reports and the timeline.

use super::history::{Op, Operation, Outcome, Response};

/// The operation as a short command, e.g. `cas /k v3 -> v9`.
pub fn op(op: &Op) -> String {
    match op {
        Op::Get { key, quorum: true } => format!("get {key}"),
        Op::Get { key, quorum: false } => format!("get(local) {key}"),
        Op::Set { key, value } => format!("set {key} = {value}"),
        Op::Create { key, value } => format!("create {key} = {value}"),
        Op::CompareAndSwap { key, prev, value } => format!("cas {key} {prev} -> {value}"),
        Op::CompareAndDelete { key, prev } => format!("cad {key} {prev}"),
        Op::Delete { key } => format!("delete {key}"),
        Op::CreateInOrder { dir, value } => format!("post {dir} = {value}"),
    }
}

/// The outcome, e.g. `ok v3 (index 12)`, `not found (index 9)`, `unknown: timeout`.
pub fn outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Ok(Response::Done {
            value,
            prev,
            node_key,
            modified_index,
            ..
        }) => {
            let mut s = String::from("ok");
            if let Some(v) = value {
                s.push(' ');
                s.push_str(v);
            }
            if let Some(p) = prev {
                s.push_str(&format!(" (prev {p})"));
            }
            s.push_str(&format!(" [{node_key} @{modified_index}]"));
            s
        }
        Outcome::Ok(Response::NotFound { index }) => format!("not found (index {index})"),
        Outcome::Ok(Response::CompareFailed { index }) => {
            format!("compare failed (index {index})")
        }
        Outcome::Ok(Response::AlreadyExists { index }) => {
            format!("already exists (index {index})")
        }
        Outcome::Failed { error } => format!("failed: {error}"),
        Outcome::Unknown { error } => format!("unknown: {error}"),
    }
}

/// Nanoseconds as milliseconds with three decimals.
pub fn ms(ns: u64) -> String {
    format!("{}.{:03}", ns / 1_000_000, (ns / 1_000) % 1_000)
}

/// One line: id, client, `[invoke, complete]` in ms, op and outcome.
pub fn line(o: &Operation) -> String {
    format!(
        "#{:<5} client {:<2} [{:>10}, {:>10}] ms  {:<28} -> {}",
        o.id,
        o.client,
        ms(o.invoke_ns),
        ms(o.complete_ns),
        op(&o.op),
        outcome(&o.outcome)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_names_everything() {
        let o = Operation {
            id: 42,
            client: 3,
            endpoint: None,
            invoke_ns: 1_203_402_000,
            complete_ns: 1_210_117_500,
            op: Op::CompareAndSwap {
                key: "/k".into(),
                prev: "a".into(),
                value: "b".into(),
            },
            outcome: Outcome::Ok(Response::CompareFailed { index: 17 }),
        };
        let l = line(&o);
        assert!(l.starts_with("#42"), "{l}");
        assert!(l.contains("client 3"), "{l}");
        assert!(l.contains("1203.402"), "{l}");
        assert!(l.contains("1210.117"), "{l}");
        assert!(l.contains("cas /k a -> b"), "{l}");
        assert!(l.ends_with("compare failed (index 17)"), "{l}");
    }
}
