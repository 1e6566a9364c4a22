//! The writes of a gateway transaction, typed. Each kind knows what it changes (its
//! version key, [`GatewayWrite::key`]: an exhaustive match, so a new kind of write cannot
//! compile without saying) and its SQL ([`GatewayWrite::lower`]: the statements it is).
//! The list of a transaction is lowered once, at its end, into the statements SQLite's
//! engine commits (with the keys) or PostgreSQL's one `WITH` statement.

use super::rows::counters_text;
use super::{Key, MessageMeta, NewFeeLine, SettlementRecord, Visit};
use crate::sqlite_engine::{Param, Statement};
use crate::{date_value, now_text, Result};
use sqlx::Any;
use yibao_core::visit::VisitState;
use yibao_core::{Date, YearAccumulators};

/// One write of a gateway transaction, kept until it commits. `at` is when it was made.
#[derive(Debug)]
pub(super) enum GatewayWrite {
    InsertVisit {
        visit: Visit,
        at: String,
    },
    /// The visit's changeable fields.
    UpdateVisit {
        mdtrt_id: String,
        state: VisitState,
        med_type: String,
        enddate: Option<Date>,
        dise_codg: String,
        at: String,
    },
    InsertLines {
        mdtrt_id: String,
        lines: Vec<NewFeeLine>,
        at: String,
    },
    WithdrawLines {
        mdtrt_id: String,
        ids: Vec<i64>,
    },
    PutAccumulators {
        psn_no: String,
        year: u16,
        counters: String,
    },
    InsertSettlement {
        settlement: SettlementRecord,
        at: String,
    },
    InsertReversal {
        setl_id: String,
        msgid: String,
        at: String,
    },
    /// A settlement's audit findings (migration 0010), with the settlement.
    SettlementFindings {
        setl_id: String,
        findings: Vec<super::SettlementFinding>,
        at: String,
    },
    /// A personal-account movement (a payment or a restoration).
    AccountMovement {
        psn_no: String,
        on_date: Date,
        kind: &'static str,
        amount_fen: i64,
        reference: String,
        at: String,
    },
    /// A journal entry (a settlement's or a reversal's), checked when it was made.
    JournalEntry {
        entry: crate::journal::StoredEntry,
        at: String,
    },
    /// A clearing row: a file, an application or its cancellation (`super::clearing`).
    Clearing(super::clearing::ClearingWrite),
    /// The message answered (idempotency by msgid, replay by nonce).
    Message {
        fixmedins_code: String,
        msgid: String,
        nonce: String,
        infno: String,
        digest: String,
        infcode: i64,
        response: String,
        at: String,
    },
    /// The transaction's operation-log line.
    OperationLog {
        operator: String,
        action: String,
        target: String,
        detail: String,
        result: String,
        at: String,
    },
}

const INSERT_VISIT: &str = concat!(
    "INSERT INTO visits (",
    visit_columns!(),
    ", opened_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
);
const UPDATE_VISIT: &str = "UPDATE visits SET state = $1, med_type = $2, enddate = $3, \
     dise_codg = $4, updated_at = $5 WHERE mdtrt_id = $6";
const INSERT_LINE: &str = "INSERT INTO fee_lines (mdtrt_id, feedetl_sn, chrg_bchno, \
     med_list_codg, pric, cnt, amount_fen, fee_ocur_date, withdrawn, uploaded_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9)";
const WITHDRAW_LINE: &str = "UPDATE fee_lines SET withdrawn = 1 WHERE id = $1";
const PUT_ACCUMULATORS: &str = "INSERT INTO accumulators (psn_no, year, counters) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (psn_no, year) DO UPDATE SET counters = excluded.counters";
const INSERT_SETTLEMENT: &str = "INSERT INTO settlements (setl_id, mdtrt_id, psn_no, \
     fixmedins_code, insutype, clr_type, year, setl_date, medfee_sumamt, fund_pay_sumamt, \
     acct_pay, delta, output, settled_at, msgid, hosp_part_amt, med_type) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";
const INSERT_ACCOUNT_MOVEMENT: &str = "INSERT INTO account_movements (psn_no, on_date, \
     kind, amount_fen, ref, recorded_at) VALUES ($1, $2, $3, $4, $5, $6)";
const INSERT_REVERSAL: &str =
    "INSERT INTO settlement_reversals (setl_id, reversed_at, msgid) VALUES ($1, $2, $3)";
const INSERT_FINDING: &str = "INSERT INTO settlement_findings (setl_id, seq, family, \
     rule_id, severity, amount_fen, message, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
/// A plain insert: a concurrent repeat of the msgid, or a reused nonce, that committed
/// first makes it fail, and with it the whole transaction.
const INSERT_MESSAGE: &str = "INSERT INTO gateway_messages (fixmedins_code, msgid, nonce, \
     infno, digest, infcode, response, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
const INSERT_LOG: &str = "INSERT INTO operation_log (at, operator, action, target, detail, \
     result) VALUES ($1, $2, $3, $4, $5, $6)";

impl GatewayWrite {
    pub(super) fn put_accumulators(psn_no: &str, year: u16, acc: &YearAccumulators) -> Self {
        GatewayWrite::PutAccumulators {
            psn_no: psn_no.into(),
            year,
            counters: counters_text(acc),
        }
    }

    pub(super) fn message(meta: &MessageMeta, infcode: i64, response: &str) -> Self {
        GatewayWrite::Message {
            fixmedins_code: meta.fixmedins_code.clone(),
            msgid: meta.msgid.clone(),
            nonce: meta.nonce.clone(),
            infno: meta.infno.clone(),
            digest: meta.digest.clone(),
            infcode,
            response: response.into(),
            at: now_text(),
        }
    }

    pub(super) fn operation_log(meta: &MessageMeta, result: String) -> Self {
        GatewayWrite::OperationLog {
            at: now_text(),
            operator: format!("{}/{}", meta.fixmedins_code, meta.opter),
            action: format!("gateway.{}", meta.infno),
            target: meta.target.clone(),
            detail: format!("msgid={}", meta.msgid),
            result,
        }
    }

    /// What this write changes, for its version (reads ahead of it are stale once it
    /// commits; reads of it wait while it is in flight).
    pub(super) fn key(&self) -> Option<Key<'_>> {
        use GatewayWrite::*;
        match self {
            InsertVisit { visit, .. } => Some(Key::Visit(&visit.mdtrt_id)),
            UpdateVisit { mdtrt_id, .. }
            | InsertLines { mdtrt_id, .. }
            | WithdrawLines { mdtrt_id, .. } => Some(Key::Visit(mdtrt_id)),
            PutAccumulators { psn_no, .. } | AccountMovement { psn_no, .. } => {
                Some(Key::Accumulators(psn_no))
            }
            // Read in a transaction by `setl_id`, which no key stands for: that read
            // commits what is queued first (`GatewayTx::settlement`).
            // Journal entries too: a reversal reads its settlement's by reference
            // (`GatewayTx::journal_entry`).
            // Findings: read only outside transactions (`Store::settlement_findings`).
            InsertSettlement { .. }
            | InsertReversal { .. }
            | SettlementFindings { .. }
            | JournalEntry { .. } => None,
            // Read only after committing what is queued (`super::clearing`).
            Clearing(_) => None,
            // Not read by transactions (the msgid and nonce are checked before, and again
            // by the commit's unique constraints).
            Message { .. } | OperationLog { .. } => None,
        }
    }

    /// Appends the statements this write is.
    pub(super) fn lower(self, out: &mut Vec<Statement>) {
        use GatewayWrite::*;
        use Param::{Int, Text};
        let mut push = |sql: &'static str, params: Vec<Param>| out.push(Statement { sql, params });
        match self {
            InsertVisit { visit, at } => push(INSERT_VISIT, visit_params(visit, at)),
            UpdateVisit {
                mdtrt_id,
                state,
                med_type,
                enddate,
                dise_codg,
                at,
            } => push(
                UPDATE_VISIT,
                vec![
                    Text(state.code().into()),
                    Text(med_type),
                    Int(enddate.map_or(0, date_value)),
                    Text(dise_codg),
                    Text(at),
                    Text(mdtrt_id),
                ],
            ),
            InsertLines {
                mdtrt_id,
                lines,
                at,
            } => {
                for l in lines {
                    push(
                        INSERT_LINE,
                        vec![
                            Text(mdtrt_id.clone()),
                            Text(l.feedetl_sn),
                            Text(l.chrg_bchno),
                            Text(l.med_list_codg),
                            Text(l.pric),
                            Text(l.cnt),
                            Int(l.amount_fen),
                            Int(date_value(l.fee_ocur_date)),
                            Text(at.clone()),
                        ],
                    );
                }
            }
            WithdrawLines { ids, .. } => {
                for id in ids {
                    push(WITHDRAW_LINE, vec![Int(id)]);
                }
            }
            PutAccumulators {
                psn_no,
                year,
                counters,
            } => push(
                PUT_ACCUMULATORS,
                vec![Text(psn_no), Int(i64::from(year)), Text(counters)],
            ),
            InsertSettlement { settlement, at } => {
                push(INSERT_SETTLEMENT, settlement_params(settlement, at))
            }
            InsertReversal { setl_id, msgid, at } => {
                push(INSERT_REVERSAL, vec![Text(setl_id), Text(at), Text(msgid)])
            }
            SettlementFindings {
                setl_id,
                findings,
                at,
            } => {
                for (i, f) in findings.into_iter().enumerate() {
                    push(
                        INSERT_FINDING,
                        vec![
                            Text(setl_id.clone()),
                            Int(i as i64 + 1),
                            Text(f.family),
                            Text(f.rule_id),
                            Text(f.severity),
                            Int(f.amount_fen),
                            Text(f.message),
                            Text(at.clone()),
                        ],
                    );
                }
            }
            AccountMovement {
                psn_no,
                on_date,
                kind,
                amount_fen,
                reference,
                at,
            } => push(
                INSERT_ACCOUNT_MOVEMENT,
                vec![
                    Text(psn_no),
                    Int(date_value(on_date)),
                    Text(kind.into()),
                    Int(amount_fen),
                    Text(reference),
                    Text(at),
                ],
            ),
            JournalEntry { entry, at } => {
                for st in crate::journal::statements(entry, at) {
                    push(st.sql, st.params);
                }
            }
            Clearing(w) => w.lower(out),
            Message {
                fixmedins_code,
                msgid,
                nonce,
                infno,
                digest,
                infcode,
                response,
                at,
            } => push(
                INSERT_MESSAGE,
                vec![
                    Text(fixmedins_code),
                    Text(msgid),
                    Text(nonce),
                    Text(infno),
                    Text(digest),
                    Int(infcode),
                    Text(response),
                    Text(at),
                ],
            ),
            OperationLog {
                operator,
                action,
                target,
                detail,
                result,
                at,
            } => push(
                INSERT_LOG,
                vec![
                    Text(at),
                    Text(operator),
                    Text(action),
                    Text(target),
                    Text(detail),
                    Text(result),
                ],
            ),
        }
    }
}

/// The values of [`INSERT_VISIT`].
fn visit_params(v: Visit, at: String) -> Vec<Param> {
    use Param::{Int, Text};
    vec![
        Text(v.mdtrt_id),
        Text(v.fixmedins_code),
        Text(v.psn_no),
        Text(v.kind.code().into()),
        Text(v.insutype),
        Text(v.med_type),
        Text(v.ipt_otp_no),
        Text(v.mdtrt_cert_type),
        Text(v.mdtrt_cert_no),
        Int(date_value(v.begndate)),
        Int(v.enddate.map_or(0, date_value)),
        Text(v.dise_codg),
        Text(v.state.code().into()),
        Text(at.clone()),
        Text(at),
    ]
}

/// The values of [`INSERT_SETTLEMENT`].
fn settlement_params(s: SettlementRecord, at: String) -> Vec<Param> {
    use Param::{Int, Text};
    vec![
        Text(s.setl_id),
        Text(s.mdtrt_id),
        Text(s.psn_no),
        Text(s.fixmedins_code),
        Text(s.insutype),
        Text(s.clr_type),
        Int(i64::from(s.year)),
        Int(date_value(s.setl_date)),
        Int(s.medfee_sumamt),
        Int(s.fund_pay_sumamt),
        Int(s.acct_pay),
        Text(counters_text(&s.delta)),
        Text(s.output),
        Text(at),
        Text(s.msgid),
        Int(s.hosp_part_amt),
        Text(s.med_type),
    ]
}

/// Lowers `writes` into statements, in order.
pub(super) fn statements(writes: Vec<GatewayWrite>) -> Vec<Statement> {
    let mut out = Vec::with_capacity(writes.len());
    for w in writes {
        w.lower(&mut out);
    }
    out
}

/// SQLite binds at most 32,766 values in one statement batch; stay well below.
const MAX_PARAMS_PER_BATCH: usize = 30_000;

/// Binds `params` to `q`, in order (sqlx's side of a [`Statement`]).
pub(crate) fn bind_params<'q>(
    q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    params: &'q [Param],
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    bind_all(q, params)
}

fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    params: impl IntoIterator<Item = &'q Param>,
) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for p in params {
        q = match p {
            Param::Int(v) => q.bind(*v),
            Param::Text(v) => q.bind(v.as_str()),
        };
    }
    q
}

/// `sql` with each `$n` made `$(n + offset)`, so that statements can share one batch.
/// (This crate's gateway SQL has no `$` inside string literals.)
pub(super) fn shift_placeholders(sql: &str, offset: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' || !chars.peek().is_some_and(char::is_ascii_digit) {
            out.push(c);
            continue;
        }
        let mut n = 0usize;
        while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
            n = n * 10 + d as usize;
            chars.next();
        }
        out.push('$');
        out.push_str(&(n + offset).to_string());
    }
    out
}

/// One statement of a batch: its SQL with placeholders shifted into the batch's, and its
/// values.
type Shifted<'a> = (String, &'a [Param]);

/// Groups `statements` into as few batches as the bound-value limit allows.
fn chunks(statements: &[Statement]) -> Vec<Vec<Shifted<'_>>> {
    let mut out: Vec<(usize, Vec<Shifted<'_>>)> = vec![(0, Vec::new())];
    for w in statements {
        if out
            .last()
            .is_some_and(|(n, _)| n + w.params.len() > MAX_PARAMS_PER_BATCH)
        {
            out.push((0, Vec::new()));
        }
        if let Some((n, stmts)) = out.last_mut() {
            stmts.push((shift_placeholders(w.sql, *n), &w.params));
            *n += w.params.len();
        }
    }
    out.into_iter().map(|(_, stmts)| stmts).collect()
}

/// Sends `statements` in the open PostgreSQL transaction as one statement (each a
/// data-modifying `WITH` clause: one round trip), more only past the bound-value limit.
pub(super) async fn postgres_writes(
    tx: &mut sqlx::AnyConnection,
    statements: &[Statement],
) -> Result<()> {
    for group in chunks(statements) {
        if group.is_empty() {
            continue;
        }
        let clauses: Vec<String> = group
            .iter()
            .enumerate()
            .map(|(i, (stmt, _))| format!("w{i} AS ({stmt})"))
            .collect();
        let sql = format!("WITH {} SELECT 1", clauses.join(", "));
        bind_all(sqlx::query(&sql), group.iter().flat_map(|(_, p)| p.iter()))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
