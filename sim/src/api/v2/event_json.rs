//! Go-exact JSON for v2 events, written without recursion.
//!
//! serde's derived `Serialize` recurses once per level of `nodes`, and a recursive
//! get returns a node as deep as the user's deepest key (20,000 levels overflowed a
//! worker's 2 MiB stack). This writer keeps its own stack and produces the bytes
//! `to_go_json_line` produces: the same field order, omission rules and escapes.

use etcd_sdk::wire::time::format_rfc3339_nano;
use etcd_sdk::wire::{Event, Node, to_go_json};

/// The event as one JSON line (Go's `json.Encoder` output, newline included).
pub fn event_json_line(event: &Event) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"{\"action\":");
    out.extend_from_slice(&to_go_json(event.action.as_str()));
    if let Some(node) = &event.node {
        out.extend_from_slice(b",\"node\":");
        write_node(&mut out, node);
    }
    if let Some(node) = &event.prev_node {
        out.extend_from_slice(b",\"prevNode\":");
        write_node(&mut out, node);
    }
    out.extend_from_slice(b"}\n");
    out
}

/// One object being written: the node, the next child to write, and whether a
/// field has been written (so the next one needs a comma).
struct Frame<'a> {
    node: &'a Node,
    next_child: usize,
    has_fields: bool,
}

fn write_node(out: &mut Vec<u8>, root: &Node) {
    let mut stack = vec![open(out, root)];
    while let Some(frame) = stack.last_mut() {
        let node = frame.node;
        if let Some(child) = node.nodes.get(frame.next_child) {
            if frame.next_child > 0 {
                out.push(b',');
            }
            frame.next_child += 1;
            stack.push(open(out, child));
            continue;
        }
        let mut has_fields = frame.has_fields;
        if !node.nodes.is_empty() {
            out.push(b']');
        }
        for (name, value) in [
            ("modifiedIndex", node.modified_index),
            ("createdIndex", node.created_index),
        ] {
            if value != 0 {
                field(out, &mut has_fields, name);
                out.extend_from_slice(value.to_string().as_bytes());
            }
        }
        out.push(b'}');
        stack.pop();
    }
}

/// Writes `{`, the fields before `nodes`, and `"nodes":[` when there are children.
fn open<'a>(out: &mut Vec<u8>, node: &'a Node) -> Frame<'a> {
    let mut has_fields = false;
    out.push(b'{');
    if !node.key.is_empty() {
        field(out, &mut has_fields, "key");
        out.extend_from_slice(&to_go_json(node.key.as_str()));
    }
    if let Some(value) = &node.value {
        field(out, &mut has_fields, "value");
        out.extend_from_slice(&to_go_json(value.as_str()));
    }
    if node.dir {
        field(out, &mut has_fields, "dir");
        out.extend_from_slice(b"true");
    }
    if let Some(t) = node.expiration {
        field(out, &mut has_fields, "expiration");
        out.extend_from_slice(&to_go_json(format_rfc3339_nano(t).as_str()));
    }
    if node.ttl != 0 {
        field(out, &mut has_fields, "ttl");
        out.extend_from_slice(node.ttl.to_string().as_bytes());
    }
    if !node.nodes.is_empty() {
        field(out, &mut has_fields, "nodes");
        out.push(b'[');
    }
    Frame {
        node,
        next_child: 0,
        has_fields,
    }
}

/// Writes `"name":`, after a comma unless it is the object's first field.
fn field(out: &mut Vec<u8>, has_fields: &mut bool, name: &str) {
    if *has_fields {
        out.push(b',');
    }
    *has_fields = true;
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_sdk::wire::{Action, to_go_json_line};
    use std::time::{Duration, UNIX_EPOCH};

    fn leaf(key: &str, value: Option<&str>, index: u64) -> Node {
        Node {
            key: key.into(),
            value: value.map(str::to_string),
            modified_index: index,
            created_index: index,
            ..Default::default()
        }
    }

    #[test]
    fn same_bytes_as_serde_for_every_shape() {
        let exp = UNIX_EPOCH + Duration::from_nanos(1_795_215_600_123_456_789);
        let mut dir = Node {
            key: "/d<&>".into(),
            dir: true,
            expiration: Some(exp),
            ttl: 7,
            modified_index: 3,
            created_index: 2,
            ..Default::default()
        };
        let mut sub = leaf("/d/sub", None, 4);
        sub.dir = true;
        sub.nodes = vec![leaf("/d/sub/x", Some("\u{2028}\"q\"\n"), 5)];
        dir.nodes = vec![leaf("/d/a", Some(""), 6), sub, Node::default()];
        let events = [
            Event {
                action: Action::Get,
                node: Some(dir.clone()),
                prev_node: None,
            },
            Event {
                action: Action::CompareAndSwap,
                node: Some(leaf("/k", Some("v"), 9)),
                prev_node: Some(dir),
            },
            Event {
                action: Action::Set,
                node: None,
                prev_node: None,
            },
            Event {
                action: Action::Get,
                node: Some(Node {
                    dir: true,
                    nodes: vec![leaf("/only", Some("1"), 1)],
                    ..Default::default()
                }),
                prev_node: None,
            },
        ];
        for event in &events {
            assert_eq!(
                String::from_utf8(event_json_line(event)).unwrap(),
                String::from_utf8(to_go_json_line(event)).unwrap()
            );
        }
    }

    #[test]
    fn a_deep_node_is_written_on_a_small_stack() {
        let depth = 50_000;
        let text = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let mut node = leaf("/bottom", Some("v"), 1);
                for _ in 0..depth {
                    let mut parent = leaf("/d", None, 1);
                    parent.dir = true;
                    parent.nodes = vec![node];
                    node = parent;
                }
                let event = Event {
                    action: Action::Get,
                    node: Some(node),
                    prev_node: None,
                };
                let line = event_json_line(&event);
                if let Some(node) = event.node {
                    crate::store::v2::drop_wire_node(node);
                }
                line
            })
            .unwrap()
            .join()
            .expect("no stack overflow");
        let text = String::from_utf8(text).unwrap();
        assert_eq!(text.matches("\"nodes\":[").count(), depth);
        assert_eq!(text.matches(']').count(), depth);
        assert!(
            text.starts_with(
                "{\"action\":\"get\",\"node\":{\"key\":\"/d\",\"dir\":true,\"nodes\":[{"
            )
        );
    }
}
