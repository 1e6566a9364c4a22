//! 结算单 (settlement claims) for `yibao settle`: planning the year's visits, rendering
//! each from its own random stream, interleaving 结算撤销 (reversals) and, on request,
//! malformed records.
//!
//! Memory stays small for any size: the plan keeps 16 bytes per visit (date, person,
//! kind, sub-seed), sorted by date; each claim's JSON is rendered and written one at a
//! time.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::catalog::{Catalog, Group, Item, Kind, Setting, F_DAY};
use crate::date::{age_on, format_date, Year};
use crate::employees::{self, EMPLOYEE_LEVELS};
use crate::institutions::{Institutions, Level};
use crate::persons::{
    inpatient_weight, outpatient_weight, push_psn_no, ChronicGroup, Person, Persons, CHRONIC_CODES,
    CLASSES, SCHEMES,
};
use crate::rng::{
    chance, derive, pick_weighted, search_cumulative, stream, TAG_AUDIT, TAG_BAD, TAG_PLAN,
    TAG_VISIT, TAG_WRITE,
};
use crate::text::{amount_fen, push_fen, push_padded, push_qty};

mod audit;
mod render;

use render::Renderer;

/// Ordinary outpatient (普通门诊) visits per enrolled person per year, in thousandths,
/// residents and employees.
const OUTPATIENT_MILLI: [u64; SCHEMES] = [1500, employees::OUTPATIENT_MILLI];
/// Admissions (普通住院) per enrolled person per year, in thousandths.
const INPATIENT_MILLI: [u64; SCHEMES] = [190, employees::INPATIENT_MILLI];
/// Share of records that are 结算撤销 (reversals), per mille.
const REVERSAL_PER_MILLE: u64 = 5;

/// Relative monthly activity (winter respiratory peak, Spring Festival dip).
const MONTH_WEIGHTS: [u32; 12] = [115, 100, 105, 95, 90, 85, 90, 90, 95, 95, 105, 120];
/// Length of stay 1..=20 days, relative frequencies.
const STAY_WEIGHTS: [u32; 20] = [
    3, 5, 8, 10, 11, 11, 10, 9, 7, 6, 5, 4, 3, 3, 2, 2, 1, 1, 1, 1,
];

/// The kinds of malformed record injected when `bad_per_mille > 0`, one problem each,
/// in rotation so every kind appears once there are ten bad records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BadKind {
    /// `psn_no` not in `persons.jsonl`.
    UnknownPerson,
    /// `fixmedins_code` not in `institutions.csv`.
    UnknownInstitution,
    /// One line's `code` not in `catalog.csv`.
    UnknownItem,
    /// One line's `amount` differs from price × qty by 0.01–1.00.
    AmountMismatch,
    /// One line has a negative `price` (its `amount` is consistent with it).
    NegativePrice,
    /// `begndate` one to three days after `enddate`.
    BeginAfterEnd,
    /// `"lines": []`.
    EmptyLines,
    /// A settlement record cut off in the middle: not JSON at all.
    NotJson,
    /// A `14` 门诊慢特病 claim whose diagnosis group the person never registered.
    NotRegistered,
    /// A claim of a person without a paid enrolment for the year.
    NotEnrolled,
}

impl BadKind {
    /// Every kind, in injection order.
    pub const ALL: [BadKind; 10] = [
        BadKind::UnknownPerson,
        BadKind::UnknownInstitution,
        BadKind::UnknownItem,
        BadKind::AmountMismatch,
        BadKind::NegativePrice,
        BadKind::BeginAfterEnd,
        BadKind::EmptyLines,
        BadKind::NotJson,
        BadKind::NotRegistered,
        BadKind::NotEnrolled,
    ];

    /// The `yibao settle` error code (interface §2) the record must be rejected with.
    pub fn expected_error(self) -> &'static str {
        match self {
            BadKind::UnknownPerson => "UNKNOWN_PERSON",
            BadKind::UnknownInstitution => "UNKNOWN_INSTITUTION",
            BadKind::UnknownItem => "UNKNOWN_ITEM",
            BadKind::NotRegistered => "NOT_REGISTERED",
            BadKind::NotEnrolled => "NOT_ENROLLED",
            _ => "INVALID_CLAIM",
        }
    }
}

/// Diagnosis (ICD-10) of an ordinary outpatient or inpatient visit.
struct Diag {
    code: &'static str,
    group: Group,
    /// Relative frequency among 普通门诊 (11) and 普通住院 (21) visits.
    w11: u32,
    w21: u32,
    sex: u8,
    age_min: u8,
    age_max: u8,
    /// Treated by an operation.
    surgical: bool,
    /// 0 ordinary … 2 often needs intensive care.
    severity: u8,
}

const fn dg(code: &'static str, group: Group, w11: u32, w21: u32) -> Diag {
    Diag {
        code,
        group,
        w11,
        w21,
        sex: 0,
        age_min: 0,
        age_max: 120,
        surgical: false,
        severity: 0,
    }
}

impl Diag {
    const fn ages(mut self, min: u8, max: u8) -> Diag {
        self.age_min = min;
        self.age_max = max;
        self
    }
    const fn female(mut self) -> Diag {
        self.sex = 2;
        self
    }
    const fn male(mut self) -> Diag {
        self.sex = 1;
        self
    }
    const fn surgical(mut self) -> Diag {
        self.surgical = true;
        self
    }
    const fn severe(mut self, severity: u8) -> Diag {
        self.severity = severity;
        self
    }
    fn fits(&self, sex: u8, age: u32) -> bool {
        (self.sex == 0 || self.sex == sex)
            && (u32::from(self.age_min)..=u32::from(self.age_max)).contains(&age)
    }
}

use Group::*;

/// Common county diagnoses; the first two are valid for anyone (fallbacks).
#[rustfmt::skip]
const DIAGS: &[Diag] = &[
    dg("J06.9", Resp, 250, 0),   // 急性上呼吸道感染
    dg("J18.9", Resp, 20, 120),  // 肺炎
    dg("J02.9", Resp, 80, 0),    // 急性咽炎
    dg("J20.9", Resp, 100, 30),  // 急性支气管炎
    dg("J44.1", Resp, 15, 50).ages(40, 120),   // 慢阻肺急性加重
    dg("K29.7", Dig, 120, 25),   // 胃炎
    dg("K52.9", Dig, 50, 15),    // 非感染性胃肠炎
    dg("A09", Dig, 30, 20),      // 感染性腹泻
    dg("K35.8", Dig, 0, 25).surgical(),                  // 急性阑尾炎
    dg("K80.2", Dig, 5, 25).ages(20, 120).surgical(),    // 胆囊结石
    dg("K92.2", Dig, 0, 10).ages(30, 120).severe(1),     // 消化道出血
    dg("I10", Card, 120, 30).ages(30, 120),              // 高血压
    dg("I25.1", Card, 20, 50).ages(40, 120),             // 冠心病
    dg("I50.9", Card, 5, 35).ages(50, 120).severe(1),    // 心力衰竭
    dg("I21.9", Card, 0, 12).ages(40, 120).surgical().severe(2), // 急性心肌梗死
    dg("I63.9", Neuro, 10, 70).ages(40, 120).severe(1),  // 脑梗死
    dg("I61.9", Neuro, 0, 15).ages(40, 120).severe(2),   // 脑出血
    dg("S06.0", Neuro, 5, 10),                           // 脑震荡
    dg("E11.9", Diab, 80, 30).ages(30, 120),             // 2型糖尿病
    dg("M54.5", Ortho, 80, 15).ages(20, 120),            // 腰痛
    dg("M17.9", Ortho, 50, 10).ages(45, 120),            // 膝关节病
    dg("M51.2", Ortho, 15, 25).ages(25, 120).surgical(), // 腰椎间盘突出
    dg("S72.0", Ortho, 0, 15).ages(60, 120).surgical(),  // 股骨颈骨折
    dg("S82.2", Ortho, 5, 15).surgical(),                // 胫骨干骨折
    dg("O80", Obs, 0, 45).female().ages(18, 45),         // 单胎顺产
    dg("O82", Obs, 0, 25).female().ages(18, 45).surgical(), // 剖宫产
    dg("N76.0", Obs, 40, 5).female().ages(15, 80),       // 阴道炎
    dg("N40", Uro, 20, 15).male().ages(50, 120).surgical(), // 前列腺增生
    dg("N39.0", Gen, 40, 15),                            // 泌尿道感染
    dg("L30.9", Gen, 60, 0),                             // 皮炎
    dg("H10.9", Gen, 30, 0),                             // 结膜炎
    dg("R51", Gen, 30, 0),                               // 头痛
    dg("J21.9", Ped, 20, 30).ages(0, 2),                 // 急性毛细支气管炎
    dg("C34.9", Onco, 5, 25).ages(40, 120).severe(1),    // 肺癌
    dg("C16.9", Onco, 2, 15).ages(40, 120).surgical().severe(1), // 胃癌
    dg("C50.9", Onco, 2, 12).female().ages(30, 120).surgical(),  // 乳腺癌
    dg("N18.5", Renal, 2, 10).ages(20, 120).severe(1),   // 慢性肾脏病5期
];

/// Level shares [1, 2, 3, 3P, OUT] of a scheme's visits.
pub(crate) struct Levels {
    pub outpatient: [u32; 5],
    pub inpatient: [u32; 5],
    /// Surgical or severe diagnoses.
    pub inpatient_serious: [u32; 5],
    pub chronic_two: [u32; 5],
    pub chronic_one: [u32; 5],
}

/// Residents: village clinics and township centres first.
const RESIDENT_LEVELS: Levels = Levels {
    outpatient: [800, 160, 20, 12, 8],
    inpatient: [300, 480, 140, 55, 25],
    inpatient_serious: [60, 460, 270, 160, 50],
    chronic_two: [550, 380, 40, 20, 10],
    chronic_one: [30, 470, 260, 200, 40],
};

/// Level shares of a person's visits ([`Levels`]).
fn levels(p: &Person) -> &'static Levels {
    if p.is_employee() {
        &EMPLOYEE_LEVELS
    } else {
        &RESIDENT_LEVELS
    }
}

/// Whole yuan in fen.
const fn yuan(y: u32) -> u32 {
    y * 100
}

/// Visit kinds (med_type).
const OUTPATIENT: u8 = 0;
const INPATIENT: u8 = 1;
const CHRONIC: u8 = 2;

/// One planned settlement: sorted by discharge/visit day, rendered from `seed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Visit {
    /// `enddate` as day of the year.
    day: u16,
    seed: u64,
    person: u32,
    /// [`OUTPATIENT`], [`INPATIENT`] or [`CHRONIC`].
    kind: u8,
    /// For chronic visits: which of the person's registrations.
    reg: u8,
}

/// Inputs shared by all claims.
pub(crate) struct Ctx<'a> {
    pub seed: u64,
    pub year: &'a Year,
    pub cat: &'a Catalog,
    pub inst: &'a Institutions,
    pub persons: &'a Persons,
}

/// Counts of what was written.
pub(crate) struct ClaimCounts {
    pub records: usize,
    pub reversals: usize,
    pub bad: usize,
    /// Audit mode: (claim_id number, family) of each injected pattern, in file order.
    pub labels: Vec<(u64, &'static str)>,
}

/// Segments of the plan's draw: (kind, scheme), in this order; chronic visits after.
const SEGMENTS: [(u8, usize); 4] = [
    (OUTPATIENT, 0),
    (OUTPATIENT, 1),
    (INPATIENT, 0),
    (INPATIENT, 1),
];

/// Samplers for visits: who, which kind, which day.
struct Sampler {
    /// Upper bounds of the [`SEGMENTS`] in common units (milli-visits × days); the
    /// chronic visits fill the rest up to `w_total`.
    bounds: [u64; 4],
    w_total: u64,
    /// Cumulative class weights of each segment, over its scheme's classes.
    cum: [Vec<u64>; 4],
    chronic_cum: Vec<u64>,
    /// (person, registration offset) per chronic cumulative entry.
    chronic_regs: Vec<(u32, u8)>,
}

impl Sampler {
    fn new(ctx: &Ctx) -> Sampler {
        let p = ctx.persons;
        let diy = u64::from(ctx.year.len);
        let mut cum: [Vec<u64>; 4] = Default::default();
        let mut bounds = [0u64; 4];
        let mut bound = 0u64;
        for (s, &(kind, scheme)) in SEGMENTS.iter().enumerate() {
            let classes = &p.by_class[scheme * CLASSES..(scheme + 1) * CLASSES];
            let mut total = 0u64;
            for (c, members) in classes.iter().enumerate() {
                let (sex, band) = ((c / 20) as u8 + 1, c % 20);
                let w = if kind == OUTPATIENT {
                    outpatient_weight(sex, band)
                } else {
                    inpatient_weight(sex, band)
                };
                total += u64::from(w) * members.len() as u64;
                cum[s].push(total);
            }
            let enrolled: u64 = classes.iter().map(|c| c.len() as u64).sum();
            let rate = if kind == OUTPATIENT {
                OUTPATIENT_MILLI[scheme]
            } else {
                INPATIENT_MILLI[scheme]
            };
            bound += rate * enrolled * diy;
            bounds[s] = bound;
        }
        let mut chronic_cum = Vec::new();
        let mut chronic_regs = Vec::new();
        let mut c = 0u64;
        for (idx, person) in p.list.iter().enumerate() {
            if !person.enrolled {
                continue;
            }
            for (k, r) in p.regs(person).iter().enumerate() {
                let group = CHRONIC_CODES[usize::from(r.code)].group;
                c += group.visits_per_year() * 1000 * u64::from(r.to - r.from + 1);
                chronic_cum.push(c);
                chronic_regs.push((idx as u32, k as u8));
            }
        }
        Sampler {
            bounds,
            w_total: bound + c,
            cum,
            chronic_cum,
            chronic_regs,
        }
    }

    /// Settlements a year at the configured rates.
    fn expected_visits(&self, diy: u64) -> u64 {
        (self.w_total + 500 * diy) / (1000 * diy)
    }

    fn sample(&self, rng: &mut ChaCha8Rng, ctx: &Ctx, k: u64) -> Visit {
        let p = ctx.persons;
        let r = rng.gen_range(0..self.w_total.max(1));
        let seed = derive(ctx.seed, TAG_VISIT, k);
        let segment = match self.bounds.iter().position(|&b| r < b) {
            Some(s) => Some(s),
            None if self.chronic_cum.is_empty() => Some(2),
            None => None,
        };
        let (kind, scheme, cum) = if let Some(s) = segment {
            (SEGMENTS[s].0, SEGMENTS[s].1, &self.cum[s])
        } else {
            let total = *self.chronic_cum.last().unwrap_or(&1);
            let i = search_cumulative(&self.chronic_cum, rng.gen_range(0..total));
            let (person, reg) = self.chronic_regs[i];
            let r = p.regs(&p.list[person as usize])[usize::from(reg)];
            let day = rng.gen_range(r.from..=r.to);
            return Visit {
                day,
                seed,
                person,
                kind: CHRONIC,
                reg,
            };
        };
        let total = *cum.last().unwrap_or(&1);
        let class = search_cumulative(cum, rng.gen_range(0..total.max(1)));
        let members = &p.by_class[scheme * CLASSES + class];
        // Classes with weight have members; person 0 is the last resort.
        let person = if members.is_empty() {
            0
        } else {
            members[rng.gen_range(0..members.len())]
        };
        let day = loop {
            let d = rng.gen_range(0..ctx.year.len);
            let w = MONTH_WEIGHTS[usize::from(ctx.year.month[usize::from(d)])];
            if rng.gen_range(0..120) < w {
                break d;
            }
        };
        Visit {
            day,
            seed,
            person,
            kind,
            reg: 0,
        }
    }
}

/// One fee line (明细).
#[derive(Clone, Copy, Debug)]
struct Line {
    /// Catalogue index; `None` renders an unknown code.
    item: Option<u32>,
    price: i64,
    qty: u32,
    amount: i64,
}

/// Who is treated where, for line choices.
struct Visitor {
    sex: u8,
    age: u32,
    level: Level,
    setting: Setting,
    /// Length of stay in days (1 for outpatient visits).
    los: u32,
    chronic: bool,
    /// Prefer the cheaper of two candidates (most care is routine).
    cheap: bool,
    /// Per-mille chance to pass over an item dearer than 1,000 yuan (implants, rescue
    /// drugs belong to a minority of visits).
    damp_pm: u32,
}

/// A rendered settlement before serialisation.
struct Claim {
    med_type: &'static str,
    inst: u32,
    /// `begndate` / `enddate` as days of the policy year.
    begn: i32,
    end: i32,
    diag: &'static str,
    lines: Vec<Line>,
    /// `acct_used_flag` (employees only): `Some(false)` writes `"0"`.
    acct: Option<bool>,
}

// The plan holds one of these per settlement.
const _: () = assert!(std::mem::size_of::<Visit>() == 16);

/// Number of settlements, reversals and bad records to write.
fn counts(
    ctx: &Ctx,
    sampler: &Sampler,
    claims: Option<usize>,
    bad_per_mille: u32,
) -> (usize, usize, usize) {
    let bad_pm = u64::from(bad_per_mille);
    match claims {
        Some(n) => {
            let n = n as u64;
            let bad = (n * bad_pm + 500) / 1000;
            // Rounded, this stays below the settlements left, so each has a target.
            let rev = ((n - bad) * REVERSAL_PER_MILLE + 500) / 1000;
            ((n - bad - rev) as usize, rev as usize, bad as usize)
        }
        None => {
            let settle = sampler.expected_visits(u64::from(ctx.year.len));
            let rev = (settle * REVERSAL_PER_MILLE + 497) / (1000 - REVERSAL_PER_MILLE);
            let bad = ((settle + rev) * bad_pm + 500) / 1000;
            (settle as usize, rev as usize, bad as usize)
        }
    }
}

/// Plans and writes `claims.jsonl`: exactly `claims` records when given, otherwise as
/// many as the per-person rates give.
pub(crate) fn write(
    ctx: &Ctx,
    claims: Option<usize>,
    bad_per_mille: u32,
    audit_ppm: u32,
    w: &mut impl Write,
) -> io::Result<ClaimCounts> {
    let sampler = Sampler::new(ctx);
    let (settle, reversals, bad) = counts(ctx, &sampler, claims, bad_per_mille);
    if settle + reversals + bad > crate::MAX_CLAIMS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "结算单数量 {} 超过上限 {}，请减少人数或指定 claims",
                settle + reversals + bad,
                crate::MAX_CLAIMS
            ),
        ));
    }
    let mut rng = stream(ctx.seed, TAG_PLAN, 0);
    let mut visits: Vec<Visit> = (0..settle as u64)
        .map(|k| sampler.sample(&mut rng, ctx, k))
        .collect();
    // Annual accumulators run in file order, so the file is in date order; the
    // full-key sort makes equal days deterministic too.
    visits.sort_unstable();

    let r = Renderer::new(ctx, audit_ppm > 0);
    let audit_plan = (audit_ppm > 0).then(|| audit::plan(&r, &mut visits, audit_ppm));
    // Audit mode adds the re-admissions and overlapping visits it injects.
    let settle = visits.len();
    let mut labels = Vec::new();
    let mut reversals_written = 0;
    let mut plan = stream(ctx.seed, TAG_WRITE, 0);
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut pos: u64 = 0; // record number: claim_id suffix
    let mut pending: BinaryHeap<Reverse<(usize, u64)>> = BinaryHeap::new();
    let (mut bad_left, mut rev_left) = (bad as u64, reversals as u64);
    let mut slots_left = (settle + bad) as u64;
    let mut last_day = 0u16;
    let mut bad_seq = 0usize;
    let mut next_visit = 0usize;
    while slots_left > 0 {
        buf.clear();
        // Selection sampling spreads the bad records evenly at random through the file.
        if plan.gen_range(0..slots_left) < bad_left {
            bad_left -= 1;
            r.bad(&mut buf, pos, bad_seq, last_day);
            bad_seq += 1;
            pos += 1;
        } else {
            let i = next_visit;
            next_visit += 1;
            let v = visits[i];
            if let Some(family) = r.settlement(&mut buf, pos, &v, audit_plan.as_ref()) {
                labels.push((pos, family));
            }
            last_day = v.day;
            // Reverse this one later? (selection sampling over the settlements; never
            // a claim an audit label depends on)
            let involved = audit_plan
                .as_ref()
                .is_some_and(|p| p.involved.contains(&v.seed));
            if plan.gen_range(0..(settle - i) as u64) < rev_left && !involved {
                rev_left -= 1;
                let delay = plan.gen_range(0..=40usize);
                pending.push(Reverse(((i + delay).min(settle - 1), pos)));
            }
            pos += 1;
            while let Some(&Reverse((after, target))) = pending.peek() {
                if after > i {
                    break;
                }
                pending.pop();
                push_reversal(&mut buf, pos, target);
                reversals_written += 1;
                pos += 1;
            }
        }
        slots_left -= 1;
        w.write_all(&buf)?;
    }
    Ok(ClaimCounts {
        records: pos as usize,
        reversals: reversals_written,
        bad,
        labels,
    })
}

/// `{"type": "reversal", "claim_id": "R…", "target": "S…"}`.
fn push_reversal(buf: &mut Vec<u8>, pos: u64, target: u64) {
    buf.extend_from_slice(b"{\"type\": \"reversal\", \"claim_id\": \"R");
    push_padded(buf, pos + 1, 8);
    buf.extend_from_slice(b"\", \"target\": \"S");
    push_padded(buf, target + 1, 8);
    buf.extend_from_slice(b"\"}\n");
}
