//! raft-rs logs through `slog`; this drain forwards its records to `tracing`
//! (target `raft`), with the record's key-value pairs appended to the message.

use slog::{Drain, KV, Key, Level, Logger, Never, OwnedKVList, Record, Serializer};
use std::fmt;

/// A `slog` drain that emits every record as a `tracing` event.
#[derive(Debug, Clone, Copy, Default)]
pub struct TracingDrain;

/// A record's message and key-value pairs, formatted only when written: tracing
/// evaluates an event's arguments only if a subscriber wants the event. Besides the
/// cost, raft-rs's records carry protobuf messages, whose Debug builds protobuf's
/// reflection tables on first use: process-wide hash maps whose construction
/// advances the thread's std `RandomState` keys. A simulation that did that and
/// one that found the tables built would hash differently and diverge.
struct RecordText<'a, 'b> {
    record: &'a Record<'b>,
    values: &'a OwnedKVList,
}

/// Writes each pair as ` key=value`.
struct KvWriter<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl Serializer for KvWriter<'_, '_> {
    fn emit_arguments(&mut self, key: Key, val: &fmt::Arguments<'_>) -> slog::Result {
        write!(self.0, " {key}={val}").map_err(slog::Error::from)
    }
}

impl fmt::Display for RecordText<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_fmt(*self.record.msg())?;
        let mut kv = KvWriter(f);
        let _ = self.record.kv().serialize(self.record, &mut kv);
        let _ = self.values.serialize(self.record, &mut kv);
        Ok(())
    }
}

impl Drain for TracingDrain {
    type Ok = ();
    type Err = Never;

    fn log(&self, record: &Record<'_>, values: &OwnedKVList) -> Result<(), Never> {
        let text = RecordText { record, values };
        match record.level() {
            Level::Critical | Level::Error => tracing::error!(target: "raft", "{text}"),
            Level::Warning => tracing::warn!(target: "raft", "{text}"),
            Level::Info => tracing::info!(target: "raft", "{text}"),
            Level::Debug => tracing::debug!(target: "raft", "{text}"),
            Level::Trace => tracing::trace!(target: "raft", "{text}"),
        }
        Ok(())
    }
}

/// Builds protobuf's reflection tables for every raft message type now, on the
/// calling thread, if they are not built yet.
///
/// Formatting a raft-rs record that a subscriber wants may Debug-print a protobuf
/// message, which builds these process-wide tables on first use and thereby
/// advances the calling thread's std `RandomState` keys. In a simulation that
/// shifts every later `HashMap`'s iteration order, so a run with logging on would
/// differ from the same seed run after another in the same process. Runners that
/// loop seeds call this outside the simulation first (the chaos runner does).
pub fn build_protobuf_tables() {
    use protobuf::{Message as _, ProtobufEnum as _};
    use raft::eraftpb::{
        ConfChange, ConfChangeSingle, ConfChangeTransition, ConfChangeType, ConfChangeV2,
        ConfState, Entry, EntryType, HardState, Message, MessageType, Snapshot, SnapshotMetadata,
    };
    let _ = (
        Entry::descriptor_static(),
        SnapshotMetadata::descriptor_static(),
        Snapshot::descriptor_static(),
        Message::descriptor_static(),
        HardState::descriptor_static(),
        ConfState::descriptor_static(),
        ConfChange::descriptor_static(),
        ConfChangeSingle::descriptor_static(),
        ConfChangeV2::descriptor_static(),
        EntryType::enum_descriptor_static(),
        MessageType::enum_descriptor_static(),
        ConfChangeType::enum_descriptor_static(),
        ConfChangeTransition::enum_descriptor_static(),
    );
    // And what Debug touches besides, on a message with every kind of field set.
    let mut m = Message::default();
    m.set_msg_type(MessageType::MsgAppend);
    let mut e = Entry::default();
    e.set_entry_type(EntryType::EntryConfChangeV2);
    e.data = vec![1].into();
    m.entries = vec![e].into();
    m.mut_snapshot().mut_metadata().mut_conf_state().voters = vec![1];
    let _ = format!("{m:?}");
}

/// The logger handed to raft-rs (which adds the node's `raft_id` itself).
pub fn raft_logger() -> Logger {
    Logger::root(TracingDrain, slog::o!())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A value that counts how often it is formatted.
    struct Counted(Arc<AtomicUsize>);

    impl fmt::Debug for Counted {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.fetch_add(1, Ordering::SeqCst);
            f.write_str("counted")
        }
    }

    fn log_one(logger: &Logger, formatted: &Arc<AtomicUsize>) {
        let value = Counted(formatted.clone());
        slog::info!(logger, "a record"; "value" => ?value);
    }

    #[test]
    fn records_no_subscriber_wants_are_never_formatted() {
        let formatted = Arc::new(AtomicUsize::new(0));
        let logger = raft_logger();
        // No subscriber: nothing may be formatted (raft-rs's values include
        // protobuf messages, whose Debug builds process-wide tables).
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
            log_one(&logger, &formatted);
        });
        assert_eq!(formatted.load(Ordering::SeqCst), 0);
        // A subscriber that wants only warnings: still nothing.
        let warn_only = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(warn_only, || log_one(&logger, &formatted));
        assert_eq!(formatted.load(Ordering::SeqCst), 0);
        // One that wants info gets the record, values and all.
        let info = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(info, || log_one(&logger, &formatted));
        assert_eq!(formatted.load(Ordering::SeqCst), 1);
    }
}
