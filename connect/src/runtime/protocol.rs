//! Kafka Connect's group-protocol bytes for incremental cooperative
//! rebalancing (protocol "compatible", version 1): the JoinGroup metadata
//! (url, config offset, current allocation) and the SyncGroup assignment
//! (leader, leader url, config offset, assigned and revoked connectors/tasks,
//! scheduled delay). A connector instance is task id -1, as in Kafka.
//! Pure encode/decode; no I/O.

use std::collections::BTreeSet;

use bytes::{Buf, BufMut, Bytes, BytesMut};

pub const PROTOCOL_TYPE: &str = "connect";
pub const PROTOCOL_NAME: &str = "compatible";
const VERSION: i16 = 1;
const CONNECTOR_TASK: i32 = -1;

/// A set of connectors and tasks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Items {
    pub connectors: BTreeSet<String>,
    pub tasks: BTreeSet<(String, usize)>,
}

impl Items {
    pub fn is_empty(&self) -> bool {
        self.connectors.is_empty() && self.tasks.is_empty()
    }
    pub fn len(&self) -> usize {
        self.connectors.len() + self.tasks.len()
    }
    pub fn union(&self, other: &Items) -> Items {
        Items {
            connectors: self.connectors.union(&other.connectors).cloned().collect(),
            tasks: self.tasks.union(&other.tasks).cloned().collect(),
        }
    }
    pub fn minus(&self, other: &Items) -> Items {
        Items {
            connectors: self
                .connectors
                .difference(&other.connectors)
                .cloned()
                .collect(),
            tasks: self.tasks.difference(&other.tasks).cloned().collect(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assignment {
    pub error: i16,
    pub leader: String,
    pub leader_url: String,
    pub config_offset: i64,
    pub assigned: Items,
    pub revoked: Items,
    pub delay_ms: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberState {
    pub url: String,
    pub config_offset: i64,
    pub allocation: Items,
}

fn put_str(b: &mut BytesMut, s: &str) {
    b.put_i16(s.len().min(i16::MAX as usize) as i16);
    b.put_slice(&s.as_bytes()[..s.len().min(i16::MAX as usize)]);
}

fn get_str(b: &mut Bytes) -> Result<String, String> {
    if b.remaining() < 2 {
        return Err("truncated string".into());
    }
    let n = b.get_i16();
    if n < 0 {
        return Ok(String::new());
    }
    let n = n as usize;
    if b.remaining() < n {
        return Err("truncated string".into());
    }
    let s = b.split_to(n);
    String::from_utf8(s.to_vec()).map_err(|e| e.to_string())
}

fn put_items(b: &mut BytesMut, items: &Items) {
    // connector → task ids (-1 for the connector itself)
    let mut by: std::collections::BTreeMap<&str, Vec<i32>> = Default::default();
    for c in &items.connectors {
        by.entry(c).or_default().push(CONNECTOR_TASK);
    }
    for (c, t) in &items.tasks {
        by.entry(c).or_default().push(*t as i32);
    }
    b.put_i32(by.len() as i32);
    for (c, ids) in by {
        put_str(b, c);
        b.put_i32(ids.len() as i32);
        for id in ids {
            b.put_i32(id);
        }
    }
}

fn get_items(b: &mut Bytes) -> Result<Items, String> {
    let mut out = Items::default();
    if b.remaining() < 4 {
        return Err("truncated array".into());
    }
    let n = b.get_i32();
    if n < 0 {
        return Ok(out);
    }
    for _ in 0..n {
        let c = get_str(b)?;
        if b.remaining() < 4 {
            return Err("truncated array".into());
        }
        let m = b.get_i32();
        if m < 0 || b.remaining() < m as usize * 4 {
            return Err("truncated task list".into());
        }
        for _ in 0..m {
            let id = b.get_i32();
            if id == CONNECTOR_TASK {
                out.connectors.insert(c.clone());
            } else if id >= 0 {
                out.tasks.insert((c.clone(), id as usize));
            }
        }
    }
    Ok(out)
}

pub fn encode_assignment(a: &Assignment) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(VERSION);
    b.put_i16(a.error);
    put_str(&mut b, &a.leader);
    put_str(&mut b, &a.leader_url);
    b.put_i64(a.config_offset);
    put_items(&mut b, &a.assigned);
    put_items(&mut b, &a.revoked);
    b.put_i32(a.delay_ms);
    b.freeze()
}

pub fn decode_assignment(bytes: &[u8]) -> Result<Assignment, String> {
    let mut b = Bytes::copy_from_slice(bytes);
    if b.remaining() < 4 {
        return Err("assignment too short".into());
    }
    let _version = b.get_i16();
    let error = b.get_i16();
    let leader = get_str(&mut b)?;
    let leader_url = get_str(&mut b)?;
    if b.remaining() < 8 {
        return Err("truncated assignment".into());
    }
    let config_offset = b.get_i64();
    let assigned = get_items(&mut b)?;
    let revoked = get_items(&mut b)?;
    let delay_ms = if b.remaining() >= 4 { b.get_i32() } else { 0 };
    Ok(Assignment {
        error,
        leader,
        leader_url,
        config_offset,
        assigned,
        revoked,
        delay_ms,
    })
}

pub fn encode_metadata(m: &MemberState) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(VERSION);
    put_str(&mut b, &m.url);
    b.put_i64(m.config_offset);
    if m.allocation.is_empty() {
        b.put_i32(-1);
    } else {
        let alloc = encode_assignment(&Assignment {
            assigned: m.allocation.clone(),
            ..Default::default()
        });
        b.put_i32(alloc.len() as i32);
        b.put_slice(&alloc);
    }
    b.freeze()
}

pub fn decode_metadata(bytes: &[u8]) -> Result<MemberState, String> {
    let mut b = Bytes::copy_from_slice(bytes);
    if b.remaining() < 2 {
        return Err("metadata too short".into());
    }
    let _version = b.get_i16();
    let url = get_str(&mut b)?;
    if b.remaining() < 12 {
        return Err("truncated metadata".into());
    }
    let config_offset = b.get_i64();
    let n = b.get_i32();
    let allocation = if n <= 0 {
        Items::default()
    } else {
        if b.remaining() < n as usize {
            return Err("truncated allocation".into());
        }
        decode_assignment(&b.split_to(n as usize))?.assigned
    };
    Ok(MemberState {
        url,
        config_offset,
        allocation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut items = Items::default();
        items.connectors.insert("a".into());
        items.tasks.insert(("a".into(), 0));
        items.tasks.insert(("b".into(), 2));
        let a = Assignment {
            error: 0,
            leader: "m1".into(),
            leader_url: "http://h:8083".into(),
            config_offset: 42,
            assigned: items.clone(),
            revoked: Items::default(),
            delay_ms: 5,
        };
        assert_eq!(decode_assignment(&encode_assignment(&a)).unwrap(), a);
        let m = MemberState {
            url: "http://h:1".into(),
            config_offset: 7,
            allocation: items,
        };
        assert_eq!(decode_metadata(&encode_metadata(&m)).unwrap(), m);
        assert!(decode_assignment(&[0, 1]).is_err());
        assert!(decode_metadata(&[0, 1, 0, 200]).is_err());
    }
}
