//! Ground truth for 智能审核 (`yibao gen --audit-rate`): each audit pattern injected into the
//! claims at a chosen rate, with a label `claim_id,family` for every injected claim.
//!
//! So that the labels are the whole truth, audit mode also keeps the natural claims clean of
//! the patterns: lines that break a catalogue limit (sex, age, 限定支付范围, 单日限量) or repeat
//! an item are left out, no stay is catastrophic, and a stay that would overlap another, re-admit
//! within a month for the same diagnosis group, or cost more than three times its peers'
//! median (same diagnosis group and level) is planned as an outpatient visit instead; an
//! outpatient visit planned inside a stay moves to the discharge day; natural stays never have
//! an outpatient-only diagnosis (小病大治 is injected only). Diagnosis groups are
//! ICD-10 categories (three characters), as in the reference rules. With the option off
//! nothing here runs and the files are those of earlier versions.

use super::*;
use std::collections::{HashMap, HashSet};

/// 分解住院 re-admission, rendered from the origin stay's seed (`reg` = days after discharge).
pub(super) const READMIT: u8 = 3;
/// An outpatient visit inside a stay elsewhere, rendered from the stay's seed.
pub(super) const OVERLAP_OUT: u8 = 4;

/// Natural stays closer than this (days) for one diagnosis group are not kept as stays.
const NATURAL_GAP_DAYS: i32 = 30;
/// Natural stays above this multiple of the peer median are not kept as stays.
const NATURAL_COST_MULTIPLE: i64 = 3;
/// An injected outlier costs at least this multiple of its peer median.
const OUTLIER_MULTIPLE: i64 = 8;
/// Peer groups smaller than this get no injected outlier (the rule may not judge them).
const MIN_PEERS: usize = 20;

/// The patterns, with the family code of their labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pattern {
    Duplicate,
    OverQuantity,
    Sex,
    Age,
    Indication,
    Split,
    Overlap,
    Outlier,
    Minor,
}

/// 小病大治: respiratory stays re-diagnosed as these (normally outpatient) diagnoses.
const MINOR_DIAGNOSES: [&str; 2] = ["J06.9", "J02.9"];

const LINE_PATTERNS: [Pattern; 5] = [
    Pattern::Duplicate,
    Pattern::OverQuantity,
    Pattern::Sex,
    Pattern::Age,
    Pattern::Indication,
];

impl Pattern {
    pub(super) fn family(self) -> &'static str {
        match self {
            Pattern::Duplicate => "DUPLICATE_CHARGE",
            Pattern::OverQuantity => "OVER_QUANTITY",
            Pattern::Sex => "SEX_CONFLICT",
            Pattern::Age => "AGE_CONFLICT",
            Pattern::Indication => "OUT_OF_INDICATION",
            Pattern::Split => "SPLIT_ADMISSION",
            Pattern::Overlap => "OVERLAPPING_STAY",
            Pattern::Outlier => "HIGH_COST_OUTLIER",
            Pattern::Minor => "MINOR_ADMISSION",
        }
    }
}

/// A natural stay as rendered.
#[derive(Clone, Debug)]
struct Stay {
    visit: usize,
    person: u32,
    begn: i32,
    end: i32,
    group: [u8; 3],
    /// [`Level`] as a number.
    level: u8,
    total: i64,
}

fn group_of(diag: &str) -> [u8; 3] {
    let mut g = [b' '; 3];
    for (k, b) in diag.bytes().filter(|b| *b != b'.').take(3).enumerate() {
        g[k] = b;
    }
    g
}

fn total(c: &Claim) -> i64 {
    c.lines.iter().map(|l| l.amount).sum()
}

/// What audit mode injects where.
pub(crate) struct AuditPlan {
    /// The pattern of each visit injected (by seed; a split or overlap names its origin).
    injected: HashMap<u64, Pattern>,
    /// Visits a reversal must not touch (injected, or the origin of one).
    pub(super) involved: HashSet<u64>,
    /// Origin stays' days (end day) by seed, for re-rendering them.
    origin_day: HashMap<u64, u16>,
    /// Median stay cost by peer group.
    medians: HashMap<([u8; 3], u8), i64>,
}

/// Plans audit mode over the sorted natural `visits` (changed in place, injected visits
/// added, sorted again).
pub(super) fn plan(r: &Renderer, visits: &mut Vec<Visit>, ppm: u32) -> AuditPlan {
    let ctx = r.ctx;
    let mut stays: Vec<Stay> = Vec::new();
    for (i, v) in visits.iter().enumerate() {
        if v.kind == INPATIENT {
            let c = r.claim_of(v);
            stays.push(Stay {
                visit: i,
                person: v.person,
                begn: c.begn,
                end: c.end,
                group: group_of(c.diag),
                level: ctx.inst.levels[c.inst as usize] as u8,
                total: total(&c),
            });
        }
    }
    let medians = medians(&stays);
    // Keep a stay only when it stays clear of the person's stays kept so far.
    stays.sort_by_key(|s| (s.person, s.end, s.begn, visits[s.visit].seed));
    let mut kept: Vec<Stay> = Vec::new();
    let mut first_of_person = 0;
    for s in stays {
        if kept.last().is_some_and(|k| k.person != s.person) {
            first_of_person = kept.len();
        }
        let clash = kept[first_of_person..].iter().any(|k| too_close(k, &s));
        let dear = medians
            .get(&(s.group, s.level))
            .is_some_and(|&(m, _)| s.total > m * NATURAL_COST_MULTIPLE);
        if clash || dear {
            visits[s.visit].kind = OUTPATIENT;
        } else {
            kept.push(s);
        }
    }
    let mut by_person: HashMap<u32, Vec<(i32, i32)>> = HashMap::new();
    for s in &kept {
        by_person.entry(s.person).or_default().push((s.begn, s.end));
    }
    let mut plan = AuditPlan {
        injected: HashMap::new(),
        involved: HashSet::new(),
        origin_day: HashMap::new(),
        medians: medians.iter().map(|(k, v)| (*k, v.0)).collect(),
    };
    let stay_of: HashMap<usize, &Stay> = kept.iter().map(|s| (s.visit, s)).collect();
    let mut rng = stream(ctx.seed, TAG_AUDIT, 0);
    let mut added = Vec::new();
    for (i, v) in visits.iter().enumerate() {
        let stay = stay_of.get(&i).copied();
        let mut eligible: Vec<Pattern> = LINE_PATTERNS.to_vec();
        if let Some(s) = stay {
            eligible.push(Pattern::Split);
            eligible.push(Pattern::Overlap);
            let peers = medians.get(&(s.group, s.level));
            if peers.is_some_and(|m| m.1 >= MIN_PEERS) {
                eligible.push(Pattern::Outlier);
            }
            // Cheap respiratory stays, so the re-diagnosed ones stay alike in cost.
            if s.group[0] == b'J' && peers.is_some_and(|m| s.total <= m.0) {
                eligible.push(Pattern::Minor);
            }
        }
        let u = rng.gen_range(0..1_000_000u64);
        let Some(&p) = eligible.get((u / u64::from(ppm.max(1))) as usize) else {
            continue;
        };
        let extra = match (p, stay) {
            (Pattern::Split, Some(s)) => match split_visit(ctx, &mut rng, v, s, &by_person) {
                Some(e) => Some(e),
                None => continue,
            },
            (Pattern::Overlap, Some(s)) if s.end - s.begn >= 2 => {
                let d = rng.gen_range(s.begn + 1..s.end);
                Some(Visit {
                    day: d as u16,
                    seed: v.seed,
                    person: v.person,
                    kind: OVERLAP_OUT,
                    reg: 0,
                })
            }
            (Pattern::Overlap, _) | (Pattern::Split, _) => continue,
            _ => None,
        };
        if let Some(e) = extra {
            if e.kind == READMIT {
                let b = i32::from(e.day) - (stay.map_or(0, |s| s.end - s.begn));
                by_person
                    .entry(v.person)
                    .or_default()
                    .push((b, i32::from(e.day)));
            }
            plan.origin_day.insert(v.seed, v.day);
            added.push(e);
        }
        plan.injected.insert(v.seed, p);
        plan.involved.insert(v.seed);
    }
    visits.extend(added);
    move_out_of_stays(ctx, visits, &by_person);
    visits.sort_unstable();
    plan
}

/// `b` overlaps `a`, or re-admits for `a`'s diagnosis group too soon (`a` ends first).
fn too_close(a: &Stay, b: &Stay) -> bool {
    let overlap = b.begn < a.end && a.begn < b.end;
    overlap || (a.group == b.group && b.begn - a.end <= NATURAL_GAP_DAYS)
}

/// (median, count) of the natural stays' costs per peer group.
fn medians(stays: &[Stay]) -> HashMap<([u8; 3], u8), (i64, usize)> {
    let mut totals: HashMap<([u8; 3], u8), Vec<i64>> = HashMap::new();
    for s in stays {
        totals.entry((s.group, s.level)).or_default().push(s.total);
    }
    totals
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_unstable();
            (k, (v[(v.len() - 1) / 2], v.len()))
        })
        .collect()
}

/// A re-admission 1–14 days after `s` for as long again, when it fits in the year and
/// keeps a month clear of the person's other stays.
fn split_visit(
    ctx: &Ctx,
    rng: &mut ChaCha8Rng,
    v: &Visit,
    s: &Stay,
    by_person: &HashMap<u32, Vec<(i32, i32)>>,
) -> Option<Visit> {
    let gap = rng.gen_range(1..=14);
    let begn = s.end + gap;
    let end = begn + (s.end - s.begn);
    if end >= i32::from(ctx.year.len) {
        return None;
    }
    let others = by_person.get(&v.person).map_or(&[][..], |l| l.as_slice());
    let clear = others.iter().all(|&(b, e)| {
        (b, e) == (s.begn, s.end) || e + NATURAL_GAP_DAYS < begn || end + NATURAL_GAP_DAYS < b
    });
    clear.then_some(Visit {
        day: end as u16,
        seed: v.seed,
        person: v.person,
        kind: READMIT,
        reg: gap as u8,
    })
}

/// Outpatient and chronic visits planned strictly inside one of the person's stays move to
/// its discharge day (a chronic visit whose registration does not cover it becomes an
/// ordinary outpatient visit).
fn move_out_of_stays(ctx: &Ctx, visits: &mut [Visit], stays: &HashMap<u32, Vec<(i32, i32)>>) {
    for v in visits.iter_mut() {
        if !matches!(v.kind, OUTPATIENT | CHRONIC) {
            continue;
        }
        let Some(list) = stays.get(&v.person) else {
            continue;
        };
        let d = i32::from(v.day);
        if let Some(&(_, end)) = list.iter().find(|&&(b, e)| b < d && d < e) {
            v.day = end as u16;
            if v.kind == CHRONIC {
                let p = &ctx.persons.list[v.person as usize];
                let regs = ctx.persons.regs(p);
                let covered = regs
                    .get(usize::from(v.reg))
                    .is_some_and(|r| r.from <= v.day && v.day <= r.to);
                if !covered {
                    v.kind = OUTPATIENT;
                }
            }
        }
    }
}

impl AuditPlan {
    /// Renders visit `v` in audit mode: the natural claim without its natural findings, then
    /// the pattern planned for it. Returns the claim and the family of its label.
    pub(super) fn claim(&self, r: &Renderer, v: &Visit) -> (Claim, Option<&'static str>) {
        let ctx = r.ctx;
        let person = &ctx.persons.list[v.person as usize];
        let mut rng = stream(v.seed, TAG_AUDIT, u64::from(v.kind));
        match v.kind {
            READMIT => {
                let origin = self.origin(v);
                let mut c = r.claim_of(&origin);
                let nights = c.end - c.begn;
                c.begn = c.end + i32::from(v.reg);
                c.end = c.begn + nights;
                return (c, Some(Pattern::Split.family()));
            }
            OVERLAP_OUT => {
                let stay = r.claim_of(&self.origin(v));
                let mut c = r.claim_of(&Visit {
                    kind: OUTPATIENT,
                    ..*v
                });
                if c.inst == stay.inst {
                    c.inst = (c.inst + 1) % ctx.inst.codes.len() as u32;
                }
                return (c, Some(Pattern::Overlap.family()));
            }
            _ => {}
        }
        let mut c = r.claim_of(v);
        let pattern = match self.injected.get(&v.seed) {
            Some(Pattern::Split | Pattern::Overlap) | None => return (c, None),
            Some(&p) => p,
        };
        let age = age_on(person.birth, ctx.year.jan1 + c.begn);
        let injected = match pattern {
            Pattern::Outlier => self.outlier(r, &mut c),
            Pattern::Minor => {
                c.diag = MINOR_DIAGNOSES[rng.gen_range(0..MINOR_DIAGNOSES.len())];
                clean(ctx.cat, &mut c, person.sex, age);
                true
            }
            _ => inject_line(ctx.cat, &mut rng, &mut c, pattern, person.sex, age),
        };
        (c, injected.then(|| pattern.family()))
    }

    /// The origin stay of an injected re-admission or overlapping visit.
    fn origin(&self, v: &Visit) -> Visit {
        Visit {
            day: self.origin_day.get(&v.seed).copied().unwrap_or(v.day),
            kind: INPATIENT,
            reg: 0,
            ..*v
        }
    }

    /// Scales the quantities of the lines without a daily limit until the stay costs at
    /// least [`OUTLIER_MULTIPLE`] times its peer median.
    fn outlier(&self, r: &Renderer, c: &mut Claim) -> bool {
        let level = r.ctx.inst.levels[c.inst as usize] as u8;
        let Some(&median) = self.medians.get(&(group_of(c.diag), level)) else {
            return false;
        };
        let items = &r.ctx.cat.items;
        let free: i64 = c
            .lines
            .iter()
            .filter(|l| l.item.is_some_and(|i| items[i as usize].max_qty == 0))
            .map(|l| l.amount)
            .sum();
        if free <= 0 {
            return false;
        }
        let factor = ((OUTLIER_MULTIPLE * median + free - 1) / free + 1).max(2) as u32;
        for l in c.lines.iter_mut() {
            if l.item.is_some_and(|i| items[i as usize].max_qty == 0) {
                l.qty = l.qty.saturating_mul(factor);
                l.amount = amount_fen(l.price, l.qty);
            }
        }
        true
    }
}

/// Whether diagnosis `diag` is inside the item's 限定支付范围 (or it has none).
fn indicated_for(it: &Item, diag: &str) -> bool {
    match it.group.indication().filter(|_| it.indicated) {
        None => true,
        Some(list) => list.split(';').any(|p| diag.starts_with(p)),
    }
}

/// Days a line without a date spreads over (the rule's reading of 单日限量).
fn days(c: &Claim) -> u32 {
    (c.end - c.begn).max(1) as u32
}

/// Leaves out of a rendered claim the lines that would be natural findings: an item billed
/// again, billed to a person outside its sex or age limits or for a diagnosis outside its
/// 限定支付范围; quantities above the daily limit are cut to it.
pub(super) fn clean(cat: &Catalog, c: &mut Claim, sex: u8, age: u32) {
    let cap_days = days(c);
    let mut seen: Vec<u32> = Vec::with_capacity(c.lines.len());
    let diag = c.diag;
    c.lines.retain(|l| {
        let Some(i) = l.item else { return true };
        let it = &cat.items[i as usize];
        let keep = !seen.contains(&i) && it.fits(sex, age) && indicated_for(it, diag);
        seen.push(i);
        keep
    });
    for l in c.lines.iter_mut() {
        let Some(i) = l.item else { continue };
        let max = u32::from(cat.items[i as usize].max_qty);
        if max > 0 && l.qty > max * 1000 * cap_days {
            l.qty = max * 1000 * cap_days;
            l.amount = amount_fen(l.price, l.qty);
        }
    }
    if c.lines.is_empty() {
        add_line(cat, c, cat.consult_pool()[0], 1000);
    }
}

/// The first item from a random start that `ok` accepts and the claim does not hold yet.
fn find_item(
    cat: &Catalog,
    rng: &mut ChaCha8Rng,
    c: &Claim,
    ok: impl Fn(&Item) -> bool,
) -> Option<u32> {
    let n = cat.items.len() as u32;
    let start = rng.gen_range(0..n);
    (0..n)
        .map(|k| (start + k) % n)
        .find(|&i| ok(&cat.items[i as usize]) && !c.lines.iter().any(|l| l.item == Some(i)))
}

/// Adds item `i` (quantity in thousandths) at its reference price.
fn add_line(cat: &Catalog, c: &mut Claim, i: u32, qty: u32) {
    let price = i64::from(cat.items[i as usize].ref_fen).max(1);
    c.lines.push(Line {
        item: Some(i),
        price,
        qty,
        amount: amount_fen(price, qty),
    });
}

/// Injects a line pattern into the clean claim `c`; false when the catalogue offers no way.
fn inject_line(
    cat: &Catalog,
    rng: &mut ChaCha8Rng,
    c: &mut Claim,
    p: Pattern,
    sex: u8,
    age: u32,
) -> bool {
    let diag = c.diag;
    let limit = |it: &Item| u32::from(it.max_qty) * 1000 * days(c);
    // An added line keeps a stay below its peers' outlier threshold: at most half again.
    let budget = if c.med_type == "21" {
        total(c) / 2
    } else {
        i64::MAX
    };
    let affordable = |it: &Item, qty: u32| amount_fen(i64::from(it.ref_fen), qty) <= budget;
    let clean = |it: &Item| it.fits(sex, age) && indicated_for(it, diag) && affordable(it, 1000);
    let item = match p {
        Pattern::Duplicate => {
            let ok: Vec<usize> = (0..c.lines.len())
                .filter(|&k| {
                    let l = c.lines[k];
                    l.item.is_some_and(|i| {
                        let it = &cat.items[i as usize];
                        it.max_qty == 0 || 2 * l.qty <= limit(it)
                    })
                })
                .collect();
            let Some(&k) = ok.get(rng.gen_range(0..ok.len().max(1))) else {
                return false;
            };
            let copy = c.lines[k];
            c.lines.push(copy);
            return true;
        }
        Pattern::OverQuantity => {
            let i = find_item(cat, rng, c, |it| {
                it.max_qty > 0 && clean(it) && affordable(it, limit(it) + 3000)
            });
            let Some(i) = i else { return false };
            let qty = limit(&cat.items[i as usize]) + rng.gen_range(1..=3) * 1000;
            add_line(cat, c, i, qty);
            return true;
        }
        Pattern::Sex => find_item(cat, rng, c, |it| {
            it.sex != 0
                && it.sex != sex
                && it.fits(it.sex, age)
                && indicated_for(it, diag)
                && affordable(it, 1000)
        }),
        Pattern::Age => find_item(cat, rng, c, |it| {
            (it.sex == 0 || it.sex == sex)
                && !it.fits(sex, age)
                && indicated_for(it, diag)
                && affordable(it, 1000)
        }),
        Pattern::Indication => find_item(cat, rng, c, |it| {
            it.fits(sex, age) && !indicated_for(it, diag) && affordable(it, 1000)
        }),
        _ => None,
    };
    match item {
        Some(i) => {
            add_line(cat, c, i, 1000);
            true
        }
        None => false,
    }
}
