//! [`GatewayTx`]: one gateway transaction. Reads happen at once (SQLite: through the
//! engine's readers, after committing what is queued of what they read; PostgreSQL: in
//! its transaction, under row locks); writes are kept as a typed list (`writes`) and sent
//! at [`GatewayTx::finish`].

use super::rows::{
    accumulators_of, counters_of, fee_line_of, lines_of, settlement_of, visit_in, visit_of,
    visit_select, Cols, ACCUMULATORS_SELECT, LINES_SELECT, SETTLEMENT_SELECT,
};
use super::writes::{postgres_writes, statements, GatewayWrite};
use super::{FeeLine, Key, MessageMeta, NewFeeLine, ReadAhead, SettlementRecord, Visit};
use crate::eligibility::{person_record, StoredPerson};
use crate::sqlite_engine::{self, SqliteEngine, Turn, VersionKey, WriterGuard};
use crate::{fault, now_text, Backend, Result, Store};
use sqlx::{Any, Row, Transaction};
use std::sync::Arc;
use yibao_core::{Date, Fen, YearAccumulators};

impl Store {
    /// Starts a gateway transaction (see the module documentation).
    pub async fn begin_gateway(&self) -> Result<GatewayTx> {
        let conn = match &self.sqlite {
            Some(engine) => Conn::Sqlite {
                turn: engine.turn().await,
                engine: Arc::clone(engine),
                conn: None,
            },
            None => Conn::Postgres(self.pool.begin().await?),
        };
        Ok(GatewayTx {
            conn,
            writes: Vec::new(),
            ahead: None,
            backend: self.backend,
            store: self.clone(),
        })
    }

    /// Records a refused message (the business transaction was rolled back) and returns the
    /// response to send; fails as [`GatewayTx::finish`] does when the msgid or nonce was
    /// recorded meanwhile.
    pub async fn record_refusal(
        &self,
        meta: &MessageMeta,
        err_msg: &str,
        response: &str,
    ) -> Result<String> {
        let g = self.begin_gateway().await?;
        g.finish(meta, -1, err_msg, response).await
    }
}

/// Where a gateway transaction reads.
enum Conn {
    /// SQLite: the writer's turn, and the writing connection (held, with nothing queued:
    /// committed first) once the transaction reads something in flight
    /// ([`GatewayTx::sqlite_ready`]). Reads go through the engine's readers and need no
    /// transaction (nothing else writes these tables meanwhile); the writes go in one
    /// transaction at the end, queued with others' when the writing connection is not held.
    Sqlite {
        engine: Arc<SqliteEngine>,
        turn: Turn,
        conn: Option<WriterGuard>,
    },
    /// PostgreSQL: a transaction from the start, whose reads take row locks.
    Postgres(Transaction<'static, Any>),
}

/// One gateway transaction (see the module documentation). Reads happen at once; writes
/// are kept and sent at [`GatewayTx::finish`], all or none: on SQLite in one transaction of
/// the writing connection, possibly with other transactions' (a group).
/// Dropping it without finishing writes nothing.
pub struct GatewayTx {
    conn: Conn,
    writes: Vec<GatewayWrite>,
    /// Reads made ahead and still current ([`GatewayTx::use_read_ahead`]).
    ahead: Option<ReadAhead>,
    backend: Backend,
    store: Store,
}

impl GatewayTx {
    fn lock_suffix(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        }
    }

    /// Where this transaction reads on PostgreSQL (its transaction). SQLite reads go
    /// through the engine's readers after [`sqlite_ready`](Self::sqlite_ready).
    pub(super) fn db(&mut self) -> Result<&mut sqlx::AnyConnection> {
        match &mut self.conn {
            Conn::Postgres(t) => Ok(t),
            Conn::Sqlite { .. } => fault("SQLite 网关交易不经 sqlx 读库（内部错误）"),
        }
    }

    /// SQLite, before reading `key` (`None`: something no key stands for) in this
    /// transaction: when a write of it is queued (in flight), takes the writing connection
    /// and commits the queue, so that the read sees it. A key nothing in the queue writes
    /// reads as committed: the turn is held, so nothing of it can be queued meanwhile, and
    /// the transaction can still be committed in a group. The engine to read through
    /// (`None` on PostgreSQL).
    pub(super) async fn sqlite_ready(
        &mut self,
        key: Option<Key<'_>>,
    ) -> Result<Option<&SqliteEngine>> {
        let Conn::Sqlite { engine, conn, .. } = &mut self.conn else {
            return Ok(None);
        };
        let in_flight = key.is_none_or(|k| engine.settled(k.version()).is_none());
        if conn.is_none() && in_flight {
            *conn = Some(engine.drained().await?);
        }
        Ok(Some(engine))
    }

    /// Takes reads made ahead ([`Store::read_ahead`]) when nothing they read has been
    /// written since: then [`visit`](Self::visit), [`lines`](Self::lines) and
    /// [`accumulators`](Self::accumulators) answer from them. Nothing written since includes
    /// writes queued and not yet committed. The turn is held, so they stay current until
    /// this transaction ends.
    pub fn use_read_ahead(&mut self, r: ReadAhead) {
        let Conn::Sqlite { engine, .. } = &self.conn else {
            return;
        };
        let current = [
            engine.settled(Key::Visit(&r.visit.mdtrt_id).version()),
            engine.settled(Key::Accumulators(&r.visit.psn_no).version()),
        ];
        if current == r.versions.map(Some) {
            self.ahead = Some(r);
        }
    }

    /// The visit, locked for this transaction.
    pub async fn visit(&mut self, mdtrt_id: &str) -> Result<Option<Visit>> {
        if let Some(a) = self.ahead.as_ref().filter(|a| a.visit.mdtrt_id == mdtrt_id) {
            return Ok(Some(a.visit.clone()));
        }
        if let Some(engine) = self.sqlite_ready(Some(Key::Visit(mdtrt_id))).await? {
            return engine.read(|c| {
                let sql = visit_select("");
                Ok(sqlite_engine::rows(c, &sql, &[&mdtrt_id], |r| visit_of(r))?.pop())
            });
        }
        let lock = self.lock_suffix();
        visit_in(self.db()?, mdtrt_id, lock).await
    }

    pub(super) fn backend(&self) -> Backend {
        self.backend
    }

    /// Keeps `w` to be written at [`finish`](Self::finish).
    pub(super) fn push_write(&mut self, w: GatewayWrite) {
        self.writes.push(w);
    }

    pub fn insert_visit(&mut self, v: &Visit) {
        self.writes.push(GatewayWrite::InsertVisit {
            visit: v.clone(),
            at: now_text(),
        });
    }

    /// Writes the visit's changeable fields (state, med_type, dates, diagnosis).
    pub fn update_visit(&mut self, v: &Visit) {
        self.writes.push(GatewayWrite::UpdateVisit {
            mdtrt_id: v.mdtrt_id.clone(),
            state: v.state,
            med_type: v.med_type.clone(),
            enddate: v.enddate,
            dise_codg: v.dise_codg.clone(),
            at: now_text(),
        });
    }

    /// The visit's fee lines in force, in upload order.
    pub async fn lines(&mut self, mdtrt_id: &str) -> Result<Vec<FeeLine>> {
        if let Some(a) = self.ahead.as_ref().filter(|a| a.visit.mdtrt_id == mdtrt_id) {
            return Ok(a.lines.clone());
        }
        if let Some(engine) = self.sqlite_ready(Some(Key::Visit(mdtrt_id))).await? {
            return engine
                .read(|c| sqlite_engine::rows(c, LINES_SELECT, &[&mdtrt_id], |r| fee_line_of(r)));
        }
        lines_of(self.db()?, mdtrt_id).await
    }

    pub fn insert_lines(&mut self, mdtrt_id: &str, lines: &[NewFeeLine]) {
        self.writes.push(GatewayWrite::InsertLines {
            mdtrt_id: mdtrt_id.into(),
            lines: lines.to_vec(),
            at: now_text(),
        });
    }

    /// Withdraws the given lines (by id) of visit `mdtrt_id`.
    pub fn withdraw_lines(&mut self, mdtrt_id: &str, ids: &[i64]) {
        self.writes.push(GatewayWrite::WithdrawLines {
            mdtrt_id: mdtrt_id.into(),
            ids: ids.to_vec(),
        });
    }

    /// The engine's person as the store knows it on `on` (see `Store::eligibility`).
    pub async fn person(
        &mut self,
        psn_no: &str,
        on: Date,
    ) -> Result<Option<yibao_core::refdata::Person>> {
        let store = self.store.clone();
        if self.backend == Backend::Sqlite {
            // The register: no gateway transaction writes it, so nothing queued is of it.
            let mut c = store.pool.acquire().await?;
            return Ok(person_record(&mut c, &store.policies, psn_no, on)
                .await?
                .map(|StoredPerson { person, .. }| person));
        }
        Ok(person_record(self.db()?, &store.policies, psn_no, on)
            .await?
            .map(|StoredPerson { person, .. }| person))
    }

    /// The person's accumulators for `year`. With `lock` (the transaction will write them:
    /// a settlement or reversal) locked until this transaction ends; without (a
    /// pre-settlement, which records nothing) only read.
    pub async fn accumulators(
        &mut self,
        psn_no: &str,
        year: u16,
        lock: bool,
    ) -> Result<YearAccumulators> {
        if let Some(a) = self
            .ahead
            .as_ref()
            .filter(|a| a.visit.psn_no == psn_no && a.year == year)
        {
            return Ok(a.accumulators);
        }
        if self.backend == Backend::Postgres && lock {
            // Creates the row if need be and locks it, in one statement.
            let row = sqlx::query(
                "INSERT INTO accumulators (psn_no, year, counters) VALUES ($1, $2, $3) \
                 ON CONFLICT (psn_no, year) DO UPDATE SET counters = accumulators.counters \
                 RETURNING counters",
            )
            .bind(psn_no)
            .bind(i64::from(year))
            .bind(super::rows::counters_text(&YearAccumulators::default()))
            .fetch_one(self.db()?)
            .await?;
            return counters_of(&row.try_get::<String, _>(0)?);
        }
        if let Some(engine) = self.sqlite_ready(Some(Key::Accumulators(psn_no))).await? {
            let year = i64::from(year);
            let rows = engine.read(|c| {
                sqlite_engine::rows(c, ACCUMULATORS_SELECT, &[&psn_no, &year], |r| r.text(0))
            })?;
            return match rows.first() {
                Some(text) => counters_of(text),
                None => Ok(YearAccumulators::default()),
            };
        }
        accumulators_of(self.db()?, psn_no, year).await
    }

    /// The personal account's balance (every movement). Read after
    /// [`accumulators`](Self::accumulators) with `lock`, it stays current until this
    /// transaction ends: payments and restorations are written only with the accumulators'
    /// lock held (PostgreSQL) or the writer's turn (SQLite), under the same key.
    pub async fn account_balance(&mut self, psn_no: &str) -> Result<Fen> {
        if let Some(a) = self.ahead.as_ref().filter(|a| a.visit.psn_no == psn_no) {
            return Ok(a.balance);
        }
        const SQL: &str =
            "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM account_movements WHERE psn_no = $1";
        if let Some(engine) = self.sqlite_ready(Some(Key::Accumulators(psn_no))).await? {
            let rows = engine.read(|c| sqlite_engine::rows(c, SQL, &[&psn_no], |r| r.int(0)))?;
            return Ok(rows.first().copied().unwrap_or_default());
        }
        let row = sqlx::query(SQL).bind(psn_no).fetch_one(self.db()?).await?;
        super::rows::r_i64(&row, 0)
    }

    /// The account payments settlement `setl_id` made, `(psn_no, fen paid)` (positive): the
    /// person's own and a family member's (家庭共济), for its reversal to give back.
    pub async fn account_payments(&mut self, setl_id: &str) -> Result<Vec<(String, Fen)>> {
        const SQL: &str = "SELECT psn_no, CAST(-amount_fen AS BIGINT) FROM account_movements \
             WHERE ref = $1 AND kind = 'payment' ORDER BY id";
        // Written under the persons' keys, which a setl_id does not name: commit the queue.
        if let Some(engine) = self.sqlite_ready(None).await? {
            return engine.read(|c| {
                sqlite_engine::rows(c, SQL, &[&setl_id], |r| Ok((r.text(0)?, r.int(1)?)))
            });
        }
        let rows = sqlx::query(SQL).bind(setl_id).fetch_all(self.db()?).await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, super::rows::r_i64(r, 1)?)))
            .collect()
    }

    /// Appends a personal-account movement (`crate::account::PAYMENT` or `RESTORATION`).
    pub fn account_movement(
        &mut self,
        psn_no: &str,
        on_date: Date,
        kind: &'static str,
        amount_fen: Fen,
        reference: &str,
    ) {
        self.writes.push(GatewayWrite::AccountMovement {
            psn_no: psn_no.into(),
            on_date,
            kind,
            amount_fen,
            reference: reference.into(),
            at: now_text(),
        });
    }

    pub fn put_accumulators(&mut self, psn_no: &str, year: u16, acc: &YearAccumulators) {
        self.writes
            .push(GatewayWrite::put_accumulators(psn_no, year, acc));
    }

    pub fn insert_settlement(&mut self, s: &SettlementRecord) {
        self.writes.push(GatewayWrite::InsertSettlement {
            settlement: s.clone(),
            at: now_text(),
        });
    }

    /// Records the audit findings of settlement `setl_id` (in order), with it.
    pub fn settlement_findings(&mut self, setl_id: &str, findings: Vec<super::SettlementFinding>) {
        if findings.is_empty() {
            return;
        }
        self.writes.push(GatewayWrite::SettlementFindings {
            setl_id: setl_id.into(),
            findings,
            at: now_text(),
        });
    }

    /// The settlement `setl_id` (with its reversal flag).
    pub async fn settlement(&mut self, setl_id: &str) -> Result<Option<SettlementRecord>> {
        let sql = format!("{SETTLEMENT_SELECT} WHERE s.setl_id = $1");
        // SQLite: settlements are written under no key: commit the queue first.
        if let Some(engine) = self.sqlite_ready(None).await? {
            return engine.read(|c| {
                Ok(sqlite_engine::rows(c, &sql, &[&setl_id], |r| settlement_of(r))?.pop())
            });
        }
        let row = sqlx::query(&sql)
            .bind(setl_id)
            .fetch_optional(self.db()?)
            .await?;
        row.as_ref().map(settlement_of).transpose()
    }

    /// Appends a journal entry (checked by the caller, where it was derived).
    pub fn post(&mut self, entry: crate::journal::StoredEntry) {
        self.writes.push(GatewayWrite::JournalEntry {
            entry,
            at: now_text(),
        });
    }

    /// The journal entry `reference` (e.g. a settlement's, for its reversal to take back).
    pub async fn journal_entry(
        &mut self,
        reference: &str,
    ) -> Result<Option<crate::journal::StoredEntry>> {
        use crate::journal::{entry_of, entry_row, ENTRY_SELECT};
        // Written under no key: commit the queue first.
        if let Some(engine) = self.sqlite_ready(None).await? {
            let rows = engine
                .read(|c| sqlite_engine::rows(c, ENTRY_SELECT, &[&reference], |r| entry_row(r)))?;
            return entry_of(reference, rows);
        }
        let rows = sqlx::query(ENTRY_SELECT)
            .bind(reference)
            .fetch_all(self.db()?)
            .await?;
        entry_of(
            reference,
            rows.iter().map(entry_row).collect::<Result<_>>()?,
        )
    }

    pub fn insert_reversal(&mut self, setl_id: &str, msgid: &str) {
        self.writes.push(GatewayWrite::InsertReversal {
            setl_id: setl_id.into(),
            msgid: msgid.into(),
            at: now_text(),
        });
    }

    /// Records the message and its log line with every write kept, and commits: all or
    /// none. Fails, keeping nothing, when the same `msgid` or nonce was recorded meanwhile by
    /// a concurrent request (the caller answers that request's way).
    pub async fn finish(
        mut self,
        meta: &MessageMeta,
        infcode: i64,
        err_msg: &str,
        response: &str,
    ) -> Result<String> {
        let result = if infcode == 0 {
            "成功".to_string()
        } else {
            format!("拒绝：{err_msg}")
        };
        // The message first of the writes: a concurrent repeat of the msgid, or a reused
        // nonce, that committed first makes its insert fail, and with it the whole
        // transaction; the caller then answers with the first answer, or refuses the replay.
        self.writes
            .insert(0, GatewayWrite::message(meta, infcode, response));
        self.writes.push(GatewayWrite::operation_log(meta, result));
        match self.conn {
            Conn::Postgres(mut tx) => {
                postgres_writes(&mut tx, &statements(self.writes)).await?;
                tx.commit().await?;
            }
            Conn::Sqlite { engine, turn, conn } => {
                let touched: Vec<VersionKey> = self
                    .writes
                    .iter()
                    .filter_map(GatewayWrite::key)
                    .map(|k| k.version())
                    .collect();
                engine
                    .commit(turn, conn, statements(self.writes), touched)
                    .await?;
            }
        }
        Ok(response.to_string())
    }
}
