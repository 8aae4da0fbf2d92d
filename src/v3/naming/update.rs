//! The stored form of an endpoint: Go's `naming.Update` as JSON
//! (`{"Op":0,"Addr":"10.0.0.1:8080","Metadata":null}`), written byte for
//! byte as Go's `encoding/json` writes it and read as tolerantly as Go reads
//! it.

use serde_json::Value;
use std::fmt::Write as _;

/// What an [`Update`] does (Go's `naming.Operation`, a `uint8`: the JSON
/// carries the number).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Operation {
    /// The address is (or stays) registered (Go's `naming.Add`, `0`).
    #[default]
    Add,
    /// The address is gone (Go's `naming.Delete`, `1`).
    Delete,
}

impl Operation {
    /// The number Go stores for it.
    pub fn code(self) -> u8 {
        match self {
            Operation::Add => 0,
            Operation::Delete => 1,
        }
    }
}

/// One change of a target's endpoint set (Go's `naming.Update`): the
/// value stored at `<target>/<addr>` and what a watch yields.
///
/// `metadata` is any JSON (Go's `interface{}`); `Null` when there is none.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Update {
    /// Added or deleted.
    pub op: Operation,
    /// The endpoint's address (`host:port`, or whatever the target's users
    /// dial).
    pub addr: String,
    /// What the registering side attached (e.g. a weight or a zone).
    pub metadata: Value,
}

/// Why a stored value is not an [`Update`] (Go's `json.Unmarshal` error);
/// such keys are skipped, as Go skips them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The value is not JSON.
    #[error("naming: the value is not JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The JSON is not an object (or `null`).
    #[error("naming: the value is not a JSON object")]
    NotAnObject,
    /// `Op` is not a number from 0 to 255.
    #[error("naming: Op {0} is not a uint8")]
    BadOp(String),
    /// `Addr` is not a string.
    #[error("naming: Addr {0} is not a string")]
    BadAddr(String),
}

impl Update {
    /// An [`Operation::Add`] of `addr` with `metadata`.
    pub fn add(addr: impl Into<String>, metadata: Value) -> Update {
        Update {
            op: Operation::Add,
            addr: addr.into(),
            metadata,
        }
    }

    /// An [`Operation::Delete`] of `addr`.
    pub fn delete(addr: impl Into<String>) -> Update {
        Update {
            op: Operation::Delete,
            addr: addr.into(),
            metadata: Value::Null,
        }
    }

    /// The JSON Go's `json.Marshal(naming.Update{...})` writes: fields in
    /// declaration order, Go's string escaping (`<`, `>`, `&`, U+2028 and
    /// U+2029 as `\u` escapes), object keys sorted (Go marshals maps that
    /// way) and Go's number formatting.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(32 + self.addr.len());
        let _ = write!(out, "{{\"Op\":{},\"Addr\":", self.op.code());
        go_string(&mut out, &self.addr);
        out.push_str(",\"Metadata\":");
        go_value(&mut out, &self.metadata);
        out.push('}');
        out
    }

    /// Reads a stored value as Go's `json.Unmarshal` into a `naming.Update`
    /// does: field names match case-insensitively, unknown fields are
    /// ignored, `null` leaves a field at its zero value.
    pub fn from_json(bytes: &[u8]) -> Result<Update, DecodeError> {
        let value: Value = serde_json::from_slice(bytes).map_err(DecodeError::Json)?;
        let fields = match value {
            Value::Null => return Ok(Update::default()),
            Value::Object(fields) => fields,
            _ => return Err(DecodeError::NotAnObject),
        };
        let mut update = Update::default();
        // Of several spellings of one name Go keeps the last in the
        // document; the parsed map has lost that order, so the exact
        // spelling wins here, else the last case-insensitive one by key order.
        for field in ["Op", "Addr", "Metadata"] {
            let found = fields.get(field).or_else(|| {
                fields
                    .iter()
                    .rev()
                    .find(|(k, _)| k.eq_ignore_ascii_case(field))
                    .map(|(_, v)| v)
            });
            let Some(v) = found else { continue };
            match field {
                "Op" => match v {
                    Value::Null => {}
                    Value::Number(n) => match n.as_u64() {
                        Some(0) => update.op = Operation::Add,
                        Some(1) => update.op = Operation::Delete,
                        // Another uint8: Go keeps the number; nothing here
                        // reads it but the watch, which replaces it.
                        Some(2..=255) => update.op = Operation::Add,
                        _ => return Err(DecodeError::BadOp(n.to_string())),
                    },
                    other => return Err(DecodeError::BadOp(other.to_string())),
                },
                "Addr" => match v {
                    Value::Null => {}
                    Value::String(s) => update.addr = s.clone(),
                    other => return Err(DecodeError::BadAddr(other.to_string())),
                },
                _ => update.metadata = v.clone(),
            }
        }
        Ok(update)
    }
}

/// Appends `value` as Go's encoder writes it.
fn go_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else {
                go_float(out, n.as_f64().unwrap_or(0.0));
            }
        }
        Value::String(s) => go_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_value(out, item);
            }
            out.push(']');
        }
        Value::Object(fields) => {
            // serde_json's map is ordered by key, as Go sorts a map's keys.
            out.push('{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_string(out, k);
                out.push(':');
                go_value(out, v);
            }
            out.push('}');
        }
    }
}

/// Go's float64 formatting: the shortest decimal that reads back the same,
/// plain between 1e-6 and 1e21, else with an exponent (`1e-7`, `1e+21`).
fn go_float(out: &mut String, f: f64) {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let e = format!("{f:e}");
        match e.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => {
                let _ = write!(out, "{mantissa}e+{exp}");
            }
            _ => out.push_str(&e),
        }
    } else {
        let _ = write!(out, "{f}");
    }
}

/// Appends `s` quoted as Go's encoder (with HTML escaping, as
/// `json.Marshal` does) quotes it.
fn go_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_go_s_bytes() {
        // What Go 3.4's GRPCResolver.Update stores for
        // naming.Update{Op: naming.Add, Addr: "127.0.0.1:2379"}.
        assert_eq!(
            Update::add("127.0.0.1:2379", Value::Null).to_json(),
            r#"{"Op":0,"Addr":"127.0.0.1:2379","Metadata":null}"#
        );
        assert_eq!(
            Update::delete("a").to_json(),
            r#"{"Op":1,"Addr":"a","Metadata":null}"#
        );
        // A Go map[string]interface{} is written with sorted keys.
        let md = json!({"zone": "b", "weight": 3, "tags": ["x", true], "ratio": 0.5});
        assert_eq!(
            Update::add("h:1", md).to_json(),
            r#"{"Op":0,"Addr":"h:1","Metadata":{"ratio":0.5,"tags":["x",true],"weight":3,"zone":"b"}}"#
        );
    }

    #[test]
    fn escapes_and_numbers_as_go_does() {
        let u = Update::add("a<b>&\"\\\n\t\u{1}\u{2028}é", json!("x&y"));
        assert_eq!(
            u.to_json(),
            r#"{"Op":0,"Addr":"a\u003cb\u003e\u0026\"\\\n\t\u0001\u2028é","Metadata":"x\u0026y"}"#
        );
        let floats = json!([1.0, 1.5, -2.25, 1e21, 1.5e-7, 123456789.0, 0.000001, -1e300]);
        assert_eq!(
            Update::add("", floats).to_json(),
            r#"{"Op":0,"Addr":"","Metadata":[1,1.5,-2.25,1e+21,1.5e-7,123456789,0.000001,-1e+300]}"#
        );
        assert_eq!(
            Update::add("", json!(u64::MAX)).to_json(),
            r#"{"Op":0,"Addr":"","Metadata":18446744073709551615}"#
        );
    }

    #[test]
    fn reads_as_tolerantly_as_go() {
        let u = Update::from_json(br#"{"Op":0,"Addr":"h:1","Metadata":{"w":1}}"#).unwrap();
        assert_eq!(u, Update::add("h:1", json!({"w": 1})));
        // Case-insensitive names, unknown fields, missing fields, null.
        let u = Update::from_json(br#"{"op":1,"ADDR":"h:2","extra":[1]}"#).unwrap();
        assert_eq!(u, Update::delete("h:2"));
        let u = Update::from_json(br#"{"Addr":"h:3","Op":null}"#).unwrap();
        assert_eq!(u, Update::add("h:3", Value::Null));
        assert_eq!(Update::from_json(b"null").unwrap(), Update::default());
        // Of two spellings, the exact one (Go: the later one, here the same).
        let u = Update::from_json(br#"{"addr":"lower","Addr":"exact"}"#).unwrap();
        assert_eq!(u.addr, "exact");
        // Round trip.
        let orig = Update::add("x<y", json!({"k": [null, "v"]}));
        assert_eq!(Update::from_json(orig.to_json().as_bytes()).unwrap(), orig);
    }

    #[test]
    fn refuses_what_go_refuses() {
        for bad in [
            &b"not json"[..],
            b"[1]",
            b"\"s\"",
            br#"{"Op":256}"#,
            br#"{"Op":-1}"#,
            br#"{"Op":1.5}"#,
            br#"{"Op":"0"}"#,
            br#"{"Addr":5}"#,
        ] {
            assert!(
                Update::from_json(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(matches!(
            Update::from_json(br#"{"Addr":5}"#),
            Err(DecodeError::BadAddr(_))
        ));
    }
}
