//! Leader election through the broker's classic group protocol, the way
//! Confluent's `KafkaGroupLeaderElector` does it: every instance joins group
//! `schema.registry.group.id` with protocol type "sr" and its identity as
//! metadata; the group leader assigns the registry leader (the eligible
//! member with the smallest URL) and every member learns it from its
//! SyncGroup assignment. Identity and assignment use Confluent's JSON, so
//! mixed groups would agree.
//!
//! When the broker does not serve the group APIs, an eligible instance runs
//! as the only leader (one instance per topic is then the operator's job).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tributary_client::{needs_rejoin, Client, GroupConfig, GroupMember, JoinedGroup};

use crate::config::RegistryConfig;

/// Who leads, as this instance currently believes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Leadership {
    pub is_leader: bool,
    /// The leader's base URL; `None` while unknown (during a rebalance).
    pub leader_url: Option<String>,
}

#[derive(Debug, Default)]
pub struct LeaderState {
    inner: RwLock<Leadership>,
}

impl LeaderState {
    pub fn get(&self) -> Leadership {
        self.inner.read().clone()
    }

    pub fn set(&self, l: Leadership) {
        let mut cur = self.inner.write();
        if *cur != l {
            tracing::info!(is_leader = l.is_leader, leader = ?l.leader_url, "leadership changed");
            *cur = l;
        }
    }
}

/// Confluent's `SchemaRegistryIdentity` JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub version: i32,
    pub host: String,
    pub port: i32,
    #[serde(rename = "master_eligibility")]
    pub leader_eligibility: bool,
    #[serde(default = "http")]
    pub scheme: String,
}

fn http() -> String {
    "http".into()
}

impl Identity {
    pub fn url(&self) -> String {
        format!("{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// Confluent's `SchemaRegistryProtocol.Assignment` JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    pub version: i32,
    pub error: i16,
    #[serde(rename = "master", default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
    #[serde(
        rename = "master_identity",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub leader_identity: Option<Identity>,
}

pub const NO_ERROR: i16 = 0;
pub const DUPLICATE_URLS: i16 = 1;

/// The group leader's decision, pure: the eligible member with the smallest
/// URL leads; duplicate URLs are an error every member is told about.
pub fn assign(members: &[(String, Identity)]) -> Assignment {
    let mut urls = std::collections::HashSet::new();
    let duplicate = members.iter().any(|(_, id)| !urls.insert(id.url()));
    let leader = members
        .iter()
        .filter(|(_, id)| id.leader_eligibility)
        .min_by(|a, b| a.1.url().cmp(&b.1.url()).then_with(|| a.0.cmp(&b.0)));
    Assignment {
        version: 1,
        error: if duplicate { DUPLICATE_URLS } else { NO_ERROR },
        leader: leader.map(|(m, _)| m.clone()),
        leader_identity: leader.map(|(_, id)| id.clone()),
    }
}

/// Keeps `state` current until `shutdown`. Never returns an error: failures
/// are logged and the instance keeps trying to (re)join.
pub async fn run(
    client: Client,
    config: RegistryConfig,
    state: Arc<LeaderState>,
    mut shutdown: watch::Receiver<bool>,
) {
    let me = Identity {
        version: 1,
        host: config.host_name.clone(),
        port: i32::from(config.listener.port),
        leader_eligibility: config.leader_eligibility,
        scheme: config.listener.scheme.clone(),
    };
    match client.supports_groups().await {
        Ok(true) => {}
        Ok(false) => {
            if config.leader_eligibility {
                tracing::warn!(
                    "the broker does not serve the group protocol; running as the only leader"
                );
                state.set(Leadership {
                    is_leader: true,
                    leader_url: Some(me.url()),
                });
            } else {
                tracing::error!("the broker does not serve the group protocol and this instance is not leader-eligible: writes will fail with 50004");
            }
            return;
        }
        Err(e) => {
            // Without an answer we cannot know; retry through the loop below,
            // whose join fails the same way until the broker is reachable.
            tracing::warn!(error = %e, "could not ask the broker for its APIs; trying to join the group anyway");
        }
    }
    let mut gc = GroupConfig::new(config.group_id.clone(), "sr");
    gc.session_timeout = Duration::from_secs(10);
    gc.rebalance_timeout = Duration::from_secs(30);
    gc.heartbeat_interval = Duration::from_secs(3);
    let mut member = GroupMember::new(&client, gc.clone());
    let metadata = Bytes::from(serde_json::to_vec(&me).unwrap_or_default());
    loop {
        if *shutdown.borrow() {
            break;
        }
        state.set(Leadership {
            is_leader: false,
            leader_url: None,
        });
        let generation = tokio::select! {
            r = join_and_sync(&mut member, &metadata) => r,
            _ = shutdown.changed() => break,
        };
        let assignment = match generation {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %e, "joining the registry group failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    _ = shutdown.changed() => break,
                }
            }
        };
        if assignment.error != NO_ERROR {
            tracing::error!("registry instances advertise duplicate URLs; no leader elected (set host.name/listeners apart)");
        } else {
            let leader_url = assignment.leader_identity.as_ref().map(Identity::url);
            let is_leader = assignment.leader.as_deref() == Some(member.member_id());
            state.set(Leadership {
                is_leader,
                leader_url,
            });
        }
        // Heartbeat until the generation ends.
        loop {
            tokio::select! {
                _ = tokio::time::sleep(gc.heartbeat_interval) => {}
                _ = shutdown.changed() => {
                    let _ = member.leave().await;
                    state.set(Leadership::default());
                    return;
                }
            }
            if let Err(e) = member.heartbeat().await {
                if needs_rejoin(&e) {
                    tracing::info!(error = %e, "registry group rebalancing");
                    break;
                }
                tracing::warn!(error = %e, "heartbeat failed");
            }
        }
    }
    let _ = member.leave().await;
    state.set(Leadership::default());
}

async fn join_and_sync(
    member: &mut GroupMember,
    metadata: &Bytes,
) -> tributary_client::Result<Assignment> {
    let joined: JoinedGroup = member.join(&[("v0".to_string(), metadata.clone())]).await?;
    let assignments: Vec<(String, Bytes)> = if joined.is_leader() {
        let members: Vec<(String, Identity)> = joined
            .members
            .iter()
            .filter_map(|m| {
                serde_json::from_slice::<Identity>(&m.metadata)
                    .ok()
                    .map(|id| (m.member_id.clone(), id))
            })
            .collect();
        let a = assign(&members);
        let bytes = Bytes::from(serde_json::to_vec(&a).unwrap_or_default());
        joined
            .members
            .iter()
            .map(|m| (m.member_id.clone(), bytes.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let mine = member.sync(&assignments).await?;
    serde_json::from_slice(&mine).map_err(|e| {
        tributary_client::Error::UnexpectedResponse(format!("unreadable registry assignment: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(host: &str, port: i32, eligible: bool) -> Identity {
        Identity {
            version: 1,
            host: host.into(),
            port,
            leader_eligibility: eligible,
            scheme: "http".into(),
        }
    }

    #[test]
    fn smallest_eligible_url_leads() {
        let a = assign(&[
            ("m1".into(), id("b", 8081, true)),
            ("m2".into(), id("a", 8081, false)),
            ("m3".into(), id("a", 8082, true)),
        ]);
        assert_eq!(a.error, NO_ERROR);
        assert_eq!(a.leader.as_deref(), Some("m3"));
        assert_eq!(
            a.leader_identity.map(|i| i.url()).as_deref(),
            Some("http://a:8082")
        );
        let none = assign(&[("m1".into(), id("a", 1, false))]);
        assert_eq!(none.leader, None);
        let dup = assign(&[
            ("m1".into(), id("a", 1, true)),
            ("m2".into(), id("a", 1, true)),
        ]);
        assert_eq!(dup.error, DUPLICATE_URLS);
    }

    #[test]
    fn json_matches_confluent() {
        let s = serde_json::to_string(&id("h", 8081, true)).expect("json");
        assert_eq!(
            s,
            r#"{"version":1,"host":"h","port":8081,"master_eligibility":true,"scheme":"http"}"#
        );
        let a: Assignment = serde_json::from_str(
            r#"{"version":1,"error":0,"master":"m-1","master_identity":{"version":1,"host":"h","port":1,"master_eligibility":true}}"#,
        )
        .expect("assignment");
        assert_eq!(a.leader.as_deref(), Some("m-1"));
        assert_eq!(a.leader_identity.map(|i| i.scheme).as_deref(), Some("http"));
    }
}
