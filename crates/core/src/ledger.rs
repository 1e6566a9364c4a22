//! Where settlements meet state: the duplicate check, the accumulators a claim is computed
//! against, and recording or reversing a settlement. One function settles for every caller;
//! only the ledger differs (in memory for the batch, the gateway's database transaction at
//! the counter), and each records the same [`Settlement`] through
//! [`LedgerStore`]. The accumulator arithmetic and the release-build checks
//! ([`crate::checks`]) happen here, once, for all of them.

use crate::books::Paid;
use crate::checks::{self, Violation};
use crate::claim::{shown, validate, ClaimDraft, RejectCode, Rejection};
use crate::engine::{compute, Settlement, Wallets, YearAccumulators};
use crate::funds::Payer;
use crate::money::Fen;
use crate::policy::Policy;
use crate::refdata::{Person, RefData};
use rustc_hash::FxHashMap;
use std::fmt;

/// What a settled, not reversed claim added, so that a reversal can take exactly that back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettledEntry {
    pub person: u32,
    pub year: u16,
    pub delta: YearAccumulators,
    /// 家庭共济: the holder (reference-data index) and what their account paid.
    pub aid: Option<(u32, Fen)>,
    /// The institution (reference-data index) and what each payer paid: what the books
    /// posted, for a reversal's mirror entry ([`crate::books::Books::settlement_entry`]).
    pub institution: u32,
    pub paid: Paid,
}

impl Settlement {
    /// What recording this settlement adds, for its reversal.
    pub fn entry(&self) -> SettledEntry {
        SettledEntry {
            person: self.person,
            year: self.year,
            delta: self.delta,
            aid: self
                .aid
                .as_ref()
                .and_then(|a| Some((a.holder_index?, a.amount))),
            institution: self.institution,
            paid: Paid::of_amounts(&self.amounts),
        }
    }
}

/// Why a settlement or reversal was not recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettleError {
    /// The input is wrong (a rejection code of `interface.md` §2): answered and recorded.
    Refused(Rejection),
    /// An invariant would break: a defect, answered as a system error, nothing recorded.
    Fault(Violation),
}

impl SettleError {
    /// The rejection, when this is one.
    pub fn refusal(&self) -> Option<&Rejection> {
        match self {
            SettleError::Refused(r) => Some(r),
            SettleError::Fault(_) => None,
        }
    }
}

impl From<Rejection> for SettleError {
    fn from(r: Rejection) -> SettleError {
        SettleError::Refused(r)
    }
}

impl From<Violation> for SettleError {
    fn from(v: Violation) -> SettleError {
        SettleError::Fault(v)
    }
}

impl fmt::Display for SettleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettleError::Refused(r) => r.fmt(f),
            SettleError::Fault(v) => v.fmt(f),
        }
    }
}

impl std::error::Error for SettleError {}

/// A ledger: the state a settlement reads, and where it is recorded.
pub trait LedgerStore {
    /// Whether `claim_id` is currently settled (settled and not reversed).
    fn is_settled(&mut self, claim_id: &str) -> bool;
    /// The person's accumulators for the year (zero when none yet).
    fn accumulators(&mut self, person: u32, year: u16) -> YearAccumulators;
    /// The personal account's balance before a visit ending on `on`, given the person-year's
    /// accumulators `acc`. By default the person data's opening balance (1 January) less
    /// this year's payments not reversed; a store that keeps the account's movements
    /// (划入, interest) answers from them.
    fn account_balance(
        &mut self,
        person: &Person,
        _on: crate::date::Date,
        acc: &YearAccumulators,
    ) -> Fen {
        person.scheme.acct_balance - acc.account_paid
    }
    /// The balance of the account of `holder` (a family member under 家庭共济) before a visit
    /// of `year` ending on `on`, with the holder's index where the reference data holds them.
    /// By default from the reference data and the holder's accumulators, as for one's own.
    fn aid_balance(
        &mut self,
        refdata: &RefData,
        holder: &str,
        year: u16,
        on: crate::date::Date,
    ) -> (Option<u32>, Fen) {
        match refdata.person(holder) {
            Some(i) => {
                let acc = self.accumulators(i, year);
                let balance = self.account_balance(&refdata.persons[i as usize], on, &acc);
                (Some(i), balance)
            }
            None => (None, 0),
        }
    }
    /// What the currently settled `claim_id` added; `None` when it is not settled.
    fn settled(&mut self, claim_id: &str) -> Option<SettledEntry>;
    /// Records `s` as `claim_id`'s settlement; the person-year's accumulators become `after`
    /// (the ones read plus `s.delta`). A ledger that keeps books posts the settlement's
    /// entry here; an entry that does not balance is a fault, and nothing is recorded.
    fn record_settlement(
        &mut self,
        claim_id: &str,
        s: &Settlement,
        after: &YearAccumulators,
    ) -> Result<(), Violation>;
    /// Records the reversal of `claim_id` (which had added `entry`); the person-year's
    /// accumulators become `after` (the ones read less `entry.delta`).
    fn record_reversal(
        &mut self,
        claim_id: &str,
        entry: &SettledEntry,
        after: &YearAccumulators,
    ) -> Result<(), Violation>;
}

/// Computes one record without recording it (预结算): `DUPLICATE_CLAIM` first, then
/// [`validate`], then [`compute`] against the person's accumulators, then the checks.
/// Returns the settlement and the accumulators it would leave.
pub fn preview<S: LedgerStore + ?Sized>(
    policy: &Policy,
    refdata: &RefData,
    store: &mut S,
    draft: &ClaimDraft<'_>,
    explain: bool,
) -> Result<(Settlement, YearAccumulators), SettleError> {
    if store.is_settled(draft.claim_id) {
        return Err(Rejection::new(
            RejectCode::DuplicateClaim,
            format!(
                "结算单号 claim_id={} 已结算，不能重复结算",
                shown(draft.claim_id)
            ),
        )
        .into());
    }
    let claim = validate(policy, refdata, draft)?;
    let mut after = store.accumulators(claim.person, claim.year());
    let wallets = wallets(policy, refdata, store, &claim, &after);
    let settlement = compute(policy, refdata, &claim, &after, &wallets, explain);
    after.add(&settlement.delta);
    checks::settlement(policy, &settlement, &after)?;
    let aid_balance = wallets.aid.as_ref().map_or(0, |(_, _, b)| *b);
    checks::account(&settlement, wallets.own, aid_balance)?;
    Ok((settlement, after))
}

/// The accounts a visit may draw on: the person's own (where the policy has one) and a
/// family member's (where the policy allows 家庭共济 and a registration is in force).
fn wallets<S: LedgerStore + ?Sized>(
    policy: &Policy,
    refdata: &RefData,
    store: &mut S,
    claim: &crate::claim::Claim<'_>,
    acc: &YearAccumulators,
) -> Wallets {
    let person = &refdata.persons[claim.person as usize];
    let own = match policy.account {
        Some(_) => store.account_balance(person, claim.enddate, acc),
        None => 0,
    };
    let aid = match (&policy.family_aid, person.aid_holder(claim.enddate)) {
        (Some(_), Some(holder)) => {
            let (index, balance) = store.aid_balance(refdata, holder, claim.year(), claim.enddate);
            Some((holder.to_string(), index, balance))
        }
        _ => None,
    };
    Wallets { own, aid }
}

/// Settles one record: [`preview`], then records it. A rejection or a fault changes nothing.
pub fn settle<S: LedgerStore + ?Sized>(
    policy: &Policy,
    refdata: &RefData,
    store: &mut S,
    draft: &ClaimDraft<'_>,
    explain: bool,
) -> Result<Settlement, SettleError> {
    let (settlement, after) = preview(policy, refdata, store, draft, explain)?;
    store.record_settlement(draft.claim_id, &settlement, &after)?;
    Ok(settlement)
}

/// Reverses the settled claim `target` (结算撤销): gives back everything it added.
pub fn reverse<S: LedgerStore + ?Sized>(
    store: &mut S,
    target: &str,
) -> Result<SettledEntry, SettleError> {
    let entry = store.settled(target).ok_or_else(|| {
        Rejection::new(
            RejectCode::UnknownClaim,
            format!("要撤销的结算单 target={} 不存在或已撤销", shown(target)),
        )
    })?;
    let mut after = store.accumulators(entry.person, entry.year);
    after.subtract(&entry.delta);
    checks::reversal(&after)?;
    store.record_reversal(target, &entry, &after)?;
    Ok(entry)
}

/// Settled claims held compactly for large batches: claim ids packed in one string, each
/// delta as its non-zero counters (a typical claim changes three or four of sixteen).
#[derive(Default, Debug, Clone)]
pub struct SettledClaims {
    /// Indices into `slots` of the claims currently settled, hashed by claim id.
    table: hashbrown::HashTable<u32>,
    slots: Vec<Slot>,
    ids: String,
    values: Vec<i64>,
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    id_start: usize,
    id_len: u32,
    person: u32,
    year: u16,
    /// Bit `i` set: counter `i` of the delta is non-zero and stored in `values`.
    mask: u32,
    values_start: usize,
    /// 家庭共济: the holder (`u32::MAX`: none) and the amount their account paid.
    aid_holder: u32,
    aid_amount: Fen,
    institution: u32,
}

/// Bits of a slot's mask past the delta's counters: the payers' amounts ([`Paid`]).
const PAID_BIT: usize = YearAccumulators::COUNTERS;
const _: () = assert!(PAID_BIT + Payer::ALL.len() <= 32);

fn id_hash(claim_id: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(claim_id)
}

impl SettledClaims {
    fn id(&self, slot: u32) -> &str {
        let s = &self.slots[slot as usize];
        &self.ids[s.id_start..s.id_start + s.id_len as usize]
    }

    fn entry(&self, slot: u32) -> SettledEntry {
        let s = &self.slots[slot as usize];
        let mut counters = [0i64; YearAccumulators::COUNTERS];
        let mut paid = Paid::default();
        let mut v = s.values_start;
        for (i, c) in counters.iter_mut().chain(paid.0.iter_mut()).enumerate() {
            if s.mask & (1 << i) != 0 {
                *c = self.values[v];
                v += 1;
            }
        }
        SettledEntry {
            person: s.person,
            year: s.year,
            delta: YearAccumulators::from_array(&counters),
            aid: (s.aid_holder != u32::MAX).then_some((s.aid_holder, s.aid_amount)),
            institution: s.institution,
            paid,
        }
    }

    fn find(&self, claim_id: &str) -> Option<u32> {
        self.table
            .find(id_hash(claim_id), |&slot| self.id(slot) == claim_id)
            .copied()
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn contains(&self, claim_id: &str) -> bool {
        self.find(claim_id).is_some()
    }

    pub fn get(&self, claim_id: &str) -> Option<SettledEntry> {
        self.find(claim_id).map(|slot| self.entry(slot))
    }

    /// Marks `claim_id` settled with `entry` (replacing a current entry for it).
    pub fn insert(&mut self, claim_id: &str, entry: SettledEntry) {
        self.remove(claim_id);
        let values_start = self.values.len();
        let mut mask = 0u32;
        let values = entry.delta.to_array().into_iter().chain(entry.paid.0);
        for (i, v) in values.enumerate() {
            if v != 0 {
                mask |= 1 << i;
                self.values.push(v);
            }
        }
        let slot = u32::try_from(self.slots.len()).expect("fewer than 2^32 settlements a run");
        self.slots.push(Slot {
            id_start: self.ids.len(),
            id_len: u32::try_from(claim_id.len()).unwrap_or(u32::MAX),
            person: entry.person,
            year: entry.year,
            mask,
            values_start,
            aid_holder: entry.aid.map_or(u32::MAX, |(h, _)| h),
            aid_amount: entry.aid.map_or(0, |(_, a)| a),
            institution: entry.institution,
        });
        self.ids.push_str(claim_id);
        let Self {
            table, slots, ids, ..
        } = self;
        table.insert_unique(id_hash(claim_id), slot, |&s| {
            let s = &slots[s as usize];
            id_hash(&ids[s.id_start..s.id_start + s.id_len as usize])
        });
    }

    /// Forgets `claim_id` and returns what it had added. (Its bytes stay in the arena:
    /// reversals are rare, and a batch run is short-lived.)
    pub fn remove(&mut self, claim_id: &str) -> Option<SettledEntry> {
        let hash = id_hash(claim_id);
        let Self {
            table, slots, ids, ..
        } = &mut *self;
        let found = table.find_entry(hash, |&s| {
            let s = &slots[s as usize];
            &ids[s.id_start..s.id_start + s.id_len as usize] == claim_id
        });
        let (slot, _) = found.ok()?.remove();
        Some(self.entry(slot))
    }
}

/// The in-memory store: accumulators per person-year and the settled claims.
#[derive(Default, Debug, Clone)]
pub struct MemLedger {
    accumulators: FxHashMap<(u32, u16), YearAccumulators>,
    settled: SettledClaims,
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
    /// Sets one person-year's accumulators (low-level: for stores that shard a ledger). A
    /// zero value leaves no entry behind: absent and all-zero mean the same.
    pub fn put_accumulators(&mut self, person: u32, year: u16, acc: &YearAccumulators) {
        if acc.is_zero() {
            self.accumulators.remove(&(person, year));
        } else {
            self.accumulators.insert((person, year), *acc);
        }
    }

    /// 家庭共济: `amount` more (or, negative, less) paid this year from `holder`'s account.
    pub fn add_account_paid(&mut self, holder: u32, year: u16, amount: Fen) {
        let mut acc = self.accumulators(holder, year);
        acc.account_paid += amount;
        self.put_accumulators(holder, year, &acc);
    }

    pub fn insert_settled(&mut self, claim_id: &str, entry: SettledEntry) {
        self.settled.insert(claim_id, entry);
    }

    pub fn settled_entry(&self, claim_id: &str) -> Option<SettledEntry> {
        self.settled.get(claim_id)
    }

    pub fn take_settled(&mut self, claim_id: &str) -> Option<SettledEntry> {
        self.settled.remove(claim_id)
    }
}

impl LedgerStore for MemLedger {
    fn is_settled(&mut self, claim_id: &str) -> bool {
        self.settled.contains(claim_id)
    }

    fn accumulators(&mut self, person: u32, year: u16) -> YearAccumulators {
        self.accumulators
            .get(&(person, year))
            .copied()
            .unwrap_or_default()
    }

    fn settled(&mut self, claim_id: &str) -> Option<SettledEntry> {
        self.settled_entry(claim_id)
    }

    fn record_settlement(
        &mut self,
        claim_id: &str,
        s: &Settlement,
        after: &YearAccumulators,
    ) -> Result<(), Violation> {
        self.put_accumulators(s.person, s.year, after);
        let entry = s.entry();
        if let Some((holder, amount)) = entry.aid {
            self.add_account_paid(holder, s.year, amount);
        }
        self.insert_settled(claim_id, entry);
        Ok(())
    }

    fn record_reversal(
        &mut self,
        claim_id: &str,
        entry: &SettledEntry,
        after: &YearAccumulators,
    ) -> Result<(), Violation> {
        self.put_accumulators(entry.person, entry.year, after);
        if let Some((holder, amount)) = entry.aid {
            self.add_account_paid(holder, entry.year, -amount);
        }
        self.take_settled(claim_id);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(seed: i64) -> YearAccumulators {
        let mut a = [0i64; YearAccumulators::COUNTERS];
        for (i, v) in a.iter_mut().enumerate() {
            if (seed + i as i64) % 3 == 0 {
                *v = seed * 100 + i as i64 - 7;
            }
        }
        YearAccumulators::from_array(&a)
    }

    #[test]
    fn counters_round_trip() {
        let d = delta(5);
        assert_eq!(YearAccumulators::from_array(&d.to_array()), d);
        assert_eq!(
            std::mem::size_of::<YearAccumulators>(),
            8 * YearAccumulators::COUNTERS
        );
    }

    #[test]
    fn settled_claims_give_back_what_they_took() {
        let mut s = SettledClaims::default();
        for i in 0..1000 {
            let e = SettledEntry {
                person: i,
                year: 2024,
                delta: delta(i64::from(i)),
                aid: (i % 7 == 0).then_some((i + 1, i64::from(i) * 3)),
                institution: i % 5,
                paid: Paid([0, i64::from(i), 0, 7, 0, 0, i64::from(i) % 3, 0]),
            };
            s.insert(&format!("S{i}"), e);
        }
        assert_eq!(s.len(), 1000);
        assert_eq!(s.get("S17").map(|e| e.delta), Some(delta(17)));
        assert_eq!(s.remove("S17").map(|e| e.person), Some(17));
        assert!(!s.contains("S17") && s.remove("S17").is_none());
        // Settled again after its reversal: the new entry counts.
        let e = SettledEntry {
            person: 99,
            year: 2025,
            delta: delta(3),
            aid: Some((5, 1_234)),
            institution: 2,
            paid: Paid([1, 2, 3, 4, 5, 6, 7, 8]),
        };
        s.insert("S17", e);
        assert_eq!(s.get("S17"), Some(e));
        assert_eq!(s.len(), 1000);
        for i in (0..1000).filter(|&i| i != 17) {
            let e = s.get(&format!("S{i}")).unwrap();
            assert_eq!(e.delta, delta(i.into()));
            assert_eq!(e.aid, (i % 7 == 0).then_some((i + 1, i64::from(i) * 3)));
            assert_eq!(e.institution, i % 5);
            assert_eq!(e.paid.0, [0, i64::from(i), 0, 7, 0, 0, i64::from(i) % 3, 0]);
        }
        assert!(s.get("S1000").is_none());
    }
}
