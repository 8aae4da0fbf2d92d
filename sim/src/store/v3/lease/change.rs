//! The kv store's lease bookkeeping record, which the lessor mirrors: one type,
//! defined by the kv store ([`crate::store::v3::kv::LeaseChange`]).

pub use crate::store::v3::kv::LeaseChange;
