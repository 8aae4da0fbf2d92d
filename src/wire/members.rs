//! The `/v2/members` wire types.

use serde::{Deserialize, Deserializer, Serialize};

/// One cluster member as `/v2/members` reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The member id in lowercase hex without zero padding.
    #[serde(default, alias = "ID", alias = "Id")]
    pub id: String,
    /// The member's name; empty for a member that was added but has not started.
    #[serde(default, alias = "Name")]
    pub name: String,
    /// URLs the member uses for Raft traffic.
    #[serde(
        rename = "peerURLs",
        default,
        deserialize_with = "null_as_empty",
        alias = "PeerURLs"
    )]
    pub peer_urls: Vec<String>,
    /// URLs on which the member serves clients; empty until it has started.
    #[serde(
        rename = "clientURLs",
        default,
        deserialize_with = "null_as_empty",
        alias = "ClientURLs"
    )]
    pub client_urls: Vec<String>,
}

/// The body of `GET /v2/members`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberList {
    /// The members, in the server's order.
    #[serde(default, deserialize_with = "null_as_empty", alias = "Members")]
    pub members: Vec<Member>,
}

/// The body of `POST /v2/members` and `PUT /v2/members/<id>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberPeerUrls {
    /// The peer URLs of the member to add or update.
    #[serde(
        rename = "peerURLs",
        default,
        deserialize_with = "null_as_empty",
        alias = "PeerURLs"
    )]
    pub peer_urls: Vec<String>,
}

/// The `{"message": …}` body of members, auth and stats errors.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageBody {
    /// The error text.
    #[serde(default)]
    pub message: String,
}

pub(crate) fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::json::to_go_json;

    #[test]
    fn member_json_is_etcds() {
        let m = Member {
            id: "77de7ee9858fd88a".into(),
            name: String::new(),
            peer_urls: vec!["http://127.0.0.1:24802".into()],
            client_urls: vec![],
        };
        assert_eq!(
            String::from_utf8(to_go_json(&m)).unwrap(),
            r#"{"id":"77de7ee9858fd88a","name":"","peerURLs":["http://127.0.0.1:24802"],"clientURLs":[]}"#
        );
    }

    #[test]
    fn decodes_nulls() {
        let l: MemberList = serde_json::from_str(r#"{"members":null}"#).unwrap();
        assert!(l.members.is_empty());
        let m: Member =
            serde_json::from_str(r#"{"id":"1","name":"a","peerURLs":null,"clientURLs":null}"#)
                .unwrap();
        assert!(m.client_urls.is_empty());
    }
}
