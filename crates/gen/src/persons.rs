//! 参保人 (insured residents, then employees) of the county: sex, birth date, resident ID,
//! paid enrolment, poverty categories (residents), scheme status and personal account
//! (employees, `employees.rs`), 门诊慢特病 registrations and 异地就医备案.

use std::io::{self, Write};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::catalog::Group;
use crate::date::{days_from_civil, Year};
use crate::employees::{self, Employee};
use crate::idcard::make_certno;
use crate::rng::{chance, pick_weighted, stream, TAG_EMPLOYEE, TAG_PERSON};
use crate::text::{push_padded, push_u64};

/// Region code (统筹区) in every generated resident ID (fictional).
pub(crate) const REGION: &[u8; 6] = b"990101";

/// Five-year age bands 0–4 … 95–99: relative population of a rural county under the
/// residents' scheme (few young working adults: they are insured as employees or away).
const AGE_BANDS: [u32; 20] = [
    40, 58, 62, 58, 48, 45, 60, 62, 58, 68, 85, 82, 65, 62, 48, 30, 18, 9, 3, 1,
];
/// Number of (sex, age band) classes used to sample visits, per scheme.
pub(crate) const CLASSES: usize = 40;
/// Schemes: residents (`390`), employees (`310`).
pub(crate) const SCHEMES: usize = 2;

/// [`Person::scheme`] bits.
pub(crate) const EMPLOYEE: u8 = 1;
pub(crate) const RETIRED: u8 = 2;
pub(crate) const CIVIL_SERVANT: u8 = 4;

/// Relative ordinary-outpatient (普通门诊) visit rate by sex and age band.
pub(crate) fn outpatient_weight(sex: u8, band: usize) -> u32 {
    match band {
        0 => 300,
        1 => 170,
        2 => 110,
        3 => 80,
        4..=8 if sex == 2 => 110,
        4..=8 => 90,
        9..=11 => 140,
        12..=13 => 210,
        _ => 260,
    }
}

/// Relative admission (住院) rate by sex and age band; women of 20–39 give birth.
pub(crate) fn inpatient_weight(sex: u8, band: usize) -> u32 {
    match band {
        0 => 150,
        1..=3 => 50,
        4..=7 if sex == 2 => 170,
        4..=7 => 60,
        8 => 100,
        9..=11 => 150,
        12..=13 => 280,
        14..=15 => 420,
        _ => 520,
    }
}

/// Per-mille chance of holding a 门诊慢特病 registration, by age band.
fn chronic_per_mille(band: usize) -> u32 {
    match band {
        0..=3 => 3,
        4..=5 => 15,
        6..=7 => 40,
        8..=9 => 110,
        10..=11 => 230,
        12..=13 => 360,
        14..=15 => 430,
        _ => 450,
    }
}

/// 门诊慢特病 disease groups of the policy sheet §3.3.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChronicGroup {
    /// 高血压 (Class II).
    Hypertension = 0,
    /// 糖尿病 (Class II).
    Diabetes,
    /// 冠心病 (Class II).
    CoronaryHeart,
    /// 慢阻肺 (Class II).
    Copd,
    /// 恶性肿瘤 (Class I).
    Cancer,
    /// 慢性肾衰竭 (Class I).
    RenalFailure,
    /// 器官移植术后 (Class I).
    Transplant,
}

impl ChronicGroup {
    const ALL: [ChronicGroup; 7] = [
        ChronicGroup::Hypertension,
        ChronicGroup::Diabetes,
        ChronicGroup::CoronaryHeart,
        ChronicGroup::Copd,
        ChronicGroup::Cancer,
        ChronicGroup::RenalFailure,
        ChronicGroup::Transplant,
    ];
    /// Relative prevalence among registrations.
    const WEIGHTS: [u32; 7] = [45, 22, 12, 8, 8, 4, 1];

    /// 门诊慢特病 visits a year while registered.
    pub(crate) fn visits_per_year(self) -> u64 {
        [6, 6, 6, 6, 10, 12, 8][self as usize]
    }

    /// Class I (特殊病) rather than Class II (慢性病).
    pub(crate) fn is_class_one(self) -> bool {
        matches!(
            self,
            ChronicGroup::Cancer | ChronicGroup::RenalFailure | ChronicGroup::Transplant
        )
    }

    /// Catalogue area its visits draw items from.
    pub(crate) fn area(self) -> Group {
        match self {
            ChronicGroup::Hypertension | ChronicGroup::CoronaryHeart => Group::Card,
            ChronicGroup::Diabetes => Group::Diab,
            ChronicGroup::Copd => Group::Resp,
            ChronicGroup::Cancer => Group::Onco,
            ChronicGroup::RenalFailure => Group::Renal,
            ChronicGroup::Transplant => Group::Transp,
        }
    }
}

/// A registrable 门诊慢特病 diagnosis.
pub(crate) struct ChronicCode {
    /// ICD-10 code written in `chronic[].dise_codg` and in `14` claims.
    pub code: &'static str,
    pub group: ChronicGroup,
    weight: u32,
    /// `1` male only, `2` female only, `0` both.
    sex: u8,
}

impl ChronicCode {
    /// Whether a person of this sex can hold the diagnosis.
    pub(crate) fn fits(&self, sex: u8) -> bool {
        self.sex == 0 || self.sex == sex
    }
}

const fn cc(code: &'static str, group: ChronicGroup, weight: u32, sex: u8) -> ChronicCode {
    ChronicCode {
        code,
        group,
        weight,
        sex,
    }
}

/// Registrable codes with their relative frequency inside the group.
pub(crate) const CHRONIC_CODES: [ChronicCode; 23] = [
    cc("I10", ChronicGroup::Hypertension, 70, 0),
    cc("I11.9", ChronicGroup::Hypertension, 15, 0),
    cc("I12.9", ChronicGroup::Hypertension, 5, 0),
    cc("I13.9", ChronicGroup::Hypertension, 3, 0),
    cc("I15.9", ChronicGroup::Hypertension, 3, 0),
    cc("E11.9", ChronicGroup::Diabetes, 65, 0),
    cc("E11.2", ChronicGroup::Diabetes, 10, 0),
    cc("E10.9", ChronicGroup::Diabetes, 8, 0),
    cc("E14.9", ChronicGroup::Diabetes, 10, 0),
    cc("I25.1", ChronicGroup::CoronaryHeart, 70, 0),
    cc("I25.9", ChronicGroup::CoronaryHeart, 30, 0),
    cc("J44.9", ChronicGroup::Copd, 70, 0),
    cc("J44.1", ChronicGroup::Copd, 30, 0),
    cc("C34.9", ChronicGroup::Cancer, 25, 0),
    cc("C50.9", ChronicGroup::Cancer, 15, 2),
    cc("C16.9", ChronicGroup::Cancer, 15, 0),
    cc("C22.0", ChronicGroup::Cancer, 12, 0),
    cc("C18.9", ChronicGroup::Cancer, 12, 0),
    cc("C61", ChronicGroup::Cancer, 8, 1),
    cc("C53.9", ChronicGroup::Cancer, 8, 2),
    cc("N18.5", ChronicGroup::RenalFailure, 70, 0),
    cc("N18.4", ChronicGroup::RenalFailure, 30, 0),
    cc("Z94.0", ChronicGroup::Transplant, 70, 0),
];

/// One approved 门诊慢特病 registration, dates as days of the policy year (inclusive).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Registration {
    /// Index into [`CHRONIC_CODES`].
    pub code: u8,
    pub from: u16,
    pub to: u16,
}

/// What the claims generator needs to know about a person (kept compact: 20 bytes).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Person {
    /// Birth date as a day number.
    pub birth: i32,
    /// Position of the home clinic among the level-1 institutions.
    pub home: u32,
    /// First registration in [`Persons::registrations`].
    pub reg_start: u32,
    pub reg_len: u8,
    /// `1` male, `2` female (`gend`).
    pub sex: u8,
    /// Paid enrolment (参保缴费) for the policy year.
    pub enrolled: bool,
    /// [`EMPLOYEE`], [`RETIRED`], [`CIVIL_SERVANT`]; 0 for a resident.
    pub scheme: u8,
    /// 异地就医备案 window (days of the year); none when `off_from > off_to`.
    pub off_from: u16,
    pub off_to: u16,
}

impl Person {
    /// Insured under the employee scheme (`310`).
    pub(crate) fn is_employee(&self) -> bool {
        self.scheme & EMPLOYEE != 0
    }

    /// Whether the 异地就医备案 covers day `doy`.
    pub(crate) fn offsite_on(&self, doy: u16) -> bool {
        self.off_from <= doy && doy <= self.off_to
    }
}

/// All persons plus the indices the visit sampler uses.
pub(crate) struct Persons {
    pub list: Vec<Person>,
    pub registrations: Vec<Registration>,
    /// Enrolled persons of each scheme and (sex, age band) class:
    /// `scheme × CLASSES + (sex − 1) × 20 + band` (residents 0, employees 1).
    pub by_class: Vec<Vec<u32>>,
    /// Persons without a paid enrolment for the year.
    pub unenrolled: Vec<u32>,
    /// Persons in a poverty category (counted for the summary and tests).
    pub poor: usize,
    /// Employees (the last persons of the list), of whom retired.
    pub employees: usize,
    pub retirees: usize,
}

impl Persons {
    /// Registrations of person `p`.
    pub(crate) fn regs(&self, p: &Person) -> &[Registration] {
        let start = p.reg_start as usize;
        &self.registrations[start..start + usize::from(p.reg_len)]
    }
}

/// 百家姓 by rough frequency.
pub(crate) const SURNAMES: [(&str, u32); 52] = [
    ("王", 71),
    ("李", 70),
    ("张", 66),
    ("刘", 53),
    ("陈", 46),
    ("杨", 31),
    ("黄", 24),
    ("赵", 20),
    ("吴", 20),
    ("周", 19),
    ("徐", 15),
    ("孙", 14),
    ("马", 13),
    ("朱", 13),
    ("胡", 12),
    ("郭", 11),
    ("何", 10),
    ("高", 10),
    ("林", 10),
    ("罗", 9),
    ("郑", 9),
    ("梁", 8),
    ("谢", 7),
    ("宋", 6),
    ("唐", 6),
    ("许", 6),
    ("韩", 6),
    ("冯", 6),
    ("邓", 6),
    ("曹", 5),
    ("彭", 5),
    ("曾", 5),
    ("肖", 5),
    ("田", 5),
    ("董", 5),
    ("袁", 4),
    ("潘", 4),
    ("于", 4),
    ("蒋", 4),
    ("蔡", 4),
    ("余", 4),
    ("杜", 4),
    ("叶", 4),
    ("程", 4),
    ("苏", 3),
    ("魏", 3),
    ("吕", 3),
    ("丁", 3),
    ("任", 3),
    ("沈", 3),
    ("欧阳", 1),
    ("司马", 1),
];
const MALE_CHARS: [&str; 40] = [
    "伟", "强", "军", "磊", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华", "飞",
    "鑫", "波", "宇", "浩", "凯", "健", "俊", "帆", "帅", "旭", "宁", "龙", "林", "国", "建", "志",
    "文", "海", "东", "亮", "成", "春", "德", "福",
];
const FEMALE_CHARS: [&str; 40] = [
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "秀", "英", "玲", "桂", "燕", "萍", "红", "梅",
    "琳", "雪", "婷", "倩", "慧", "颖", "洁", "兰", "凤", "琴", "云", "莉", "欣", "悦", "佳", "思",
    "雨", "晓", "小", "春", "秋", "月", "金", "玉",
];

/// Poverty category combinations (`pk` 建档立卡, `db` 低保, `tk` 特困) with weights.
const CATEGORY_SETS: [(&[&str], u32); 5] = [
    (&["pk"], 58),
    (&["db"], 25),
    (&["tk"], 7),
    (&["pk", "db"], 6),
    (&["db", "tk"], 4),
];

/// A validity window inside the year: mostly the whole year, sometimes starting or
/// ending mid-year (per-mille chances).
fn window(rng: &mut ChaCha8Rng, len: u16, start_pm: u32, end_pm: u32) -> (u16, u16) {
    let last = len - 1;
    let r = rng.gen_range(0..1000);
    if r < start_pm {
        (rng.gen_range(1..last - 30), last)
    } else if r < start_pm + end_pm {
        (0, rng.gen_range(60..last))
    } else {
        (0, last)
    }
}

/// Generates `residents` residents and then `employees` employees (numbered on after
/// them, each from its own stream, so adding employees changes no resident), writing
/// `persons.jsonl` as it goes.
pub(crate) fn build(
    seed: u64,
    residents: usize,
    employees: usize,
    year: &Year,
    level1_count: usize,
    w: &mut impl Write,
) -> io::Result<Persons> {
    let n = residents + employees;
    let mut out = Persons {
        list: Vec::with_capacity(n),
        registrations: Vec::new(),
        by_class: vec![Vec::new(); SCHEMES * CLASSES],
        unenrolled: Vec::new(),
        poor: 0,
        employees,
        retirees: 0,
    };
    // Resident IDs must be unique: count the IDs issued per (birth date, sex).
    let min_birth = days_from_civil(year.year - 101, 1, 1);
    let span = (year.jan1 - min_birth + 1) as usize;
    let mut issued = vec![0u16; span * 2];
    let surname_w: Vec<u32> = SURNAMES.iter().map(|s| s.1).collect();
    let code_w: Vec<u32> = CHRONIC_CODES.iter().map(|c| c.weight).collect();
    let mut buf = Vec::with_capacity(512);

    for i in 0..n {
        let (mut rng, employee) = if i < residents {
            (stream(seed, TAG_PERSON, i as u64), None)
        } else {
            let mut rng = stream(seed, TAG_EMPLOYEE, (i - residents) as u64);
            let e = employees::draw(&mut rng);
            (rng, Some(e))
        };
        let (sex, band, age) = match employee {
            Some(e) => (e.sex, e.band, e.age),
            None => {
                let sex: u8 = if chance(&mut rng, 510) { 1 } else { 2 };
                let band = pick_weighted(&mut rng, &AGE_BANDS);
                (sex, band, band as i32 * 5 + rng.gen_range(0..5))
            }
        };
        // Born in the year before the one in which they turn `age`, so they are
        // `age` on 1 January of the policy year.
        let born_year = year.year - age;
        let mut birth = days_from_civil(born_year, 1, 1) - rng.gen_range(0..365);
        let sex_slot = usize::from(sex - 1);
        let mut slot = (birth - min_birth) as usize;
        let mut tries = 0;
        while issued[slot * 2 + sex_slot] >= 500 {
            // All 500 sequence numbers of that day are taken: be born a day later.
            slot = (slot + 1) % span;
            tries += 1;
            if tries > span {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "人数过多，无法分配唯一的身份证号",
                ));
            }
        }
        birth = min_birth + slot as i32;
        let count = u32::from(issued[slot * 2 + sex_slot]);
        issued[slot * 2 + sex_slot] += 1;
        // A bijection of 0..500 scatters sequence numbers like real 派出所 codes.
        let j = (count * 367 + (slot as u32 * 31 + u32::from(sex)) % 500) % 500;
        let seq = 2 * j + u32::from(sex == 1);
        let certno = make_certno(REGION, birth, seq);

        // The first resident and the first employee are always enrolled so that any run
        // can produce typical claims.
        let enrolled = i == 0
            || i == residents
            || chance(
                &mut rng,
                match employee {
                    Some(_) => employees::ENROLLED_PER_MILLE,
                    None => 980,
                },
            );
        let poor = employee.is_none() && chance(&mut rng, if band >= 12 { 110 } else { 60 });
        let categories: Vec<(&str, (u16, u16))> = if poor {
            let set = CATEGORY_SETS[pick_weighted(&mut rng, &CATEGORY_SETS.map(|c| c.1))].0;
            set.iter()
                .map(|&c| (c, window(&mut rng, year.len, 100, 50)))
                .collect()
        } else {
            Vec::new()
        };
        let reg_start = out.registrations.len() as u32;
        if chance(&mut rng, chronic_per_mille(band)) {
            let k = 1 + pick_weighted(&mut rng, &[70, 22, 8]);
            let mut groups: Vec<ChronicGroup> = Vec::with_capacity(k);
            while groups.len() < k {
                let g = ChronicGroup::ALL[pick_weighted(&mut rng, &ChronicGroup::WEIGHTS)];
                if !groups.contains(&g) {
                    groups.push(g);
                }
            }
            for g in groups {
                let code = loop {
                    let c = pick_weighted(&mut rng, &code_w);
                    let cc = &CHRONIC_CODES[c];
                    if cc.group == g && (cc.sex == 0 || cc.sex == sex) {
                        break c;
                    }
                };
                let (from, to) = window(&mut rng, year.len, 180, 30);
                out.registrations.push(Registration {
                    code: code as u8,
                    from,
                    to,
                });
            }
        }
        let reg_len = (out.registrations.len() - reg_start as usize) as u8;
        let offsite_pm = match employee {
            Some(e) => employees::OFFSITE_PER_MILLE[usize::from(e.retired)],
            None if (4..12).contains(&band) => 25,
            None => 5,
        };
        let (off_from, off_to) = if chance(&mut rng, offsite_pm) {
            if chance(&mut rng, 500) {
                (0, year.len - 1)
            } else {
                (year.month_start(rng.gen_range(2..=11)), year.len - 1)
            }
        } else {
            (1, 0)
        };
        let home = rng.gen_range(0..level1_count.max(1)) as u32;
        let person = Person {
            birth,
            home,
            reg_start,
            reg_len,
            sex,
            enrolled,
            scheme: employee.map_or(0, scheme_bits),
            off_from,
            off_to,
        };

        // {"psn_no": …} in the example's spacing.
        buf.clear();
        buf.extend_from_slice(b"{\"psn_no\": \"");
        push_psn_no(&mut buf, i);
        buf.extend_from_slice(b"\", \"certno\": \"");
        buf.extend_from_slice(&certno);
        buf.extend_from_slice(b"\", \"name\": \"");
        push_name(&mut buf, &mut rng, sex, &surname_w);
        buf.extend_from_slice(b"\", \"gend\": \"");
        buf.push(b'0' + sex);
        buf.extend_from_slice(b"\", \"brdy\": \"");
        crate::date::push_date(&mut buf, birth);
        if let Some(e) = &employee {
            push_employee(&mut buf, e);
        }
        buf.extend_from_slice(b"\", \"enrolments\": [");
        if enrolled {
            push_u64(&mut buf, year.year as u64);
        } else if chance(&mut rng, 600) {
            // Paid last year but not this one (断缴).
            push_u64(&mut buf, (year.year - 1) as u64);
        }
        if employee.is_none() {
            buf.extend_from_slice(b"], \"categories\": [");
            for (k, (code, (from, to))) in categories.iter().enumerate() {
                if k > 0 {
                    buf.extend_from_slice(b", ");
                }
                buf.extend_from_slice(b"{\"code\": \"");
                buf.extend_from_slice(code.as_bytes());
                push_range(&mut buf, year, *from, *to);
            }
        }
        buf.extend_from_slice(b"], \"chronic\": [");
        for (k, r) in out.registrations[reg_start as usize..].iter().enumerate() {
            if k > 0 {
                buf.extend_from_slice(b", ");
            }
            buf.extend_from_slice(b"{\"dise_codg\": \"");
            buf.extend_from_slice(CHRONIC_CODES[usize::from(r.code)].code.as_bytes());
            push_range(&mut buf, year, r.from, r.to);
        }
        buf.extend_from_slice(b"], \"offsite\": [");
        if off_from <= off_to {
            buf.extend_from_slice(b"{\"from\": \"");
            buf.extend_from_slice(&year.dates[usize::from(off_from)]);
            buf.extend_from_slice(b"\", \"to\": \"");
            buf.extend_from_slice(&year.dates[usize::from(off_to)]);
            buf.extend_from_slice(b"\"}");
        }
        buf.extend_from_slice(b"]}\n");
        w.write_all(&buf)?;

        if enrolled {
            let scheme = usize::from(employee.is_some());
            out.by_class[scheme * CLASSES + usize::from(sex - 1) * 20 + band].push(i as u32);
        } else {
            out.unenrolled.push(i as u32);
        }
        out.poor += usize::from(poor);
        out.retirees += usize::from(employee.is_some_and(|e| e.retired));
        out.list.push(person);
    }
    Ok(out)
}

fn scheme_bits(e: Employee) -> u8 {
    EMPLOYEE | if e.retired { RETIRED } else { 0 } | if e.civil_servant { CIVIL_SERVANT } else { 0 }
}

/// Appends the employee fields (`interface.md` §1) after a string field, leaving its
/// closing quote to the caller: `", "insutype": "310", …, "acct_balance": "1234.56`.
fn push_employee(buf: &mut Vec<u8>, e: &Employee) {
    buf.extend_from_slice(b"\", \"insutype\": \"310\", \"retired\": ");
    buf.extend_from_slice(if e.retired { b"true" } else { b"false" });
    buf.extend_from_slice(b", \"civil_servant\": ");
    buf.extend_from_slice(if e.civil_servant { b"true" } else { b"false" });
    buf.extend_from_slice(b", \"acct_balance\": \"");
    crate::text::push_fen(buf, e.balance);
}

/// Appends `", "from": "…", "to": "…"}` closing an object opened with a string field.
fn push_range(buf: &mut Vec<u8>, year: &Year, from: u16, to: u16) {
    buf.extend_from_slice(b"\", \"from\": \"");
    buf.extend_from_slice(&year.dates[usize::from(from)]);
    buf.extend_from_slice(b"\", \"to\": \"");
    buf.extend_from_slice(&year.dates[usize::from(to)]);
    buf.extend_from_slice(b"\"}");
}

/// Appends the 人员编号 of person `i`: `P` + 8 digits, from `P00000001`.
pub(crate) fn push_psn_no(buf: &mut Vec<u8>, i: usize) {
    buf.push(b'P');
    push_padded(buf, i as u64 + 1, 8);
}

/// Appends a Chinese name: surname and a one- or two-character given name.
pub(crate) fn push_name(buf: &mut Vec<u8>, rng: &mut ChaCha8Rng, sex: u8, surname_w: &[u32]) {
    buf.extend_from_slice(SURNAMES[pick_weighted(rng, surname_w)].0.as_bytes());
    let chars = if sex == 1 { &MALE_CHARS } else { &FEMALE_CHARS };
    let len = if chance(rng, 300) { 1 } else { 2 };
    for _ in 0..len {
        buf.extend_from_slice(chars[rng.gen_range(0..chars.len())].as_bytes());
    }
}
