//! [`ClientHooks`]: what an embedding application adds to a member's client
//! ports (etcd's `embed.Config.UserHandlers` and `ServiceRegister`).

use crate::api::v2::user_handlers::UserRoutes;

/// An application's additions to every client port of a member.
#[derive(Clone, Debug, Default)]
pub struct ClientHooks {
    /// HTTP handlers served beside etcd's (see
    /// [`crate::api::v2::user_handlers`]); `None`: etcd's routing alone.
    pub user_handlers: Option<UserRoutes>,
    /// gRPC services served beside etcd's (real builds; see
    /// [`crate::api::v3::extra_services`]).
    #[cfg(not(madsim))]
    pub service_register: Option<crate::api::v3::extra_services::ServiceRegister>,
}
