//! 城镇职工 (employees, insutype `310`) of the county: who they are and how they use care,
//! as far as it differs from the residents. Persons and claims are made by the same code
//! as the residents' (`persons.rs`, `claims/`); this module holds the employees' numbers.
//!
//! The figures are those of a typical county's 职工医保: about three in ten insured
//! employees are retired (在职退休比 near 2.3 : 1), about one in ten is covered by 公务员医疗补助,
//! 1 January personal-account balances of a few hundred to several thousand yuan in service
//! and more in retirement, with a long tail; employees, with 门诊共济, settle two to three
//! times as many outpatient visits as residents and are treated at county and city
//! hospitals more often.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::claims::Levels;
use crate::rng::{chance, pick_weighted};

/// Men among insured employees, per mille.
const MALE_PER_MILLE: u32 = 560;
/// Retired (退休) among insured employees by sex, per mille (women retire at 50 or 55).
const RETIRED_PER_MILLE: [u32; 2] = [270, 340];
/// Covered by 公务员医疗补助 (civil servants and 参公 staff, in service or retired), per mille.
const CIVIL_SERVANT_PER_MILLE: u32 = 100;
/// Paid enrolment for the year (the employer pays monthly; a few are in arrears), per mille.
pub(crate) const ENROLLED_PER_MILLE: u32 = 985;

/// In service, by five-year age band from 20–24 (band 4) to 55–59 (band 11): men to 60,
/// women mostly to 50 (workers) or 55 (cadres).
const ACTIVE_BANDS: [[u32; 8]; 2] = [
    [5, 11, 14, 14, 13, 14, 15, 14],
    [6, 12, 15, 15, 14, 15, 8, 0],
];
const ACTIVE_FIRST_BAND: usize = 4;
/// Retired, by band from 50–54 (band 10) to 95–99 (band 19): men from 60, women from 50.
const RETIRED_BANDS: [[u32; 10]; 2] = [
    [0, 0, 25, 24, 20, 14, 10, 5, 2, 1],
    [9, 14, 21, 19, 15, 10, 7, 4, 1, 1],
];
const RETIRED_FIRST_BAND: usize = 10;

/// 1 January personal-account balance buckets, yuan `(from, to, weight)`: in service
/// (since 2021 the account gets only the personal 2%) and retired (older balances, and the
/// pension-based 划入).
const BALANCE_ACTIVE: [(u32, u32, u32); 7] = [
    (0, 200, 6),
    (200, 800, 18),
    (800, 1_500, 24),
    (1_500, 3_000, 27),
    (3_000, 6_000, 16),
    (6_000, 12_000, 7),
    (12_000, 30_000, 2),
];
const BALANCE_RETIRED: [(u32, u32, u32); 6] = [
    (0, 500, 5),
    (500, 2_000, 15),
    (2_000, 5_000, 30),
    (5_000, 10_000, 28),
    (10_000, 20_000, 15),
    (20_000, 50_000, 7),
];
/// Newly insured or emptied accounts: exactly 0 on 1 January, per mille.
const EMPTY_ACCOUNT_PER_MILLE: u32 = 15;

/// 异地就医备案 per mille: in service (posted away), retired (异地安置 with their children).
pub(crate) const OFFSITE_PER_MILLE: [u32; 2] = [20, 45];

/// 普通门诊 (门诊共济) settlements per enrolled employee per year, in thousandths
/// (residents: 1,500).
pub(crate) const OUTPATIENT_MILLI: u64 = 3_500;
/// Admissions per enrolled employee per year, in thousandths: fewer than residents
/// (working age), most of them retirees through the age curve.
pub(crate) const INPATIENT_MILLI: u64 = 150;
/// Settlements with `acct_used_flag` `"0"` (the person keeps the account for the
/// pharmacy), per mille.
pub(crate) const ACCOUNT_UNUSED_PER_MILLE: u32 = 80;

/// Employees live in the county town: county hospitals for outpatient care (门诊共济 pays
/// at levels 1–3), more county and city hospitals for admissions.
pub(crate) const EMPLOYEE_LEVELS: Levels = Levels {
    outpatient: [500, 340, 125, 25, 10],
    inpatient: [170, 540, 215, 55, 20],
    inpatient_serious: [40, 420, 330, 160, 50],
    chronic_two: [380, 500, 90, 22, 8],
    chronic_one: [15, 420, 330, 195, 40],
};

/// What the employee scheme knows of a person.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Employee {
    pub sex: u8,
    /// Five-year age band (0 = 0–4) and age in years on 1 January.
    pub band: usize,
    pub age: i32,
    pub retired: bool,
    pub civil_servant: bool,
    /// Personal account balance on 1 January, fen.
    pub balance: i64,
}

/// Draws an employee's sex, age, status and account balance.
pub(crate) fn draw(rng: &mut ChaCha8Rng) -> Employee {
    let sex: u8 = if chance(rng, MALE_PER_MILLE) { 1 } else { 2 };
    let s = usize::from(sex - 1);
    let retired = chance(rng, RETIRED_PER_MILLE[s]);
    let band = if retired {
        RETIRED_FIRST_BAND + pick_weighted(rng, &RETIRED_BANDS[s])
    } else {
        ACTIVE_FIRST_BAND + pick_weighted(rng, &ACTIVE_BANDS[s])
    };
    let age = band as i32 * 5 + rng.gen_range(0..5);
    let civil_servant = chance(rng, CIVIL_SERVANT_PER_MILLE);
    let buckets: &[(u32, u32, u32)] = if retired {
        &BALANCE_RETIRED
    } else {
        &BALANCE_ACTIVE
    };
    let weights: Vec<u32> = buckets.iter().map(|b| b.2).collect();
    let (from, to, _) = buckets[pick_weighted(rng, &weights)];
    let mut balance = rng.gen_range(i64::from(from) * 100..i64::from(to) * 100);
    if !retired && age < 25 {
        // A few years of 划入 only.
        balance = balance * i64::from(age - 19) / 6;
    }
    if chance(rng, EMPTY_ACCOUNT_PER_MILLE) {
        balance = 0;
    }
    Employee {
        sex,
        band,
        age,
        retired,
        civil_servant,
        balance,
    }
}
