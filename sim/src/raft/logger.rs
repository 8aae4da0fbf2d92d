//! raft-rs logs through `slog`; this drain forwards its records to `tracing`
//! (target `raft`), with the record's key-value pairs appended to the message.

use slog::{Drain, KV, Key, Level, Logger, Never, OwnedKVList, Record, Serializer};
use std::fmt::{self, Write as _};

/// A `slog` drain that emits every record as a `tracing` event.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingDrain;

struct KvText(String);

impl Serializer for KvText {
    fn emit_arguments(&mut self, key: Key, val: &fmt::Arguments<'_>) -> slog::Result {
        // Writing to a String cannot fail.
        let _ = write!(self.0, " {key}={val}");
        Ok(())
    }
}

impl Drain for TracingDrain {
    type Ok = ();
    type Err = Never;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), Never> {
        let mut kv = KvText(String::new());
        let _ = record.kv().serialize(record, &mut kv);
        let _ = values.serialize(record, &mut kv);
        let (msg, kv) = (record.msg(), kv.0);
        match record.level() {
            Level::Critical | Level::Error => tracing::error!(target: "raft", "{msg}{kv}"),
            Level::Warning => tracing::warn!(target: "raft", "{msg}{kv}"),
            Level::Info => tracing::info!(target: "raft", "{msg}{kv}"),
            Level::Debug => tracing::debug!(target: "raft", "{msg}{kv}"),
            Level::Trace => tracing::trace!(target: "raft", "{msg}{kv}"),
        }
        Ok(())
    }
}

/// The logger handed to raft-rs (which adds the node's `raft_id` itself).
pub fn raft_logger() -> Logger {
    Logger::root(TracingDrain, slog::o!())
}
