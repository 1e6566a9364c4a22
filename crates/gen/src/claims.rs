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
use crate::institutions::{Institutions, Level};
use crate::persons::{
    inpatient_weight, outpatient_weight, push_psn_no, ChronicGroup, Person, Persons, CHRONIC_CODES,
    CLASSES,
};
use crate::rng::{
    chance, derive, pick_weighted, search_cumulative, stream, TAG_BAD, TAG_PLAN, TAG_VISIT,
    TAG_WRITE,
};
use crate::text::{amount_fen, push_fen, push_padded, push_qty};

/// Ordinary outpatient (普通门诊) visits per enrolled person per year, in thousandths.
const OUTPATIENT_MILLI: u64 = 1500;
/// Admissions (普通住院) per enrolled person per year, in thousandths.
const INPATIENT_MILLI: u64 = 190;
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

/// Level shares per kind of visit: [1, 2, 3, 3P, OUT].
const LEVELS_OUTPATIENT: [u32; 5] = [800, 160, 20, 12, 8];
const LEVELS_INPATIENT: [u32; 5] = [380, 470, 90, 40, 20];
const LEVELS_INPATIENT_SERIOUS: [u32; 5] = [80, 500, 230, 140, 50];
const LEVELS_CHRONIC_TWO: [u32; 5] = [550, 380, 40, 20, 10];
const LEVELS_CHRONIC_ONE: [u32; 5] = [30, 470, 260, 200, 40];

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
}

/// Samplers for visits: who, which kind, which day.
struct Sampler {
    /// Kind thresholds in common units (milli-visits × days).
    w_out: u64,
    w_in: u64,
    w_total: u64,
    out_cum: Vec<u64>,
    in_cum: Vec<u64>,
    chronic_cum: Vec<u64>,
    /// (person, registration offset) per chronic cumulative entry.
    chronic_regs: Vec<(u32, u8)>,
}

impl Sampler {
    fn new(ctx: &Ctx) -> Sampler {
        let p = ctx.persons;
        let diy = u64::from(ctx.year.len);
        let enrolled: u64 = p.by_class.iter().map(|c| c.len() as u64).sum();
        let mut out_cum = Vec::with_capacity(CLASSES);
        let mut in_cum = Vec::with_capacity(CLASSES);
        let (mut o, mut i) = (0u64, 0u64);
        for (c, members) in p.by_class.iter().enumerate() {
            let (sex, band) = ((c / 20) as u8 + 1, c % 20);
            o += u64::from(outpatient_weight(sex, band)) * members.len() as u64;
            i += u64::from(inpatient_weight(sex, band)) * members.len() as u64;
            out_cum.push(o);
            in_cum.push(i);
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
        let w_out = OUTPATIENT_MILLI * enrolled * diy;
        let w_in = INPATIENT_MILLI * enrolled * diy;
        Sampler {
            w_out,
            w_in,
            w_total: w_out + w_in + c,
            out_cum,
            in_cum,
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
        let (kind, cum) = if r < self.w_out {
            (OUTPATIENT, &self.out_cum)
        } else if r < self.w_out + self.w_in || self.chronic_cum.is_empty() {
            (INPATIENT, &self.in_cum)
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
        let members = &p.by_class[class];
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

    let r = Renderer::new(ctx);
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
            r.settlement(&mut buf, pos, &v);
            last_day = v.day;
            // Reverse this one later? (selection sampling over the settlements)
            if plan.gen_range(0..(settle - i) as u64) < rev_left {
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
                pos += 1;
            }
        }
        slots_left -= 1;
        w.write_all(&buf)?;
    }
    Ok(ClaimCounts {
        records: pos as usize,
        reversals,
        bad,
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

/// Renders claims from visits.
struct Renderer<'a> {
    ctx: &'a Ctx<'a>,
    w11: Vec<u32>,
    w21: Vec<u32>,
}

impl<'a> Renderer<'a> {
    fn new(ctx: &'a Ctx<'a>) -> Renderer<'a> {
        Renderer {
            ctx,
            w11: DIAGS.iter().map(|d| d.w11).collect(),
            w21: DIAGS.iter().map(|d| d.w21).collect(),
        }
    }

    fn settlement(&self, buf: &mut Vec<u8>, pos: u64, v: &Visit) {
        let mut rng = ChaCha8Rng::seed_from_u64(v.seed);
        let person = &self.ctx.persons.list[v.person as usize];
        let claim = match v.kind {
            OUTPATIENT => self.outpatient(&mut rng, person, v.day),
            INPATIENT => self.inpatient(&mut rng, person, v.day),
            _ => self.chronic(&mut rng, person, v.day, v.reg),
        };
        let mut psn = Vec::with_capacity(12);
        push_psn_no(&mut psn, v.person as usize);
        self.push_claim(
            buf,
            pos,
            &psn,
            self.ctx.inst.codes[claim.inst as usize].as_bytes(),
            &claim,
        );
    }

    /// Serialises a settlement in the example file's spacing.
    fn push_claim(&self, buf: &mut Vec<u8>, pos: u64, psn: &[u8], inst: &[u8], c: &Claim) {
        buf.extend_from_slice(b"{\"claim_id\": \"S");
        push_padded(buf, pos + 1, 8);
        buf.extend_from_slice(b"\", \"psn_no\": \"");
        buf.extend_from_slice(psn);
        buf.extend_from_slice(b"\", \"fixmedins_code\": \"");
        buf.extend_from_slice(inst);
        buf.extend_from_slice(b"\", \"med_type\": \"");
        buf.extend_from_slice(c.med_type.as_bytes());
        buf.extend_from_slice(b"\", \"begndate\": \"");
        buf.extend_from_slice(&self.date(c.begn));
        buf.extend_from_slice(b"\", \"enddate\": \"");
        buf.extend_from_slice(&self.date(c.end));
        buf.extend_from_slice(b"\", \"dise_codg\": \"");
        buf.extend_from_slice(c.diag.as_bytes());
        buf.extend_from_slice(b"\", \"lines\": [");
        for (k, l) in c.lines.iter().enumerate() {
            if k > 0 {
                buf.extend_from_slice(b", ");
            }
            buf.extend_from_slice(b"{\"code\": \"");
            match l.item {
                Some(i) => self.ctx.cat.push_code(buf, i),
                None => {
                    buf.push(b'Z');
                    push_padded(buf, pos % 10_000_000, 7);
                }
            }
            buf.extend_from_slice(b"\", \"price\": \"");
            push_fen(buf, l.price);
            buf.extend_from_slice(b"\", \"qty\": \"");
            push_qty(buf, l.qty);
            buf.extend_from_slice(b"\", \"amount\": \"");
            push_fen(buf, l.amount);
            buf.extend_from_slice(b"\"}");
        }
        buf.extend_from_slice(b"]}\n");
    }

    /// `YYYY-MM-DD` of a day of the year (or any day number beyond it).
    fn date(&self, doy: i32) -> [u8; 10] {
        let y = self.ctx.year;
        match usize::try_from(doy).ok().and_then(|d| y.dates.get(d)) {
            Some(d) => *d,
            None => format_date(y.jan1 + doy),
        }
    }

    fn visitor(
        &self,
        p: &Person,
        day: u16,
        level: Level,
        setting: Setting,
        los: u32,
        chronic: bool,
    ) -> Visitor {
        let age = age_on(p.birth, self.ctx.year.jan1 + i32::from(day));
        Visitor {
            sex: p.sex,
            age,
            level,
            setting,
            los,
            chronic,
            cheap: true,
            damp_pm: 950,
        }
    }

    fn pick_diag(&self, rng: &mut ChaCha8Rng, inpatient: bool, sex: u8, age: u32) -> &'static Diag {
        let w = if inpatient { &self.w21 } else { &self.w11 };
        for _ in 0..20 {
            let d = &DIAGS[pick_weighted(rng, w)];
            if d.fits(sex, age) {
                return d;
            }
        }
        &DIAGS[usize::from(inpatient)]
    }

    /// A level with institutions, drawn from `weights`; the 异地就医 registered
    /// mostly go to out-of-province hospitals.
    fn pick_level(&self, rng: &mut ChaCha8Rng, weights: &[u32; 5], offsite_pm: u32) -> Level {
        let by_level = &self.ctx.inst.by_level;
        if offsite_pm > 0 && !by_level[Level::Out as usize].is_empty() && chance(rng, offsite_pm) {
            return Level::Out;
        }
        let mut w = *weights;
        for (l, list) in by_level.iter().enumerate() {
            if list.is_empty() {
                w[l] = 0;
            }
        }
        Level::ALL[pick_weighted(rng, &w)]
    }

    /// An institution of `level`: level-1 visits favour the home clinic (admissions
    /// its township centre); bigger hospitals (listed first) get more patients.
    fn pick_inst(&self, rng: &mut ChaCha8Rng, level: Level, p: &Person, centre_only: bool) -> u32 {
        let inst = self.ctx.inst;
        if level == Level::L1 {
            let home = p.home as usize;
            return match (centre_only, chance(rng, 700)) {
                (true, true) => inst.centre_of(home),
                (true, false) => inst.centres[rng.gen_range(0..inst.centres.len())],
                (false, true) => inst.by_level[0][home.min(inst.by_level[0].len() - 1)],
                (false, false) => inst.by_level[0][rng.gen_range(0..inst.by_level[0].len())],
            };
        }
        let list = &inst.by_level[level as usize];
        let a = rng.gen_range(0..list.len());
        let b = rng.gen_range(0..list.len());
        list[a.min(b)]
    }

    /// An item from `pool` that fits the person and is new on the claim, after a few
    /// tries; a few lines ignore sex/age limits (audit findings in real data).
    fn pick_item(&self, rng: &mut ChaCha8Rng, pool: &[u32], v: &Visitor, lines: &[Line]) -> u32 {
        let items = &self.ctx.cat.items;
        let ignore_limits = chance(rng, 3);
        let allow_dear = !chance(rng, v.damp_pm);
        let mut cheapest = pool[0];
        for _ in 0..6 {
            let mut i = pool[rng.gen_range(0..pool.len())];
            if v.cheap {
                let j = pool[rng.gen_range(0..pool.len())];
                if items[j as usize].ref_fen < items[i as usize].ref_fen {
                    i = j;
                }
            }
            let it = &items[i as usize];
            if it.ref_fen < items[cheapest as usize].ref_fen {
                cheapest = i;
            }
            if it.ref_fen >= yuan(1000) && !allow_dear {
                continue;
            }
            let fits = ignore_limits || it.fits(v.sex, v.age);
            if fits && !lines.iter().any(|l| l.item == Some(i)) {
                return i;
            }
        }
        // An area with only dear items of this kind (coils, pacemakers): routine care
        // takes a general item instead.
        let it = &items[cheapest as usize];
        if it.ref_fen >= yuan(1000) && !allow_dear {
            let general = self.ctx.cat.pool(v.setting, Gen, it.kind);
            let i = general[rng.gen_range(0..general.len())];
            if items[i as usize].ref_fen < it.ref_fen {
                return i;
            }
        }
        cheapest
    }

    /// Unit price in fen: level markup on services, noise, and the 限价 mostly
    /// respected but sometimes exceeded.
    fn price(&self, rng: &mut ChaCha8Rng, it: &Item, level: Level) -> i64 {
        let markup: u64 = if it.kind == Kind::Service {
            [850, 1000, 1100, 1200, 1250][level as usize]
        } else {
            1000
        };
        let noise: u64 = rng.gen_range(970..=1030);
        let mut p = (u64::from(it.ref_fen) * markup * noise + 500_000) / 1_000_000;
        if it.limit_fen > 0 {
            let limit = u64::from(it.limit_fen);
            p = if chance(rng, 150) {
                limit * rng.gen_range(1010..=1250u64) / 1000 + 1
            } else {
                p.min(limit)
            };
        }
        p.max(1) as i64
    }

    /// Quantity in thousandths.
    fn qty(&self, rng: &mut ChaCha8Rng, it: &Item, v: &Visitor) -> u32 {
        let los = v.los.max(1);
        let whole: u32 = match (it.kind, v.setting) {
            _ if it.flags & F_DAY != 0 => los,
            (Kind::Drug, Setting::Out) if v.chronic && it.ref_fen >= yuan(1000) => {
                rng.gen_range(1..=2)
            }
            (Kind::Drug, Setting::Out) if v.chronic => rng.gen_range(1..=4),
            (Kind::Drug, Setting::Out) => [1, 2, 3][pick_weighted(rng, &[50, 35, 15])],
            // Doses over the stay: many of the cheap, few of the dear.
            (Kind::Drug, Setting::In) => {
                let cap = match it.ref_fen {
                    r if r >= yuan(1000) => 2,
                    r if r >= yuan(200) => los.min(4),
                    r if r >= yuan(50) => los.div_ceil(2),
                    _ => los * 2,
                };
                rng.gen_range(1..=cap.max(1))
            }
            // Dialysis sessions of a month.
            (_, Setting::Out) if v.chronic && it.group == Group::Renal => rng.gen_range(4..=13),
            (Kind::Service, Setting::Out) if it.ref_fen < yuan(100) && chance(rng, 150) => {
                rng.gen_range(2..=5)
            }
            (Kind::Service, Setting::Out) => 1,
            (Kind::Service, Setting::In) if it.ref_fen < yuan(50) => rng.gen_range(1..=los),
            (Kind::Service, Setting::In) => 1 + u32::from(chance(rng, 100)),
            (Kind::Material, _) if it.ref_fen >= yuan(1000) => 1 + u32::from(chance(rng, 100)),
            (Kind::Material, _) if it.ref_fen >= yuan(100) => rng.gen_range(1..=3),
            (Kind::Material, Setting::Out) => rng.gen_range(1..=3),
            (Kind::Material, Setting::In) => rng.gen_range(1..=(los * 2).max(2)),
        };
        let mut q = whole * 1000;
        if it.kind == Kind::Drug && it.flags & F_DAY == 0 {
            let r = rng.gen_range(0..1000);
            if r < 40 {
                q = (whole - 1) * 1000 + 500; // half a box
            } else if r < 50 {
                q = rng.gen_range(1..=2999); // weighed or split doses
            }
        }
        if it.max_qty > 0 && !chance(rng, 20) {
            q = q.min(u32::from(it.max_qty) * 1000);
        }
        q.max(1)
    }

    fn line(&self, rng: &mut ChaCha8Rng, item: u32, v: &Visitor, qty: Option<u32>) -> Line {
        let it = &self.ctx.cat.items[item as usize];
        let price = self.price(rng, it, v.level);
        let qty = qty.unwrap_or_else(|| self.qty(rng, it, v));
        Line {
            item: Some(item),
            price,
            qty,
            amount: amount_fen(price, qty),
        }
    }

    /// Adds `n` lines from `pool`.
    fn add_from(
        &self,
        rng: &mut ChaCha8Rng,
        lines: &mut Vec<Line>,
        pool: &[u32],
        v: &Visitor,
        n: usize,
        qty: Option<u32>,
    ) {
        for _ in 0..n {
            let i = self.pick_item(rng, pool, v, lines);
            let l = self.line(rng, i, v, qty);
            lines.push(l);
        }
    }

    /// Area for a filler line: mostly the diagnosis', otherwise general (paediatric
    /// for children); a few lines stray outside (限定支付范围 findings).
    fn filler_group(
        &self,
        rng: &mut ChaCha8Rng,
        diag_group: Group,
        v: &Visitor,
        own_pm: u32,
    ) -> Group {
        const CLINICAL: [Group; 12] = [
            Resp, Card, Diab, Dig, Ortho, Obs, Uro, Ped, Onco, Renal, Neuro, Transp,
        ];
        if chance(rng, 15) {
            return CLINICAL[rng.gen_range(0..CLINICAL.len())];
        }
        if chance(rng, own_pm) {
            diag_group
        } else if v.age <= 14 && chance(rng, 400) {
            Ped
        } else {
            Gen
        }
    }

    /// 普通门诊 (med_type 11): 1–6 lines, small amounts.
    fn outpatient(&self, rng: &mut ChaCha8Rng, p: &Person, day: u16) -> Claim {
        let age = age_on(p.birth, self.ctx.year.jan1 + i32::from(day));
        let diag = self.pick_diag(rng, false, p.sex, age);
        let level = self.pick_level(
            rng,
            &LEVELS_OUTPATIENT,
            if p.offsite_on(day) { 500 } else { 0 },
        );
        let inst = self.pick_inst(rng, level, p, false);
        let v = self.visitor(p, day, level, Setting::Out, 1, false);
        let n = 1 + pick_weighted(rng, &[25, 25, 20, 15, 10, 5]);
        let mut lines = Vec::with_capacity(n);
        if chance(rng, 750) {
            self.add_from(
                rng,
                &mut lines,
                self.ctx.cat.consult_pool(),
                &v,
                1,
                Some(1000),
            );
        }
        while lines.len() < n {
            let kind =
                [Kind::Drug, Kind::Service, Kind::Material][pick_weighted(rng, &[70, 20, 10])];
            let group = self.filler_group(rng, diag.group, &v, 600);
            self.add_from(
                rng,
                &mut lines,
                self.ctx.cat.pool(Setting::Out, group, kind),
                &v,
                1,
                None,
            );
        }
        let day = i32::from(day);
        Claim {
            med_type: "11",
            inst,
            begn: day,
            end: day,
            diag: diag.code,
            lines,
        }
    }

    /// 门诊慢特病 (med_type 14): the registered diagnosis, a month's medicine (or a
    /// month of dialysis, a chemotherapy cycle).
    fn chronic(&self, rng: &mut ChaCha8Rng, p: &Person, day: u16, reg: u8) -> Claim {
        let regs = self.ctx.persons.regs(p);
        let r = regs[usize::from(reg).min(regs.len().saturating_sub(1))];
        let code = &CHRONIC_CODES[usize::from(r.code)];
        let class_one = code.group.is_class_one();
        let weights = if class_one {
            &LEVELS_CHRONIC_ONE
        } else {
            &LEVELS_CHRONIC_TWO
        };
        let level = self.pick_level(rng, weights, if p.offsite_on(day) { 500 } else { 0 });
        let inst = self.pick_inst(rng, level, p, true);
        let mut v = self.visitor(p, day, level, Setting::Out, 1, true);
        v.cheap = false;
        v.damp_pm = 0;
        let area = code.group.area();
        let n = 1 + pick_weighted(rng, &[30, 30, 20, 12, 8]);
        let mut lines = Vec::with_capacity(n + 1);
        if chance(rng, 400) {
            self.add_from(
                rng,
                &mut lines,
                self.ctx.cat.consult_pool(),
                &v,
                1,
                Some(1000),
            );
        }
        while lines.len() < n {
            let kind = if code.group == ChronicGroup::RenalFailure {
                [Kind::Drug, Kind::Service, Kind::Material][pick_weighted(rng, &[40, 35, 25])]
            } else {
                [Kind::Drug, Kind::Service, Kind::Material][pick_weighted(rng, &[80, 17, 3])]
            };
            let group = self.filler_group(rng, area, &v, 850);
            self.add_from(
                rng,
                &mut lines,
                self.ctx.cat.pool(Setting::Out, group, kind),
                &v,
                1,
                None,
            );
        }
        let day = i32::from(day);
        Claim {
            med_type: "14",
            inst,
            begn: day,
            end: day,
            diag: code.code,
            lines,
        }
    }

    /// 普通住院 (med_type 21): 10–60 lines over a stay of 1–20 days ending on `day`.
    fn inpatient(&self, rng: &mut ChaCha8Rng, p: &Person, day: u16) -> Claim {
        let cat = self.ctx.cat;
        let age = age_on(p.birth, self.ctx.year.jan1 + i32::from(day));
        let diag = self.pick_diag(rng, true, p.sex, age);
        let serious = diag.surgical || diag.severity > 0;
        let weights = if serious {
            &LEVELS_INPATIENT_SERIOUS
        } else {
            &LEVELS_INPATIENT
        };
        let level = self.pick_level(rng, weights, if p.offsite_on(day) { 600 } else { 0 });
        let inst = self.pick_inst(rng, level, p, true);
        let mut los = 1
            + pick_weighted(rng, &STAY_WEIGHTS) as u32
            + 2 * u32::from(diag.surgical)
            + u32::from(diag.severity);
        if diag.code == "O80" {
            los = rng.gen_range(2..=4);
        }
        // The stay lies inside the year (a 1 January discharge was admitted that day).
        let nights = los.clamp(1, 20).min(u32::from(day));
        let begn = i32::from(day) - nights as i32;
        let los = nights.max(1);
        let mut v = self.visitor(p, day, level, Setting::In, los, false);
        v.cheap = diag.severity == 0;
        v.damp_pm = if diag.severity == 0 { 900 } else { 700 };
        let extra = rng.gen_range(0..=los * 2 + 6) as usize;
        let target = (10
            + extra
            + [0, 4, 8, 10, 10][level as usize]
            + 6 * usize::from(diag.surgical)
            + 4 * usize::from(diag.severity))
        .clamp(10, 60);
        let mut lines = Vec::with_capacity(target);
        let ward = rng.gen_range(3..=5);
        self.add_from(rng, &mut lines, cat.ward_pool(), &v, ward, Some(los * 1000));
        // A few serious stays turn catastrophic: intensive care throughout and costly
        // rescue drugs, the bills of hundreds of thousands that reach every cap.
        let catastrophic = diag.severity > 0 && los >= 10 && chance(rng, 60);
        if catastrophic {
            v.cheap = false;
            v.damp_pm = 0;
            let rescue = cat.pool(Setting::In, Gen, Kind::Drug);
            let plan = [(cat.icu_pool(), 1000), (cat.icu_pool(), 1000)].into_iter();
            let drugs = (0..rng.gen_range(4..=8)).map(|_| (rescue, 2000));
            for (pool, per_day) in plan.chain(drugs) {
                // The dearer of two: ECMO, albumin and carbapenems rather than saline.
                let a = self.pick_item(rng, pool, &v, &lines);
                let b = self.pick_item(rng, pool, &v, &lines);
                let items = &cat.items;
                let i = if items[b as usize].ref_fen > items[a as usize].ref_fen {
                    b
                } else {
                    a
                };
                let l = self.line(rng, i, &v, Some(los * per_day));
                lines.push(l);
            }
        } else if diag.severity >= 2 || (diag.severity == 1 && chance(rng, 250)) {
            let icu_days = rng.gen_range(1..=los.min(7));
            let n = rng.gen_range(1..=2);
            self.add_from(
                rng,
                &mut lines,
                cat.icu_pool(),
                &v,
                n,
                Some(icu_days * 1000),
            );
        }
        if diag.surgical {
            self.add_from(rng, &mut lines, cat.op_pool(diag.group), &v, 1, Some(1000));
            let n = rng.gen_range(1..=2);
            self.add_from(
                rng,
                &mut lines,
                cat.pool(Setting::In, Surg, Kind::Service),
                &v,
                n,
                None,
            );
            let n = rng.gen_range(1..=3);
            self.add_from(
                rng,
                &mut lines,
                cat.pool(Setting::In, Surg, Kind::Material),
                &v,
                n,
                None,
            );
            // Implants (stents, joints, plates) come with the operation.
            let damp = std::mem::replace(&mut v.damp_pm, 0);
            let n = rng.gen_range(0..=2);
            self.add_from(
                rng,
                &mut lines,
                cat.pool(Setting::In, diag.group, Kind::Material),
                &v,
                n,
                None,
            );
            v.damp_pm = damp;
        }
        while lines.len() < target {
            let kind =
                [Kind::Drug, Kind::Service, Kind::Material][pick_weighted(rng, &[60, 28, 12])];
            let group = self.filler_group(rng, diag.group, &v, 550);
            self.add_from(
                rng,
                &mut lines,
                cat.pool(Setting::In, group, kind),
                &v,
                1,
                None,
            );
        }
        lines.truncate(60);
        Claim {
            med_type: "21",
            inst,
            begn,
            end: i32::from(day),
            diag: diag.code,
            lines,
        }
    }

    /// A malformed record of kind `seq % 10` dated `day`.
    fn bad(&self, buf: &mut Vec<u8>, pos: u64, seq: usize, day: u16) {
        let ctx = self.ctx;
        let mut rng = stream(ctx.seed, TAG_BAD, seq as u64);
        let mut kind = BadKind::ALL[seq % BadKind::ALL.len()];
        let persons = &ctx.persons;
        if kind == BadKind::NotEnrolled && persons.unenrolled.is_empty() {
            kind = BadKind::UnknownPerson;
        }
        let person_idx = if kind == BadKind::NotEnrolled {
            persons.unenrolled[rng.gen_range(0..persons.unenrolled.len())] as usize
        } else {
            // Any enrolled person: person 0 always is.
            let mut idx = 0;
            for _ in 0..64 {
                let i = rng.gen_range(0..persons.list.len());
                if persons.list[i].enrolled {
                    idx = i;
                    break;
                }
            }
            idx
        };
        let p = &persons.list[person_idx];
        let mut claim = self.outpatient(&mut rng, p, day);
        let mut psn = Vec::with_capacity(12);
        push_psn_no(&mut psn, person_idx);
        let mut inst = ctx.inst.codes[claim.inst as usize].as_bytes().to_vec();
        let j = rng.gen_range(0..claim.lines.len());
        match kind {
            BadKind::UnknownPerson => {
                psn.clear();
                push_psn_no(&mut psn, persons.list.len() + seq);
            }
            BadKind::UnknownInstitution => {
                inst.clear();
                inst.extend_from_slice(b"H990199");
                push_padded(&mut inst, (seq % 100_000) as u64, 5);
            }
            BadKind::UnknownItem => claim.lines[j].item = None,
            BadKind::AmountMismatch => {
                let delta = rng.gen_range(1..=100);
                let l = &mut claim.lines[j];
                l.amount += if l.amount > delta && chance(&mut rng, 500) {
                    -delta
                } else {
                    delta
                };
            }
            BadKind::NegativePrice => {
                let l = &mut claim.lines[j];
                l.price = -l.price;
                l.amount = amount_fen(l.price, l.qty);
            }
            BadKind::BeginAfterEnd => claim.begn = claim.end + rng.gen_range(1..=3),
            BadKind::EmptyLines => claim.lines.clear(),
            BadKind::NotRegistered => {
                let held: Vec<ChronicGroup> = persons
                    .regs(p)
                    .iter()
                    .map(|r| CHRONIC_CODES[usize::from(r.code)].group)
                    .collect();
                // At most three of seven groups are held, so some code is free.
                let free: Vec<usize> = (0..CHRONIC_CODES.len())
                    .filter(|&c| {
                        !held.contains(&CHRONIC_CODES[c].group) && CHRONIC_CODES[c].fits(p.sex)
                    })
                    .collect();
                claim.med_type = "14";
                claim.diag = CHRONIC_CODES[free[rng.gen_range(0..free.len())]].code;
            }
            BadKind::NotJson | BadKind::NotEnrolled => {}
        }
        let start = buf.len();
        self.push_claim(buf, pos, &psn, &inst, &claim);
        if kind == BadKind::NotJson {
            // Cut mid-record, as a transfer that broke off would.
            let len = buf.len() - start;
            buf.truncate(start + len / 2);
            buf.push(b'\n');
        }
    }
}
