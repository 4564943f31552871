//! Server-side assignors for KIP-848 groups: `uniform` (balanced and sticky)
//! and `range` (contiguous ranges per topic), as Apache Kafka names them.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use super::consumer::Assignment;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignor {
    Uniform,
    Range,
}

impl Assignor {
    pub fn parse(name: &str) -> Option<Assignor> {
        match name {
            "uniform" => Some(Assignor::Uniform),
            "range" => Some(Assignor::Range),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Uniform => "uniform",
            Assignor::Range => "range",
        }
    }
}

/// Computes every member's target. `subs`: member -> subscribed topic names;
/// `topics`: name -> (id, partitions); `current`: previous targets (for stickiness).
pub fn assign(
    which: Assignor,
    subs: &BTreeMap<String, Vec<String>>,
    topics: &BTreeMap<String, (Uuid, i32)>,
    current: &BTreeMap<String, Assignment>,
) -> BTreeMap<String, Assignment> {
    match which {
        Assignor::Range => range(subs, topics),
        Assignor::Uniform => uniform(subs, topics, current),
    }
}

fn range(subs: &BTreeMap<String, Vec<String>>, topics: &BTreeMap<String, (Uuid, i32)>) -> BTreeMap<String, Assignment> {
    let mut out: BTreeMap<String, Assignment> = subs.keys().map(|m| (m.clone(), Assignment::new())).collect();
    for (name, (id, n)) in topics {
        let members: Vec<&String> = subs.iter().filter(|(_, s)| s.contains(name)).map(|(m, _)| m).collect();
        if members.is_empty() {
            continue;
        }
        let per = *n as usize / members.len();
        let extra = *n as usize % members.len();
        let mut next = 0i32;
        for (i, m) in members.iter().enumerate() {
            let take = per + usize::from(i < extra);
            let set: BTreeSet<i32> = (next..next + take as i32).collect();
            next += take as i32;
            if !set.is_empty() {
                out.get_mut(*m).expect("member").insert(*id, set);
            }
        }
    }
    out
}

fn uniform(
    subs: &BTreeMap<String, Vec<String>>,
    topics: &BTreeMap<String, (Uuid, i32)>,
    current: &BTreeMap<String, Assignment>,
) -> BTreeMap<String, Assignment> {
    let mut out: BTreeMap<String, Assignment> = subs.keys().map(|m| (m.clone(), Assignment::new())).collect();
    let mut load: BTreeMap<String, usize> = subs.keys().map(|m| (m.clone(), 0)).collect();
    let all: Vec<(String, Uuid, i32)> = topics
        .iter()
        .flat_map(|(name, (id, n))| (0..*n).map(move |p| (name.clone(), *id, p)))
        .collect();
    let eligible = |name: &str| -> Vec<&String> { subs.iter().filter(|(_, s)| s.iter().any(|t| t == name)).map(|(m, _)| m).collect() };
    let total_members = subs.len().max(1);
    let quota = all.len().div_ceil(total_members);
    let mut unassigned = Vec::new();
    // Keep current owners while they stay within quota (stickiness).
    for (name, id, p) in &all {
        let owner = current
            .iter()
            .find(|(m, a)| a.get(id).is_some_and(|s| s.contains(p)) && eligible(name).contains(m))
            .map(|(m, _)| m.clone());
        match owner {
            Some(m) if load[&m] < quota => {
                out.get_mut(&m).expect("member").entry(*id).or_default().insert(*p);
                *load.get_mut(&m).expect("member") += 1;
            }
            _ => unassigned.push((name.clone(), *id, *p)),
        }
    }
    for (name, id, p) in unassigned {
        if let Some(m) = eligible(&name).into_iter().min_by_key(|m| (load[*m], (*m).clone())) {
            let m = m.clone();
            out.get_mut(&m).expect("member").entry(id).or_default().insert(p);
            *load.get_mut(&m).expect("member") += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(members: &[&str], parts: i32) -> (BTreeMap<String, Vec<String>>, BTreeMap<String, (Uuid, i32)>) {
        let subs = members.iter().map(|m| (m.to_string(), vec!["t".to_string()])).collect();
        let topics = [("t".to_string(), (Uuid::from_u128(1), parts))].into_iter().collect();
        (subs, topics)
    }

    fn sizes(a: &BTreeMap<String, Assignment>) -> Vec<usize> {
        a.values().map(|x| x.values().map(BTreeSet::len).sum()).collect()
    }

    #[test]
    fn range_gives_contiguous_ranges() {
        let (s, t) = setup(&["a", "b", "c"], 7);
        let r = assign(Assignor::Range, &s, &t, &BTreeMap::new());
        assert_eq!(sizes(&r), vec![3, 2, 2]);
        assert_eq!(r["a"][&Uuid::from_u128(1)], [0, 1, 2].into_iter().collect());
    }

    #[test]
    fn uniform_is_balanced_and_sticky() {
        let (s, t) = setup(&["a", "b"], 6);
        let first = assign(Assignor::Uniform, &s, &t, &BTreeMap::new());
        assert_eq!(sizes(&first), vec![3, 3]);
        let (s3, _) = setup(&["a", "b", "c"], 6);
        let second = assign(Assignor::Uniform, &s3, &t, &first);
        assert_eq!(sizes(&second), vec![2, 2, 2]);
        let id = Uuid::from_u128(1);
        for m in ["a", "b"] {
            assert!(second[m][&id].is_subset(&first[m][&id]), "{m} keeps partitions it had");
        }
    }
}
