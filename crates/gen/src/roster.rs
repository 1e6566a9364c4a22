//! A 参保登记名册 (`interface.md` §4) for a county: households of one to six with one
//! 户主, valid unique resident IDs whose sex and birth digits agree with the row, 5–10% in
//! poor categories. Streaming: a million rows in seconds with little memory.

use crate::date::{civil_from_days, days_from_civil};
use crate::idcard::make_certno;
use crate::persons::{push_name, SURNAMES};
use crate::rng::{chance, pick_weighted, stream};
use rand::Rng;
use std::io::{self, Write};

const TAG_ROSTER: u64 = 7;

/// What [`write_roster_csv`] wrote, for the caller's report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RosterSummary {
    /// Data rows (persons).
    pub rows: usize,
    /// Households (户号), each with exactly one 本人/户主.
    pub households: usize,
    /// Persons with a category (pk/db/tk).
    pub poor: usize,
}

/// Writes a roster of `persons` rows for `year`: UTF-8 CSV with the Chinese header of
/// `interface.md` §4, so that `yibao enrol import` and load tests have realistic input.
///
/// Households have one to six persons: the head (本人), often a spouse (配偶), children
/// (子女), sometimes grandchildren (孙子女), a parent (父母) or a sibling (兄弟姐妹). About 7.5%
/// of households hold a category for all members. 个人缴费 is 380.00, 0.00 for 低保/特困
/// and 190.00 for 建档立卡, whose share 医疗救助 pays in full or in half (the sample county
/// policy's `[contribution.resident.assistance]`); 财政补助 is 670.00. The same `seed`
/// gives the same bytes; rows are written as they are made (a few MB of memory at most).
/// More than [`crate::MAX_PERSONS`] persons is refused.
pub fn write_roster_csv(
    w: impl Write,
    seed: u64,
    persons: usize,
    year: i32,
) -> io::Result<RosterSummary> {
    if persons > crate::MAX_PERSONS {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("人数 {persons} 超过上限 {}", crate::MAX_PERSONS),
        ));
    }
    let mut out = io::BufWriter::with_capacity(1 << 20, w);
    out.write_all(
        "证件号码,姓名,性别,出生日期,户号,与户主关系,人员类别,参保年度,个人缴费,财政补助\n"
            .as_bytes(),
    )?;
    let jan1 = days_from_civil(year, 1, 1);
    let min_birth = days_from_civil(year - 100, 1, 1);
    // IDs issued per (birth day, sex), so every ID is unique.
    let mut issued = vec![0u16; ((jan1 - min_birth) as usize + 1) * 2];
    let surname_w: Vec<u32> = SURNAMES.iter().map(|s| s.1).collect();
    let mut summary = RosterSummary::default();
    let mut buf = Vec::with_capacity(256);
    let mut hh = 0u64;
    while summary.rows < persons {
        hh += 1;
        let mut rng = stream(seed, TAG_ROSTER, hh);
        // Members: (relation, sex, birth day).
        let head_sex: u8 = if chance(&mut rng, 700) { 1 } else { 2 };
        let head_age = rng.gen_range(22..85);
        let head_birth = jan1 - head_age * 365 - rng.gen_range(0..365);
        let mut members = vec![("本人", head_sex, head_birth)];
        if chance(&mut rng, 750) {
            // Spouses are of marriageable age (20 and over) and within five years of the head.
            let spouse = head_birth + rng.gen_range(-1800..1800);
            members.push(("配偶", 3 - head_sex, spouse.min(jan1 - 20 * 365 - 1)));
        }
        if head_age > 24 {
            for _ in 0..pick_weighted(&mut rng, &[25, 35, 28, 12]) {
                let age = rng.gen_range(0..(head_age - 20).min(40));
                members.push((
                    "子女",
                    rng.gen_range(1..=2),
                    jan1 - age * 365 - rng.gen_range(1..365),
                ));
            }
        }
        if head_age >= 50 && chance(&mut rng, 200) {
            // Grandchildren living with their grandparents (留守儿童).
            for _ in 0..rng.gen_range(1..=2) {
                let age = rng.gen_range(0..(head_age - 44).min(16));
                members.push((
                    "孙子女",
                    rng.gen_range(1..=2),
                    jan1 - age * 365 - rng.gen_range(1..365),
                ));
            }
        }
        if head_age < 60 && chance(&mut rng, 150) {
            members.push((
                "父母",
                rng.gen_range(1..=2),
                head_birth - rng.gen_range(20..35) * 365,
            ));
        }
        if chance(&mut rng, 20) {
            members.push((
                "兄弟姐妹",
                rng.gen_range(1..=2),
                head_birth + rng.gen_range(-3000..3000),
            ));
        }
        members.truncate(6.min(persons - summary.rows));
        let category = match rng.gen_range(0..1000) {
            0..=39 => Some("pk"),
            40..=64 => Some("db"),
            65..=74 => Some("tk"),
            _ => None,
        };
        summary.households += 1;
        for (relation, sex, birth) in members {
            let mut birth = birth.clamp(min_birth + 400, jan1 - 1);
            let slot_of = |b: i32| ((b - min_birth) as usize) * 2 + usize::from(sex - 1);
            // 500 IDs a day and sex: move to the day before when a day is full (wrapping to
            // the youngest day; 100 years hold far more than MAX_PERSONS).
            while issued[slot_of(birth)] >= 500 {
                birth = if birth > min_birth {
                    birth - 1
                } else {
                    jan1 - 1
                };
            }
            let slot = slot_of(birth);
            let n = u32::from(issued[slot]);
            issued[slot] += 1;
            // Sequence digits: odd for men, even for women; 500 a day and sex are plenty.
            let seq = (n * 2 + if sex == 1 { 1 } else { 0 }) % 1000;
            let id = make_certno(b"990101", birth, seq);
            let (y, m, d) = civil_from_days(birth);
            // The poor category covers the whole household.
            let (cat, personal) = match category {
                Some("pk") => ("pk", "190.00"),
                Some(c) => (c, "0.00"),
                None => ("", "380.00"),
            };
            if !cat.is_empty() {
                summary.poor += 1;
            }
            buf.clear();
            buf.extend_from_slice(&id);
            buf.push(b',');
            push_name(&mut buf, &mut rng, sex, &surname_w);
            writeln!(
                buf,
                ",{},{y:04}-{m:02}-{d:02},H{hh:09},{relation},{cat},{year},{personal},670.00",
                if sex == 1 { "男" } else { "女" }
            )?;
            out.write_all(&buf)?;
            summary.rows += 1;
        }
    }
    out.flush()?;
    Ok(summary)
}
