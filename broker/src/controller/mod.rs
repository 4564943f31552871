//! Cluster metadata: a Raft quorum of controllers (openraft) replicating the
//! [`ClusterImage`], and the broker-side agent that registers, heartbeats
//! and proposes changes.
//!
//! Roles follow KRaft's configuration: `process.roles` (broker, controller,
//! or both), `node.id`, `controller.quorum.voters` (`id@host:port,...`),
//! `controller.listener.names`. With no voters configured the node is a
//! quorum of one (what `make run` starts); nothing else changes.
//!
//! The active controller (the Raft leader) owns the only timers: it fences
//! brokers whose heartbeats stop for `broker.session.timeout.ms`, which moves
//! their leaderships to other ISR members (see `image::ClusterImage::fence`).

pub mod image;
pub mod raft;
pub mod rpc;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, ServerState};
use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use uuid::Uuid;

pub use image::{BrokerInfo, ClusterImage, Command, PartitionInfo, Reply, TopicInfo};
use raft::{LogStore, NodeId, Raft, StateMachine};
use rpc::{BrokerRequest, BrokerResponse, Request, Response};

use crate::config::{BrokerConfig, Listener};

/// The quorum settings of one node, read from server.properties.
#[derive(Debug, Clone)]
pub struct QuorumConfig {
    pub node_id: i32,
    pub is_broker: bool,
    pub is_controller: bool,
    /// Voter id -> controller address. Empty address: standalone (no network).
    pub voters: BTreeMap<u64, String>,
    /// `controller.quorum.bootstrap.servers`, for brokers that are not voters.
    pub bootstrap: Vec<String>,
    pub controller_listener: Option<Listener>,
    pub session_timeout: Duration,
    pub heartbeat_interval: Duration,
    pub unclean_default: bool,
    pub rebalance_every: Option<Duration>,
    pub metadata_dir: std::path::PathBuf,
}

impl QuorumConfig {
    pub fn from_config(c: &BrokerConfig) -> anyhow::Result<QuorumConfig> {
        let roles: Vec<String> = c.get("process.roles").unwrap_or_default().split(',').map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()).collect();
        let is_broker = roles.iter().any(|r| r == "broker");
        let is_controller = roles.iter().any(|r| r == "controller");
        if !is_broker && !is_controller {
            anyhow::bail!("invalid value for configuration 'process.roles': expected broker, controller or both");
        }
        let node_id = c.node_id();
        let mut voters = BTreeMap::new();
        for v in c.get("controller.quorum.voters").unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (id, addr) = v
                .split_once('@')
                .ok_or_else(|| anyhow::anyhow!("invalid value for configuration 'controller.quorum.voters': '{v}' is not id@host:port"))?;
            let id: u64 = id.parse().map_err(|_| anyhow::anyhow!("invalid value for configuration 'controller.quorum.voters': bad node id in '{v}'"))?;
            voters.insert(id, addr.to_string());
        }
        let bootstrap: Vec<String> = c
            .get("controller.quorum.bootstrap.servers")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if voters.is_empty() {
            if !bootstrap.is_empty() && !is_controller {
                // A broker that finds the quorum through bootstrap servers.
            } else if !is_controller {
                anyhow::bail!("a node with process.roles=broker needs controller.quorum.voters or controller.quorum.bootstrap.servers");
            } else {
                voters.insert(node_id as u64, String::new());
            }
        }
        if is_controller && !voters.contains_key(&(node_id as u64)) {
            anyhow::bail!("node.id {node_id} has the controller role but is not in controller.quorum.voters");
        }
        let names = c.controller_listener_names();
        let controller_listener = c.listeners().into_iter().find(|l| names.contains(&l.name));
        let networked = voters.values().any(|a| !a.is_empty()) && voters.len() > 1;
        if is_controller && networked && controller_listener.is_none() {
            anyhow::bail!("a controller in a multi-node quorum needs a listener named in controller.listener.names");
        }
        let ms = |k: &str, d: u64| c.get(k).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(d);
        Ok(QuorumConfig {
            node_id,
            is_broker,
            is_controller,
            voters,
            bootstrap,
            controller_listener,
            session_timeout: Duration::from_millis(ms("broker.session.timeout.ms", 9000)),
            heartbeat_interval: Duration::from_millis(ms("broker.heartbeat.interval.ms", 2000)),
            unclean_default: c.get("unclean.leader.election.enable").is_some_and(|v| v.eq_ignore_ascii_case("true")),
            rebalance_every: c
                .get("auto.leader.rebalance.enable")
                .is_none_or(|v| v.eq_ignore_ascii_case("true"))
                .then(|| Duration::from_secs(ms("leader.imbalance.check.interval.seconds", 300).max(1))),
            metadata_dir: c.log_dir().join("__cluster_metadata-0"),
        })
    }

    /// Controller addresses to try, voters first.
    fn controller_addrs(&self) -> Vec<String> {
        let mut v: Vec<String> = self.voters.values().filter(|a| !a.is_empty()).cloned().collect();
        v.extend(self.bootstrap.iter().cloned());
        v
    }
}

/// A member of the metadata quorum.
pub struct Controller {
    node_id: NodeId,
    pub raft: Raft,
    image: watch::Receiver<Arc<ClusterImage>>,
    session_timeout: Duration,
    unclean_default: bool,
    heartbeats: Mutex<HashMap<i32, Instant>>,
    was_leader: AtomicBool,
    /// `auto.leader.rebalance.enable` every `leader.imbalance.check.interval.seconds`.
    rebalance_every: Option<Duration>,
    last_rebalance: Mutex<Instant>,
    /// Proposed as the cluster id if the quorum has none yet.
    cluster_id_hint: String,
}

impl Controller {
    pub async fn start(q: &QuorumConfig, cluster_id_hint: String) -> anyhow::Result<Arc<Controller>> {
        let log = LogStore::open(&q.metadata_dir)?;
        let (sm, image) = StateMachine::open(&q.metadata_dir)?;
        let config = openraft::Config {
            cluster_name: "tributary".into(),
            heartbeat_interval: 150,
            election_timeout_min: 600,
            election_timeout_max: 1200,
            install_snapshot_timeout: 5000,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(2000),
            max_in_snapshot_log_to_keep: 500,
            ..Default::default()
        }
        .validate()?;
        let node_id = q.node_id as u64;
        let raft = Raft::new(node_id, Arc::new(config), rpc::Network, log, sm).await?;
        if !raft.is_initialized().await? {
            let members: BTreeMap<NodeId, BasicNode> = q.voters.iter().map(|(id, a)| (*id, BasicNode { addr: a.clone() })).collect();
            if let Err(e) = raft.initialize(members).await {
                tracing::debug!(error = %e, "quorum already initialized");
            }
        } else if q.voters.len() == 1 {
            // A quorum of one need not wait out an election timeout on restart.
            let _ = raft.trigger().elect().await;
        }
        let c = Arc::new(Controller {
            node_id,
            raft,
            image,
            session_timeout: q.session_timeout,
            unclean_default: q.unclean_default,
            heartbeats: Mutex::new(HashMap::new()),
            was_leader: AtomicBool::new(false),
            rebalance_every: q.rebalance_every,
            last_rebalance: Mutex::new(Instant::now()),
            cluster_id_hint,
        });
        tokio::spawn(Self::active_duties(c.clone()));
        Ok(c)
    }

    pub fn image(&self) -> watch::Receiver<Arc<ClusterImage>> {
        self.image.clone()
    }

    pub fn is_leader(&self) -> bool {
        let m = self.raft.metrics();
        let m = m.borrow();
        m.current_leader == Some(self.node_id) && m.state == ServerState::Leader
    }

    /// The Raft leader's id and controller address, if known.
    pub fn leader(&self) -> Option<(NodeId, String)> {
        let m = self.raft.metrics();
        let m = m.borrow();
        let id = m.current_leader?;
        let addr = m.membership_config.membership().get_node(&id).map(|n| n.addr.clone()).unwrap_or_default();
        Some((id, addr))
    }

    /// The timers only the active controller runs.
    async fn active_duties(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tick.tick().await;
            if !self.is_leader() {
                self.was_leader.store(false, Ordering::Relaxed);
                continue;
            }
            let image = self.image.borrow().clone();
            if !self.was_leader.swap(true, Ordering::Relaxed) {
                // A new active controller gives every broker a full session.
                let now = Instant::now();
                let mut hb = self.heartbeats.lock();
                hb.clear();
                for id in image.brokers.keys() {
                    hb.insert(*id, now);
                }
                tracing::info!(node_id = self.node_id, brokers = image.brokers.len(), "this node is now the active controller");
            }
            if image.cluster_id.is_empty() {
                let _ = self.propose(Command::InitCluster { cluster_id: self.cluster_id_hint.clone() }).await;
                continue;
            }
            let expired: Vec<i32> = {
                let hb = self.heartbeats.lock();
                image
                    .brokers
                    .values()
                    .filter(|b| !b.fenced)
                    .filter(|b| hb.get(&b.id).is_none_or(|t| t.elapsed() > self.session_timeout))
                    .map(|b| b.id)
                    .collect()
            };
            for id in expired {
                tracing::warn!(broker = id, timeout_ms = self.session_timeout.as_millis() as u64, "broker missed its heartbeats: fencing it and moving its leaderships");
                let _ = self.propose(Command::FenceBroker { id, unclean_default: self.unclean_default }).await;
            }
            if let Some(every) = self.rebalance_every {
                let due = {
                    let mut last = self.last_rebalance.lock();
                    let due = last.elapsed() >= every;
                    if due {
                        *last = Instant::now();
                    }
                    due
                };
                if due {
                    self.rebalance_leaders(&image).await;
                }
            }
        }
    }

    /// Moves leadership back to preferred replicas that are alive and in sync
    /// (Kafka's auto leader rebalance).
    async fn rebalance_leaders(&self, image: &ClusterImage) {
        for (name, t) in &image.topics {
            for (i, p) in t.partitions.iter().enumerate() {
                let pref = p.replicas[0];
                if p.leader != pref && p.isr.contains(&pref) && image.alive(pref) {
                    tracing::info!(topic = %name, partition = i, preferred = pref, "moving leadership back to the preferred replica");
                    let _ = self.propose(Command::ElectPreferred { topic: name.clone(), partition: i as i32 }).await;
                }
            }
        }
    }

    async fn propose(&self, cmd: Command) -> BrokerResponse {
        match self.raft.client_write(cmd).await {
            Ok(r) => BrokerResponse::Done { reply: r.data, index: r.log_id.index },
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
                BrokerResponse::NotController { leader: f.leader_node.map(|n| n.addr) }
            }
            Err(e) => BrokerResponse::Failed { message: e.to_string() },
        }
    }

    /// Handles a broker's request if this node is the active controller.
    pub async fn handle(&self, req: BrokerRequest) -> BrokerResponse {
        if !self.is_leader() {
            return BrokerResponse::NotController { leader: self.leader().map(|l| l.1) };
        }
        match req {
            BrokerRequest::Register { id, host, port, rack, incarnation } => {
                self.heartbeats.lock().insert(id, Instant::now());
                self.propose(Command::RegisterBroker { id, host, port, rack, incarnation }).await
            }
            BrokerRequest::Heartbeat { id, incarnation, caught_up, applied_index, want_image } => {
                let image = self.image.borrow().clone();
                let Some(b) = image.brokers.get(&id).filter(|b| b.incarnation == incarnation) else {
                    return BrokerResponse::Heartbeat { registered: false, fenced: true, image: None };
                };
                self.heartbeats.lock().insert(id, Instant::now());
                let mut fenced = b.fenced;
                if fenced && caught_up {
                    if let BrokerResponse::Done { reply: Reply::Ok, .. } =
                        self.propose(Command::UnfenceBroker { id, incarnation, unclean_default: self.unclean_default }).await
                    {
                        tracing::info!(broker = id, "broker caught up with the metadata log: unfenced");
                        fenced = false;
                    }
                }
                let image = self.image.borrow().clone();
                let send = want_image && image.applied_index > applied_index;
                BrokerResponse::Heartbeat { registered: true, fenced, image: send.then(|| Box::new((*image).clone())) }
            }
            BrokerRequest::Propose(cmd) => self.propose(cmd).await,
            BrokerRequest::ControlledShutdown { id, incarnation } => {
                let image = self.image.borrow().clone();
                if image.brokers.get(&id).is_none_or(|b| b.incarnation != incarnation) {
                    return BrokerResponse::Done { reply: Reply::Ok, index: image.applied_index };
                }
                // Its heartbeat entry stays: once the process is gone the
                // session times out and the broker is fenced as usual.
                tracing::info!(broker = id, "controlled shutdown: moving leaderships away");
                self.propose(Command::ControlledShutdown { id }).await
            }
        }
    }

    /// Serves the controller listener: Raft RPCs and broker requests.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                r = listener.accept() => match r {
                    Ok((stream, _)) => { tokio::spawn(self.clone().serve_conn(stream)); }
                    Err(e) => {
                        tracing::warn!(error = %e, "controller accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                _ = shutdown.changed() => break,
            }
        }
    }

    async fn serve_conn(self: Arc<Self>, mut stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        loop {
            let req: Request = match rpc::read_frame(&mut stream).await {
                Ok(r) => r,
                Err(e) => {
                    if e.kind() != std::io::ErrorKind::UnexpectedEof {
                        tracing::debug!(error = %e, "controller connection closed");
                    }
                    return;
                }
            };
            let resp = match req {
                Request::Append(r) => Response::Append(self.raft.append_entries(r).await),
                Request::Vote(r) => Response::Vote(self.raft.vote(r).await),
                Request::Snapshot(r) => Response::Snapshot(self.raft.install_snapshot(r).await),
                Request::Broker(r) => Response::Broker(self.handle(r).await),
            };
            if rpc::write_frame(&mut stream, &resp).await.is_err() {
                return;
            }
        }
    }
}

/// The broker's side: registration, heartbeats, proposals to the active
/// controller (local or remote), and the image this broker acts on.
pub struct Agent {
    pub q: QuorumConfig,
    pub incarnation: Uuid,
    local: Option<Arc<Controller>>,
    image_rx: watch::Receiver<Arc<ClusterImage>>,
    /// Fed from heartbeats when this node is not a voter.
    image_tx: Option<watch::Sender<Arc<ClusterImage>>>,
    leader_hint: Mutex<Option<String>>,
    conns: Mutex<HashMap<String, TcpStream>>,
    registered_index: AtomicU64,
    registered: AtomicBool,
    shutting_down: AtomicBool,
}

/// Why a proposal failed.
#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    #[error("no active controller answered within {0:?}")]
    Unavailable(Duration),
    #[error("controller error: {0}")]
    Failed(String),
}

const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

impl Agent {
    pub fn new(q: QuorumConfig, local: Option<Arc<Controller>>) -> Arc<Agent> {
        let (image_rx, image_tx) = match &local {
            Some(c) => (c.image(), None),
            None => {
                let (tx, rx) = watch::channel(Arc::new(ClusterImage::default()));
                (rx, Some(tx))
            }
        };
        Arc::new(Agent {
            q,
            incarnation: Uuid::new_v4(),
            local,
            image_rx,
            image_tx,
            leader_hint: Mutex::new(None),
            conns: Mutex::new(HashMap::new()),
            registered_index: AtomicU64::new(u64::MAX),
            registered: AtomicBool::new(false),
            shutting_down: AtomicBool::new(false),
        })
    }

    pub fn controller(&self) -> Option<&Arc<Controller>> {
        self.local.as_ref()
    }

    pub fn image(&self) -> Arc<ClusterImage> {
        self.image_rx.borrow().clone()
    }

    pub fn watch(&self) -> watch::Receiver<Arc<ClusterImage>> {
        self.image_rx.clone()
    }

    /// The active controller's node id, for Metadata's controller_id.
    pub fn active_controller_id(&self) -> i32 {
        match &self.local {
            Some(c) => c.leader().map_or(-1, |l| l.0 as i32),
            None => -1,
        }
    }

    /// Sends `req` to the active controller, following redirects, until it
    /// answers or the deadline passes. Each attempt has its own short
    /// timeout, so a controller that stopped answering (killed, SIGSTOPped)
    /// costs one attempt and the next address is tried.
    pub async fn request(&self, req: BrokerRequest) -> Result<BrokerResponse, ProposeError> {
        let attempt_timeout = match req {
            BrokerRequest::Heartbeat { .. } => Duration::from_millis(1000),
            _ => Duration::from_secs(5),
        };
        let deadline = Instant::now() + REQUEST_DEADLINE;
        loop {
            if let Some(c) = &self.local {
                if c.is_leader() {
                    match c.handle(req.clone()).await {
                        BrokerResponse::NotController { .. } => {}
                        r => return Ok(r),
                    }
                }
            }
            // The local Raft's view of the leader is the freshest; then the
            // last controller that answered; then every voter.
            let mut addrs = Vec::new();
            if let Some((_, a)) = self.local.as_ref().and_then(|c| c.leader()) {
                addrs.push(a);
            }
            if let Some(h) = self.leader_hint.lock().clone() {
                addrs.push(h);
            }
            addrs.extend(self.q.controller_addrs());
            addrs.retain(|a| !a.is_empty());
            let mut seen = std::collections::HashSet::new();
            addrs.retain(|a| seen.insert(a.clone()));
            for addr in addrs {
                // Borrow a pooled connection (or open one) without holding
                // the pool across the call: a slow controller must not stall
                // this broker's other requests (heartbeats above all).
                let mut slot = self.conns.lock().remove(&addr);
                let resp = rpc::call(&mut slot, &addr, &Request::Broker(req.clone()), attempt_timeout).await;
                if let Some(stream) = slot {
                    self.conns.lock().insert(addr.clone(), stream);
                }
                match resp {
                    Ok(Response::Broker(BrokerResponse::NotController { leader })) => {
                        if let Some(l) = leader.filter(|l| !l.is_empty() && *l != addr) {
                            *self.leader_hint.lock() = Some(l);
                        }
                    }
                    Ok(Response::Broker(r)) => {
                        *self.leader_hint.lock() = Some(addr);
                        return Ok(r);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(controller = %addr, error = %e, "controller unreachable");
                        let mut hint = self.leader_hint.lock();
                        if hint.as_deref() == Some(addr.as_str()) {
                            *hint = None;
                        }
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(ProposeError::Unavailable(REQUEST_DEADLINE));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until this broker's image has applied `index`.
    pub async fn wait_applied(&self, index: u64) -> bool {
        let mut rx = self.image_rx.clone();
        let ok = tokio::time::timeout(REQUEST_DEADLINE, rx.wait_for(|img| img.applied_index >= index)).await;
        matches!(ok, Ok(Ok(_)))
    }

    /// Proposes a command; returns its reply once this broker has applied it.
    pub async fn propose(&self, cmd: Command) -> Result<Reply, ProposeError> {
        match self.request(BrokerRequest::Propose(cmd)).await? {
            BrokerResponse::Done { reply, index } => {
                if !self.wait_applied(index).await {
                    return Err(ProposeError::Unavailable(REQUEST_DEADLINE));
                }
                Ok(reply)
            }
            BrokerResponse::Failed { message } => Err(ProposeError::Failed(message)),
            other => Err(ProposeError::Failed(format!("unexpected answer {other:?}"))),
        }
    }

    /// Blocking form of `propose` for synchronous callers inside the runtime.
    pub fn propose_blocking(&self, cmd: Command) -> Result<Reply, ProposeError> {
        tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(self.propose(cmd)))
    }

    /// Registers this broker; returns once the registration is applied here.
    pub async fn register(self: &Arc<Self>, host: String, port: u16, rack: Option<String>) -> anyhow::Result<()> {
        loop {
            let req = BrokerRequest::Register { id: self.q.node_id, host: host.clone(), port, rack: rack.clone(), incarnation: self.incarnation };
            match self.request(req).await {
                Ok(BrokerResponse::Done { index, .. }) => {
                    self.registered_index.store(index, Ordering::Relaxed);
                    self.registered.store(true, Ordering::Relaxed);
                    tracing::info!(node_id = self.q.node_id, index, "registered with the controller quorum");
                    return Ok(());
                }
                Ok(other) => tracing::warn!(?other, "registration refused; retrying"),
                Err(e) => tracing::warn!(error = %e, "no controller reachable yet; retrying registration"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    fn caught_up(&self) -> bool {
        self.image_rx.borrow().applied_index >= self.registered_index.load(Ordering::Relaxed)
    }

    /// Heartbeats until shutdown; re-registers if the controller forgot us.
    pub async fn heartbeat_loop(self: Arc<Self>, host: String, port: u16, rack: Option<String>) {
        let mut tick = tokio::time::interval(self.q.heartbeat_interval.min(Duration::from_millis(500)).max(Duration::from_millis(50)));
        let mut last = Instant::now() - self.q.heartbeat_interval;
        loop {
            tick.tick().await;
            if self.shutting_down.load(Ordering::Relaxed) {
                return;
            }
            // Until unfenced, heartbeat quickly; then at broker.heartbeat.interval.ms.
            let fenced = self.image().brokers.get(&self.q.node_id).is_none_or(|b| b.fenced || b.incarnation != self.incarnation);
            if !fenced && last.elapsed() < self.q.heartbeat_interval {
                continue;
            }
            last = Instant::now();
            let req = BrokerRequest::Heartbeat {
                id: self.q.node_id,
                incarnation: self.incarnation,
                caught_up: self.caught_up(),
                applied_index: self.image().applied_index,
                want_image: self.image_tx.is_some(),
            };
            match tokio::time::timeout(self.q.session_timeout, self.request(req)).await {
                Ok(Ok(BrokerResponse::Heartbeat { registered: false, .. })) => {
                    tracing::warn!("the controller does not know this broker: registering again");
                    let _ = self.register(host.clone(), port, rack.clone()).await;
                }
                Ok(Ok(BrokerResponse::Heartbeat { image: Some(img), .. })) => {
                    if let Some(tx) = &self.image_tx {
                        tx.send_replace(Arc::new(*img));
                    }
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "heartbeat failed"),
                Err(_) => tracing::warn!("heartbeat timed out"),
            }
        }
    }

    /// Controlled shutdown: asks the controller to move leaderships away and
    /// waits (bounded) until this broker's image shows it fenced.
    pub async fn controlled_shutdown(&self) {
        if self.shutting_down.swap(true, Ordering::Relaxed) || !self.registered.load(Ordering::Relaxed) {
            return;
        }
        let req = BrokerRequest::ControlledShutdown { id: self.q.node_id, incarnation: self.incarnation };
        match tokio::time::timeout(Duration::from_secs(5), self.request(req)).await {
            Ok(Ok(BrokerResponse::Done { index, .. })) => {
                let _ = tokio::time::timeout(Duration::from_secs(5), self.wait_applied(index)).await;
                tracing::info!("controlled shutdown complete");
            }
            other => tracing::warn!(?other, "controlled shutdown did not complete; stopping anyway"),
        }
    }
}
