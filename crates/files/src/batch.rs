//! `yibao settle`: claims JSONL in, one result line per input line out, in input order.
//!
//! Records are processed strictly in input order per person. With `jobs > 1` a chunk of lines
//! is split into groups that share no state (no person, no claim id in common: union-find over
//! both keys), groups are settled in parallel against a sharded ledger, and output is written
//! in input order. Every group sees its records in input order and no other group touches its
//! state, so the output is identical to the sequential run.

use crate::output::{write_rejection, write_reversal_ok, write_settlement};
use crate::record::{parse_line, Record};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::io::{self, BufRead, Write};
use std::sync::Mutex;
use yibao_core::books::{EntryKind, Journal};
use yibao_core::checks::Violation;
use yibao_core::ledger::{reverse, settle, LedgerStore, MemLedger, SettleError, SettledEntry};
use yibao_core::money::MAX_LINES_PER_CLAIM;
use yibao_core::{PolicySet, RefData, Rejection, Settlement, YearAccumulators};

/// Options of a batch run.
#[derive(Clone, Copy, Debug)]
pub struct BatchOptions {
    /// Worker threads (1 = sequential).
    pub jobs: usize,
    /// Add the explanation to every success line.
    pub explain: bool,
    /// Lines read and settled per chunk.
    pub chunk_lines: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            jobs: 1,
            explain: false,
            chunk_lines: 32_768,
        }
    }
}

/// Counts of a batch run, and its books: every settlement's entry and every reversal's
/// mirror of it, posted to an in-memory journal with the entries the store's journal gets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchStats<'a> {
    pub records: u64,
    pub settled: u64,
    pub reversed: u64,
    pub rejected: u64,
    pub rejected_by_code: BTreeMap<&'static str, u64>,
    pub journal: Journal<'a>,
}

#[derive(Clone)]
enum Outcome {
    Settled,
    Reversed,
    Rejected(&'static str),
    /// An invariant broke (a defect): the run stops with it, nothing of it recorded.
    Fault(String),
}

impl BatchStats<'_> {
    /// Counts one outcome; a fault ends the run as an error.
    fn count(&mut self, o: Outcome) -> io::Result<()> {
        self.records += 1;
        match o {
            Outcome::Settled => self.settled += 1,
            Outcome::Reversed => self.reversed += 1,
            Outcome::Rejected(code) => {
                self.rejected += 1;
                *self.rejected_by_code.entry(code).or_default() += 1;
            }
            Outcome::Fault(message) => {
                return Err(io::Error::other(format!(
                    "第 {} 条记录：{message}",
                    self.records
                )))
            }
        }
        Ok(())
    }
}

/// Posts a settlement's entry (or, for a reversal, its mirror) to the run's journal: the
/// entry `Books::settlement_entry` derives from what the settlement paid, as the store's.
fn post<'a>(
    journal: &mut Journal<'a>,
    policies: &'a PolicySet,
    refdata: &'a RefData,
    kind: EntryKind,
    e: &SettledEntry,
) -> Result<(), Violation> {
    let person = &refdata.persons[e.person as usize];
    let policy = policies.for_person(refdata, Some(&person.psn_no));
    let Some(books) = &policy.books else {
        return Ok(());
    };
    let institution = &refdata.institutions()[e.institution as usize].code;
    let Some(entry) = books.settlement_entry(kind.code(), institution, &e.paid) else {
        return Ok(());
    };
    match kind {
        EntryKind::Reversal => journal.post(&entry.reversal(kind.code())),
        _ => journal.post(&entry),
    }
}

/// Settles or reverses one record against `store`, appending its output line to `out` and
/// posting its entry to `journal`.
fn process<'a, S: LedgerStore + ?Sized>(
    policies: &'a PolicySet,
    refdata: &'a RefData,
    store: &mut S,
    journal: &mut Journal<'a>,
    rec: &Record<'_>,
    explain: bool,
    out: &mut Vec<u8>,
) -> Outcome {
    let result: Result<Option<Settlement>, SettleError> = match rec {
        Record::Settle(raw) => {
            let draft = raw.draft();
            let policy = policies.for_person(refdata, draft.psn_no.text());
            settle(policy, refdata, store, &draft, explain).and_then(|s| {
                post(
                    journal,
                    policies,
                    refdata,
                    EntryKind::Settlement,
                    &s.entry(),
                )?;
                Ok(Some(s))
            })
        }
        Record::Reverse { target, .. } => match target.as_str() {
            Some(t) => reverse(store, t).and_then(|e| {
                post(journal, policies, refdata, EntryKind::Reversal, &e)?;
                Ok(None)
            }),
            None => Err(Rejection::invalid("撤销记录缺少字符串字段 target").into()),
        },
        Record::Invalid { message, .. } => Err(Rejection::invalid(message.clone()).into()),
    };
    let claim_id = rec.claim_id();
    match result {
        Ok(Some(s)) => {
            write_settlement(out, claim_id.unwrap_or_default(), &s);
            Outcome::Settled
        }
        Ok(None) => {
            write_reversal_ok(out, claim_id.unwrap_or_default());
            Outcome::Reversed
        }
        Err(SettleError::Fault(v)) => Outcome::Fault(v.to_string()),
        Err(SettleError::Refused(r)) => {
            write_rejection(out, claim_id, &r);
            Outcome::Rejected(r.code.as_str())
        }
    }
}

/// The ledger split into shards, so groups settled in parallel lock only what they touch.
/// Person-years live in shard `person % n`, settled claims in shard `hash(claim_id) % n`.
pub struct ShardedLedger {
    shards: Vec<Mutex<MemLedger>>,
}

impl ShardedLedger {
    pub fn new(n: usize) -> ShardedLedger {
        ShardedLedger {
            shards: (0..n.max(1))
                .map(|_| Mutex::new(MemLedger::new()))
                .collect(),
        }
    }

    fn person_shard(&self, person: u32) -> std::sync::MutexGuard<'_, MemLedger> {
        lock(&self.shards[person as usize % self.shards.len()])
    }

    fn claim_shard(&self, claim_id: &str) -> std::sync::MutexGuard<'_, MemLedger> {
        use std::hash::BuildHasher;
        let h = rustc_hash::FxBuildHasher.hash_one(claim_id);
        lock(&self.shards[(h % self.shards.len() as u64) as usize])
    }

    pub fn person_years(&self) -> usize {
        self.shards.iter().map(|s| lock(s).person_years()).sum()
    }

    /// The person of a currently settled claim.
    fn settled_person(&self, claim_id: &str) -> Option<u32> {
        self.claim_shard(claim_id)
            .settled_entry(claim_id)
            .map(|e| e.person)
    }
}

/// A poisoned shard only means another worker panicked; the run is failing anyway.
fn lock(m: &Mutex<MemLedger>) -> std::sync::MutexGuard<'_, MemLedger> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LedgerStore for &ShardedLedger {
    fn is_settled(&mut self, claim_id: &str) -> bool {
        self.claim_shard(claim_id).is_settled(claim_id)
    }

    fn accumulators(&mut self, person: u32, year: u16) -> YearAccumulators {
        self.person_shard(person).accumulators(person, year)
    }

    fn settled(&mut self, claim_id: &str) -> Option<SettledEntry> {
        self.claim_shard(claim_id).settled_entry(claim_id)
    }

    fn record_settlement(
        &mut self,
        claim_id: &str,
        s: &Settlement,
        after: &YearAccumulators,
    ) -> Result<(), Violation> {
        self.person_shard(s.person)
            .put_accumulators(s.person, s.year, after);
        let entry = s.entry();
        if let Some((holder, amount)) = entry.aid {
            self.person_shard(holder)
                .add_account_paid(holder, s.year, amount);
        }
        self.claim_shard(claim_id).insert_settled(claim_id, entry);
        Ok(())
    }

    fn record_reversal(
        &mut self,
        claim_id: &str,
        entry: &SettledEntry,
        after: &YearAccumulators,
    ) -> Result<(), Violation> {
        self.person_shard(entry.person)
            .put_accumulators(entry.person, entry.year, after);
        if let Some((holder, amount)) = entry.aid {
            self.person_shard(holder)
                .add_account_paid(holder, entry.year, -amount);
        }
        self.claim_shard(claim_id).take_settled(claim_id);
        Ok(())
    }
}

/// Longest claims-file line accepted, in bytes: the documented maximum of fee lines per
/// claim ([`MAX_LINES_PER_CLAIM`]) at a generous 512 bytes each, plus 64 KiB for the header
/// fields (about 4.9 MiB). A longer line is one `INVALID_CLAIM` result; it is read past
/// without being held in memory, and the run goes on.
pub const MAX_LINE_BYTES: usize = MAX_LINES_PER_CLAIM * 512 + 65_536;

/// A chunk stops growing once it holds this many bytes (at least one line), so memory stays
/// bounded whatever the lines' lengths.
const MAX_CHUNK_BYTES: usize = 64 << 20;

/// One input line of a chunk.
pub(crate) enum Slot {
    /// `buf[start..end]`, without its line ending.
    Line(usize, usize),
    /// Longer than [`MAX_LINE_BYTES`]: its length and the claim id when it opens the record.
    TooLong {
        bytes: u64,
        claim_id: Option<String>,
    },
}

impl Slot {
    pub(crate) fn record<'b>(&self, buf: &'b [u8]) -> Record<'b> {
        match self {
            Slot::Line(s, e) => parse_line(&buf[*s..*e]),
            Slot::TooLong { bytes, claim_id } => Record::Invalid {
                claim_id: claim_id.clone().map(std::borrow::Cow::Owned),
                message: format!(
                    "该行有 {bytes} 字节，超过单条记录的上限 {MAX_LINE_BYTES} 字节（每条结算单最多 \
                     {MAX_LINES_PER_CLAIM} 条费用明细）"
                ),
            },
        }
    }
}

/// The claim id of a record whose first key is `claim_id` with a plain string value
/// (`{"claim_id":"S1",…`), read from the start of a line too long to parse.
fn leading_claim_id(line: &[u8]) -> Option<String> {
    fn ws(b: &[u8]) -> &[u8] {
        let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
        &b[n..]
    }
    let rest = ws(line).strip_prefix(b"{")?;
    let rest = ws(rest).strip_prefix(&b"\"claim_id\""[..])?;
    let rest = ws(rest).strip_prefix(b":")?;
    let rest = ws(rest).strip_prefix(b"\"")?;
    let end = rest
        .iter()
        .take(256)
        .position(|&c| c == b'"' || c == b'\\')?;
    if rest[end] != b'"' {
        return None;
    }
    let id = std::str::from_utf8(&rest[..end]).ok()?;
    (!id.trim().is_empty()).then(|| id.to_string())
}

/// Reads up to `max` lines into `buf` (fewer once it holds [`MAX_CHUNK_BYTES`]). A final
/// line without a newline counts; `\r\n` endings are accepted; a UTF-8 byte order mark at
/// the very start of the stream (`at_start`) is not part of the first line.
pub(crate) fn read_chunk<R: BufRead>(
    input: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
    at_start: &mut bool,
) -> io::Result<Vec<Slot>> {
    buf.clear();
    let mut slots = Vec::with_capacity(max.min(1 << 16));
    while slots.len() < max && buf.len() < MAX_CHUNK_BYTES {
        let start = buf.len();
        let Some(bytes) = read_line_capped(input, buf, MAX_LINE_BYTES)? else {
            break;
        };
        if std::mem::take(at_start) && buf[start..].starts_with(b"\xEF\xBB\xBF") {
            buf.drain(start..start + 3);
        }
        if bytes > MAX_LINE_BYTES as u64 {
            let claim_id = leading_claim_id(&buf[start..]);
            buf.truncate(start);
            slots.push(Slot::TooLong { bytes, claim_id });
            continue;
        }
        let mut end = buf.len();
        if end > start && buf[end - 1] == b'\n' {
            end -= 1;
        }
        if end > start && buf[end - 1] == b'\r' {
            end -= 1;
        }
        slots.push(Slot::Line(start, end));
    }
    Ok(slots)
}

/// Appends one line (with its newline) to `buf`, but never more than `cap` + 3 bytes of it:
/// the rest of a longer line is skipped in the reader's own buffer. Returns the line's full
/// length without the newline, or `None` at the end of input.
fn read_line_capped<R: BufRead>(
    input: &mut R,
    buf: &mut Vec<u8>,
    cap: usize,
) -> io::Result<Option<u64>> {
    let mut len = 0u64;
    let mut any = false;
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(any.then_some(len));
        }
        any = true;
        let (used, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        let content = used - usize::from(done);
        // Keep up to cap + 3 bytes (a BOM may still be stripped), then stop copying.
        let room = (cap + 3).saturating_sub(len as usize);
        buf.extend_from_slice(&available[..content.min(room)]);
        if done && content <= room {
            buf.push(b'\n');
        }
        len += content as u64;
        input.consume(used);
        if done {
            return Ok(Some(len));
        }
    }
}

/// Groups record indices so that no two groups share a person or a claim id. A reversal also
/// touches the person of its target: `settled_person` names that person for targets settled
/// before this chunk (targets settled inside the chunk are joined through the claim id).
/// A person's visits may draw on family members' accounts (家庭共济): `holders` names them,
/// and they join the group too.
fn independent_groups<'r>(
    records: &'r [Record<'_>],
    settled_person: impl Fn(&str) -> Option<&'r str>,
    holders: impl Fn(&str) -> &'r [yibao_core::refdata::FamilyAid],
) -> Vec<Vec<u32>> {
    let n = records.len();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            parent[x as usize] = parent[parent[x as usize] as usize];
            x = parent[x as usize];
        }
        x
    }
    // Keys are tagged so persons and claim ids never collide: (false, psn_no), (true, claim_id).
    let mut first_with: FxHashMap<(bool, &str), u32> = FxHashMap::default();
    for (i, rec) in records.iter().enumerate() {
        let i = i as u32;
        let target_person = match rec {
            Record::Reverse { .. } => rec.claim_key().and_then(&settled_person),
            _ => None,
        };
        let keys = [
            rec.psn_no().map(|k| (false, k)),
            rec.claim_key().map(|k| (true, k)),
            target_person.map(|k| (false, k)),
        ];
        let aid = [rec.psn_no(), target_person]
            .into_iter()
            .flatten()
            .flat_map(|p| holders(p).iter().map(|a| Some((false, a.holder.as_str()))));
        for key in keys.into_iter().chain(aid).flatten() {
            match first_with.get(&key) {
                Some(&j) => {
                    let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                    if a != b {
                        parent[a.max(b) as usize] = a.min(b);
                    }
                }
                None => {
                    first_with.insert(key, i);
                }
            }
        }
    }
    let mut groups: Vec<Vec<u32>> = Vec::new();
    let mut slot: FxHashMap<u32, usize> = FxHashMap::default();
    for i in 0..n as u32 {
        let root = find(&mut parent, i);
        let g = *slot.entry(root).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    groups
}

/// A group's results: each record's index, output line and outcome.
type GroupOutput = Vec<(u32, Vec<u8>, Outcome)>;

/// Runs a whole claims stream. Returns the counts; fails only when reading or writing fails.
pub fn run_batch<'a, R: BufRead, W: Write>(
    policies: &'a PolicySet,
    refdata: &'a RefData,
    mut input: R,
    mut output: W,
    opts: BatchOptions,
) -> io::Result<BatchStats<'a>> {
    let mut stats = BatchStats::default();
    let mut buf = Vec::new();
    let chunk = opts.chunk_lines.max(1);
    let mut at_start = true;
    if opts.jobs <= 1 {
        let mut ledger = MemLedger::new();
        let mut out = Vec::with_capacity(1 << 20);
        loop {
            let ranges = read_chunk(&mut input, &mut buf, chunk, &mut at_start)?;
            if ranges.is_empty() {
                break;
            }
            out.clear();
            for slot in &ranges {
                let rec = slot.record(&buf);
                let journal = &mut stats.journal;
                let o = process(
                    policies,
                    refdata,
                    &mut ledger,
                    journal,
                    &rec,
                    opts.explain,
                    &mut out,
                );
                if let Err(e) = stats.count(o) {
                    output.write_all(&out)?;
                    return Err(e);
                }
            }
            output.write_all(&out)?;
        }
    } else {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.jobs)
            .build()
            .map_err(io::Error::other)?;
        let ledger = ShardedLedger::new(opts.jobs * 16);
        loop {
            let ranges = read_chunk(&mut input, &mut buf, chunk, &mut at_start)?;
            if ranges.is_empty() {
                break;
            }
            let buf = &buf;
            let ordered = pool.install(|| {
                let records: Vec<Record<'_>> =
                    ranges.par_iter().map(|slot| slot.record(buf)).collect();
                let groups = independent_groups(
                    &records,
                    |claim_id| {
                        let person = ledger.settled_person(claim_id)?;
                        Some(refdata.persons[person as usize].psn_no.as_str())
                    },
                    |psn_no| match refdata.person(psn_no) {
                        Some(i) => &refdata.persons[i as usize].family_aid,
                        None => &[],
                    },
                );
                let results: Vec<(GroupOutput, Journal<'a>)> = groups
                    .par_iter()
                    .map(|g| {
                        let mut store = &ledger;
                        let mut journal = Journal::default();
                        let outs = g
                            .iter()
                            .map(|&i| {
                                let mut out = Vec::with_capacity(512);
                                let rec = &records[i as usize];
                                let o = process(
                                    policies,
                                    refdata,
                                    &mut store,
                                    &mut journal,
                                    rec,
                                    opts.explain,
                                    &mut out,
                                );
                                (i, out, o)
                            })
                            .collect();
                        (outs, journal)
                    })
                    .collect();
                let mut ordered: Vec<Option<(Vec<u8>, Outcome)>> = vec![None; records.len()];
                let mut journal = Journal::default();
                for (outs, j) in results {
                    journal.absorb(j);
                    for (i, out, o) in outs {
                        ordered[i as usize] = Some((out, o));
                    }
                }
                (ordered, journal)
            });
            let (ordered, journal) = ordered;
            stats.journal.absorb(journal);
            let mut all = Vec::with_capacity(ordered.len() * 512);
            for (out, o) in ordered.into_iter().flatten() {
                all.extend_from_slice(&out);
                if let Err(e) = stats.count(o) {
                    output.write_all(&all)?;
                    return Err(e);
                }
            }
            output.write_all(&all)?;
        }
    }
    output.flush()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_share_nothing() {
        let lines: Vec<&[u8]> = vec![
            br#"{"claim_id":"A","psn_no":"P1"}"#,
            br#"{"claim_id":"B","psn_no":"P2"}"#,
            br#"{"claim_id":"R","type":"reversal","target":"A"}"#,
            br#"{"claim_id":"A","psn_no":"P3"}"#,
            br#"{"claim_id":"C","psn_no":"P4"}"#,
            b"garbage",
        ];
        let records: Vec<Record> = lines.iter().map(|l| parse_line(l)).collect();
        let groups = independent_groups(&records, |_| None, |_| &[]);
        assert_eq!(groups, vec![vec![0, 2, 3], vec![1], vec![4], vec![5]]);
        // A reversal of a claim settled in an earlier chunk joins that claim's person.
        let lines: Vec<&[u8]> = vec![
            br#"{"claim_id":"R","type":"reversal","target":"OLD"}"#,
            br#"{"claim_id":"B","psn_no":"P2"}"#,
            br#"{"claim_id":"C","psn_no":"P9"}"#,
        ];
        let records: Vec<Record> = lines.iter().map(|l| parse_line(l)).collect();
        let groups = independent_groups(&records, |c| (c == "OLD").then_some("P9"), |_| &[]);
        assert_eq!(groups, vec![vec![0, 2], vec![1]]);
    }
}
