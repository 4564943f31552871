//! The metadata log: openraft wired to files on disk and to our TCP transport.
//!
//! On disk, under `<log.dir>/__cluster_metadata-0/` (Kafka's directory name):
//! - `raft.log`: entries, each `[u32 length][u32 crc32c][json]`, fsynced
//!   before openraft is told they are durable. A torn tail is cut on open.
//!   Truncation and purge (rare) rewrite the file atomically.
//! - `vote.json`: the current vote, replaced atomically with fsync.
//! - `committed.json`: the last known committed log id (a hint; losing it
//!   only means re-learning it from the leader).
//! - `snapshot.json`: the latest snapshot of the image with its log id.
//!
//! The state machine is the in-memory [`ClusterImage`]; every applied entry
//! publishes a new image on a watch channel the broker follows.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::{Cursor, Read};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage, RaftStateMachine, Snapshot};
use openraft::{
    BasicNode, Entry, EntryPayload, LogId, OptionalSend, RaftLogReader, RaftSnapshotBuilder, SnapshotMeta, StorageError,
    StorageIOError, StoredMembership, Vote,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::image::{ClusterImage, Command, Reply};

pub type NodeId = u64;

openraft::declare_raft_types!(
    /// Raft types of the metadata quorum.
    pub TypeConfig:
        D = Command,
        R = Reply,
);

pub type Raft = openraft::Raft<TypeConfig>;

fn write_atomic(path: &Path, data: &[u8], fsync: bool) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        if fsync {
            f.sync_all()?;
        }
    }
    std::fs::rename(&tmp, path)?;
    if fsync {
        if let Some(dir) = path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
    }
    Ok(())
}

fn encode_entry(e: &Entry<TypeConfig>) -> std::io::Result<Vec<u8>> {
    let json = serde_json::to_vec(e).map_err(std::io::Error::other)?;
    let mut out = Vec::with_capacity(json.len() + 8);
    out.extend_from_slice(&(json.len() as u32).to_be_bytes());
    out.extend_from_slice(&crc32c::crc32c(&json).to_be_bytes());
    out.extend_from_slice(&json);
    Ok(out)
}

/// Reads every whole, checksummed entry; returns them and the valid length.
fn decode_entries(data: &[u8]) -> (Vec<Entry<TypeConfig>>, usize) {
    let mut out = Vec::new();
    let mut pos = 0;
    while data.len() - pos >= 8 {
        let len = u32::from_be_bytes([data[pos], data[pos + 1], data[pos + 2], data[pos + 3]]) as usize;
        let crc = u32::from_be_bytes([data[pos + 4], data[pos + 5], data[pos + 6], data[pos + 7]]);
        let Some(body) = data.get(pos + 8..pos + 8 + len) else { break };
        if crc32c::crc32c(body) != crc {
            break;
        }
        let Ok(e) = serde_json::from_slice::<Entry<TypeConfig>>(body) else { break };
        out.push(e);
        pos += 8 + len;
    }
    (out, pos)
}

#[derive(Debug)]
struct LogInner {
    dir: PathBuf,
    file: std::fs::File,
    entries: BTreeMap<u64, Entry<TypeConfig>>,
    last_purged: Option<LogId<NodeId>>,
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId<NodeId>>,
}

#[derive(Serialize, Deserialize)]
struct PurgedFile {
    last_purged: Option<LogId<NodeId>>,
}

impl LogInner {
    fn rewrite(&mut self) -> std::io::Result<()> {
        let mut data = Vec::new();
        for e in self.entries.values() {
            data.extend(encode_entry(e)?);
        }
        let path = self.dir.join("raft.log");
        write_atomic(&path, &data, true)?;
        self.file = std::fs::OpenOptions::new().append(true).read(true).open(&path)?;
        write_atomic(&self.dir.join("purged.json"), &serde_json::to_vec(&PurgedFile { last_purged: self.last_purged }).map_err(std::io::Error::other)?, true)
    }
}

/// The Raft log and vote, durable on disk.
#[derive(Debug, Clone)]
pub struct LogStore {
    inner: Arc<Mutex<LogInner>>,
}

impl LogStore {
    pub fn open(dir: &Path) -> std::io::Result<LogStore> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("raft.log");
        let data = std::fs::read(&path).unwrap_or_default();
        let (list, valid) = decode_entries(&data);
        let file = std::fs::OpenOptions::new().create(true).append(true).read(true).open(&path)?;
        if valid < data.len() {
            tracing::warn!(path = %path.display(), cut = data.len() - valid, "cutting torn tail of the metadata log");
            file.set_len(valid as u64)?;
            file.sync_all()?;
        }
        let read_json = |name: &str| std::fs::read(dir.join(name)).ok();
        let vote = read_json("vote.json").and_then(|b| serde_json::from_slice(&b).ok());
        let committed = read_json("committed.json").and_then(|b| serde_json::from_slice(&b).ok());
        let last_purged = read_json("purged.json").and_then(|b| serde_json::from_slice::<PurgedFile>(&b).ok()).and_then(|p| p.last_purged);
        let entries = list.into_iter().map(|e| (e.log_id.index, e)).collect();
        Ok(LogStore { inner: Arc::new(Mutex::new(LogInner { dir: dir.to_path_buf(), file, entries, last_purged, vote, committed })) })
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        Ok(self.inner.lock().entries.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let inner = self.inner.lock();
        let last = inner.entries.values().next_back().map(|e| e.log_id).or(inner.last_purged);
        Ok(LogState { last_purged_log_id: inner.last_purged, last_log_id: last })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.inner.lock();
        let json = serde_json::to_vec(vote).map_err(|e| StorageIOError::write_vote(&e))?;
        write_atomic(&inner.dir.join("vote.json"), &json, true).map_err(|e| StorageIOError::write_vote(&e))?;
        inner.vote = Some(*vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        Ok(self.inner.lock().vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId<NodeId>>) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.inner.lock();
        if inner.committed != committed {
            let json = serde_json::to_vec(&committed).map_err(|e| StorageIOError::write_logs(&e))?;
            write_atomic(&inner.dir.join("committed.json"), &json, false).map_err(|e| StorageIOError::write_logs(&e))?;
            inner.committed = committed;
        }
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self.inner.lock().committed)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
    {
        use std::io::Write;
        let mut inner = self.inner.lock();
        let mut buf = Vec::new();
        let mut list = Vec::new();
        for e in entries {
            buf.extend(encode_entry(&e).map_err(|e| StorageIOError::write_logs(&e))?);
            list.push(e);
        }
        let res = inner.file.write_all(&buf).and_then(|_| inner.file.sync_data());
        if let Err(e) = &res {
            tracing::error!(error = %e, "metadata log write failed");
        } else {
            for e in list {
                inner.entries.insert(e.log_id.index, e);
            }
        }
        let failed = res.as_ref().err().map(|e| std::io::Error::new(e.kind(), e.to_string()));
        callback.log_io_completed(res);
        match failed {
            Some(e) => Err(StorageIOError::write_logs(&e).into()),
            None => Ok(()),
        }
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.inner.lock();
        inner.entries.retain(|k, _| *k < log_id.index);
        inner.rewrite().map_err(|e| StorageIOError::write_logs(&e).into())
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.inner.lock();
        inner.entries.retain(|k, _| *k > log_id.index);
        inner.last_purged = Some(log_id);
        inner.rewrite().map_err(|e| StorageIOError::write_logs(&e).into())
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct SmData {
    last_applied: Option<LogId<NodeId>>,
    membership: StoredMembership<NodeId, BasicNode>,
    image: ClusterImage,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, BasicNode>,
    data: Vec<u8>,
}

#[derive(Debug)]
struct SmInner {
    dir: PathBuf,
    data: SmData,
    snapshot: Option<StoredSnapshot>,
    snapshot_seq: u64,
}

/// The state machine: the cluster image, published on every change.
#[derive(Debug, Clone)]
pub struct StateMachine {
    inner: Arc<Mutex<SmInner>>,
    tx: Arc<watch::Sender<Arc<ClusterImage>>>,
}

impl StateMachine {
    /// Loads the latest snapshot, if any; the log replays the rest.
    pub fn open(dir: &Path) -> std::io::Result<(StateMachine, watch::Receiver<Arc<ClusterImage>>)> {
        let snapshot: Option<StoredSnapshot> =
            std::fs::read(dir.join("snapshot.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
        let mut data = SmData::default();
        if let Some(s) = &snapshot {
            if let Ok(d) = serde_json::from_slice::<SmData>(&s.data) {
                data = d;
            }
        }
        let (tx, rx) = watch::channel(Arc::new(data.image.clone()));
        Ok((
            StateMachine {
                inner: Arc::new(Mutex::new(SmInner { dir: dir.to_path_buf(), data, snapshot, snapshot_seq: 0 })),
                tx: Arc::new(tx),
            },
            rx,
        ))
    }

    fn publish(&self, image: &ClusterImage) {
        self.tx.send_replace(Arc::new(image.clone()));
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<NodeId>> {
        let mut inner = self.inner.lock();
        let data = serde_json::to_vec(&inner.data).map_err(|e| StorageIOError::read_state_machine(&e))?;
        inner.snapshot_seq += 1;
        let last = inner.data.last_applied;
        let meta = SnapshotMeta {
            last_log_id: last,
            last_membership: inner.data.membership.clone(),
            snapshot_id: format!("{}-{}", last.map_or(0, |l| l.index), inner.snapshot_seq),
        };
        let stored = StoredSnapshot { meta: meta.clone(), data: data.clone() };
        let json = serde_json::to_vec(&stored).map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        write_atomic(&inner.dir.join("snapshot.json"), &json, true)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        inner.snapshot = Some(stored);
        Ok(Snapshot { meta, snapshot: Box::new(Cursor::new(data)) })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<NodeId>>, StoredMembership<NodeId, BasicNode>), StorageError<NodeId>> {
        let inner = self.inner.lock();
        Ok((inner.data.last_applied, inner.data.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Reply>, StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
    {
        let mut out = Vec::new();
        let mut inner = self.inner.lock();
        for e in entries {
            inner.data.last_applied = Some(e.log_id);
            inner.data.image.applied_index = e.log_id.index;
            let reply = match &e.payload {
                EntryPayload::Blank => Reply::Ok,
                EntryPayload::Normal(cmd) => {
                    let r = inner.data.image.apply(cmd);
                    if let Reply::Error { code, message } = &r {
                        tracing::debug!(?cmd, code, message, "metadata command refused");
                    }
                    r
                }
                EntryPayload::Membership(m) => {
                    inner.data.membership = StoredMembership::new(Some(e.log_id), m.clone());
                    Reply::Ok
                }
            };
            out.push(reply);
        }
        self.publish(&inner.data.image);
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError<NodeId>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<NodeId>> {
        let mut bytes = Vec::new();
        let mut cur = *snapshot;
        cur.read_to_end(&mut bytes).map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
        let data: SmData =
            serde_json::from_slice(&bytes).map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
        let mut inner = self.inner.lock();
        let stored = StoredSnapshot { meta: meta.clone(), data: bytes };
        let json = serde_json::to_vec(&stored).map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        write_atomic(&inner.dir.join("snapshot.json"), &json, true)
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        inner.data = SmData { last_applied: meta.last_log_id, membership: meta.last_membership.clone(), image: data.image };
        inner.snapshot = Some(stored);
        self.publish(&inner.data.image);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError<NodeId>> {
        let inner = self.inner.lock();
        Ok(inner.snapshot.as_ref().map(|s| Snapshot { meta: s.meta.clone(), snapshot: Box::new(Cursor::new(s.data.clone())) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_tail_of_the_metadata_log_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let e = Entry::<TypeConfig> {
            log_id: LogId::new(openraft::CommittedLeaderId::new(1, 1), 1),
            payload: EntryPayload::Normal(Command::AllocateProducerIds { count: 5 }),
        };
        let mut data = encode_entry(&e).unwrap();
        data.extend_from_slice(&encode_entry(&e).unwrap()[..10]);
        std::fs::write(dir.path().join("raft.log"), &data).unwrap();
        let store = LogStore::open(dir.path()).unwrap();
        assert_eq!(store.inner.lock().entries.len(), 1);
        assert_eq!(std::fs::metadata(dir.path().join("raft.log")).unwrap().len() as usize, encode_entry(&e).unwrap().len());
    }
}
