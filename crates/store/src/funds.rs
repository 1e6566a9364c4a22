//! The funds' books read back: `yibao ledger check` ([`Store::ledger_check`]) and
//! `yibao fund report` ([`Store::fund_report`]). Both read the journal with the charts of the
//! policies loaded (`[books]`), never a number of their own.

use crate::{Result, Store};
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use yibao_core::books::{AccountKind, Books};
use yibao_core::funds::Payer;
use yibao_core::money::format_fen;
use yibao_core::{Fen, Policy};

/// One fund's statement for a year (基金收支情况).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FundStatement {
    pub insutype: String,
    pub fund: String,
    /// Income by source (contributions.source) → fen.
    pub income: BTreeMap<String, Fen>,
    /// Spending by payer field (`hifp_pay` …), net of reversals.
    pub expenditure: BTreeMap<&'static str, Fen>,
    /// 医院负担, not the fund's money (shown apart).
    pub hosp_part_amt: Fen,
    /// Settlements of the year not reversed, and by `med_type`.
    pub visits: i64,
    pub visits_by_med_type: BTreeMap<String, i64>,
    /// The Chinese name of each income source and payer field (their accounts' names).
    pub names: BTreeMap<String, String>,
    /// Persons with at least one settlement, and persons enrolled (受益率 = their ratio).
    pub beneficiaries: i64,
    pub enrolled: i64,
    /// What the fund spent: the year's net debits to its expense accounts (待遇支出, 保费…);
    /// a layer it only advances (a receivable: 大病, 医疗救助) and the personal account (the
    /// insured's own money) are not its spending.
    pub spending: Fen,
    /// Income less spending of the years before.
    pub prior_balance: Fen,
    /// The risk reserve's balance at year end (shown apart from the balance).
    pub reserve: Fen,
}

impl FundStatement {
    pub fn income_total(&self) -> Fen {
        self.income.values().sum()
    }

    pub fn spending(&self) -> Fen {
        self.spending
    }

    pub fn available(&self) -> Fen {
        self.prior_balance + self.income_total()
    }

    pub fn balance(&self) -> Fen {
        self.available() - self.spending()
    }

    /// 受益率 in ppm (persons who had a settlement per person enrolled).
    pub fn benefit_rate_ppm(&self) -> Option<i64> {
        (self.enrolled > 0).then(|| {
            yibao_core::money::div_round_half_up(
                i128::from(self.beneficiaries) * 1_000_000,
                i128::from(self.enrolled),
            ) as i64
        })
    }

    /// Months of payout the balance lasts at this year's monthly spending, in tenths.
    pub fn months_left_tenths(&self) -> Option<i64> {
        (self.spending() > 0).then(|| {
            yibao_core::money::div_round_half_up(
                i128::from(self.balance()) * 120,
                i128::from(self.spending()),
            ) as i64
        })
    }
}

/// A year's fund report: one statement a fund (险种) whose policy keeps books.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FundReport {
    pub year: u16,
    pub funds: Vec<FundStatement>,
    /// 预警：funds whose balance lasts fewer months than their policy's threshold.
    pub warnings: Vec<String>,
}

impl FundReport {
    /// Spending per payer field over every fund.
    pub fn expenditure(&self) -> BTreeMap<&'static str, Fen> {
        let mut out: BTreeMap<&'static str, Fen> = BTreeMap::new();
        for p in Payer::ALL {
            out.insert(p.field(), 0);
        }
        for f in &self.funds {
            for (k, v) in &f.expenditure {
                *out.entry(k).or_default() += v;
            }
            *out.entry(Payer::Hospital.field()).or_default() += f.hosp_part_amt;
        }
        out
    }
}

/// Net debit (debits less credits) per (insutype, kind, account) of `year`'s entries, and
/// per (insutype, account) of the years before.
struct Nets {
    of_year: BTreeMap<(String, String, String), Fen>,
    before: BTreeMap<(String, String), Fen>,
}

impl Store {
    async fn nets(&self, year: u16) -> Result<Nets> {
        let rows = sqlx::query(
            "SELECT e.insutype, e.kind, p.account, \
             CAST(SUM(p.debit_fen) - SUM(p.credit_fen) AS BIGINT), \
             CASE WHEN e.year = $1 THEN 1 ELSE 0 END \
             FROM journal_entries e JOIN journal_postings p ON p.reference = e.reference \
             WHERE e.year <= $1 \
             GROUP BY e.insutype, e.kind, p.account, CASE WHEN e.year = $1 THEN 1 ELSE 0 END",
        )
        .bind(i64::from(year))
        .fetch_all(&self.pool)
        .await?;
        let mut nets = Nets {
            of_year: BTreeMap::new(),
            before: BTreeMap::new(),
        };
        for r in &rows {
            let (insutype, kind, account): (String, String, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            let net: i64 = r.try_get(3)?;
            let this_year: i64 = r.try_get(4)?;
            if this_year == 1 {
                *nets.of_year.entry((insutype, kind, account)).or_default() += net;
            } else {
                *nets.before.entry((insutype, account)).or_default() += net;
            }
        }
        Ok(nets)
    }

    /// The fund report of `year` (`interface.md` §6): each fund's income by source, spending
    /// by payer net of reversals, prior balance, balance, reserve, 受益率 and months left.
    pub async fn fund_report(&self, year: u16) -> Result<FundReport> {
        let policies: Vec<Arc<Policy>> = self
            .all_policies()
            .await?
            .into_iter()
            .filter(|p| p.year == year && p.books.is_some())
            .collect();
        // The three scans are independent: run them at once, each on a connection of its own.
        // The two over settlements read only the index `settlements_report` (migration 0008).
        let y = i64::from(year);
        let visits = sqlx::query(
            "SELECT s.insutype, s.med_type, COUNT(*), CAST(SUM(s.hosp_part_amt) AS BIGINT) \
             FROM settlements s WHERE s.year = $1 AND NOT EXISTS \
             (SELECT 1 FROM settlement_reversals r WHERE r.setl_id = s.setl_id) \
             GROUP BY s.insutype, s.med_type",
        )
        .bind(y)
        .fetch_all(&self.pool);
        let persons = sqlx::query(
            "SELECT s.insutype, COUNT(DISTINCT s.psn_no) FROM settlements s WHERE s.year = $1 \
             AND NOT EXISTS (SELECT 1 FROM settlement_reversals r WHERE r.setl_id = s.setl_id) \
             GROUP BY s.insutype",
        )
        .bind(y)
        .fetch_all(&self.pool);
        let (nets, visits, persons) = tokio::join!(self.nets(year), visits, persons);
        let (nets, visits, persons) = (nets?, visits?, persons?);
        let enrolled = sqlx::query(
            "SELECT insutype, COUNT(*) FROM enrolments WHERE year = $1 GROUP BY insutype",
        )
        .bind(y)
        .fetch_all(&self.pool)
        .await?;
        let mut report = FundReport {
            year,
            ..FundReport::default()
        };
        for p in &policies {
            let Some(books) = &p.books else { continue };
            let mut f = FundStatement {
                insutype: p.insutype.clone(),
                fund: books.fund.clone(),
                ..FundStatement::default()
            };
            let net = |kind: &str, account: &str| -> Fen {
                nets.of_year
                    .get(&(p.insutype.clone(), kind.to_string(), account.to_string()))
                    .copied()
                    .unwrap_or_default()
            };
            let name = |account: &str| books.account(account).map(|a| a.name.clone());
            for (payer, account) in books.payers() {
                let spent = net("settlement", account) + net("reversal", account);
                f.expenditure.insert(payer.field(), spent);
                f.names
                    .insert(payer.field().into(), name(account).unwrap_or_default());
            }
            for (source, account) in books.income_sources() {
                f.names
                    .insert(source.into(), name(account).unwrap_or_default());
                // Income accounts have credit balances.
                *f.income.entry(source.to_string()).or_default() -= net("contribution", account);
            }
            f.spending = nets
                .of_year
                .iter()
                .filter(|((i, _, a), _)| {
                    *i == p.insutype
                        && books
                            .account(a)
                            .is_some_and(|a| a.kind == AccountKind::Expense)
                })
                .map(|(_, v)| *v)
                .sum();
            f.prior_balance = prior_balance(books, &p.insutype, &nets);
            if let Some(reserve) = &books.reserve {
                let before = nets
                    .before
                    .get(&(p.insutype.clone(), reserve.clone()))
                    .copied()
                    .unwrap_or_default();
                let this: Fen = nets
                    .of_year
                    .iter()
                    .filter(|((i, _, a), _)| *i == p.insutype && a == reserve)
                    .map(|(_, v)| *v)
                    .sum();
                f.reserve = -(before + this);
            }
            for r in &visits {
                let insutype: String = r.try_get(0)?;
                if insutype != p.insutype {
                    continue;
                }
                let n: i64 = r.try_get(2)?;
                f.visits += n;
                *f.visits_by_med_type.entry(r.try_get(1)?).or_default() += n;
                f.hosp_part_amt += r.try_get::<i64, _>(3)?;
            }
            for r in &persons {
                if r.try_get::<String, _>(0)? == p.insutype {
                    f.beneficiaries = r.try_get(1)?;
                }
            }
            for r in &enrolled {
                if r.try_get::<String, _>(0)? == p.insutype {
                    f.enrolled = r.try_get(1)?;
                }
            }
            if let (Some(warn), Some(months)) = (books.warn_months, f.months_left_tenths()) {
                if months < warn * 10 {
                    report.warnings.push(format!(
                        "{}：结余 {} 元，按本年月均支出可支付 {}.{} 个月，低于预警线 {warn} 个月",
                        f.fund,
                        format_fen(f.balance()),
                        months / 10,
                        (months % 10).abs()
                    ));
                }
            }
            report.funds.push(f);
        }
        Ok(report)
    }

    /// `yibao ledger check`: every entry balances and every posting is well formed; every
    /// posting names an account of a loaded chart and belongs to an entry; every settlement
    /// and reversal has its postings (the settlement's equal what the funds and accounts
    /// paid, the reversal's mirror them); the personal account's postings equal its
    /// movements. Each violation in Chinese; none when all hold.
    pub async fn ledger_check(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let q = |sql: &'static str| sqlx::query(sql);
        for r in q(
            "SELECT e.reference, CAST(COALESCE(SUM(p.debit_fen), 0) AS BIGINT), \
             CAST(COALESCE(SUM(p.credit_fen), 0) AS BIGINT), COUNT(p.line) \
             FROM journal_entries e LEFT JOIN journal_postings p ON p.reference = e.reference \
             GROUP BY e.reference \
             HAVING COALESCE(SUM(p.debit_fen), 0) <> COALESCE(SUM(p.credit_fen), 0) \
             OR COUNT(p.line) = 0 ORDER BY e.reference",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let (reference, d, c, n): (String, i64, i64, i64) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            out.push(format!(
                "分录 {reference} 借贷不平：借方 {} 元，贷方 {} 元（{n} 行）",
                format_fen(d),
                format_fen(c)
            ));
        }
        for r in q(
            "SELECT reference, line FROM journal_postings WHERE debit_fen < 0 \
             OR credit_fen < 0 OR (debit_fen <> 0 AND credit_fen <> 0) ORDER BY reference, line",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let (reference, line): (String, i64) = (r.try_get(0)?, r.try_get(1)?);
            out.push(format!("分录 {reference} 第 {line} 行同时记借贷或为负数"));
        }
        for r in q("SELECT DISTINCT p.reference FROM journal_postings p \
             LEFT JOIN journal_entries e ON e.reference = p.reference \
             WHERE e.reference IS NULL ORDER BY p.reference")
        .fetch_all(&self.pool)
        .await?
        {
            let reference: String = r.try_get(0)?;
            out.push(format!("分录行属于不存在的凭证 {reference}"));
        }
        let charts: BTreeSet<String> = self
            .all_policies()
            .await?
            .iter()
            .filter_map(|p| p.books.as_ref())
            .flat_map(|b| b.accounts().map(|a| a.code.clone()).collect::<Vec<_>>())
            .collect();
        for r in q("SELECT DISTINCT account FROM journal_postings ORDER BY account")
            .fetch_all(&self.pool)
            .await?
        {
            let account: String = r.try_get(0)?;
            if !charts.contains(&account) {
                out.push(format!(
                    "科目 {account} 不在任何已加载政策的科目表（[books.accounts]）中"
                ));
            }
        }
        // Each settlement: its entry's credits are what the funds and the accounts paid.
        for r in q(
            "SELECT setl_id, CAST(paid AS BIGINT), CAST(COALESCE(credits, 0) AS BIGINT), \
             CASE WHEN credits IS NULL THEN 0 ELSE 1 END FROM \
             (SELECT s.setl_id, s.fund_pay_sumamt + COALESCE(a.paid, 0) AS paid, \
                 (SELECT SUM(p.credit_fen) FROM journal_postings p \
                     WHERE p.reference = 'settlement:' || s.setl_id) AS credits \
              FROM settlements s \
              LEFT JOIN (SELECT ref, -SUM(amount_fen) AS paid FROM account_movements \
                  WHERE kind = 'payment' GROUP BY ref) a ON a.ref = s.setl_id) x \
             WHERE paid <> COALESCE(credits, 0) ORDER BY setl_id",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let (setl_id, paid, posted, has): (String, i64, i64, i64) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            out.push(if has == 0 {
                format!(
                    "结算 {setl_id} 没有记账分录（基金与账户支付 {} 元）",
                    format_fen(paid)
                )
            } else {
                format!(
                    "结算 {setl_id} 的分录记 {} 元，与基金与账户支付 {} 元不符",
                    format_fen(posted),
                    format_fen(paid)
                )
            });
        }
        // Each reversal of a settlement with postings: the mirror of them.
        for r in q(
            "SELECT setl_id, CAST(credits AS BIGINT), CAST(COALESCE(debits, -1) AS BIGINT) \
             FROM (SELECT r.setl_id, \
                 (SELECT SUM(p.credit_fen) FROM journal_postings p \
                     WHERE p.reference = 'settlement:' || r.setl_id) AS credits, \
                 (SELECT SUM(p.debit_fen) FROM journal_postings p \
                     WHERE p.reference = 'reversal:' || r.setl_id) AS debits \
              FROM settlement_reversals r) x \
             WHERE credits IS NOT NULL AND COALESCE(debits, -1) <> credits ORDER BY setl_id",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let (setl_id, posted, back): (String, i64, i64) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            out.push(if back < 0 {
                format!(
                    "撤销 {setl_id} 没有冲销分录（原结算记 {} 元）",
                    format_fen(posted)
                )
            } else {
                format!(
                    "撤销 {setl_id} 冲销 {} 元，与原结算记账 {} 元不符",
                    format_fen(back),
                    format_fen(posted)
                )
            });
        }
        for r in q("SELECT e.reference FROM journal_entries e WHERE \
             (e.kind = 'settlement' AND NOT EXISTS (SELECT 1 FROM settlements s \
                 WHERE s.setl_id = SUBSTR(e.reference, 12))) OR \
             (e.kind = 'reversal' AND NOT EXISTS (SELECT 1 FROM settlement_reversals r \
                 WHERE r.setl_id = SUBSTR(e.reference, 10))) ORDER BY e.reference")
        .fetch_all(&self.pool)
        .await?
        {
            let reference: String = r.try_get(0)?;
            out.push(format!("分录 {reference} 没有对应的结算或撤销记录"));
        }
        // Each payment out or recovery: its entry moves its amount, and no such entry
        // stands without its record.
        for r in q(
            "SELECT t.reference, t.amount_fen, CAST(COALESCE(j.debits, -1) AS BIGINT) \
             FROM fund_transfers t LEFT JOIN (SELECT reference, SUM(debit_fen) AS debits \
                 FROM journal_postings GROUP BY reference) j ON j.reference = t.reference \
             WHERE t.amount_fen <> 0 AND COALESCE(j.debits, -1) <> ABS(t.amount_fen) \
             ORDER BY t.reference",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let (reference, amount, posted): (String, i64, i64) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            out.push(if posted < 0 {
                format!("{reference} 没有记账分录（{} 元）", format_fen(amount))
            } else {
                format!(
                    "{reference} 的分录记 {} 元，与记录的 {} 元不符",
                    format_fen(posted),
                    format_fen(amount)
                )
            });
        }
        for r in q("SELECT e.reference FROM journal_entries e WHERE e.kind IN \
             ('payment', 'premium', 'insurer_claims', 'corridor', 'year_end_adjustment') \
             AND NOT EXISTS \
             (SELECT 1 FROM fund_transfers t WHERE t.reference = e.reference) \
             ORDER BY e.reference")
        .fetch_all(&self.pool)
        .await?
        {
            let reference: String = r.try_get(0)?;
            out.push(format!("分录 {reference} 没有对应的拨付或结算记录"));
        }
        self.check_accounts(&mut out).await?;
        self.check_contributions(&mut out).await?;
        Ok(out)
    }

    /// Contributions received, per fund, year and income account, equal what the books'
    /// contribution entries credited there.
    async fn check_contributions(&self, out: &mut Vec<String>) -> Result<()> {
        let policies = self.all_policies().await?;
        let books_of = |insutype: &str, year: i64| {
            policies
                .iter()
                .find(|p| p.insutype == insutype && i64::from(p.year) == year)
                .and_then(|p| p.books.as_ref())
        };
        type Key = (String, i64, String);
        let mut received: BTreeMap<Key, Fen> = BTreeMap::new();
        for r in sqlx::query(
            "SELECT insutype, year, source, CAST(SUM(amount_fen) AS BIGINT) FROM contributions \
             WHERE source <> 'reference' GROUP BY insutype, year, source \
             UNION ALL SELECT '310', paid_on / 10000, 'unit', CAST(SUM(amount_fen) AS BIGINT) \
             FROM unit_payments GROUP BY paid_on / 10000",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let (insutype, year, source, amount): (String, i64, String, i64) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            let Some(books) = books_of(&insutype, year) else {
                continue;
            };
            match books.income_account(&source) {
                Some(a) => *received.entry((insutype, year, a.to_string())).or_default() += amount,
                None => out.push(format!(
                    "{year} 年度险种 {insutype} 的缴费来源 {source} 在科目表中没有收入科目"
                )),
            }
        }
        let mut posted: BTreeMap<Key, Fen> = BTreeMap::new();
        for r in sqlx::query(
            "SELECT e.insutype, e.year, p.account, \
             CAST(SUM(p.credit_fen) - SUM(p.debit_fen) AS BIGINT) \
             FROM journal_entries e JOIN journal_postings p ON p.reference = e.reference \
             WHERE e.kind = 'contribution' GROUP BY e.insutype, e.year, p.account",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let (insutype, year, account, amount): (String, i64, String, i64) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            let income = books_of(&insutype, year)
                .and_then(|b| b.account(&account))
                .is_some_and(|a| a.kind == AccountKind::Income);
            if income {
                *posted.entry((insutype, year, account)).or_default() += amount;
            }
        }
        let keys: BTreeSet<&Key> = received.keys().chain(posted.keys()).collect();
        for k in keys {
            let (got, want) = (
                posted.get(k).copied().unwrap_or_default(),
                received.get(k).copied().unwrap_or_default(),
            );
            if got != want {
                out.push(format!(
                    "{} 年度险种 {} 科目 {}：缴费记录合计 {} 元，分录记 {} 元",
                    k.1,
                    k.0,
                    k.2,
                    format_fen(want),
                    format_fen(got)
                ));
            }
        }
        Ok(())
    }

    /// The personal account in the books moves exactly as its movements at settlements and
    /// reversals do.
    async fn check_accounts(&self, out: &mut Vec<String>) -> Result<()> {
        let policies = self.all_policies().await?;
        let codes: BTreeSet<String> = policies
            .iter()
            .filter_map(|p| p.books.as_ref()?.payer_account(Payer::Account))
            .map(str::to_string)
            .collect();
        let posts = |kind: &str| {
            policies
                .iter()
                .filter_map(|p| p.books.as_ref())
                .any(|b| b.posts_account_movement(kind))
        };
        // (movement kinds, the entry kinds that post them, what they are): settlements and
        // reversals always; openings, credits and interest where a chart posts them.
        let mut groups = vec![(
            "'payment', 'restoration'",
            "'settlement', 'reversal'",
            "结算支付与撤销退回",
        )];
        for (kind, movements, entries, what) in [
            ("opening", "'opening'", "'account_opening'", "期初余额"),
            ("credit", "'credit'", "'account_credit'", "划入"),
            ("interest", "'interest'", "'account_interest'", "计息"),
        ] {
            if posts(kind) {
                groups.push((movements, entries, what));
            }
        }
        for (movements, entries, what) in groups {
            let mut posted: Fen = 0;
            for code in &codes {
                let sql = format!(
                    "SELECT CAST(COALESCE(SUM(p.credit_fen) - SUM(p.debit_fen), 0) AS BIGINT) \
                     FROM journal_postings p JOIN journal_entries e ON e.reference = p.reference \
                     WHERE p.account = $1 AND e.kind IN ({entries})"
                );
                let r = sqlx::query(&sql).bind(code).fetch_one(&self.pool).await?;
                posted += r.try_get::<i64, _>(0)?;
            }
            let sql = format!(
                "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM account_movements \
                 WHERE kind IN ({movements})"
            );
            let moved: i64 = sqlx::query(&sql).fetch_one(&self.pool).await?.try_get(0)?;
            if posted != moved {
                out.push(format!(
                    "个人账户科目{what}记 {} 元，与账户流水中{what}合计 {} 元不符",
                    format_fen(posted),
                    format_fen(moved)
                ));
            }
        }
        Ok(())
    }
}

/// Income less spending of the years before (income accounts have credit balances, expense
/// accounts debit ones).
fn prior_balance(books: &Books, insutype: &str, nets: &Nets) -> Fen {
    nets.before
        .iter()
        .filter(|((i, _), _)| i == insutype)
        .filter_map(|((_, account), net)| {
            let kind = books.account(account)?.kind;
            matches!(kind, AccountKind::Income | AccountKind::Expense).then_some(-net)
        })
        .sum()
}
