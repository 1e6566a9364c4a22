//! Whether an enrolment is paid, and when benefits run: the store's facts (payments, bases,
//! unit payments, deferrals) fed to the core's contribution rules (`yibao_core::contribution`)
//! under the policy loaded for that year and scheme.

use crate::employee::unit_facts;
use crate::register::INSUTYPE_EMPLOYEE;
use crate::Result;
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use yibao_core::contribution::{
    resident_payments, resident_year_coverage, ResidentPayments, SOURCE_REFERENCE,
};
use yibao_core::employer::unit_arrears;
pub use yibao_core::enrolment::Coverage;
use yibao_core::refdata::Suspension;
use yibao_core::{Date, DateRange, Fen, Policy};

/// Policies loaded in the store, parsed once per (year, insutype) and shared by every
/// clone of the store. Loading through this store clears it; a policy loaded by another
/// process is seen once the cached entry is older than [`POLICY_RECHECK`], when the newest
/// policy row for the year is compared again.
#[derive(Clone, Default, Debug)]
pub(crate) struct PolicyCache {
    by_key: Arc<Mutex<PolicyMap>>,
}

/// How long a cached policy is used without asking the database whether a newer one was
/// loaded (a settlement otherwise pays one more query for it).
const POLICY_RECHECK: Duration = Duration::from_secs(1);

/// (year, insutype) → (newest policy id for the year, when that was checked, the policy).
type PolicyMap = HashMap<(u16, String), (i64, Instant, Option<Arc<Policy>>)>;

impl PolicyCache {
    pub(crate) async fn get(
        &self,
        conn: &mut AnyConnection,
        year: u16,
        insutype: &str,
    ) -> Result<Option<Arc<Policy>>> {
        let key = (year, insutype.to_string());
        if let Some((_, checked, p)) = self.lock().get(&key) {
            if checked.elapsed() < POLICY_RECHECK {
                return Ok(p.clone());
            }
        }
        let latest: i64 = sqlx::query("SELECT COALESCE(MAX(id), 0) FROM policies WHERE year = $1")
            .bind(i64::from(year))
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
        if let Some((id, checked, p)) = self.lock().get_mut(&key) {
            if *id == latest {
                *checked = Instant::now();
                return Ok(p.clone());
            }
        }
        let rows = sqlx::query("SELECT source FROM policies WHERE year = $1 ORDER BY id DESC")
            .bind(i64::from(year))
            .fetch_all(&mut *conn)
            .await?;
        let mut found = None;
        for r in &rows {
            let source: String = r.try_get(0)?;
            if let Ok(p) = Policy::from_toml("数据库中的政策", &source) {
                if p.insutype == insutype {
                    found = Some(Arc::new(p));
                    break;
                }
            }
        }
        self.lock()
            .insert(key, (latest, Instant::now(), found.clone()));
        Ok(found)
    }

    /// Forgets every cached policy (after this process loads one).
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PolicyMap> {
        self.by_key.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One contribution (缴费) row of a person.
#[derive(Clone, Debug)]
pub(crate) struct ContributionRow {
    pub(crate) insutype: String,
    pub(crate) year: u16,
    pub(crate) source: String,
    pub(crate) amount_fen: Fen,
    pub(crate) paid_on: Date,
}

/// The coverage an enrolment gives, or `None` when it is not paid. `categories` are the
/// person's current category spans (they decide 医疗救助代缴); `contributions` the person's
/// contribution rows in payment order.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn coverage(
    conn: &mut AnyConnection,
    policies: &PolicyCache,
    psn_no: &str,
    insutype: &str,
    year: u16,
    as_of: Date,
    categories: &[(i64, String, DateRange)],
    contributions: &[ContributionRow],
) -> Result<Option<Coverage>> {
    if insutype == INSUTYPE_EMPLOYEE {
        // A reference data directory declares its employees' years paid (no employer).
        let declared = contributions
            .iter()
            .any(|c| c.insutype == insutype && c.year == year && c.source == SOURCE_REFERENCE);
        return employee_coverage(conn, policies, psn_no, year, as_of, declared).await;
    }
    let rows = contributions
        .iter()
        .filter(|c| c.insutype == insutype && c.year == year)
        .map(|c| (c.source.as_str(), c.paid_on, c.amount_fen));
    let payments = match resident_payments(rows) {
        ResidentPayments::Declared => return Ok(Some(Coverage::default())),
        ResidentPayments::Payments(p) => p,
    };
    let rule = policies
        .get(conn, year, insutype)
        .await?
        .and_then(|p| p.contribution.as_ref()?.resident.clone());
    let cats = categories.iter().map(|(_, c, r)| (c.as_str(), *r));
    Ok(resident_year_coverage(rule.as_ref(), year, cats, &payments))
}

/// An employee is covered while employed (or as declared by reference data); his unit's
/// arrears suspend benefits.
async fn employee_coverage(
    conn: &mut AnyConnection,
    policies: &PolicyCache,
    psn_no: &str,
    year: u16,
    as_of: Date,
    declared: bool,
) -> Result<Option<Coverage>> {
    let units = sqlx::query(
        "SELECT DISTINCT unit_no FROM employments WHERE psn_no = $1 AND valid_from <= $2 AND valid_to >= $3",
    )
    .bind(psn_no)
    .bind(i64::from(year) * 10_000 + 1231)
    .bind(i64::from(year) * 10_000 + 101)
    .fetch_all(&mut *conn)
    .await?;
    if units.is_empty() {
        return Ok(declared.then(Coverage::default));
    }
    let mut cover = Coverage::default();
    let rule = policies
        .get(conn, year, INSUTYPE_EMPLOYEE)
        .await?
        .and_then(|p| p.contribution.as_ref()?.employee.clone());
    let Some(rule) = rule else {
        return Ok(Some(cover));
    };
    for u in &units {
        let unit_no: String = u.try_get(0)?;
        let facts = unit_facts(conn, &unit_no, year).await?;
        let arrears = unit_arrears(&rule, &facts, year, as_of);
        for range in arrears.suspensions {
            cover.suspensions.push(Suspension {
                range,
                reason: format!("单位 {unit_no} 欠缴医疗保险费且无缓缴协议"),
            });
        }
    }
    Ok(Some(cover))
}

impl crate::Store {
    /// The newest policy loaded for `year` and 险种 `insutype`, parsed once and shared.
    pub async fn policy(&self, year: u16, insutype: &str) -> Result<Option<Arc<Policy>>> {
        let mut conn = self.pool.acquire().await?;
        self.policies.get(&mut conn, year, insutype).await
    }
}
