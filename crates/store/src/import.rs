//! `yibao enrol import` (§4): a validated roster into the store. The file's own problems come
//! from yibao-roster; here are the ones only the store can see (already enrolled that year
//! in another household or scheme, an ID registered under other particulars). All or nothing
//! by default; one transaction either way.

use crate::register::{psn_no_for, INSUTYPE_RESIDENT};
use crate::{
    append_log, date_value, now_text, Batch, LogLine, Operator, Result, Store, Value, CATEGORIES,
    CONTRIBUTIONS, ENROLMENTS, MEMBERS, PERSONS,
};
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use yibao_core::books::EntryKind;
use yibao_core::contribution::roster_contributions;
use yibao_core::enrolment::{roster_conflicts, KnownPerson, RosterEntry};
use yibao_core::Date;

/// The operation log's name for an import.
const ACTION: &str = "导入参保名册";
use yibao_roster::{Roster, RowError};

/// How to import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// Import the valid rows even when some are invalid.
    pub skip_invalid: bool,
    /// The date the roster's contributions were paid (a roster has no payment dates).
    pub paid_on: Date,
    /// The file name, for the operation log.
    pub file: String,
}

/// What an import did.
#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    pub rows_read: usize,
    pub imported: usize,
    /// Rows with at least one problem.
    pub rejected: usize,
    pub households: usize,
    /// Imported persons by category (`普通` for none).
    pub by_category: BTreeMap<String, usize>,
    /// Every problem, file and store, in row order.
    pub errors: Vec<RowError>,
    /// Whether anything was written.
    pub committed: bool,
}

struct Known {
    psn_no: String,
    name: String,
    gend: String,
    brdy: Date,
}

/// Imports `roster`. Returns the report; writes nothing when a row is invalid unless
/// `skip_invalid`.
pub async fn import_roster(
    store: &Store,
    op: &Operator,
    roster: Roster,
    opts: &ImportOptions,
) -> Result<ImportReport> {
    let mut tx = store.pool.begin().await?;
    let mut known: HashMap<String, Known> = HashMap::new();
    for r in sqlx::query("SELECT certno, psn_no, name, gend, brdy FROM persons")
        .fetch_all(&mut *tx)
        .await?
    {
        known.insert(
            r.try_get(0)?,
            Known {
                psn_no: r.try_get(1)?,
                name: r.try_get(2)?,
                gend: r.try_get(3)?,
                brdy: crate::date_of(&r, 4)?,
            },
        );
    }
    let years: BTreeSet<u16> = roster.rows.iter().map(|r| r.year).collect();
    let mut enrolled: HashMap<(String, u16), (String, String)> = HashMap::new();
    for &year in &years {
        for r in sqlx::query("SELECT psn_no, hh_no, insutype FROM enrolments WHERE year = $1")
            .bind(i64::from(year))
            .fetch_all(&mut *tx)
            .await?
        {
            enrolled.insert((r.try_get(0)?, year), (r.try_get(1)?, r.try_get(2)?));
        }
    }

    let mut errors = roster.errors;
    let mut bad_rows: BTreeSet<usize> = errors.iter().map(|e| e.row).collect();
    let err = |row: usize, column: &str, value: &str, reason: String| RowError {
        row,
        column: column.to_string(),
        value: value.to_string(),
        reason,
    };
    for r in &roster.rows {
        let Some(k) = known.get(&r.certno) else {
            continue;
        };
        let held = KnownPerson {
            name: k.name.clone(),
            gend: k.gend.clone(),
            brdy: k.brdy,
            enrolled: enrolled.get(&(k.psn_no.clone(), r.year)).cloned(),
        };
        let entry = RosterEntry {
            certno: &r.certno,
            name: &r.name,
            gend: &r.gend,
            brdy: r.brdy,
            household: &r.household,
            year: r.year,
        };
        for (col, val, why) in roster_conflicts(&entry, &held) {
            errors.push(err(r.row, col, &val, why));
            bad_rows.insert(r.row);
        }
    }
    errors.sort_by_key(|e| e.row);
    let mut report = ImportReport {
        rows_read: roster.rows_read,
        rejected: bad_rows.len(),
        ..Default::default()
    };
    if !bad_rows.is_empty() && !opts.skip_invalid {
        report.errors = errors;
        drop(tx);
        let detail = format!("读取 {} 行，问题 {} 行", report.rows_read, report.rejected);
        let refusal = "拒绝：名册有误，未导入任何数据";
        store.log(op, ACTION, &opts.file, &detail, refusal).await?;
        return Ok(report);
    }

    let now = now_text();
    let text = |s: &str| Value::Text(s.to_string());
    let mut seq: i64 = sqlx::query("SELECT COUNT(*) FROM persons")
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    let mut batch = Batch::new();
    let mut households = BTreeSet::new();
    let mut received: BTreeMap<(u16, String), i64> = BTreeMap::new();
    let paid_on = Value::Int(date_value(opts.paid_on));
    let policies = &store.policies;
    for r in roster.rows.iter().filter(|r| !bad_rows.contains(&r.row)) {
        let psn_no = match known.get(&r.certno) {
            Some(k) => k.psn_no.clone(),
            None => {
                seq += 1;
                let p = psn_no_for(seq);
                batch.push(
                    &PERSONS,
                    vec![
                        text(&p),
                        text(&r.certno),
                        text(&r.name),
                        text(&r.gend),
                        Value::Int(date_value(r.brdy)),
                        text(&now),
                    ],
                );
                p
            }
        };
        let year = Value::Int(i64::from(r.year));
        batch.push(
            &ENROLMENTS,
            vec![
                text(&psn_no),
                text(INSUTYPE_RESIDENT),
                year.clone(),
                text(&r.household),
                text(""),
                text(&now),
            ],
        );
        batch.push(
            &MEMBERS,
            vec![
                text(&r.household),
                text(&psn_no),
                text(&r.relation),
                year.clone(),
                text(&now),
            ],
        );
        let rule = policies
            .get(&mut tx, r.year, INSUTYPE_RESIDENT)
            .await?
            .and_then(|p| p.contribution.as_ref()?.resident.clone());
        let cats: Vec<&str> = r.categories.iter().map(String::as_str).collect();
        let rows = roster_contributions(rule.as_ref(), &cats, r.personal_fen, r.subsidy_fen);
        for (source, amount) in rows {
            *received.entry((r.year, source.clone())).or_default() += amount;
            batch.push(
                &CONTRIBUTIONS,
                vec![
                    text(&psn_no),
                    text(INSUTYPE_RESIDENT),
                    year.clone(),
                    text(&source),
                    Value::Int(amount),
                    paid_on.clone(),
                    text(&now),
                ],
            );
        }
        let (from, to) = (
            Date::from_ymd(u32::from(r.year), 1, 1),
            Date::from_ymd(u32::from(r.year), 12, 31),
        );
        if let (Some(from), Some(to)) = (from, to) {
            for c in &r.categories {
                batch.push(
                    &CATEGORIES,
                    vec![
                        text(&psn_no),
                        text(c),
                        Value::Int(date_value(from)),
                        Value::Int(date_value(to)),
                        Value::Null,
                        text(&format!("参保名册 {}", opts.file)),
                        text(&now),
                    ],
                );
            }
        }
        if r.categories.is_empty() {
            *report.by_category.entry("普通".into()).or_default() += 1;
        }
        for c in &r.categories {
            *report.by_category.entry(c.clone()).or_default() += 1;
        }
        households.insert((r.year, r.household.clone()));
        report.imported += 1;
        batch.maybe_flush(&mut tx).await?;
        // The same ID twice in one file is a file error, so `known` needs no update here.
        known.insert(
            r.certno.clone(),
            Known {
                psn_no,
                name: r.name.clone(),
                gend: r.gend.clone(),
                brdy: r.brdy,
            },
        );
    }
    report.households = households.len();
    batch.flush(&mut tx).await?;
    // The books: one entry a year for the roster's contributions (汇总凭证), under the
    // newest contribution id, which no other entry has.
    let last: i64 = sqlx::query("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM contributions")
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    let years: BTreeSet<u16> = received.keys().map(|(y, _)| *y).collect();
    for year in years {
        let amounts: Vec<(&str, i64)> = received
            .iter()
            .filter(|((y, _), _)| *y == year)
            .map(|((_, s), a)| (s.as_str(), *a))
            .collect();
        let reference = EntryKind::Contribution.reference(&format!("roster-{year}-{last}"));
        let on = opts.paid_on;
        crate::journal::post_contributions(
            &mut tx,
            policies,
            &reference,
            INSUTYPE_RESIDENT,
            year,
            on,
            &amounts,
        )
        .await?;
    }
    let detail = format!(
        "读取 {} 行，导入 {}，拒绝 {}，户数 {}",
        report.rows_read, report.imported, report.rejected, report.households
    );
    append_log(&mut tx, op, &LogLine::done(ACTION, &opts.file, &detail)).await?;
    tx.commit().await?;
    store.refresh_statistics().await?;
    report.committed = true;
    report.errors = errors;
    Ok(report)
}
