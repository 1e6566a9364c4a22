//! The funds' journal (`journal_entries`, `journal_postings`): the core's entries
//! ([`yibao_core::books`]) as rows, written in the same transaction as their business record
//! (the gateway's settlements and reversals through its typed writes; the register's
//! contributions through [`post`]), never changed. [`Store::ledger_check`] re-checks it.

use crate::sqlite_engine::{Param, Statement};
use crate::{date_value, Result, Store};
use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use yibao_core::books::{Entry, EntryKind, Posting};
use yibao_core::{Date, Fen, Policy};

/// One posting as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPosting {
    pub account: String,
    pub sub: String,
    pub debit: Fen,
    pub credit: Fen,
}

/// One entry as stored: the core's [`Entry`] with the business year it belongs to (a
/// reversal's is its settlement's) and the date it was booked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    pub reference: String,
    pub kind: EntryKind,
    pub insutype: String,
    pub year: u16,
    pub on_date: Date,
    pub postings: Vec<StoredPosting>,
}

impl StoredEntry {
    pub fn of(e: &Entry<'_>, insutype: &str, year: u16, on_date: Date) -> StoredEntry {
        StoredEntry {
            reference: e.reference.to_string(),
            kind: e.kind,
            insutype: insutype.to_string(),
            year,
            on_date,
            postings: e
                .postings
                .iter()
                .map(|p| StoredPosting {
                    account: p.account.to_string(),
                    sub: p.sub.to_string(),
                    debit: p.debit,
                    credit: p.credit,
                })
                .collect(),
        }
    }

    /// The core's view of this entry (to check it, or to take it back).
    pub fn entry(&self) -> Entry<'_> {
        Entry {
            reference: &self.reference,
            kind: self.kind,
            postings: self
                .postings
                .iter()
                .map(|p| Posting {
                    account: &p.account,
                    sub: &p.sub,
                    debit: p.debit,
                    credit: p.credit,
                })
                .collect(),
        }
    }
}

const INSERT_ENTRY: &str = "INSERT INTO journal_entries (reference, kind, insutype, year, \
     on_date, recorded_at) VALUES ($1, $2, $3, $4, $5, $6)";

/// Postings go in multi-row inserts of at most this many rows.
const ROWS_PER_INSERT: usize = 8;

/// The insert of `n` postings (1 ≤ n ≤ [`ROWS_PER_INSERT`]), made once.
fn insert_postings(n: usize) -> &'static str {
    static SQL: OnceLock<Vec<String>> = OnceLock::new();
    let all = SQL.get_or_init(|| {
        (1..=ROWS_PER_INSERT)
            .map(|n| {
                let rows: Vec<String> = (0..n)
                    .map(|i| {
                        let b = i * 6;
                        format!(
                            "(${}, ${}, ${}, ${}, ${}, ${})",
                            b + 1,
                            b + 2,
                            b + 3,
                            b + 4,
                            b + 5,
                            b + 6
                        )
                    })
                    .collect();
                format!(
                    "INSERT INTO journal_postings (reference, line, account, sub, debit_fen, \
                     credit_fen) VALUES {}",
                    rows.join(", ")
                )
            })
            .collect()
    });
    &all[n.clamp(1, ROWS_PER_INSERT) - 1]
}

/// The statements that write `e` (recorded at `at`).
pub(crate) fn statements(e: StoredEntry, at: String) -> Vec<Statement> {
    use Param::{Int, Text};
    let mut out = Vec::with_capacity(2);
    out.push(Statement {
        sql: INSERT_ENTRY,
        params: vec![
            Text(e.reference.clone()),
            Text(e.kind.code().into()),
            Text(e.insutype),
            Int(i64::from(e.year)),
            Int(date_value(e.on_date)),
            Text(at),
        ],
    });
    let mut line = 0i64;
    for chunk in e.postings.chunks(ROWS_PER_INSERT) {
        let mut params = Vec::with_capacity(chunk.len() * 6);
        for p in chunk {
            line += 1;
            params.extend([
                Text(e.reference.clone()),
                Int(line),
                Text(p.account.clone()),
                Text(p.sub.clone()),
                Int(p.debit),
                Int(p.credit),
            ]);
        }
        out.push(Statement {
            sql: insert_postings(chunk.len()),
            params,
        });
    }
    out
}

/// Writes `e` in the caller's transaction (the register's side), after checking it.
pub(crate) async fn post(conn: &mut AnyConnection, e: StoredEntry) -> Result<()> {
    e.entry()
        .check()
        .map_err(|v| crate::StoreError::Fault(v.to_string()))?;
    for s in &statements(e, crate::now_text()) {
        crate::gateway::bind_params(sqlx::query(s.sql), &s.params)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// An entry's head and postings, one row a posting, in order.
pub(crate) const ENTRY_SELECT: &str = "SELECT e.kind, e.insutype, e.year, e.on_date, \
     p.account, p.sub, p.debit_fen, p.credit_fen FROM journal_entries e \
     JOIN journal_postings p ON p.reference = e.reference WHERE e.reference = $1 ORDER BY p.line";

/// One row of [`ENTRY_SELECT`].
pub(crate) struct EntryRow {
    kind: String,
    insutype: String,
    year: i64,
    on_date: Date,
    posting: StoredPosting,
}

pub(crate) fn entry_row(r: &impl crate::gateway::Cols) -> Result<EntryRow> {
    Ok(EntryRow {
        kind: r.text(0)?,
        insutype: r.text(1)?,
        year: r.int(2)?,
        on_date: r.date(3)?,
        posting: StoredPosting {
            account: r.text(4)?,
            sub: r.text(5)?,
            debit: r.int(6)?,
            credit: r.int(7)?,
        },
    })
}

/// The entry `reference` from its rows (`None` when there are none).
pub(crate) fn entry_of(reference: &str, rows: Vec<EntryRow>) -> Result<Option<StoredEntry>> {
    let Some(head) = rows.first() else {
        return Ok(None);
    };
    let fault = |what: String| crate::StoreError::Fault(format!("分录 {reference} 的{what}"));
    let (kind, year) = (&head.kind, head.year);
    Ok(Some(StoredEntry {
        reference: reference.to_string(),
        kind: EntryKind::parse(kind).ok_or_else(|| fault(format!("种类 {kind:?} 无效")))?,
        insutype: head.insutype.clone(),
        year: u16::try_from(year).map_err(|_| fault(format!("年度 {year} 无效")))?,
        on_date: head.on_date,
        postings: rows.into_iter().map(|r| r.posting).collect(),
    }))
}

/// Posts contributions received of `insutype` and `year`, `(source, amount)` each, under
/// `reference`, in the caller's transaction, where that year's policy keeps books. A source
/// the chart has no account for is refused (and, the caller's transaction dropped, nothing
/// is recorded).
pub(crate) async fn post_contributions(
    conn: &mut AnyConnection,
    policies: &crate::contribution::PolicyCache,
    reference: &str,
    insutype: &str,
    year: u16,
    on_date: Date,
    amounts: &[(&str, Fen)],
) -> Result<()> {
    let Some(policy) = policies.get(conn, year, insutype).await? else {
        return Ok(());
    };
    let Some(books) = &policy.books else {
        return Ok(());
    };
    let entry = match books.contribution_entry(reference, amounts) {
        Ok(Some(e)) => StoredEntry::of(&e, insutype, year, on_date),
        Ok(None) => return Ok(()),
        Err(reason) => return crate::refused(format!("{year} 年度险种 {insutype}：{reason}")),
    };
    post(conn, entry).await
}

/// Posts personal-account movements of `kind` (`opening`, `credit`, `interest`) totalling
/// `amount`, recorded in the caller's transaction, where `year`'s employee policy posts that
/// kind. `id` is unique for the run (its period and the newest movement's id).
pub(crate) async fn post_account_movements(
    conn: &mut AnyConnection,
    policies: &crate::contribution::PolicyCache,
    year: u16,
    kind: &str,
    on_date: Date,
    amount: Fen,
) -> Result<()> {
    let insutype = crate::register::INSUTYPE_EMPLOYEE;
    let (Some(policy), Some(entry_kind)) = (
        policies.get(conn, year, insutype).await?,
        EntryKind::of_account_movement(kind),
    ) else {
        return Ok(());
    };
    let Some(books) = &policy.books else {
        return Ok(());
    };
    let last: i64 =
        sqlx::query("SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) FROM account_movements")
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
    let reference = entry_kind.reference(&format!("{year}:{last}"));
    match books.account_movement_entry(&reference, kind, amount) {
        Some(e) => post(conn, StoredEntry::of(&e, insutype, year, on_date)).await,
        None => Ok(()),
    }
}

impl Store {
    /// Every policy loaded, the newest for each year and 险种, oldest year first.
    pub async fn all_policies(&self) -> Result<Vec<Arc<Policy>>> {
        let rows = sqlx::query("SELECT year, source FROM policies ORDER BY id DESC")
            .fetch_all(&self.pool)
            .await?;
        let mut newest: BTreeMap<(u16, String), Arc<Policy>> = BTreeMap::new();
        for r in &rows {
            let source: String = r.try_get(1)?;
            if let Ok(p) = Policy::from_toml("数据库中的政策", &source) {
                newest
                    .entry((p.year, p.insutype.clone()))
                    .or_insert_with(|| Arc::new(p));
            }
        }
        Ok(newest.into_values().collect())
    }
}
