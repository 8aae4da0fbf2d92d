//! Splitting a large watch response into fragments (etcd's `sendFragments`).
//!
//! A response is split only when its encoded size is at least the limit and it
//! holds two or more events. Parts are filled greedily: an event that would bring a
//! part with at least one event to the limit starts the next part, so a single
//! event larger than the limit travels alone and is never split. Every part has the
//! original header and watch ID; all but the last have `fragment = true`.

use etcd_sdk::v3::pb::etcdserverpb::WatchResponse;
use prost::Message;

/// The field number of `WatchResponse.events`.
const EVENTS_TAG: u32 = 11;

/// The parts `resp` is sent as, given the fragment limit in bytes.
pub(crate) fn fragment(resp: WatchResponse, limit: usize) -> Vec<WatchResponse> {
    if resp.events.len() < 2 || resp.encoded_len() < limit {
        return vec![resp];
    }
    let mut template = resp;
    let events = std::mem::take(&mut template.events);
    template.fragment = true;
    // Repeated message fields encode as the concatenation of their entries, so a
    // part's size is the template's plus the sum of its events' entry sizes.
    let base = template.encoded_len();
    let mut parts = Vec::new();
    let mut cur = template.clone();
    let mut size = base;
    for ev in events {
        let entry = prost::encoding::message::encoded_len(EVENTS_TAG, &ev);
        if !cur.events.is_empty() && size + entry >= limit {
            parts.push(std::mem::replace(&mut cur, template.clone()));
            size = base;
        }
        size += entry;
        cur.events.push(ev);
    }
    cur.fragment = false;
    parts.push(cur);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use etcd_sdk::v3::pb::etcdserverpb::ResponseHeader;
    use etcd_sdk::v3::pb::mvccpb::{Event, KeyValue};

    fn response(sizes: &[usize]) -> WatchResponse {
        WatchResponse {
            header: Some(ResponseHeader {
                revision: 9,
                ..ResponseHeader::default()
            }),
            watch_id: 3,
            events: sizes
                .iter()
                .enumerate()
                .map(|(i, n)| Event {
                    kv: Some(KeyValue {
                        key: format!("k{i}").into_bytes(),
                        mod_revision: 9,
                        value: vec![b'x'; *n],
                        ..KeyValue::default()
                    }),
                    ..Event::default()
                })
                .collect(),
            ..WatchResponse::default()
        }
    }

    fn shape(parts: &[WatchResponse]) -> Vec<(usize, bool)> {
        parts.iter().map(|p| (p.events.len(), p.fragment)).collect()
    }

    #[test]
    fn below_the_limit_is_sent_whole() {
        let resp = response(&[100, 100, 100]);
        let limit = resp.encoded_len() + 1;
        assert_eq!(fragment(resp.clone(), limit), vec![resp]);
    }

    #[test]
    fn exactly_at_the_limit_is_split() {
        let resp = response(&[100, 100, 100]);
        let limit = resp.encoded_len();
        let parts = fragment(resp.clone(), limit);
        assert_eq!(shape(&parts), vec![(2, true), (1, false)]);
        for p in &parts {
            assert_eq!(p.header, resp.header);
            assert_eq!(p.watch_id, 3);
            // Each part with >= 2 events stays below the limit.
            assert!(p.events.len() < 2 || p.encoded_len() < limit);
        }
        let rejoined: Vec<Event> = parts.into_iter().flat_map(|p| p.events).collect();
        assert_eq!(rejoined, resp.events);
    }

    #[test]
    fn size_arithmetic_matches_prost() {
        let resp = response(&[10, 300, 70_000, 5]);
        let mut t = resp.clone();
        t.fragment = true;
        t.events.clear();
        let sum: usize = resp
            .events
            .iter()
            .map(|e| prost::encoding::message::encoded_len(EVENTS_TAG, e))
            .sum();
        let mut full = resp;
        full.fragment = true;
        assert_eq!(t.encoded_len() + sum, full.encoded_len());
    }

    #[test]
    fn a_single_huge_event_is_never_split() {
        let one = response(&[5000]);
        assert_eq!(fragment(one.clone(), 100), vec![one]);
        // Three events each over the limit: one per part, the last not a fragment.
        let parts = fragment(response(&[5000, 5000, 5000]), 100);
        assert_eq!(shape(&parts), vec![(1, true), (1, true), (1, false)]);
    }

    #[test]
    fn mirrors_the_three_one_megabyte_deletes_seen_live() {
        // Live etcd 3.4.23: 3 x 1 MB prev_kv deletes came as 2 events (fragment) + 1.
        let limit = 1_572_864 + 512 * 1024;
        let parts = fragment(response(&[1_000_000, 1_000_000, 1_000_000]), limit);
        assert_eq!(shape(&parts), vec![(2, true), (1, false)]);
    }
}
