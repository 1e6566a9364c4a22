//! 重复参保 detection, as a report: the same person in two households, in two schemes, both
//! at school and at home in one year, or apparently one person under two ID numbers.
//! Imports and `enrol` refuse such rows; the report finds what came in by other paths
//! (migrated data, reference loads) so an operator can resolve it.

use crate::{Result, Store};
use sqlx::Row;

/// Which kind of duplicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DuplicateKind {
    /// 同一年度在两个户中参保
    TwoHouseholds,
    /// 同一年度参加两个险种（如职工和居民）
    TwoSchemes,
    /// 同一年度既在学校又在家庭参保
    SchoolAndHome,
    /// 姓名、性别、出生日期相同而证件号码不同（疑似一人多证）
    SameNameAndBirth,
}

impl DuplicateKind {
    pub fn name(self) -> &'static str {
        match self {
            DuplicateKind::TwoHouseholds => "同一年度在两个户中参保",
            DuplicateKind::TwoSchemes => "同一年度参加两个险种",
            DuplicateKind::SchoolAndHome => "同一年度既在学校又在家庭参保",
            DuplicateKind::SameNameAndBirth => "疑似一人多证（姓名、性别、出生日期相同）",
        }
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateFinding {
    pub kind: DuplicateKind,
    pub year: u16,
    /// The persons involved.
    pub psn_nos: Vec<String>,
    /// Households, schemes or ID numbers (masked) involved, for the operator.
    pub detail: String,
}

impl Store {
    /// Every duplicate in `year` (or in every year).
    pub async fn duplicate_report(&self, year: Option<u16>) -> Result<Vec<DuplicateFinding>> {
        let y = year.map_or(-1, i64::from);
        let mut out = Vec::new();
        let rows = sqlx::query(
            "SELECT m.psn_no, m.year, MIN(m.hh_no), MAX(m.hh_no), \
             (SELECT COUNT(*) FROM enrolments e WHERE e.psn_no = m.psn_no AND e.year = m.year \
             AND e.school <> '') FROM household_members m \
             WHERE ($1 = -1 OR m.year = $1) GROUP BY m.psn_no, m.year \
             HAVING COUNT(DISTINCT m.hh_no) > 1 ORDER BY m.year, m.psn_no",
        )
        .bind(y)
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            let psn: String = r.try_get(0)?;
            let year: i64 = r.try_get(1)?;
            let (a, b): (String, String) = (r.try_get(2)?, r.try_get(3)?);
            let at_school: i64 = r.try_get(4)?;
            out.push(DuplicateFinding {
                kind: if at_school > 0 {
                    DuplicateKind::SchoolAndHome
                } else {
                    DuplicateKind::TwoHouseholds
                },
                year: year as u16,
                psn_nos: vec![psn],
                detail: format!("户号 {a}、{b}"),
            });
        }
        let rows = sqlx::query(
            "SELECT psn_no, year, MIN(insutype), MAX(insutype) FROM enrolments \
             WHERE ($1 = -1 OR year = $1) GROUP BY psn_no, year \
             HAVING COUNT(DISTINCT insutype) > 1 ORDER BY year, psn_no",
        )
        .bind(y)
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            let psn: String = r.try_get(0)?;
            let year = r.try_get::<i64, _>(1)? as u16;
            let (a, b): (String, String) = (r.try_get(2)?, r.try_get(3)?);
            out.push(DuplicateFinding {
                kind: DuplicateKind::TwoSchemes,
                year,
                psn_nos: vec![psn],
                detail: format!("险种 {a}、{b}"),
            });
        }
        let rows = sqlx::query(
            "SELECT p.psn_no, q.psn_no, e.year, p.certno, q.certno FROM persons p \
             JOIN persons q ON q.name = p.name AND q.gend = p.gend AND q.brdy = p.brdy \
             AND q.psn_no > p.psn_no \
             JOIN enrolments e ON e.psn_no = p.psn_no \
             JOIN enrolments f ON f.psn_no = q.psn_no AND f.year = e.year \
             WHERE ($1 = -1 OR e.year = $1) ORDER BY e.year, p.psn_no, q.psn_no",
        )
        .bind(y)
        .fetch_all(&self.pool)
        .await?;
        for r in &rows {
            let (a, b): (String, String) = (r.try_get(0)?, r.try_get(1)?);
            let (ca, cb): (String, String) = (r.try_get(3)?, r.try_get(4)?);
            out.push(DuplicateFinding {
                kind: DuplicateKind::SameNameAndBirth,
                year: r.try_get::<i64, _>(2)? as u16,
                psn_nos: vec![a, b],
                detail: format!(
                    "证件号码 {}、{}",
                    yibao_core::refdata::mask_certno(&ca),
                    yibao_core::refdata::mask_certno(&cb)
                ),
            });
        }
        out.sort_by(|a, b| (a.year, a.kind, &a.psn_nos).cmp(&(b.year, b.kind, &b.psn_nos)));
        Ok(out)
    }
}
