//! The embed API (etcd's `embed` package) and etcd's command line, for real builds.
//!
//! ```no_run
//! # async fn demo() -> Result<(), etcd_sim::embed::EmbedError> {
//! use etcd_sim::embed::{Config, start};
//! let cfg = Config {
//!     name: "demo".into(),
//!     data_dir: Some("/tmp/demo.etcd".into()),
//!     enable_v2: true,
//!     listen_client_urls: vec!["http://127.0.0.1:0".into()],
//!     advertise_client_urls: vec!["http://127.0.0.1:0".into()],
//!     listen_peer_urls: vec!["http://127.0.0.1:0".into()],
//!     initial_advertise_peer_urls: vec!["http://127.0.0.1:0".into()],
//!     ..Config::default()
//! };
//! let etcd = start(cfg).await?;
//! etcd.ready().await?;
//! println!("serving on {}", etcd.client_urls()[0]);
//! etcd.close().await;
//! # Ok(()) }
//! ```
//!
//! - [`config`]: [`Config`] with etcd 3.4's defaults, and the embedding
//!   program's hooks on the client ports ([`UserHandler`]s, a [`ServiceRegister`]); [`validate`](Config::validate)
//!   in `validate`; [`Config::from_file`] (etcd's YAML file) in [`yaml`].
//! - [`settings`]: etcd's settings (flags, YAML keys, `ETCD_*` variables) and what
//!   etcd-sim does with each; [`values`]: Go's value syntax; [`urls`]: etcd's URL
//!   lists and initial-cluster map.
//! - [`flags`]: the command line (Go flag rules, environment, config file);
//!   [`help`]: its usage text.
//! - [`etcd`]: [`start`] and the running [`Etcd`]; [`disk`]: the disk it runs on;
//!   [`bootstrap`]: the initial cluster from `--discovery`.
//! - [`audit`]: every field of etcd's `embed.Config` and what etcd-sim does with
//!   it (shown as a table in `README.md` next to this file).

pub mod audit;
pub mod auth_token;
pub mod bootstrap;
mod client_tls;
pub mod config;
pub mod disk;
pub mod error;
pub mod etcd;
pub mod flags;
pub mod help;
pub mod restore;
pub mod settings;
pub mod urls;
mod validate;
pub mod values;
pub mod yaml;

pub use config::{ClusterState, Config, ExtraServices, ServiceRegister, UserHandler};
pub use error::EmbedError;
pub use etcd::{ErrorStream, Etcd, start};
pub use flags::{Command, parse_command_line};
pub use validate::{ERR_CONFLICT_BOOTSTRAP, ERR_UNSET_ADVERTISE_CLIENT_URLS};
