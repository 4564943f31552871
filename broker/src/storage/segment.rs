//! One log segment: `<base>.log` holding batches as received, plus a sparse
//! offset index (`.index`, 8-byte entries: relative offset u32, position u32)
//! and a time index (`.timeindex`, 12-byte entries: max timestamp i64,
//! relative offset u32), in Kafka's file naming and entry layout.
//!
//! The active segment keeps its indexes in memory and only the `.log` file is
//! written on append; indexes reach disk when the segment is sealed (rolled).
//! On startup, the active segment is re-scanned (see `Log::open`), so in-memory
//! indexes are always rebuilt from the data they describe.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};

use super::batch::{BatchHeader, BatchIter, HEADER_LEN};

pub fn file_name(dir: &Path, base_offset: i64, ext: &str) -> PathBuf {
    dir.join(format!("{base_offset:020}.{ext}"))
}

/// An index entry: the batch starting at `position` holds `offset` (absolute).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    pub offset: i64,
    pub position: u32,
}

/// A time index entry: the highest timestamp seen up to and including `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeEntry {
    pub timestamp: i64,
    pub offset: i64,
}

/// Offset and timestamp of the first record in `batch` stamped at or after
/// `ts` (and at or after `min_offset`), decompressing if needed.
fn first_record_at_or_after(mut batch: Bytes, ts: i64, min_offset: i64) -> Option<(i64, i64)> {
    let set = kafka_protocol::records::RecordBatchDecoder::decode(&mut batch).ok()?;
    set.records
        .iter()
        .find(|r| r.timestamp >= ts && r.offset >= min_offset)
        .map(|r| (r.offset, r.timestamp))
}

/// Data and indexes common to active and sealed segments.
#[derive(Debug)]
pub struct Segment {
    pub base_offset: i64,
    dir: PathBuf,
    file: File,
    /// Bytes of valid batches in the file.
    size: u64,
    /// Offset after the last batch (equals base_offset when empty).
    next_offset: i64,
    index: Vec<IndexEntry>,
    time_index: Vec<TimeEntry>,
    max_timestamp: i64,
    /// When the segment was created or its first batch appended (for segment.ms).
    pub created_ms: i64,
}

impl Segment {
    /// A segment over `file` with nothing indexed yet (callers fill it in).
    fn empty(dir: &Path, base_offset: i64, file: File, created_ms: i64) -> Segment {
        Segment {
            base_offset,
            dir: dir.to_path_buf(),
            file,
            size: 0,
            next_offset: base_offset,
            index: Vec::new(),
            time_index: Vec::new(),
            max_timestamp: -1,
            created_ms,
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }
    pub fn log_path(&self) -> PathBuf {
        file_name(&self.dir, self.base_offset, "log")
    }

    /// Reads `len` bytes at `pos` (short if the file is shorter).
    pub fn read_at(&self, pos: u64, len: usize) -> std::io::Result<Bytes> {
        let len = len.min(self.size.saturating_sub(pos) as usize);
        let mut buf = BytesMut::zeroed(len);
        let mut done = 0;
        while done < len {
            let n = self.file.read_at(&mut buf[done..], pos + done as u64)?;
            if n == 0 {
                break;
            }
            done += n;
        }
        buf.truncate(done);
        Ok(buf.freeze())
    }

    fn header_at(&self, pos: u64) -> std::io::Result<Option<BatchHeader>> {
        if pos + HEADER_LEN as u64 > self.size {
            return Ok(None);
        }
        let b = self.read_at(pos, HEADER_LEN)?;
        Ok(BatchHeader::parse(&b).ok())
    }

    /// Position of the batch containing `offset` (or the first batch after it),
    /// using the sparse index then scanning headers. `None` if past the end.
    pub fn find_position(&self, offset: i64) -> std::io::Result<Option<(u64, BatchHeader)>> {
        let start = match self.index.partition_point(|e| e.offset <= offset) {
            0 => 0,
            i => self.index[i - 1].position as u64,
        };
        let mut pos = start;
        while let Some(h) = self.header_at(pos)? {
            if h.last_offset() >= offset {
                return Ok(Some((pos, h)));
            }
            pos += h.size as u64;
        }
        Ok(None)
    }

    /// Reads whole batches starting at the batch containing `offset`, up to
    /// `max_bytes` (but always at least one whole batch when `min_one`), and
    /// never including a batch that reaches `limit_offset` or beyond.
    pub fn read(&self, offset: i64, max_bytes: usize, limit_offset: i64, min_one: bool) -> std::io::Result<Bytes> {
        let Some((pos, first)) = self.find_position(offset)? else {
            return Ok(Bytes::new());
        };
        if first.last_offset() >= limit_offset {
            return Ok(Bytes::new());
        }
        let want = if min_one { max_bytes.max(first.size) } else { max_bytes };
        let chunk = self.read_at(pos, want)?;
        // Trim to whole batches below the limit.
        let mut end = 0;
        for (at, h) in BatchIter::new(&chunk, false) {
            if h.last_offset() >= limit_offset {
                break;
            }
            end = at + h.size;
        }
        Ok(chunk.slice(..end))
    }

    /// First offset whose batch max timestamp is >= `ts`, with that batch's position.
    pub fn find_by_timestamp(&self, ts: i64) -> std::io::Result<Option<(i64, i64)>> {
        if self.max_timestamp < ts {
            return Ok(None);
        }
        let start_off = match self.time_index.partition_point(|e| e.timestamp < ts) {
            0 => self.base_offset,
            // entry i-1 has ts < target: everything up to its offset is older.
            i => self.time_index[i - 1].offset + 1,
        };
        let Some((mut pos, _)) = self.find_position(start_off)? else { return Ok(None) };
        while let Some(h) = self.header_at(pos)? {
            if h.max_timestamp >= ts {
                // Kafka answers with the exact record: decode this one batch.
                let bytes = self.read_at(pos, h.size)?;
                if let Some(hit) = first_record_at_or_after(bytes, ts, start_off) {
                    return Ok(Some(hit));
                }
                return Ok(Some((h.base_offset.max(start_off), h.max_timestamp)));
            }
            pos += h.size as u64;
        }
        Ok(None)
    }

    /// Offset of the batch with the largest timestamp, for ListOffsets MAX_TIMESTAMP.
    pub fn max_timestamp_offset(&self) -> std::io::Result<Option<(i64, i64)>> {
        let mut best: Option<(i64, i64)> = None;
        let mut pos = 0;
        while let Some(h) = self.header_at(pos)? {
            if best.is_none_or(|(_, ts)| h.max_timestamp > ts) {
                best = Some((h.last_offset(), h.max_timestamp));
            }
            pos += h.size as u64;
        }
        Ok(best)
    }

    /// The marker type of the control batch at `pos`.
    pub fn control_type_at(&self, pos: u64) -> std::io::Result<Option<super::batch::ControlType>> {
        let b = self.read_at(pos + HEADER_LEN as u64, 64)?;
        Ok(super::batch::control_type(&b))
    }

    /// Every batch header with its position, in order (recovery and state rebuild).
    pub fn headers(&self) -> std::io::Result<Vec<(u64, BatchHeader)>> {
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some(h) = self.header_at(pos)? {
            out.push((pos, h));
            pos += h.size as u64;
        }
        Ok(out)
    }

    fn note_batch(&mut self, pos: u64, h: &BatchHeader, index_interval: u64, bytes_since_index: &mut u64) {
        if self.index.is_empty() || *bytes_since_index >= index_interval {
            self.index.push(IndexEntry { offset: h.base_offset, position: pos as u32 });
            *bytes_since_index = 0;
            if h.max_timestamp > self.time_index.last().map_or(i64::MIN, |e| e.timestamp) {
                self.time_index.push(TimeEntry { timestamp: h.max_timestamp, offset: h.last_offset() });
            }
        }
        *bytes_since_index += h.size as u64;
        self.max_timestamp = self.max_timestamp.max(h.max_timestamp);
        self.next_offset = h.next_offset();
    }

    fn write_indexes(&self) -> std::io::Result<()> {
        let mut idx = Vec::with_capacity(self.index.len() * 8);
        for e in &self.index {
            idx.extend_from_slice(&((e.offset - self.base_offset) as u32).to_be_bytes());
            idx.extend_from_slice(&e.position.to_be_bytes());
        }
        let mut tidx = Vec::with_capacity(self.time_index.len() * 12);
        for e in &self.time_index {
            tidx.extend_from_slice(&e.timestamp.to_be_bytes());
            tidx.extend_from_slice(&((e.offset - self.base_offset) as u32).to_be_bytes());
        }
        for (ext, data) in [("index", idx), ("timeindex", tidx)] {
            let mut f = File::create(file_name(&self.dir, self.base_offset, ext))?;
            f.write_all(&data)?;
            f.sync_all()?;
        }
        Ok(())
    }

    /// Loads `.index`/`.timeindex` written at seal time. Returns false when they
    /// are missing or inconsistent with the log, so the caller rebuilds them.
    fn load_indexes(&mut self) -> bool {
        let idx = std::fs::read(file_name(&self.dir, self.base_offset, "index"));
        let tidx = std::fs::read(file_name(&self.dir, self.base_offset, "timeindex"));
        let (Ok(idx), Ok(tidx)) = (idx, tidx) else { return false };
        if idx.len() % 8 != 0 || tidx.len() % 12 != 0 || (idx.is_empty() && self.size > 0) {
            return false;
        }
        let index: Vec<IndexEntry> = idx
            .chunks_exact(8)
            .map(|c| IndexEntry {
                offset: self.base_offset + u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as i64,
                position: u32::from_be_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        if index.iter().any(|e| e.position as u64 >= self.size) || index.windows(2).any(|w| w[0].offset >= w[1].offset) {
            return false;
        }
        let time_index: Vec<TimeEntry> = tidx
            .chunks_exact(12)
            .map(|c| {
                let mut ts = [0u8; 8];
                ts.copy_from_slice(&c[..8]);
                TimeEntry {
                    timestamp: i64::from_be_bytes(ts),
                    offset: self.base_offset + u32::from_be_bytes([c[8], c[9], c[10], c[11]]) as i64,
                }
            })
            .collect();
        self.index = index;
        self.max_timestamp = time_index.last().map_or(-1, |e| e.timestamp);
        self.time_index = time_index;
        true
    }

    pub fn delete_files(&self) {
        for ext in ["log", "index", "timeindex", "snapshot"] {
            let _ = std::fs::remove_file(file_name(&self.dir, self.base_offset, ext));
        }
    }
}

/// A segment that no longer takes writes; its indexes are on disk.
#[derive(Debug)]
pub struct SealedSegment(pub Segment);

/// The segment appends go to.
#[derive(Debug)]
pub struct ActiveSegment {
    pub seg: Segment,
    bytes_since_index: u64,
    index_interval: u64,
    unflushed_messages: i64,
}

impl ActiveSegment {
    fn wrap(seg: Segment, index_interval: u64) -> ActiveSegment {
        ActiveSegment { seg, bytes_since_index: 0, index_interval, unflushed_messages: 0 }
    }

    /// Creates a new empty segment file starting at `base_offset`.
    pub fn create(dir: &Path, base_offset: i64, index_interval: u64, now_ms: i64) -> std::io::Result<ActiveSegment> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(file_name(dir, base_offset, "log"))?;
        Ok(ActiveSegment::wrap(Segment::empty(dir, base_offset, file, now_ms), index_interval))
    }

    /// Opens an existing segment file as the active one: scans every batch with
    /// CRC checks, truncates a torn or corrupt tail, rebuilds the indexes.
    /// Returns the segment and the headers of the valid batches.
    pub fn recover(
        dir: &Path,
        base_offset: i64,
        index_interval: u64,
        now_ms: i64,
    ) -> std::io::Result<(ActiveSegment, Vec<(u64, BatchHeader)>, u64)> {
        let path = file_name(dir, base_offset, "log");
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        let data = std::fs::read(&path)?;
        let mut active = ActiveSegment::wrap(Segment::empty(dir, base_offset, file, now_ms), index_interval);
        let mut headers = Vec::new();
        let mut iter = BatchIter::new(&data, true);
        for (pos, h) in iter.by_ref() {
            if h.base_offset < active.seg.next_offset {
                // Offsets must grow; a batch going backwards is corruption.
                break;
            }
            active.seg.note_batch(pos as u64, &h, index_interval, &mut active.bytes_since_index);
            active.seg.size = (pos + h.size) as u64;
            headers.push((pos as u64, h));
        }
        let valid = active.seg.size;
        let truncated = data.len() as u64 - valid;
        if truncated > 0 {
            active.seg.file.set_len(valid)?;
            active.seg.file.sync_all()?;
        }
        if let Ok(meta) = std::fs::metadata(&path) {
            if let Ok(m) = meta.modified() {
                if let Ok(d) = m.duration_since(std::time::UNIX_EPOCH) {
                    active.seg.created_ms = d.as_millis() as i64;
                }
            }
        }
        Ok((active, headers, truncated))
    }

    /// Appends one batch whose header is already patched. Does not fsync; see
    /// `flush` and the fsync policy in docs/ARCHITECTURE.md.
    pub fn append(&mut self, h: &BatchHeader, bytes: &[u8]) -> std::io::Result<()> {
        let pos = self.seg.size;
        self.seg.file.write_all_at(bytes, pos)?;
        if self.seg.is_empty() {
            self.seg.created_ms = self.seg.created_ms.max(0);
        }
        self.seg.size += bytes.len() as u64;
        self.seg.note_batch(pos, h, self.index_interval, &mut self.bytes_since_index);
        self.unflushed_messages += h.records_count.max(1) as i64;
        Ok(())
    }

    pub fn unflushed_messages(&self) -> i64 {
        self.unflushed_messages
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        if self.unflushed_messages > 0 {
            self.seg.file.sync_data()?;
            self.unflushed_messages = 0;
        }
        Ok(())
    }

    /// Seals the segment: fsyncs data and writes its index files.
    pub fn seal(mut self) -> std::io::Result<SealedSegment> {
        self.flush()?;
        self.seg.file.sync_all()?;
        self.seg.write_indexes()?;
        Ok(SealedSegment(self.seg))
    }
}

impl SealedSegment {
    /// Opens a sealed segment; loads its index files or rebuilds them from the log.
    pub fn open(dir: &Path, base_offset: i64, index_interval: u64) -> std::io::Result<(SealedSegment, Vec<(u64, BatchHeader)>)> {
        let path = file_name(dir, base_offset, "log");
        let file = OpenOptions::new().read(true).open(&path)?;
        let size = file.metadata()?.len();
        let mut seg = Segment::empty(dir, base_offset, file, 0);
        seg.size = size;
        let headers = seg.headers()?;
        let loaded = seg.load_indexes();
        if !loaded {
            let mut since = 0;
            for (pos, h) in &headers {
                seg.note_batch(*pos, h, index_interval, &mut since);
            }
            seg.write_indexes()?;
        }
        seg.next_offset = headers.last().map_or(base_offset, |(_, h)| h.next_offset());
        seg.max_timestamp = headers.iter().map(|(_, h)| h.max_timestamp).max().unwrap_or(-1);
        if let Ok(m) = std::fs::metadata(&path).and_then(|m| m.modified()) {
            seg.created_ms = m.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        }
        Ok((SealedSegment(seg), headers))
    }
}
