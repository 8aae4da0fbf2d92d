//! Wire types of the v2 HTTP API, shared by the SDK (which decodes them) and the
//! server in `etcd-sim` (which encodes them byte for byte as etcd 3.4 does).

pub mod auth;
pub mod error_code;
pub mod json;
pub mod keys;
pub mod members;
pub mod time;

pub use auth::{
    AuthStatus, Permissions, Role, RoleList, RwPermission, User, UserList, UserWithRoles,
};
pub use error_code::ErrorCode;
pub use json::{to_go_json, to_go_json_line};
pub use keys::{Action, ErrorBody, Event, Node};
pub use members::{Member, MemberList, MemberPeerUrls, MessageBody};
