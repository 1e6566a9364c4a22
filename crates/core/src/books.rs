//! The funds' books (基金会计): a double-entry journal whose chart of accounts is policy data
//! (`[books]` in the policy file). Every settlement, reversal and contribution is an
//! [`Entry`] whose debits equal its credits; [`Entry::check`] is run where an entry is
//! written, in release builds too, and `yibao ledger check` runs it again over the stored
//! journal. The entries are derived here, from the core's values (a settlement's
//! [`Amounts`]), so the batch's in-memory [`Journal`] and the store's journal post the same
//! thing.

use crate::checks::Violation;
use crate::engine::Amounts;
use crate::funds::Payer;
use crate::money::{format_fen, Fen};
use rustc_hash::FxHashMap;
use serde::Deserialize;
use std::collections::BTreeMap;

/// What each payer paid in a settlement, in [`Payer::ALL`] order; the personal account's is
/// the person's own and a family member's (家庭共济) together. What a settlement posts is
/// derived from this alone, so that a reversal can post its mirror from what a ledger kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Paid(pub [Fen; Payer::ALL.len()]);

impl Paid {
    pub fn of_amounts(a: &Amounts) -> Paid {
        Paid(Payer::ALL.map(|p| match p {
            Payer::Account => a.acct_pay + a.acct_mulaid_pay,
            p => p.amount(a),
        }))
    }

    pub fn of(&self, payer: Payer) -> Fen {
        Payer::ALL
            .iter()
            .position(|p| *p == payer)
            .map_or(0, |i| self.0[i])
    }
}

/// What kind of account: which side its balance normally sits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountKind {
    /// 资产（银行存款、应收）: debit balance.
    Asset,
    /// 负债（应付机构款、个人账户）: credit balance.
    Liability,
    /// 收入（缴费、补助、利息）: credit balance.
    Income,
    /// 支出（待遇支出）: debit balance.
    Expense,
    /// 基金结余、风险储备金: credit balance.
    Equity,
}

impl AccountKind {
    pub fn code(self) -> &'static str {
        match self {
            AccountKind::Asset => "asset",
            AccountKind::Liability => "liability",
            AccountKind::Income => "income",
            AccountKind::Expense => "expense",
            AccountKind::Equity => "equity",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            AccountKind::Asset => "资产",
            AccountKind::Liability => "负债",
            AccountKind::Income => "收入",
            AccountKind::Expense => "支出",
            AccountKind::Equity => "基金结余",
        }
    }

    fn parse(text: &str) -> Option<AccountKind> {
        [
            AccountKind::Asset,
            AccountKind::Liability,
            AccountKind::Income,
            AccountKind::Expense,
            AccountKind::Equity,
        ]
        .into_iter()
        .find(|k| k.code() == text)
    }

    /// Whether the balance is debits less credits (else credits less debits).
    pub fn debit_normal(self) -> bool {
        matches!(self, AccountKind::Asset | AccountKind::Expense)
    }
}

/// One account of the chart (会计科目).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountDef {
    pub code: String,
    pub name: String,
    pub kind: AccountKind,
}

/// The chart of accounts and the posting rules of one policy's fund.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Books {
    /// The fund these books keep (e.g. 城乡居民基本医疗保险基金).
    pub fund: String,
    /// The bank account money is received into and paid from.
    pub bank: String,
    /// 应付定点医药机构款: what the funds owe an institution (sub-account: its code).
    pub payable: String,
    /// 风险储备金, where the policy keeps one (shown apart in the fund report).
    pub reserve: Option<String>,
    /// 预警: the fund report warns when the balance lasts fewer months than this.
    pub warn_months: Option<i64>,
    /// 大病保险保费支出, where the fund buys 大病保险 from an insurer.
    pub premium: Option<String>,
    /// What the personal account's openings, credits and interest are debited to
    /// (`[books.account_movements]`: opening, credit, interest).
    account_movements: BTreeMap<String, String>,
    accounts: BTreeMap<String, AccountDef>,
    /// The account each payer's amount is debited to (`hosp_part_amt` has none: the
    /// hospital bears it, no fund's money moves).
    payers: Vec<(Payer, String)>,
    /// The income account of each contribution source (personal, assistance, central …).
    income: BTreeMap<String, String>,
}

impl Books {
    pub fn account(&self, code: &str) -> Option<&AccountDef> {
        self.accounts.get(code)
    }

    pub fn accounts(&self) -> impl Iterator<Item = &AccountDef> {
        self.accounts.values()
    }

    /// The account `payer`'s amounts are debited to.
    pub fn payer_account(&self, payer: Payer) -> Option<&str> {
        self.payers
            .iter()
            .find(|(p, _)| *p == payer)
            .map(|(_, a)| a.as_str())
    }

    /// The payers with an account, in [`Payer::ALL`] order.
    pub fn payers(&self) -> impl Iterator<Item = (Payer, &str)> {
        self.payers.iter().map(|(p, a)| (*p, a.as_str()))
    }

    /// The income account of a contribution source.
    pub fn income_account(&self, source: &str) -> Option<&str> {
        self.income.get(source).map(String::as_str)
    }

    pub fn income_sources(&self) -> impl Iterator<Item = (&str, &str)> {
        self.income.iter().map(|(s, a)| (s.as_str(), a.as_str()))
    }

    /// The entry of a settlement at `institution`: each payer's amount debited to its
    /// account (the personal account's, own and 家庭共济, reduce what it holds), their sum
    /// credited to what the funds owe the institution. `None` when nothing moves (a visit
    /// paid wholly in cash).
    pub fn settlement_entry<'a>(
        &'a self,
        reference: &'a str,
        institution: &'a str,
        paid: &Paid,
    ) -> Option<Entry<'a>> {
        let mut postings = Vec::new();
        let mut owed: Fen = 0;
        for &(payer, ref account) in &self.payers {
            let amount = paid.of(payer);
            if amount != 0 {
                postings.push(Posting::debit(account, "", amount));
                owed += amount;
            }
        }
        (owed != 0).then(|| {
            postings.push(Posting::credit(&self.payable, institution, owed));
            Entry {
                reference,
                kind: EntryKind::Settlement,
                postings,
            }
        })
    }

    /// The entry of contributions (or subsidies) received, `(source, amount)` each (one
    /// payment, or a roster's totals): each source's income account credited, the bank
    /// debited with their sum; a negative amount (a correction) the other way round. `Err`
    /// names a source the chart has no account for; `None` when nothing moves.
    pub fn contribution_entry<'a>(
        &'a self,
        reference: &'a str,
        amounts: &[(&str, Fen)],
    ) -> Result<Option<Entry<'a>>, String> {
        let mut postings = Vec::with_capacity(amounts.len() + 1);
        let mut total: Fen = 0;
        for &(source, amount) in amounts {
            let Some(income) = self.income_account(source) else {
                return Err(format!(
                    "政策的 [books.income] 没有缴费来源 {source:?} 的科目"
                ));
            };
            match amount.signum() {
                1 => postings.push(Posting::credit(income, "", amount)),
                -1 => postings.push(Posting::debit(income, "", -amount)),
                _ => continue,
            }
            total += amount;
        }
        match total.signum() {
            1 => postings.push(Posting::debit(&self.bank, "", total)),
            -1 => postings.push(Posting::credit(&self.bank, "", -total)),
            _ => {}
        }
        Ok((!postings.is_empty()).then_some(Entry {
            reference,
            kind: EntryKind::Contribution,
            postings,
        }))
    }
}

impl Books {
    /// The entry of personal-account movements of `kind` (`opening`, `credit`, `interest`)
    /// totalling `amount`: its account debited, the personal account credited. `None` where
    /// the chart does not post that kind, or nothing moves.
    pub fn account_movement_entry<'a>(
        &'a self,
        reference: &'a str,
        kind: &str,
        amount: Fen,
    ) -> Option<Entry<'a>> {
        let entry_kind = EntryKind::of_account_movement(kind)?;
        let from = self.account_movements.get(kind)?;
        let account = self.payer_account(Payer::Account)?;
        self.transfer(reference, entry_kind, (from, ""), (account, ""), amount)
    }

    /// Whether the chart posts personal-account movements of `kind`.
    pub fn posts_account_movement(&self, kind: &str) -> bool {
        self.account_movements.contains_key(kind)
    }

    /// A two-line entry of `kind` moving `amount` from `credit` to `debit` (each an account
    /// and sub-account); a negative amount the other way round; `None` for zero.
    pub fn transfer<'a>(
        &'a self,
        reference: &'a str,
        kind: EntryKind,
        debit: (&'a str, &'a str),
        credit: (&'a str, &'a str),
        amount: Fen,
    ) -> Option<Entry<'a>> {
        let (d, c, amount) = if amount < 0 {
            (credit, debit, -amount)
        } else {
            (debit, credit, amount)
        };
        (amount != 0).then(|| Entry {
            reference,
            kind,
            postings: vec![
                Posting::debit(d.0, d.1, amount),
                Posting::credit(c.0, c.1, amount),
            ],
        })
    }
}

/// What an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// 结算：待遇支出与应付机构款。
    Settlement,
    /// 撤销：原结算分录的红字冲销。
    Reversal,
    /// 缴费与补助收入。
    Contribution,
    /// 拨付：向定点医药机构支付应付款。
    Payment,
    /// 大病保险保费：向承办机构拨付保费。
    Premium,
    /// 大病保险赔付结算：承办机构归还基金垫付的大病保险支付（hifmi_pay）。
    InsurerClaims,
    /// 大病保险年终盈亏调节：承办机构返还基金，或基金分担亏损。
    Corridor,
    /// 年终清算调整：机构应得（年终认定额）与实际结算统筹支付之差，冲减（或增加）待遇支出。
    YearEndAdjustment,
    /// 个人账户期初余额（参考数据）、按月划入、年度计息：记入个人账户科目的贷方。
    AccountOpening,
    AccountCredit,
    AccountInterest,
}

impl EntryKind {
    pub const ALL: [EntryKind; 11] = [
        EntryKind::Settlement,
        EntryKind::Reversal,
        EntryKind::Contribution,
        EntryKind::Payment,
        EntryKind::Premium,
        EntryKind::InsurerClaims,
        EntryKind::Corridor,
        EntryKind::YearEndAdjustment,
        EntryKind::AccountOpening,
        EntryKind::AccountCredit,
        EntryKind::AccountInterest,
    ];

    pub fn code(self) -> &'static str {
        match self {
            EntryKind::Settlement => "settlement",
            EntryKind::Reversal => "reversal",
            EntryKind::Contribution => "contribution",
            EntryKind::Payment => "payment",
            EntryKind::Premium => "premium",
            EntryKind::InsurerClaims => "insurer_claims",
            EntryKind::Corridor => "corridor",
            EntryKind::YearEndAdjustment => "year_end_adjustment",
            EntryKind::AccountOpening => "account_opening",
            EntryKind::AccountCredit => "account_credit",
            EntryKind::AccountInterest => "account_interest",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EntryKind::Settlement => "结算",
            EntryKind::Reversal => "撤销",
            EntryKind::Contribution => "缴费",
            EntryKind::Payment => "拨付",
            EntryKind::Premium => "大病保险保费",
            EntryKind::InsurerClaims => "大病保险赔付结算",
            EntryKind::Corridor => "大病保险盈亏调节",
            EntryKind::YearEndAdjustment => "年终清算调整",
            EntryKind::AccountOpening => "个人账户期初余额",
            EntryKind::AccountCredit => "个人账户划入",
            EntryKind::AccountInterest => "个人账户计息",
        }
    }

    /// The entry kind of a personal-account movement kind (`opening`, `credit`, `interest`).
    pub fn of_account_movement(kind: &str) -> Option<EntryKind> {
        match kind {
            "opening" => Some(EntryKind::AccountOpening),
            "credit" => Some(EntryKind::AccountCredit),
            "interest" => Some(EntryKind::AccountInterest),
            _ => None,
        }
    }

    pub fn parse(code: &str) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The reference an entry of this kind for `id` has (unique in a journal: a business
    /// record posts once).
    pub fn reference(self, id: &str) -> String {
        format!("{}:{id}", self.code())
    }
}

/// One line of an entry: an account (and sub-account, e.g. the institution), debit or credit.
/// It borrows its codes from the chart and the reference data (or from rows a store read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Posting<'a> {
    pub account: &'a str,
    /// 明细科目: the institution of a payable; empty where the account has none.
    pub sub: &'a str,
    pub debit: Fen,
    pub credit: Fen,
}

impl<'a> Posting<'a> {
    pub fn debit(account: &'a str, sub: &'a str, amount: Fen) -> Posting<'a> {
        Posting {
            account,
            sub,
            debit: amount,
            credit: 0,
        }
    }

    pub fn credit(account: &'a str, sub: &'a str, amount: Fen) -> Posting<'a> {
        Posting {
            account,
            sub,
            debit: 0,
            credit: amount,
        }
    }
}

/// A journal entry (记账凭证): postings whose debits equal their credits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Unique in the journal: `settlement:{setl_id}`, `reversal:{setl_id}` … ([`EntryKind::reference`]).
    pub reference: &'a str,
    pub kind: EntryKind,
    pub postings: Vec<Posting<'a>>,
}

impl<'a> Entry<'a> {
    pub fn debits(&self) -> Fen {
        self.postings.iter().map(|p| p.debit).sum()
    }

    pub fn credits(&self) -> Fen {
        self.postings.iter().map(|p| p.credit).sum()
    }

    /// Debits equal credits, no amount is negative, and every posting is one-sided.
    pub fn check(&self) -> Result<(), Violation> {
        let well_formed = self
            .postings
            .iter()
            .all(|p| p.debit >= 0 && p.credit >= 0 && (p.debit == 0 || p.credit == 0));
        if self.postings.is_empty() || !well_formed || self.debits() != self.credits() {
            return Err(Violation(format!(
                "分录 {} 借贷不平：借方 {} 元，贷方 {} 元（{} 行）",
                self.reference,
                format_fen(self.debits()),
                format_fen(self.credits()),
                self.postings.len()
            )));
        }
        Ok(())
    }

    /// The entry that takes this one back (红字冲销): each posting on the other side.
    pub fn reversal(&self, reference: &'a str) -> Entry<'a> {
        Entry {
            reference,
            kind: EntryKind::Reversal,
            postings: self
                .postings
                .iter()
                .map(|p| Posting {
                    debit: p.credit,
                    credit: p.debit,
                    ..*p
                })
                .collect(),
        }
    }
}

/// An in-memory journal (the batch's): the totals per account and sub-account of the
/// entries posted, each checked as it is posted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Journal<'a> {
    pub entries: u64,
    /// (account, sub) → (debits, credits).
    pub totals: FxHashMap<(&'a str, &'a str), (Fen, Fen)>,
}

impl<'a> Journal<'a> {
    pub fn post(&mut self, e: &Entry<'a>) -> Result<(), Violation> {
        e.check()?;
        self.entries += 1;
        for p in &e.postings {
            let t = self.totals.entry((p.account, p.sub)).or_default();
            t.0 += p.debit;
            t.1 += p.credit;
        }
        Ok(())
    }

    /// Adds another journal's entries (a parallel group's).
    pub fn absorb(&mut self, other: Journal<'a>) {
        self.entries += other.entries;
        for (k, (d, c)) in other.totals {
            let t = self.totals.entry(k).or_default();
            t.0 += d;
            t.1 += c;
        }
    }

    /// Debits less credits of `account`, all sub-accounts together.
    pub fn net_debit(&self, account: &str) -> Fen {
        self.totals
            .iter()
            .filter(|((a, _), _)| *a == account)
            .map(|(_, (d, c))| d - c)
            .sum()
    }

    /// Whether all debits equal all credits.
    pub fn balances(&self) -> bool {
        let (d, c) = self
            .totals
            .values()
            .fold((0, 0), |(d, c), (dd, cc)| (d + dd, c + cc));
        d == c
    }
}

// ---------------------------------------------------------------------------------------------
// The policy file's `[books]`
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBooks {
    fund: String,
    bank: String,
    payable: String,
    reserve: Option<String>,
    warn_months: Option<i64>,
    premium: Option<String>,
    #[serde(default)]
    account_movements: BTreeMap<String, String>,
    accounts: BTreeMap<String, RawAccountDef>,
    #[serde(default)]
    payers: BTreeMap<String, String>,
    #[serde(default)]
    income: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccountDef {
    name: String,
    kind: String,
}

/// Reads `[books]`: every account referred to exists and has a kind that fits its use, and
/// each payer in `payers` (those the policy can pay, but the hospital's share) has an
/// account. Problems go to `issue(key, reason)`.
pub(crate) fn books(
    raw: &RawBooks,
    payers: &[Payer],
    mut issue: impl FnMut(String, String),
) -> Books {
    let mut accounts = BTreeMap::new();
    for (code, a) in &raw.accounts {
        let key = format!("books.accounts.{code}");
        let kind = AccountKind::parse(&a.kind);
        if code.trim().is_empty() || code.chars().any(|c| c == ':' || c.is_whitespace()) {
            issue(key.clone(), "科目代码不能为空，也不能含空白或冒号".into());
        }
        if a.name.trim().is_empty() {
            issue(format!("{key}.name"), "科目名称不能为空".into());
        }
        match kind {
            Some(kind) => {
                accounts.insert(
                    code.clone(),
                    AccountDef {
                        code: code.clone(),
                        name: a.name.trim().to_string(),
                        kind,
                    },
                );
            }
            None => issue(
                format!("{key}.kind"),
                format!(
                    "科目类别应为 asset、liability、income、expense、equity 之一：{:?}",
                    a.kind
                ),
            ),
        }
    }
    // Why `code` cannot serve where one of `kinds` is wanted, if it cannot.
    let unfit = |code: &str, kinds: &[AccountKind]| match accounts.get(code) {
        None => Some(format!("科目 {code:?} 不在 [books.accounts] 中")),
        Some(a) if !kinds.contains(&a.kind) => {
            let want: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
            Some(format!(
                "科目 {code}（{}）是{}类，这里应为{}类",
                a.name,
                a.kind.name(),
                want.join("或")
            ))
        }
        Some(_) => None,
    };
    if raw.fund.trim().is_empty() {
        issue("books.fund".into(), "基金名称不能为空".into());
    }
    if let Some(m) = raw.warn_months.filter(|m| !(0..=120).contains(m)) {
        issue(
            "books.warn_months".into(),
            format!("预警月数应在 0 到 120 之间：{m}"),
        );
    }
    let mut uses = vec![
        (
            "books.bank".to_string(),
            raw.bank.as_str(),
            &[AccountKind::Asset][..],
        ),
        (
            "books.payable".into(),
            raw.payable.as_str(),
            &[AccountKind::Liability],
        ),
    ];
    if let Some(r) = &raw.reserve {
        uses.push(("books.reserve".into(), r.as_str(), &[AccountKind::Equity]));
    }
    if let Some(p) = &raw.premium {
        uses.push(("books.premium".into(), p.as_str(), &[AccountKind::Expense]));
    }
    let mut by_payer = Vec::new();
    for (field, code) in &raw.payers {
        let key = format!("books.payers.{field}");
        match Payer::of_field(field).filter(|p| *p != Payer::Hospital) {
            None => {
                let fields: Vec<&str> = Payer::ALL
                    .iter()
                    .filter(|p| **p != Payer::Hospital)
                    .map(|p| p.field())
                    .collect();
                issue(key, format!("应为 {} 之一", fields.join("、")));
            }
            Some(p) => {
                // A layer the fund pays on another's behalf and recovers (大病保险, from its
                // insurer) posts to a receivable (asset).
                let kinds: &[AccountKind] = if p == Payer::Account {
                    &[AccountKind::Liability]
                } else {
                    &[AccountKind::Expense, AccountKind::Asset]
                };
                uses.push((key, code.as_str(), kinds));
                by_payer.push((p, code.clone()));
            }
        }
    }
    by_payer.sort_by_key(|(p, _)| Payer::ALL.iter().position(|q| q == p));
    for (kind, code) in &raw.account_movements {
        let key = format!("books.account_movements.{kind}");
        match kind.as_str() {
            "opening" => uses.push((key, code.as_str(), &[AccountKind::Equity])),
            "credit" | "interest" => uses.push((key, code.as_str(), &[AccountKind::Expense])),
            _ => issue(
                key,
                "应为 opening（期初余额）、credit（划入）、interest（计息）之一".into(),
            ),
        }
    }
    if !raw.account_movements.is_empty() && !raw.payers.contains_key("acct_pay") {
        issue(
            "books.account_movements".into(),
            "个人账户的变动需要 [books.payers] 给出 acct_pay 的科目".into(),
        );
    }
    for (source, code) in &raw.income {
        uses.push((
            format!("books.income.{source}"),
            code.as_str(),
            &[AccountKind::Income],
        ));
    }
    for (key, code, kinds) in uses {
        if let Some(reason) = unfit(code, kinds) {
            issue(key, reason);
        }
    }
    let books = Books {
        fund: raw.fund.trim().to_string(),
        bank: raw.bank.clone(),
        payable: raw.payable.clone(),
        reserve: raw.reserve.clone(),
        warn_months: raw.warn_months,
        premium: raw.premium.clone(),
        account_movements: raw.account_movements.clone(),
        accounts,
        payers: by_payer,
        income: raw.income.clone(),
    };
    for p in payers.iter().filter(|p| **p != Payer::Hospital) {
        if books.payer_account(*p).is_none() {
            issue(
                format!("books.payers.{}", p.field()),
                "缺少：本政策有这一支付项，需给出它记入的科目".into(),
            );
        }
    }
    books
}
