//! The one configuration of the crate's property tests (test builds only): a
//! bounded number of cases, so CI stays fast, and no failure files written into
//! the source tree (a failing case is printed; add it as a regression test).

use proptest::test_runner::Config as ProptestConfig;

/// 256 cases per property, nothing persisted.
pub(crate) fn proptest_config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
