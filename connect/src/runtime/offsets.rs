//! Source offsets: `partition map → offset map` per connector. Keys are the
//! JSON Kafka Connect writes (`["<connector>",{partition}]`), values the JSON
//! offset map. Standalone keeps them in `offset.storage.file.filename`
//! (a JSON document, written to a temp file and renamed); distributed keeps
//! them in the offsets topic (see `distributed.rs`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::{json, Value as Json};

use crate::connectors::{BoxFuture, OffsetReader};

/// The record key Kafka Connect uses for a source partition.
pub fn offset_key(connector: &str, partition: &Json) -> String {
    json!([connector, partition]).to_string()
}

/// Parses an offsets-topic key back into `(connector, partition)`.
pub fn parse_offset_key(key: &[u8]) -> Option<(String, Json)> {
    let v: Json = serde_json::from_slice(key).ok()?;
    let arr = v.as_array()?;
    if arr.len() != 2 {
        return None;
    }
    Some((arr[0].as_str()?.to_string(), arr[1].clone()))
}

pub trait OffsetStore: Send + Sync {
    /// Every `(partition, offset)` known for `connector`.
    fn snapshot(&self, connector: &str) -> Vec<(Json, Json)>;
    /// Writes offsets; `None` removes a partition's offset.
    fn put<'a>(
        &'a self,
        connector: &'a str,
        entries: Vec<(Json, Option<Json>)>,
    ) -> BoxFuture<'a, Result<(), String>>;
    /// Brings the local view up to date (distributed mode reads the topic to its end).
    fn refresh(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// A snapshot of one connector's offsets, handed to a starting task.
pub struct SnapshotReader(pub Vec<(Json, Json)>);

impl OffsetReader for SnapshotReader {
    fn offset(&self, partition: &Json) -> Option<Json> {
        self.0
            .iter()
            .find(|(p, _)| p == partition)
            .map(|(_, o)| o.clone())
    }
}

/// An in-memory map keyed by the offset key, shared by both stores.
#[derive(Default)]
pub struct OffsetMap {
    entries: Mutex<BTreeMap<String, (String, Json, Json)>>,
}

impl OffsetMap {
    pub fn snapshot(&self, connector: &str) -> Vec<(Json, Json)> {
        self.entries
            .lock()
            .values()
            .filter(|(c, _, _)| c == connector)
            .map(|(_, p, o)| (p.clone(), o.clone()))
            .collect()
    }
    pub fn apply(&self, connector: &str, partition: Json, offset: Option<Json>) {
        let key = offset_key(connector, &partition);
        let mut e = self.entries.lock();
        match offset {
            Some(o) if !o.is_null() => {
                e.insert(key, (connector.to_string(), partition, o));
            }
            _ => {
                e.remove(&key);
            }
        }
    }
    pub fn all(&self) -> Vec<(String, Json, Json)> {
        self.entries.lock().values().cloned().collect()
    }
}

pub struct FileOffsetStore {
    path: PathBuf,
    map: OffsetMap,
    write_lock: tokio::sync::Mutex<()>,
}

impl FileOffsetStore {
    /// Loads the file if it exists; a missing file is an empty store.
    pub fn open(path: PathBuf) -> Result<Arc<FileOffsetStore>, String> {
        let store = FileOffsetStore {
            path: path.clone(),
            map: OffsetMap::default(),
            write_lock: tokio::sync::Mutex::new(()),
        };
        match std::fs::read(&path) {
            Ok(bytes) if !bytes.is_empty() => {
                let doc: Json = serde_json::from_slice(&bytes).map_err(|e| {
                    format!("offsets file {} is not valid JSON: {e}", path.display())
                })?;
                for entry in doc
                    .get("offsets")
                    .and_then(|o| o.as_array())
                    .cloned()
                    .unwrap_or_default()
                {
                    let key = entry.get("key").map(|k| k.to_string()).unwrap_or_default();
                    if let Some((c, p)) = parse_offset_key(key.as_bytes()) {
                        store.map.apply(&c, p, entry.get("value").cloned());
                    }
                }
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot read offsets file {}: {e}", path.display())),
        }
        Ok(Arc::new(store))
    }

    fn write_file(&self) -> Result<(), String> {
        let entries: Vec<Json> = self
            .map
            .all()
            .into_iter()
            .map(|(c, p, o)| json!({ "key": [c, p], "value": o }))
            .collect();
        let doc = json!({ "format": "tributary-connect offsets v1", "offsets": entries });
        let tmp = self.path.with_extension("tmp");
        if let Some(dir) = self.path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
            }
        }
        let mut f = std::fs::File::create(&tmp)
            .map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        f.write_all(doc.to_string().as_bytes())
            .map_err(|e| e.to_string())?;
        // fsync before the rename so a crash leaves the old or the new file, never a torn one.
        f.sync_all().map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &self.path)
            .map_err(|e| format!("cannot replace {}: {e}", self.path.display()))?;
        Ok(())
    }
}

impl OffsetStore for FileOffsetStore {
    fn snapshot(&self, connector: &str) -> Vec<(Json, Json)> {
        self.map.snapshot(connector)
    }

    fn put<'a>(
        &'a self,
        connector: &'a str,
        entries: Vec<(Json, Option<Json>)>,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let _guard = self.write_lock.lock().await;
            for (p, o) in entries {
                self.map.apply(connector, p, o);
            }
            self.write_file()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_store_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offsets.json");
        let s = FileOffsetStore::open(path.clone()).unwrap();
        s.put(
            "c",
            vec![(json!({"filename": "/a"}), Some(json!({"position": 10})))],
        )
        .await
        .unwrap();
        s.put(
            "d",
            vec![(json!({"filename": "/b"}), Some(json!({"position": 3})))],
        )
        .await
        .unwrap();
        s.put("d", vec![(json!({"filename": "/b"}), None)])
            .await
            .unwrap();
        let again = FileOffsetStore::open(path).unwrap();
        assert_eq!(
            again.snapshot("c"),
            vec![(json!({"filename": "/a"}), json!({"position": 10}))]
        );
        assert!(again.snapshot("d").is_empty());
        assert_eq!(
            offset_key("c", &json!({"filename": "/a"})),
            r#"["c",{"filename":"/a"}]"#
        );
    }
}
