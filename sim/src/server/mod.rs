//! The server: what members replicate and how they apply it.

pub mod v2_command;
