//! Where settlements meet state: the duplicate check, the accumulators a claim is computed
//! against, and recording or reversing a settlement. One function settles for every caller;
//! only the store differs (in memory for batch and simulation, a database for the gateway).

use crate::claim::{shown, validate, ClaimDraft, RejectCode, Rejection};
use crate::engine::{compute, Settlement, YearAccumulators};
use crate::policy::Policy;
use crate::refdata::RefData;
use rustc_hash::FxHashMap;

/// What a settled, not reversed claim added, so that a reversal can take exactly that back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettledEntry {
    pub person: u32,
    pub year: u16,
    pub delta: YearAccumulators,
}

/// State a settlement reads and writes.
pub trait LedgerStore {
    /// Whether `claim_id` is currently settled (settled and not reversed).
    fn is_settled(&mut self, claim_id: &str) -> bool;
    /// The person's accumulators for the year (zero when none yet).
    fn accumulators(&mut self, person: u32, year: u16) -> YearAccumulators;
    /// Adds the entry's delta to the person's accumulators and marks `claim_id` settled.
    fn record_settlement(&mut self, claim_id: &str, entry: SettledEntry);
    /// Subtracts a settled claim's delta and forgets it; `None` when it is not settled.
    fn remove_settlement(&mut self, claim_id: &str) -> Option<SettledEntry>;
}

/// Settles one record: `DUPLICATE_CLAIM` first, then [`validate`], then [`compute`] against the
/// person's accumulators, then records it. A rejection changes nothing.
pub fn settle<S: LedgerStore + ?Sized>(
    policy: &Policy,
    refdata: &RefData,
    store: &mut S,
    draft: &ClaimDraft<'_>,
    explain: bool,
) -> Result<Settlement, Rejection> {
    if store.is_settled(draft.claim_id) {
        return Err(Rejection::new(
            RejectCode::DuplicateClaim,
            format!(
                "结算单号 claim_id={} 已结算，不能重复结算",
                shown(draft.claim_id)
            ),
        ));
    }
    let claim = validate(policy, refdata, draft)?;
    let acc = store.accumulators(claim.person, claim.year());
    let settlement = compute(policy, refdata, &claim, &acc, explain);
    store.record_settlement(
        draft.claim_id,
        SettledEntry {
            person: claim.person,
            year: settlement.year,
            delta: settlement.delta,
        },
    );
    Ok(settlement)
}

/// Reverses the settled claim `target` (结算撤销): gives back everything it added.
pub fn reverse<S: LedgerStore + ?Sized>(
    store: &mut S,
    target: &str,
) -> Result<SettledEntry, Rejection> {
    store.remove_settlement(target).ok_or_else(|| {
        Rejection::new(
            RejectCode::UnknownClaim,
            format!("要撤销的结算单 target={} 不存在或已撤销", shown(target)),
        )
    })
}

/// The in-memory store: accumulators per person-year and the settled claims.
#[derive(Default, Debug, Clone)]
pub struct MemLedger {
    accumulators: FxHashMap<(u32, u16), YearAccumulators>,
    settled: FxHashMap<Box<str>, SettledEntry>,
}

impl MemLedger {
    pub fn new() -> MemLedger {
        MemLedger::default()
    }

    /// Every person-year with accumulators, for checks and reports.
    pub fn all_accumulators(&self) -> impl Iterator<Item = (&(u32, u16), &YearAccumulators)> {
        self.accumulators.iter()
    }

    pub fn settled_count(&self) -> usize {
        self.settled.len()
    }

    pub fn person_years(&self) -> usize {
        self.accumulators.len()
    }
}

impl MemLedger {
    /// Adds `delta` to one person-year (low-level: for stores that shard a ledger).
    pub fn add_accumulators(&mut self, person: u32, year: u16, delta: &YearAccumulators) {
        // A zero change leaves no entry behind: absent and all-zero mean the same.
        if delta.is_zero() {
            return;
        }
        self.accumulators
            .entry((person, year))
            .or_default()
            .add(delta);
    }

    /// Subtracts `delta` from one person-year, dropping it when it returns to zero.
    pub fn subtract_accumulators(&mut self, person: u32, year: u16, delta: &YearAccumulators) {
        let key = (person, year);
        if let Some(acc) = self.accumulators.get_mut(&key) {
            acc.subtract(delta);
            if acc.is_zero() {
                self.accumulators.remove(&key);
            }
        }
    }

    pub fn insert_settled(&mut self, claim_id: &str, entry: SettledEntry) {
        self.settled.insert(claim_id.into(), entry);
    }

    pub fn settled_entry(&self, claim_id: &str) -> Option<&SettledEntry> {
        self.settled.get(claim_id)
    }

    pub fn take_settled(&mut self, claim_id: &str) -> Option<SettledEntry> {
        self.settled.remove(claim_id)
    }
}

impl LedgerStore for MemLedger {
    fn is_settled(&mut self, claim_id: &str) -> bool {
        self.settled.contains_key(claim_id)
    }

    fn accumulators(&mut self, person: u32, year: u16) -> YearAccumulators {
        self.accumulators
            .get(&(person, year))
            .copied()
            .unwrap_or_default()
    }

    fn record_settlement(&mut self, claim_id: &str, entry: SettledEntry) {
        self.add_accumulators(entry.person, entry.year, &entry.delta);
        self.insert_settled(claim_id, entry);
    }

    fn remove_settlement(&mut self, claim_id: &str) -> Option<SettledEntry> {
        let entry = self.take_settled(claim_id)?;
        self.subtract_accumulators(entry.person, entry.year, &entry.delta);
        Some(entry)
    }
}
