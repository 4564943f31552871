//! The controller listener's wire format and the Raft transport.
//!
//! Controllers and brokers talk over the `controller.listener.names`
//! listener with length-prefixed JSON frames (`[u32 length][json]`), one
//! request then one response per frame. Kafka clients never connect here;
//! this is Tributary-internal and not Kafka's KRaft protocol, so a Tributary
//! quorum cannot mix with Apache Kafka controllers.

use std::time::Duration;

use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use uuid::Uuid;

use super::image::{ClusterImage, Command, Reply};
use super::raft::{NodeId, TypeConfig};

/// Frames larger than this are refused (a snapshot of a big cluster fits).
const MAX_FRAME: usize = 256 * 1024 * 1024;

#[derive(Debug, Serialize, Deserialize)]
pub enum Request {
    Append(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<NodeId>),
    Snapshot(InstallSnapshotRequest<TypeConfig>),
    Broker(BrokerRequest),
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Response {
    Append(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    Vote(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    Snapshot(Result<InstallSnapshotResponse<NodeId>, RaftError<NodeId, InstallSnapshotError>>),
    Broker(BrokerResponse),
}

/// What a broker asks the active controller.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum BrokerRequest {
    Register { id: i32, host: String, port: u16, rack: Option<String>, incarnation: Uuid },
    /// `caught_up`: the broker has applied the metadata log past its registration.
    Heartbeat { id: i32, incarnation: Uuid, caught_up: bool, applied_index: u64, want_image: bool },
    Propose(Command),
    ControlledShutdown { id: i32, incarnation: Uuid },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum BrokerResponse {
    /// The command is committed and applied at `index`.
    Done { reply: Reply, index: u64 },
    Heartbeat { registered: bool, fenced: bool, image: Option<Box<ClusterImage>> },
    /// Ask the leader instead (its controller address, when known).
    NotController { leader: Option<String> },
    Failed { message: String },
}

pub async fn write_frame<T: Serialize>(stream: &mut TcpStream, msg: &T) -> std::io::Result<()> {
    let json = serde_json::to_vec(msg).map_err(std::io::Error::other)?;
    let mut buf = Vec::with_capacity(json.len() + 4);
    buf.extend_from_slice(&(json.len() as u32).to_be_bytes());
    buf.extend_from_slice(&json);
    stream.write_all(&buf).await
}

pub async fn read_frame<T: DeserializeOwned>(stream: &mut TcpStream) -> std::io::Result<T> {
    let len = stream.read_u32().await? as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("frame of {len} bytes is too large")));
    }
    let mut buf = vec![0u8; len];
    stream.read_exact(&mut buf).await?;
    serde_json::from_slice(&buf).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// One request/response exchange on a fresh or cached connection.
pub async fn call(stream: &mut Option<TcpStream>, addr: &str, req: &Request, timeout: Duration) -> std::io::Result<Response> {
    let fut = async {
        if stream.is_none() {
            let s = TcpStream::connect(addr).await?;
            let _ = s.set_nodelay(true);
            *stream = Some(s);
        }
        let s = stream.as_mut().ok_or_else(|| std::io::Error::other("no connection"))?;
        write_frame(s, req).await?;
        read_frame::<Response>(s).await
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => {
            *stream = None;
            Err(e)
        }
        Err(_) => {
            *stream = None;
            Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("no answer from controller {addr} in {timeout:?}")))
        }
    }
}

/// openraft's view of the other voters.
pub struct Network;

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Peer;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> Peer {
        Peer { target, addr: node.addr.clone(), stream: None }
    }
}

pub struct Peer {
    target: NodeId,
    addr: String,
    stream: Option<TcpStream>,
}

impl Peer {
    async fn send<E: std::error::Error>(&mut self, req: Request, option: &RPCOption) -> Result<Response, RPCError<NodeId, BasicNode, E>> {
        let ttl = option.hard_ttl().max(Duration::from_millis(200));
        let connected = self.stream.is_some();
        call(&mut self.stream, &self.addr, &req, ttl).await.map_err(|e| {
            if connected {
                RPCError::Network(NetworkError::new(&e))
            } else {
                RPCError::Unreachable(Unreachable::new(&e))
            }
        })
    }
}

fn unexpected<E: std::error::Error>() -> RPCError<NodeId, BasicNode, E> {
    RPCError::Network(NetworkError::new(&std::io::Error::other("unexpected response kind")))
}

impl RaftNetwork<TypeConfig> for Peer {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        match self.send(Request::Append(rpc), &option).await? {
            Response::Append(r) => r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e))),
            _ => Err(unexpected()),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>> {
        match self.send(Request::Snapshot(rpc), &option).await? {
            Response::Snapshot(r) => r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e))),
            _ => Err(unexpected()),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        match self.send(Request::Vote(rpc), &option).await? {
            Response::Vote(r) => r.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e))),
            _ => Err(unexpected()),
        }
    }
}
