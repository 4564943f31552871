//! The leader's assignment of connectors and tasks to workers, incremental
//! and cooperative like Kafka Connect's: members keep what they run; new
//! items go to the least loaded members; items of a worker that left are
//! held back for `scheduled.rebalance.max.delay.ms` (it may come back)
//! before they are reassigned; an unbalanced member gives items up
//! (revocation) and they are reassigned in the follow-up rebalance.
//! Pure: the clock comes in as an argument.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::protocol::{Items, MemberState};

/// What the leader remembers between rebalances.
#[derive(Debug, Default)]
pub struct Memory {
    /// item → member that owned it after the last assignment
    connectors: BTreeMap<String, String>,
    tasks: BTreeMap<(String, usize), String>,
    deadline: Option<Instant>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct MemberResult {
    pub assigned: Items,
    pub revoked: Items,
    pub delay: Duration,
}

/// Computes each member's (incremental) assignment.
pub fn assign(
    all: &Items,
    members: &[(String, MemberState)],
    memory: &mut Memory,
    now: Instant,
    max_delay: Duration,
) -> BTreeMap<String, MemberResult> {
    let mut out: BTreeMap<String, MemberResult> = members
        .iter()
        .map(|(id, _)| (id.clone(), MemberResult::default()))
        .collect();
    // 1. What each member keeps: its allocation, minus deleted or doubly claimed items.
    let mut owned: BTreeMap<String, Items> = BTreeMap::new();
    let mut claimed = Items::default();
    for (id, m) in members {
        let keep = m.allocation.minus(&claimed);
        let keep = Items {
            connectors: keep
                .connectors
                .intersection(&all.connectors)
                .cloned()
                .collect(),
            tasks: keep.tasks.intersection(&all.tasks).cloned().collect(),
        };
        let revoke = m.allocation.minus(&keep);
        if let Some(r) = out.get_mut(id) {
            r.revoked = revoke;
        }
        claimed = claimed.union(&keep);
        owned.insert(id.clone(), keep);
    }
    let unowned = all.minus(&claimed);
    // 2. Items of members that are gone wait for the delay.
    let present: Vec<&String> = members.iter().map(|(id, _)| id).collect();
    let lost = Items {
        connectors: unowned
            .connectors
            .iter()
            .filter(|c| {
                memory
                    .connectors
                    .get(*c)
                    .is_some_and(|m| !present.contains(&m))
            })
            .cloned()
            .collect(),
        tasks: unowned
            .tasks
            .iter()
            .filter(|t| memory.tasks.get(*t).is_some_and(|m| !present.contains(&m)))
            .cloned()
            .collect(),
    };
    let mut held = Items::default();
    let mut delay = Duration::ZERO;
    if !lost.is_empty() && !max_delay.is_zero() {
        let deadline = *memory.deadline.get_or_insert(now + max_delay);
        if now < deadline {
            held = lost.clone();
            delay = deadline - now;
        } else {
            memory.deadline = None;
        }
    } else if lost.is_empty() {
        memory.deadline = None;
    }
    let to_assign = unowned.minus(&held);
    // 3. New items to the least loaded members.
    let mut counts: Vec<(String, usize)> = members
        .iter()
        .map(|(id, _)| (id.clone(), owned[id].len()))
        .collect();
    let give = |item_conn: Option<String>,
                item_task: Option<(String, usize)>,
                counts: &mut Vec<(String, usize)>,
                out: &mut BTreeMap<String, MemberResult>| {
        let Some(idx) = counts
            .iter()
            .enumerate()
            .min_by_key(|(i, (_, n))| (*n, *i))
            .map(|(i, _)| i)
        else {
            return;
        };
        counts[idx].1 += 1;
        let id = counts[idx].0.clone();
        if let Some(r) = out.get_mut(&id) {
            if let Some(c) = item_conn {
                r.assigned.connectors.insert(c);
            }
            if let Some(t) = item_task {
                r.assigned.tasks.insert(t);
            }
        }
    };
    for c in &to_assign.connectors {
        give(Some(c.clone()), None, &mut counts, &mut out);
    }
    for t in &to_assign.tasks {
        give(None, Some(t.clone()), &mut counts, &mut out);
    }
    // 4. Revoke from overloaded members when someone is under-loaded.
    if held.is_empty() && !members.is_empty() {
        let total: usize = counts.iter().map(|(_, n)| n).sum();
        let ceil = total.div_ceil(members.len());
        let floor = total / members.len();
        let under = counts.iter().any(|(_, n)| *n < floor);
        if under {
            for (id, n) in counts.iter_mut() {
                while *n > ceil {
                    let mine = owned.get_mut(id.as_str());
                    let Some(mine) = mine else { break };
                    // Give up tasks first (the last ones), connectors after.
                    if let Some(t) = mine.tasks.iter().next_back().cloned() {
                        mine.tasks.remove(&t);
                        if let Some(r) = out.get_mut(id.as_str()) {
                            r.revoked.tasks.insert(t);
                        }
                    } else if let Some(c) = mine.connectors.iter().next_back().cloned() {
                        mine.connectors.remove(&c);
                        if let Some(r) = out.get_mut(id.as_str()) {
                            r.revoked.connectors.insert(c);
                        }
                    } else {
                        break;
                    }
                    *n -= 1;
                }
            }
        }
    }
    // 5. Remember who owns what (held items keep their departed owner).
    let mut next_c = BTreeMap::new();
    let mut next_t = BTreeMap::new();
    for (id, items) in &owned {
        for c in &items.connectors {
            next_c.insert(c.clone(), id.clone());
        }
        for t in &items.tasks {
            next_t.insert(t.clone(), id.clone());
        }
    }
    for (id, r) in &out {
        for c in &r.assigned.connectors {
            next_c.insert(c.clone(), id.clone());
        }
        for t in &r.assigned.tasks {
            next_t.insert(t.clone(), id.clone());
        }
    }
    for c in &held.connectors {
        if let Some(m) = memory.connectors.get(c) {
            next_c.insert(c.clone(), m.clone());
        }
    }
    for t in &held.tasks {
        if let Some(m) = memory.tasks.get(t) {
            next_t.insert(t.clone(), m.clone());
        }
    }
    memory.connectors = next_c;
    memory.tasks = next_t;
    for r in out.values_mut() {
        r.delay = delay;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(conns: &[&str], tasks: &[(&str, usize)]) -> Items {
        Items {
            connectors: conns.iter().map(|s| s.to_string()).collect(),
            tasks: tasks.iter().map(|(c, t)| (c.to_string(), *t)).collect(),
        }
    }
    fn member(alloc: Items) -> MemberState {
        MemberState {
            url: String::new(),
            config_offset: 0,
            allocation: alloc,
        }
    }

    #[test]
    fn spreads_new_items_and_keeps_old_ones() {
        let all = items(&["a"], &[("a", 0), ("a", 1), ("a", 2)]);
        let mut mem = Memory::default();
        let now = Instant::now();
        let r = assign(
            &all,
            &[
                ("m1".into(), member(Items::default())),
                ("m2".into(), member(Items::default())),
            ],
            &mut mem,
            now,
            Duration::from_secs(5),
        );
        assert_eq!(r["m1"].assigned.len() + r["m2"].assigned.len(), 4);
        assert_eq!(r["m1"].assigned.len(), 2);
        // m2 dies: its items wait for the delay, then go to m1
        let m1_alloc = r["m1"].assigned.clone();
        let r2 = assign(
            &all,
            &[("m1".into(), member(m1_alloc.clone()))],
            &mut mem,
            now,
            Duration::from_secs(5),
        );
        assert!(r2["m1"].assigned.is_empty());
        assert_eq!(r2["m1"].delay, Duration::from_secs(5));
        let r3 = assign(
            &all,
            &[("m1".into(), member(m1_alloc.clone()))],
            &mut mem,
            now + Duration::from_secs(6),
            Duration::from_secs(5),
        );
        assert_eq!(r3["m1"].assigned.len(), 2);
        assert_eq!(r3["m1"].delay, Duration::ZERO);
    }

    #[test]
    fn revokes_to_rebalance_and_drops_deleted_items() {
        let all = items(&["a"], &[("a", 0), ("a", 1), ("a", 2)]);
        let mut mem = Memory::default();
        let now = Instant::now();
        let r = assign(
            &all,
            &[
                ("m1".into(), member(all.clone())),
                ("m2".into(), member(Items::default())),
            ],
            &mut mem,
            now,
            Duration::ZERO,
        );
        assert_eq!(r["m1"].revoked.len(), 2);
        let fewer = items(&["a"], &[("a", 0)]);
        let r = assign(
            &fewer,
            &[("m1".into(), member(all.clone()))],
            &mut mem,
            now,
            Duration::ZERO,
        );
        assert_eq!(r["m1"].revoked, items(&[], &[("a", 1), ("a", 2)]));
    }
}
