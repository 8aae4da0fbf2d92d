//! Statistics, counted as etcd counts them.

use super::helpers::*;
use crate::store::v2::{StoreStats, TtlOptions};

const P: TtlOptions = TtlOptions {
    expire_time: None,
    refresh: false,
};

#[test]
fn counters_follow_etcd_including_its_accidents() {
    let mut s = plain();
    set(&mut s, "/foo", "bar");
    mkdir(&mut s, "/dir");
    let _ = s.get("/foo", false, t0());
    let _ = s.get("/nope", false, t0());
    let _ = s.set("/dir", false, "x", P, t0());
    let _ = s.create("/new", false, "x", false, None, t0());
    let _ = s.create("/foo", false, "x", false, None, t0());
    // A create whose walk hits a file counts as a failed create and a failed set.
    let _ = s.create("/foo/x", false, "x", false, None, t0());
    let _ = s.update("/foo", "v", P, t0());
    let _ = s.update("/nope", "v", P, t0());
    let _ = s.update("/dir", "v", P, t0()); // 102, counted as a success
    let _ = s.update("/", "v", P, t0()); // 107, counted as a success
    let _ = s.compare_and_swap("/foo", "v", 0, "w", P, t0());
    let _ = s.compare_and_swap("/nope", "v", 0, "w", P, t0());
    let _ = s.compare_and_swap("/dir", "v", 0, "w", P, t0());
    let _ = s.compare_and_swap("/foo", "nope", 0, "w", P, t0()); // 101, counted as a success
    let _ = s.delete("/nope", false, false, t0());
    let _ = s.delete("/", true, true, t0()); // 107, counted as a success
    let _ = s.delete("/new", false, false, t0());
    let _ = s.compare_and_delete("/nope", "w", 0, t0());
    let _ = s.compare_and_delete("/dir", "w", 0, t0()); // 102, counted as a success
    let _ = s.compare_and_delete("/foo", "nope", 0, t0()); // 101, counted as a success
    let _ = s.compare_and_delete("/foo", "w", 0, t0());
    s.set("/t", false, "x", TtlOptions::expires_at(at_ms(1)), t0())
        .unwrap();
    s.delete_expired(at_ms(1));
    let _w = s.watch("/x", false, false, 0).unwrap();
    assert_eq!(
        s.stats(),
        StoreStats {
            gets_success: 1,
            gets_fail: 1,
            sets_success: 3,
            sets_fail: 2,
            delete_success: 2,
            delete_fail: 1,
            update_success: 3,
            update_fail: 1,
            create_success: 1,
            create_fail: 2,
            compare_and_swap_success: 2,
            compare_and_swap_fail: 2,
            compare_and_delete_success: 3,
            compare_and_delete_fail: 1,
            expire_count: 1,
            watchers: 1,
        }
    );
}
