//! Residents (城乡居民): what a year's enrolment costs, who pays it, and from which day a
//! paid enrolment gives benefits.

use super::*;
use crate::enrolment::Coverage;
use crate::refdata::Suspension;

/// What a resident's enrolment for a year costs and who pays it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResidentDue {
    /// What the person pays himself.
    pub personal: Fen,
    /// 医疗救助代缴: what medical assistance pays for him.
    pub assistance: Fen,
    /// 财政补助 by source.
    pub subsidies: Vec<(String, Fen)>,
}

impl ResidentRule {
    /// The due for a person holding `categories` (the most favourable 代缴 share applies).
    pub fn due(&self, categories: &[&str]) -> ResidentDue {
        let share = self
            .assistance
            .iter()
            .filter(|(c, _)| categories.contains(&c.as_str()))
            .map(|(_, r)| *r)
            .max()
            .unwrap_or(Ratio::ZERO);
        let assistance = apply_ratio(self.personal, share);
        ResidentDue {
            personal: self.personal - assistance,
            assistance,
            subsidies: self
                .subsidies
                .iter()
                .map(|s| (s.source.clone(), s.amount))
                .collect(),
        }
    }

    /// Whether payments (date, amount; by the person or by assistance) make the year's
    /// enrolment paid, and from which day benefits run.
    pub fn coverage(
        &self,
        year: u16,
        due: &ResidentDue,
        payments: &[(Date, Fen)],
    ) -> ResidentCoverage {
        let owed = due.personal + due.assistance;
        let mut sorted = payments.to_vec();
        sorted.sort_by_key(|p| p.0);
        let mut paid = 0;
        let mut paid_in_full_on = None;
        for (d, a) in sorted {
            paid += a;
            if paid >= owed && paid_in_full_on.is_none() {
                paid_in_full_on = Some(d);
            }
        }
        let jan1 = Date::from_ymd(u32::from(year), 1, 1);
        let dec31 = Date::from_ymd(u32::from(year), 12, 31);
        let benefits_from = match (paid_in_full_on, jan1, dec31) {
            (Some(d), Some(jan1), Some(dec31)) => {
                let from = if d <= self.window.to {
                    jan1
                } else {
                    d.add_days(self.waiting_days).unwrap_or(dec31).max(jan1)
                };
                (from <= dec31).then_some(from)
            }
            _ => None,
        };
        ResidentCoverage {
            owed,
            paid,
            shortfall: (owed - paid).max(0),
            paid_in_full_on,
            benefits_from,
        }
    }
}

/// A resident year's payment status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResidentCoverage {
    pub owed: Fen,
    pub paid: Fen,
    pub shortfall: Fen,
    pub paid_in_full_on: Option<Date>,
    /// The first day with benefits; `None` while unpaid (or paid too late for the year).
    pub benefits_from: Option<Date>,
}

/// Contribution sources: what the person paid (`personal`), what 医疗救助 pays for him
/// (`assistance`, 代缴), a fiscal subsidy not split by source (`fiscal`), and a reference
/// data directory's paid enrolments, declared without amounts (`reference`).
pub const SOURCE_PERSONAL: &str = "personal";
pub const SOURCE_FISCAL: &str = "fiscal";
pub const SOURCE_ASSISTANCE: &str = "assistance";
pub const SOURCE_REFERENCE: &str = "reference";

/// What a resident year's contribution rows `(source, paid_on, amount)` come to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResidentPayments {
    /// A reference directory declared the year paid: no rule applies.
    Declared,
    /// The payments that count toward the due (the person's and assistance's), in order.
    Payments(Vec<(Date, Fen)>),
}

/// Sorts a resident year's contribution rows (see [`ResidentPayments`]).
pub fn resident_payments<'a>(
    rows: impl IntoIterator<Item = (&'a str, Date, Fen)>,
) -> ResidentPayments {
    let mut payments = Vec::new();
    for (source, paid_on, amount) in rows {
        if source == SOURCE_REFERENCE {
            return ResidentPayments::Declared;
        }
        if source == SOURCE_PERSONAL || source == SOURCE_ASSISTANCE {
            payments.push((paid_on, amount));
        }
    }
    ResidentPayments::Payments(payments)
}

/// The coverage of a resident year with `payments`, under `rule` (when the policy has
/// contribution rules: else any payment makes it paid); `categories` are the person's
/// current category spans (those held on any day of the year decide 医疗救助代缴).
/// `None` when the year is not paid.
pub fn resident_year_coverage<'a>(
    rule: Option<&ResidentRule>,
    year: u16,
    categories: impl IntoIterator<Item = (&'a str, DateRange)>,
    payments: &[(Date, Fen)],
) -> Option<Coverage> {
    let Some(rule) = rule else {
        // No contribution rules loaded for that year: any payment counts as paid.
        return (payments.iter().map(|p| p.1).sum::<Fen>() > 0).then(Coverage::default);
    };
    let cats = categories_in_year(categories, year);
    resident_coverage(rule, year, &cats, payments)
}

/// The coverage `payments` buy a resident holding `categories` in `year`: benefits from
/// the day the rule gives, the days before it suspended (the waiting period).
pub fn resident_coverage(
    rule: &ResidentRule,
    year: u16,
    categories: &[&str],
    payments: &[(Date, Fen)],
) -> Option<Coverage> {
    let due = rule.due(categories);
    let c = rule.coverage(year, &due, payments);
    let from = c.benefits_from?;
    let jan1 = Date::from_ymd(u32::from(year), 1, 1)?;
    let mut cover = Coverage::default();
    if from > jan1 {
        cover.suspensions.push(Suspension {
            range: DateRange {
                from: jan1,
                to: from.add_days(-1)?,
            },
            reason: format!(
                "集中缴费期外缴费（{} 缴足），待遇等待期至 {}",
                c.paid_in_full_on.map(|d| d.to_string()).unwrap_or_default(),
                from.add_days(-1)?
            ),
        });
    }
    Some(cover)
}

/// Categories held on any day of `year` (for 医疗救助代缴), of current category spans.
pub fn categories_in_year<'a>(
    spans: impl IntoIterator<Item = (&'a str, DateRange)>,
    year: u16,
) -> Vec<&'a str> {
    let (Some(jan1), Some(dec31)) = (
        Date::from_ymd(u32::from(year), 1, 1),
        Date::from_ymd(u32::from(year), 12, 31),
    ) else {
        return Vec::new();
    };
    spans
        .into_iter()
        .filter(|(_, r)| r.from <= dec31 && r.to >= jan1)
        .map(|(c, _)| c)
        .collect()
}

/// The contribution rows `(source, amount)` a roster row (§4) records: what the person
/// paid; what 医疗救助 pays for him (代缴) under `rule`; the fiscal subsidy, by source when
/// it matches the policy's split, else as one `fiscal` row. Rows of zero are left out.
pub fn roster_contributions(
    rule: Option<&ResidentRule>,
    categories: &[&str],
    personal_fen: Fen,
    subsidy_fen: Fen,
) -> Vec<(String, Fen)> {
    let mut rows: Vec<(String, Fen)> = vec![(SOURCE_PERSONAL.into(), personal_fen)];
    match rule {
        Some(rule) => {
            let due = rule.due(categories);
            rows.push((SOURCE_ASSISTANCE.into(), due.assistance));
            let policy_total: Fen = due.subsidies.iter().map(|s| s.1).sum();
            if policy_total == subsidy_fen {
                rows.extend(due.subsidies);
            } else {
                rows.push((SOURCE_FISCAL.into(), subsidy_fen));
            }
        }
        None => rows.push((SOURCE_FISCAL.into(), subsidy_fen)),
    }
    rows.retain(|(_, amount)| *amount > 0);
    rows
}
