//! The store's gateway reads outside transactions: authentication, answered messages,
//! reads ahead, settlements and accumulators for checks, totals, statistics.

use super::rows::{
    counters_of, fee_line_of, r_i64, settlement_of, visit_in, visit_of, Cols, LINES_SELECT,
    SETTLEMENT_SELECT, VISIT_COLUMNS,
};
use super::{Answered, AuthFacts, Key, ReadAhead, SettlementRecord, SettlementTotals, Visit};
use crate::sqlite_engine;
use crate::{date_value, fault, Result, Store};
use sqlx::Row;
use yibao_core::{Date, YearAccumulators};

impl Store {
    /// What authenticating a request reads, in one query: the newest key of `institution`
    /// not revoked (sealed), whether `nonce` was used by it, the response first given to
    /// its `msgid` — and the register generation, which keeps the persons read since
    /// current (see `eligibility::PersonCache`).
    pub async fn auth_facts(
        &self,
        institution: &str,
        nonce: &str,
        msgid: &str,
    ) -> Result<AuthFacts> {
        // One row whatever exists: the message, if any, is one primary-key lookup joined
        // to it, so its infno and digest come with the response in the same round trip.
        const SQL: &str = "SELECT (SELECT k.secret_enc FROM institution_keys k \
             WHERE k.institution = $1 \
             AND NOT EXISTS (SELECT 1 FROM key_revocations r WHERE r.key_id = k.id) \
             ORDER BY k.id DESC LIMIT 1), \
             (SELECT COUNT(*) FROM gateway_messages WHERE fixmedins_code = $1 AND nonce = $2), \
             m.response, m.infno, m.digest, m.infcode, \
             (SELECT gen FROM register_generation WHERE id = 1) \
             FROM (SELECT 1 AS one) o LEFT JOIN gateway_messages m \
             ON m.fixmedins_code = $1 AND m.msgid = $3";
        type Facts = (
            Option<String>,
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
        );
        let ((sealed_key, nonces, response, infno, digest, infcode), generation): (
            Facts,
            Option<i64>,
        ) = if let Some(engine) = &self.sqlite {
            let rows = engine.read(|c| {
                sqlite_engine::rows(c, SQL, &[&institution, &nonce, &msgid], |r| {
                    Ok((
                        (
                            r.opt_text(0)?,
                            r.int(1)?,
                            r.opt_text(2)?,
                            r.opt_text(3)?,
                            r.opt_text(4)?,
                            r.get(5)?,
                        ),
                        r.get(6)?,
                    ))
                })
            })?;
            match rows.into_iter().next() {
                Some(facts) => facts,
                None => return fault("认证查询无结果（内部错误）"),
            }
        } else {
            let row = sqlx::query(SQL)
                .bind(institution)
                .bind(nonce)
                .bind(msgid)
                .fetch_one(&self.pool)
                .await?;
            (
                (
                    row.opt_text(0)?,
                    r_i64(&row, 1)?,
                    row.opt_text(2)?,
                    row.opt_text(3)?,
                    row.opt_text(4)?,
                    row.try_get(5)?,
                ),
                row.try_get(6)?,
            )
        };
        if let Some(generation) = generation {
            self.persons.observe(generation);
        }
        Ok(AuthFacts {
            sealed_key,
            nonce_used: nonces > 0,
            answered: response.map(|response| Answered {
                response,
                infcode: infcode.unwrap_or_default(),
                infno: infno.unwrap_or_default(),
                digest: digest.unwrap_or_default(),
            }),
        })
    }

    /// The response first given to `msgid` of `fixmedins_code`, if any.
    pub async fn answered(&self, fixmedins_code: &str, msgid: &str) -> Result<Option<String>> {
        Ok(self
            .first_answer(fixmedins_code, msgid)
            .await?
            .map(|a| a.response))
    }

    /// The answer first given to `msgid` of `fixmedins_code`, with its request's infno and
    /// digest, if any.
    pub async fn first_answer(
        &self,
        fixmedins_code: &str,
        msgid: &str,
    ) -> Result<Option<Answered>> {
        let row = sqlx::query(
            "SELECT response, infno, digest, infcode FROM gateway_messages \
             WHERE fixmedins_code = $1 AND msgid = $2",
        )
        .bind(fixmedins_code)
        .bind(msgid)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Answered {
                response: r.try_get(0)?,
                infno: r.try_get(1)?,
                digest: r.try_get(2)?,
                infcode: r_i64(&r, 3)?,
            })
        })
        .transpose()
    }

    /// Whether `nonce` has been used by `fixmedins_code` before.
    pub async fn nonce_used(&self, fixmedins_code: &str, nonce: &str) -> Result<bool> {
        Ok(
            sqlx::query("SELECT 1 FROM gateway_messages WHERE fixmedins_code = $1 AND nonce = $2")
                .bind(fixmedins_code)
                .bind(nonce)
                .fetch_optional(&self.pool)
                .await?
                .is_some(),
        )
    }

    /// The visit as it stands (not locked: for reads ahead of a transaction).
    pub async fn visit(&self, mdtrt_id: &str) -> Result<Option<Visit>> {
        visit_in(&mut *self.pool.acquire().await?, mdtrt_id, "").await
    }

    /// Reads what settling visit `mdtrt_id` of person `psn_no` (as the request says) needs
    /// before its transaction takes the writer's turn, so that the turn is held for the
    /// computation only: the visit with the person's accumulators for its year in one
    /// query, and its lines. SQLite only (PostgreSQL reads under row locks): `None` there,
    /// or when the visit is unknown or not that person's (the transaction then refuses it).
    pub async fn read_ahead(&self, mdtrt_id: &str, psn_no: &str) -> Result<Option<ReadAhead>> {
        let Some(engine) = &self.sqlite else {
            return Ok(None);
        };
        // Versions first: what is read after them is at least as new.
        let versions = [
            engine.version(Key::Visit(mdtrt_id).version()),
            engine.version(Key::Accumulators(psn_no).version()),
        ];
        let visit_sql = format!(
            "SELECT {VISIT_COLUMNS}, (SELECT a.counters FROM accumulators a \
             WHERE a.psn_no = v.psn_no AND a.year = \
             (CASE WHEN v.enddate > 0 THEN v.enddate ELSE v.begndate END) / 10000), \
             (SELECT COALESCE(SUM(m.amount_fen), 0) FROM account_movements m \
             WHERE m.psn_no = v.psn_no) \
             FROM visits v WHERE v.mdtrt_id = $1"
        );
        let read = engine.read(|c| {
            let visit = sqlite_engine::rows(c, &visit_sql, &[&mdtrt_id], |r| {
                Ok((visit_of(r)?, r.opt_text(13)?, r.int(14)?))
            })?;
            let Some((visit, counters, balance)) = visit.into_iter().next() else {
                return Ok(None);
            };
            if visit.psn_no != psn_no {
                return Ok(None);
            }
            let lines = sqlite_engine::rows(c, LINES_SELECT, &[&mdtrt_id], |r| fee_line_of(r))?;
            Ok(Some((visit, counters, balance, lines)))
        })?;
        let Some((visit, counters, balance, lines)) = read else {
            return Ok(None);
        };
        let year = visit.enddate.unwrap_or(visit.begndate).year();
        let accumulators = match counters {
            Some(text) => counters_of(&text)?,
            None => YearAccumulators::default(),
        };
        Ok(Some(ReadAhead {
            visit,
            lines,
            accumulators,
            balance,
            year,
            versions,
        }))
    }

    /// SQLite: how many gateway transactions have been written in this process, and how
    /// long they held the writer's turn altogether (a benchmark compares this with its wall
    /// time).
    pub fn writer_held(&self) -> (u64, std::time::Duration) {
        self.sqlite
            .as_ref()
            .map_or((0, std::time::Duration::ZERO), |e| e.writer_held())
    }

    /// SQLite: in how many commits (groups) the gateway's transactions were written, the
    /// time spent committing altogether (the writing connection is busy meanwhile), and how
    /// many times the write-ahead log was synced before answering.
    pub fn commit_groups(&self) -> (u64, std::time::Duration, u64) {
        self.sqlite
            .as_ref()
            .map_or((0, std::time::Duration::ZERO, 0), |e| e.commit_groups())
    }

    /// A settlement by `setl_id`.
    pub async fn settlement(&self, setl_id: &str) -> Result<Option<SettlementRecord>> {
        let row = sqlx::query(&format!("{SETTLEMENT_SELECT} WHERE s.setl_id = $1"))
            .bind(setl_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(settlement_of).transpose()
    }

    /// The audit findings recorded with settlement `setl_id`, in order.
    pub async fn settlement_findings(
        &self,
        setl_id: &str,
    ) -> Result<Vec<super::SettlementFinding>> {
        let rows = sqlx::query(
            "SELECT family, rule_id, severity, amount_fen, message FROM settlement_findings \
             WHERE setl_id = $1 ORDER BY seq",
        )
        .bind(setl_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(super::SettlementFinding {
                    family: r.try_get(0)?,
                    rule_id: r.try_get(1)?,
                    severity: r.try_get(2)?,
                    amount_fen: r.try_get(3)?,
                    message: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// All settlements, oldest first (for checks and replays).
    pub async fn settlements(&self) -> Result<Vec<SettlementRecord>> {
        let rows = sqlx::query(&format!(
            "{SETTLEMENT_SELECT} ORDER BY s.settled_at, s.setl_id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(settlement_of).collect()
    }

    /// Every person-year's stored accumulators.
    pub async fn all_accumulators(&self) -> Result<Vec<(String, u16, YearAccumulators)>> {
        let rows =
            sqlx::query("SELECT psn_no, year, counters FROM accumulators ORDER BY psn_no, year")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let year: i64 = r.try_get(1)?;
                let text: String = r.try_get(2)?;
                Ok((
                    r.try_get(0)?,
                    u16::try_from(year).unwrap_or_default(),
                    counters_of(&text)?,
                ))
            })
            .collect()
    }

    /// Person-years whose stored accumulators differ from a replay of their settled history
    /// (the deltas of settlements not reversed), each as `(psn_no, year, stored, replayed)`.
    /// Empty when the books are in step.
    pub async fn accumulator_discrepancies(
        &self,
    ) -> Result<Vec<(String, u16, YearAccumulators, YearAccumulators)>> {
        let mut replay: std::collections::BTreeMap<(String, u16), YearAccumulators> =
            Default::default();
        for s in self.settlements().await?.iter().filter(|s| !s.reversed) {
            replay
                .entry((s.psn_no.clone(), s.year))
                .or_default()
                .add(&s.delta);
        }
        let mut out = Vec::new();
        for (psn_no, year, stored) in self.all_accumulators().await? {
            let replayed = replay.remove(&(psn_no.clone(), year)).unwrap_or_default();
            if replayed != stored {
                out.push((psn_no, year, stored, replayed));
            }
        }
        for ((psn_no, year), replayed) in replay {
            out.push((psn_no, year, YearAccumulators::default(), replayed));
        }
        Ok(out)
    }

    /// Every gateway business row as text (visits with state, fee lines with withdrawal,
    /// settlements, reversals, accumulators): two equal snapshots mean nothing changed.
    pub async fn gateway_snapshot(&self) -> Result<String> {
        let mut out = String::new();
        for (sql, n) in [
            (
                "SELECT mdtrt_id, state, med_type, enddate FROM visits ORDER BY mdtrt_id",
                4,
            ),
            (
                "SELECT id, mdtrt_id, feedetl_sn, withdrawn FROM fee_lines ORDER BY id",
                4,
            ),
            (
                "SELECT setl_id, mdtrt_id, delta FROM settlements ORDER BY setl_id",
                3,
            ),
            (
                "SELECT setl_id, msgid, reversed_at FROM settlement_reversals ORDER BY setl_id",
                3,
            ),
            (
                "SELECT psn_no, year, counters FROM accumulators ORDER BY psn_no, year",
                3,
            ),
        ] {
            for r in sqlx::query(sql).fetch_all(&self.pool).await? {
                for i in 0..n {
                    let v: String = match r.try_get::<String, _>(i) {
                        Ok(s) => s,
                        Err(_) => r.try_get::<i64, _>(i)?.to_string(),
                    };
                    out.push_str(&v);
                    out.push('|');
                }
                out.push('\n');
            }
            out.push_str("--\n");
        }
        Ok(out)
    }

    /// Totals of `fixmedins_code`'s settlements not reversed, by 险种 and 清算类别, with the
    /// settlement date in `[from, to]` (对总账).
    pub async fn settlement_totals(
        &self,
        fixmedins_code: &str,
        insutype: &str,
        clr_type: &str,
        from: Date,
        to: Date,
    ) -> Result<SettlementTotals> {
        let row = sqlx::query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(s.medfee_sumamt), 0) AS BIGINT), \
             CAST(COALESCE(SUM(s.fund_pay_sumamt), 0) AS BIGINT), \
             CAST(COALESCE(SUM(s.acct_pay), 0) AS BIGINT) FROM settlements s \
             WHERE s.fixmedins_code = $1 AND s.insutype = $2 AND s.clr_type = $3 \
             AND s.setl_date >= $4 AND s.setl_date <= $5 \
             AND NOT EXISTS (SELECT 1 FROM settlement_reversals r WHERE r.setl_id = s.setl_id)",
        )
        .bind(fixmedins_code)
        .bind(insutype)
        .bind(clr_type)
        .bind(date_value(from))
        .bind(date_value(to))
        .fetch_one(&self.pool)
        .await?;
        Ok(SettlementTotals {
            count: r_i64(&row, 0)?,
            medfee_sumamt: r_i64(&row, 1)?,
            fund_pay_sumamt: r_i64(&row, 2)?,
            acct_pay: r_i64(&row, 3)?,
        })
    }
}
