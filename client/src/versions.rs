//! API version negotiation, pure: what we speak, what the broker advertises,
//! and the version each request is sent with (the highest both understand).
//!
//! Our upper bounds stop before versions whose request shapes this client
//! does not fill in: Produce 13 and Fetch 13+ address topics by id only, and
//! ListOffsets 10 adds a timeout we have no use for.

use std::collections::HashMap;

use kafka_protocol::messages::ApiKey;

/// (API, min, max) this client can encode and decode correctly.
pub const OURS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 12),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 9),
    (ApiKey::Metadata, 1, 12),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::FindCoordinator, 0, 6),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 9),
];

/// The version we send for each API a broker supports; APIs with no
/// overlapping version are absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiVersionMap {
    chosen: HashMap<i16, i16>,
    /// What the broker advertised, for error messages.
    advertised: HashMap<i16, (i16, i16)>,
}

impl ApiVersionMap {
    /// Negotiates from the broker's advertised (api key, min, max) list:
    /// min(our max, their max) when the ranges overlap.
    pub fn negotiate(ours: &[(ApiKey, i16, i16)], theirs: &[(i16, i16, i16)]) -> ApiVersionMap {
        let advertised: HashMap<i16, (i16, i16)> =
            theirs.iter().map(|(k, lo, hi)| (*k, (*lo, *hi))).collect();
        let mut chosen = HashMap::new();
        for (api, our_lo, our_hi) in ours {
            if let Some((their_lo, their_hi)) = advertised.get(&(*api as i16)) {
                let hi = (*our_hi).min(*their_hi);
                let lo = (*our_lo).max(*their_lo);
                if lo <= hi {
                    chosen.insert(*api as i16, hi);
                }
            }
        }
        ApiVersionMap { chosen, advertised }
    }

    /// The version to use for `api`, or `None` if there is no common version.
    pub fn get(&self, api: ApiKey) -> Option<i16> {
        self.chosen.get(&(api as i16)).copied()
    }

    /// What the broker advertised for `api`, if anything.
    pub fn advertised(&self, api: ApiKey) -> Option<(i16, i16)> {
        self.advertised.get(&(api as i16)).copied()
    }

    /// Whether the broker supports `api` in a version we speak.
    pub fn supports(&self, api: ApiKey) -> bool {
        self.get(api).is_some()
    }
}

/// Our supported range for `api`.
pub fn our_range(api: ApiKey) -> Option<(i16, i16)> {
    OURS.iter()
        .find(|(k, _, _)| *k == api)
        .map(|(_, lo, hi)| (*lo, *hi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_lower_of_the_two_maxima() {
        let m = ApiVersionMap::negotiate(
            OURS,
            &[
                (ApiKey::Fetch as i16, 4, 17),
                (ApiKey::Metadata as i16, 0, 9),
            ],
        );
        assert_eq!(m.get(ApiKey::Fetch), Some(12));
        assert_eq!(m.get(ApiKey::Metadata), Some(9));
    }

    #[test]
    fn absent_or_disjoint_apis_are_unsupported() {
        // JoinGroup not advertised; Produce only in versions we do not speak.
        let m = ApiVersionMap::negotiate(OURS, &[(ApiKey::Produce as i16, 13, 13)]);
        assert_eq!(m.get(ApiKey::JoinGroup), None);
        assert_eq!(m.get(ApiKey::Produce), None);
        assert!(!m.supports(ApiKey::Produce));
        assert_eq!(m.advertised(ApiKey::Produce), Some((13, 13)));
    }

    #[test]
    fn broker_minimum_above_ours_still_overlaps() {
        let m = ApiVersionMap::negotiate(OURS, &[(ApiKey::OffsetCommit as i16, 8, 10)]);
        assert_eq!(m.get(ApiKey::OffsetCommit), Some(9));
    }

    #[test]
    fn every_api_has_a_range() {
        for (api, lo, hi) in OURS {
            assert!(lo <= hi, "{api:?}");
            assert_eq!(our_range(*api), Some((*lo, *hi)));
        }
    }
}
