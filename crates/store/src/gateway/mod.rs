//! What the hospital gateway keeps: institution keys, answered messages (idempotency by
//! `msgid`), visits, fee lines, settlements, reversals and per-person yearly accumulators.
//!
//! Every gateway transaction runs in one [`GatewayTx`]: its business rows, the message it
//! answers and the operation-log line are committed together, before the response is sent.
//! A refusal rolls the transaction back and records only the message and the log line.
//! Concurrent transactions serialise: on SQLite through one process-wide turn (SQLite has
//! one writer anyway; taking it up front avoids upgrade deadlocks), on PostgreSQL through
//! row locks on the visit and the person's accumulators.
//!
//! SQLite commits in groups (see `crate::sqlite_engine`): a transaction that read ahead
//! ([`Store::read_ahead`](crate::Store::read_ahead)) computes in its turn, queues its
//! writes and gives the turn up; whoever next holds the writing connection commits
//! everything queued in one SQLite transaction, and each queued transaction answers only
//! once its group has committed. What is queued is marked in flight, so that no later
//! transaction uses reads ahead of it; a transaction that reads something in flight first
//! takes the writing connection and commits what is queued (and then commits alone); what
//! is not in flight it reads as committed and still joins a group.
//!
//! - `rows`: decoding rows (alike from sqlx and from SQLite's own connections), the SELECTs.
//! - `keys`: institution keys.
//! - `queries`: the store's gateway reads outside transactions (authentication, reads
//!   ahead, checks, totals).
//! - `tx`: [`GatewayTx`].
//! - `clearing`: files (9101/9102/3202) and clearing applications (3203/3204).
//! - `writes`: the typed writes of a transaction, their SQL and version keys, and
//!   PostgreSQL's one-statement batch.

/// The columns of `visits` that [`Visit`] has, in its order (a macro, for `concat!`).
macro_rules! visit_columns {
    () => {
        "mdtrt_id, fixmedins_code, psn_no, kind, insutype, med_type, ipt_otp_no, \
         mdtrt_cert_type, mdtrt_cert_no, begndate, enddate, dise_codg, state"
    };
}

mod clearing;
mod keys;
mod queries;
mod rows;
mod tx;
mod writes;

#[cfg(test)]
mod tests;

pub use clearing::{ClearingApplication, GatewayFile};
pub(crate) use rows::Cols;
pub use tx::GatewayTx;
pub(crate) use writes::bind_params;

use yibao_core::visit::{VisitKind, VisitState};
use yibao_core::{Date, YearAccumulators};

/// One answered message's identity, for idempotency and the operation log.
#[derive(Clone, Debug)]
pub struct MessageMeta {
    pub fixmedins_code: String,
    pub msgid: String,
    pub nonce: String,
    pub infno: String,
    /// SHA-256 (lowercase hex) of the request's canonical `input`: a repeat of the msgid
    /// must carry the same (see [`Answered`]).
    pub digest: String,
    /// 经办人 (opter / opter_name as sent).
    pub opter: String,
    /// What the transaction was about (mdtrt_id, setl_id …), for the log.
    pub target: String,
}

/// See [`Store::auth_facts`](crate::Store::auth_facts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthFacts {
    pub sealed_key: Option<String>,
    pub nonce_used: bool,
    pub answered: Option<Answered>,
}

/// The first answer given to a msgid, with what identified the request it answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answered {
    pub response: String,
    /// 0 answered, -1 refused.
    pub infcode: i64,
    pub infno: String,
    /// [`MessageMeta::digest`] of the first request; empty for messages stored before
    /// digests were kept (migration 0006), which any repeat matches.
    pub digest: String,
}

impl Answered {
    /// Whether a repeat with `infno` and `digest` gets this answer: the same message, or any
    /// repeat of a refused one (a refusal stays the msgid's answer, even corrected, and
    /// tells nothing of anyone else's transaction).
    pub fn answers(&self, infno: &str, digest: &str) -> bool {
        self.infcode != 0
            || (self.infno == infno && (self.digest.is_empty() || self.digest == digest))
    }
}

/// A visit (就诊) as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    pub mdtrt_id: String,
    pub fixmedins_code: String,
    pub psn_no: String,
    pub kind: VisitKind,
    pub insutype: String,
    pub med_type: String,
    pub ipt_otp_no: String,
    pub mdtrt_cert_type: String,
    pub mdtrt_cert_no: String,
    pub begndate: Date,
    /// Known once discharged (住院) or from the registration date (门诊).
    pub enddate: Option<Date>,
    pub dise_codg: String,
    pub state: VisitState,
}

/// A fee line in force (or withdrawn) on a visit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeLine {
    pub id: i64,
    pub feedetl_sn: String,
    pub chrg_bchno: String,
    pub med_list_codg: String,
    pub pric: String,
    pub cnt: String,
    pub amount_fen: i64,
    pub fee_ocur_date: Date,
}

/// A new fee line (id assigned on insert).
#[derive(Clone, Debug)]
pub struct NewFeeLine {
    pub feedetl_sn: String,
    pub chrg_bchno: String,
    pub med_list_codg: String,
    pub pric: String,
    pub cnt: String,
    pub amount_fen: i64,
    pub fee_ocur_date: Date,
}

/// An audit finding recorded with a settlement (migration 0010): it never changes the
/// settlement's amounts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementFinding {
    /// The family's code (`DUPLICATE_CHARGE` …).
    pub family: String,
    pub rule_id: String,
    /// 违规 / 可疑 / 待核实.
    pub severity: String,
    /// 涉及金额, fen.
    pub amount_fen: i64,
    pub message: String,
}

/// A settlement as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementRecord {
    pub setl_id: String,
    pub mdtrt_id: String,
    pub psn_no: String,
    pub fixmedins_code: String,
    pub insutype: String,
    pub clr_type: String,
    pub year: u16,
    pub setl_date: Date,
    pub medfee_sumamt: i64,
    pub fund_pay_sumamt: i64,
    pub acct_pay: i64,
    /// 医院负担 (no fund's money: not in the books).
    pub hosp_part_amt: i64,
    /// The visit's 医疗类别 (for the fund report's counts).
    pub med_type: String,
    pub delta: YearAccumulators,
    /// The `output` object answered (JSON).
    pub output: String,
    pub msgid: String,
    /// Whether a reversal (撤销) has been recorded.
    pub reversed: bool,
}

/// Totals of one institution's settlements (not reversed) for 对总账.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SettlementTotals {
    pub count: i64,
    pub medfee_sumamt: i64,
    pub fund_pay_sumamt: i64,
    pub acct_pay: i64,
}

/// A settlement's reads made ahead of its transaction (SQLite): the visit, its lines in
/// force and the person's accumulators for the visit's year, with the versions they had.
#[derive(Clone, Debug)]
pub struct ReadAhead {
    pub visit: Visit,
    lines: Vec<FeeLine>,
    accumulators: YearAccumulators,
    /// The personal account's balance (all its movements).
    balance: yibao_core::Fen,
    year: u16,
    versions: [u64; 2],
}

/// What a gateway write changes, for its version (see `crate::sqlite_engine`): reads ahead
/// of a transaction are current while the versions of what they read are unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key<'a> {
    /// A visit, with its fee lines.
    Visit(&'a str),
    /// A person's accumulators (any year: a read ahead names the person before it knows
    /// the visit's year), and the person's account movements.
    Accumulators(&'a str),
}

impl Key<'_> {
    fn version(&self) -> crate::sqlite_engine::VersionKey {
        crate::sqlite_engine::VersionKey::of(self)
    }
}
