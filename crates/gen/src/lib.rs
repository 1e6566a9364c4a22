//! Deterministic synthetic data for yibao: a county's 定点医疗机构, 医保目录, 参保人
//! and a year of 结算单, in the reference-data-directory and claims formats of
//! `shared/interface.md` §1–§2.
//!
//! Everything follows from [`GenConfig::seed`]: the same configuration always gives the
//! same bytes. Each person, visit and bad record draws from its own ChaCha8 stream, so
//! one entity's content never depends on another's.
//!
//! ```no_run
//! let cfg = yibao_gen::GenConfig { persons: 2_000, ..Default::default() };
//! let summary = yibao_gen::generate(&cfg, std::path::Path::new("/tmp/county"))?;
//! println!("{} claims", summary.claims);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Files written into the directory:
//! - `institutions.csv`: `code,name,level`.
//! - `catalog.csv`: `code,name,kind,class,selfpay_prop,price_limit,sex_limit,age_min,age_max,max_qty_per_day,indication`.
//! - `persons.jsonl`: one person a line: the residents, then the employees (`insutype`
//!   `"310"`, `retired`, `civil_servant`, `acct_balance`; no `categories`).
//! - `claims.jsonl`: settlements and reversals in non-decreasing `enddate` order.
//! - `audit-labels.csv` (only with [`GenConfig::audit_ppm`]): `claim_id,family` of each
//!   injected audit pattern.

mod catalog;
mod claims;
mod date;
mod employees;
mod idcard;
mod institutions;
mod persons;
mod rng;
mod roster;
mod text;

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

pub use claims::BadKind;
pub use idcard::{certno_check_char, certno_is_valid};
pub use roster::{write_roster_csv, RosterSummary};

/// Largest number of persons, residents and employees together (resident IDs stay unique
/// far beyond; memory is ~20 bytes a person).
pub const MAX_PERSONS: usize = 10_000_000;
/// Largest number of institutions (5-digit serial in the code).
pub const MAX_INSTITUTIONS: usize = 89_999;
/// Largest catalogue (7-digit serial in the code).
pub const MAX_CATALOG_ITEMS: usize = 9_999_999;
/// Largest claims file, in records (the plan keeps 16 bytes a settlement).
pub const MAX_CLAIMS: usize = 100_000_000;
/// Accepted policy years.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2100;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenConfig {
    /// Seed of every random stream.
    pub seed: u64,
    /// Insured residents (城乡居民, insutype 390); with `employees`, at least 1 person.
    pub persons: usize,
    /// Insured employees (城镇职工, insutype 310), written after the residents; 0 (the
    /// default) for a residents-only county, whose files are then those of earlier versions.
    pub employees: usize,
    /// Policy year (calendar year of every visit).
    pub year: i32,
    /// Exact number of records in `claims.jsonl` (settlements + reversals + bad), or
    /// `None` for the number the per-person rates give (≈ 2.6 a person).
    pub claims: Option<usize>,
    /// Malformed records per thousand records; 0 (the default) for none.
    pub bad_per_mille: u32,
    /// Institutions, at least 1 (level 1 first; 5+ to have every level).
    pub institutions: usize,
    /// Catalogue items, at least 1.
    pub catalog_items: usize,
    /// Audit patterns (智能审核 ground truth) injected per million eligible claims and
    /// family, labelled in `audit-labels.csv`; 0 (the default) for none, and then the files
    /// are those of earlier versions.
    pub audit_ppm: u32,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            seed: 2024,
            persons: 10_000,
            employees: 0,
            year: 2024,
            claims: None,
            bad_per_mille: 0,
            institutions: 60,
            catalog_items: 3_000,
            audit_ppm: 0,
        }
    }
}

impl GenConfig {
    /// Checks the limits; the error (`InvalidInput`) names the field and value in Chinese.
    pub fn validate(&self) -> io::Result<()> {
        let err = |msg: String| Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
        if self.persons > MAX_PERSONS {
            return err(format!(
                "居民人数 persons = {} 无效，应在 0 到 {MAX_PERSONS} 之间",
                self.persons
            ));
        }
        if self.employees > MAX_PERSONS {
            return err(format!(
                "职工人数 employees = {} 无效，应在 0 到 {MAX_PERSONS} 之间",
                self.employees
            ));
        }
        let total = self.persons + self.employees;
        if !(1..=MAX_PERSONS).contains(&total) {
            return err(format!(
                "参保人数（居民 {} + 职工 {}）= {total} 无效，应在 1 到 {MAX_PERSONS} 之间",
                self.persons, self.employees
            ));
        }
        if !(1..=MAX_INSTITUTIONS).contains(&self.institutions) {
            return err(format!(
                "机构数 institutions = {} 无效，应在 1 到 {MAX_INSTITUTIONS} 之间",
                self.institutions
            ));
        }
        if !(1..=MAX_CATALOG_ITEMS).contains(&self.catalog_items) {
            return err(format!(
                "目录条目数 catalog_items = {} 无效，应在 1 到 {MAX_CATALOG_ITEMS} 之间",
                self.catalog_items
            ));
        }
        if !YEARS.contains(&self.year) {
            return err(format!(
                "年度 year = {} 无效，应在 {} 到 {} 之间",
                self.year,
                YEARS.start(),
                YEARS.end()
            ));
        }
        if let Some(n) = self.claims {
            if n > MAX_CLAIMS {
                return err(format!("结算单数量 claims = {n} 无效，上限为 {MAX_CLAIMS}"));
            }
        }
        if self.audit_ppm > 100_000 {
            return err(format!(
                "审核疑点注入率 audit_ppm = {} 无效，应在 0 到 100000（每族 10%）之间",
                self.audit_ppm
            ));
        }
        if self.bad_per_mille > 1000 {
            return err(format!(
                "错误记录千分比 bad_per_mille = {} 无效，应在 0 到 1000 之间",
                self.bad_per_mille
            ));
        }
        Ok(())
    }
}

/// What [`generate`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenSummary {
    /// Lines of `persons.jsonl`: residents and employees.
    pub persons: usize,
    /// Of which employees (insutype 310).
    pub employees: usize,
    /// Of the employees, retired (退休).
    pub retirees: usize,
    /// Rows of `institutions.csv`.
    pub institutions: usize,
    /// Rows of `catalog.csv`.
    pub catalog_items: usize,
    /// Lines of `claims.jsonl`: settlements, reversals and bad records.
    pub claims: usize,
    /// Of which 结算撤销 (reversals).
    pub reversals: usize,
    /// Of which malformed records ([`BadKind`]).
    pub bad: usize,
    /// Audit mode: lines of `audit-labels.csv` (injected patterns).
    pub audit_labels: usize,
}

/// Writes `institutions.csv`, `catalog.csv`, `persons.jsonl` and `claims.jsonl` into
/// `dir` (created if missing), replacing existing files of those names.
pub fn generate(cfg: &GenConfig, dir: &Path) -> io::Result<GenSummary> {
    cfg.validate()?;
    std::fs::create_dir_all(dir)?;
    let year = date::Year::new(cfg.year);

    let inst = institutions::Institutions::build(cfg.institutions);
    write_file(&dir.join("institutions.csv"), |w| inst.write_csv(w))?;

    let mut catalog_rng = rng::stream(cfg.seed, rng::TAG_CATALOG, 0);
    let cat = catalog::Catalog::build(cfg.catalog_items, &mut catalog_rng);
    write_file(&dir.join("catalog.csv"), |w| cat.write_csv(w))?;

    let level1 = inst.by_level[institutions::Level::L1 as usize].len();
    let mut persons = None;
    write_file(&dir.join("persons.jsonl"), |w| {
        persons = Some(persons::build(
            cfg.seed,
            cfg.persons,
            cfg.employees,
            &year,
            level1,
            w,
        )?);
        Ok(())
    })?;
    let persons = persons.ok_or_else(|| io::Error::other("参保人生成失败"))?;

    let ctx = claims::Ctx {
        seed: cfg.seed,
        year: &year,
        cat: &cat,
        inst: &inst,
        persons: &persons,
    };
    let mut counts = None;
    write_file(&dir.join("claims.jsonl"), |w| {
        counts = Some(claims::write(
            &ctx,
            cfg.claims,
            cfg.bad_per_mille,
            cfg.audit_ppm,
            w,
        )?);
        Ok(())
    })?;
    let counts = counts.ok_or_else(|| io::Error::other("结算单生成失败"))?;
    if cfg.audit_ppm > 0 {
        write_file(&dir.join("audit-labels.csv"), |w| {
            w.write_all(b"claim_id,family\n")?;
            for (pos, family) in &counts.labels {
                writeln!(w, "S{:08},{family}", pos + 1)?;
            }
            Ok(())
        })?;
    }

    Ok(GenSummary {
        persons: persons.list.len(),
        employees: persons.employees,
        retirees: persons.retirees,
        institutions: inst.codes.len(),
        catalog_items: cat.items.len(),
        claims: counts.records,
        reversals: counts.reversals,
        bad: counts.bad,
        audit_labels: counts.labels.len(),
    })
}

/// Creates `path`, fills it through a large buffer and flushes, naming the file on error.
fn write_file(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    let named =
        |e: io::Error| io::Error::new(e.kind(), format!("写入 {} 失败：{e}", path.display()));
    let file = File::create(path).map_err(named)?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    fill(&mut w).map_err(|e| {
        if e.kind() == io::ErrorKind::InvalidInput {
            e
        } else {
            named(e)
        }
    })?;
    w.flush().map_err(named)
}
