//! Write versions of keys, kept in memory by the process. A transaction counts what it
//! writes as in flight when it queues its writes (in its turn), and its group's committer
//! bumps the versions, and only then stops counting them, once the group has committed. A
//! read made before taking the turn is still current when the versions it saw are unchanged
//! and nothing of it is in flight (every write of the database's versioned rows goes
//! through this process's committer). Keys share 65,536 striped slots; a collision only
//! costs a read.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

const VERSION_SLOTS: usize = 1 << 16;

/// What a version is kept for, as its slot: made from any hashable key (the caller's
/// names for what it writes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VersionKey(usize);

impl VersionKey {
    pub(crate) fn of(key: &impl std::hash::Hash) -> VersionKey {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let h = BuildHasherDefault::<DefaultHasher>::default().hash_one(key);
        VersionKey((h as usize) % VERSION_SLOTS)
    }
}

#[derive(Debug)]
pub(super) struct WriteVersions {
    slots: Vec<AtomicU64>,
    in_flight: Vec<AtomicU32>,
}

impl Default for WriteVersions {
    fn default() -> WriteVersions {
        WriteVersions {
            slots: (0..VERSION_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            in_flight: (0..VERSION_SLOTS).map(|_| AtomicU32::new(0)).collect(),
        }
    }
}

impl WriteVersions {
    pub(super) fn get(&self, key: VersionKey) -> u64 {
        self.slots[key.0].load(Ordering::Acquire)
    }

    /// The version, when no write of the key is in flight.
    pub(super) fn settled(&self, key: VersionKey) -> Option<u64> {
        use Ordering::Acquire;
        // In flight first: a commit bumps the version before it stops counting as in flight.
        (self.in_flight[key.0].load(Acquire) == 0).then(|| self.slots[key.0].load(Acquire))
    }

    /// A write of `key` is queued (in its turn, before the turn is given up).
    pub(super) fn queued(&self, key: VersionKey) {
        self.in_flight[key.0].fetch_add(1, Ordering::AcqRel);
    }

    /// A queued write of `key` has committed (or failed): a new version, no longer in flight.
    pub(super) fn done(&self, key: VersionKey) {
        self.slots[key.0].fetch_add(1, Ordering::AcqRel);
        self.in_flight[key.0].fetch_sub(1, Ordering::AcqRel);
    }
}
