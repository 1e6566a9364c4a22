//! 协议与支付方式的不变量（性质测试）：分期合计恰好等于全年数、盈亏调节分完全部结果、年终清算有界。

use yibao_core::payment::*;

fn agreement() -> PaymentPolicy {
    PaymentPolicy::from_toml(
        "payment-agreement.toml",
        include_str!("data/payment-agreement.toml"),
    )
    .unwrap()
}

fn budget_rule() -> GlobalBudgetRule {
    agreement().global_budget.unwrap()
}

fn insurer_rule() -> InsurerRule {
    agreement().insurer.unwrap()
}

use proptest::prelude::*;

proptest! {
    /// Twelve advances sum to the budget and their reserves to the yearly reserve, each
    /// month's net never negative (for budgets of 100 元 and more: December differs from
    /// the other months by at most 11 fen, which a budget of a few fen could turn negative).
    #[test]
    fn advances_sum_exactly(budget in 10_000i64..10_000_000_000_000) {
        let rule = budget_rule();
        let all: Vec<Advance> = (1..=12).map(|m| global_budget_advance(budget, &rule, m)).collect();
        prop_assert_eq!(all.iter().map(|a| a.gross).sum::<i64>(), budget);
        let reserve = yibao_core::money::apply_ratio(budget, rule.quality_reserve_share);
        prop_assert_eq!(all.iter().map(|a| a.reserve_withheld).sum::<i64>(), reserve);
        prop_assert!(all.iter().all(|a| a.net >= 0 && a.net == a.gross - a.reserve_withheld));
    }

    /// Instalments sum to the year's premium.
    #[test]
    fn premium_instalments_sum_exactly(insured in 0u64..5_000_000) {
        let rule = insurer_rule();
        let s = insurer_premium_schedule(&rule, insured, 2024).unwrap();
        prop_assert_eq!(s.instalments.iter().map(|i| i.amount).sum::<i64>(), s.total);
    }

    /// The corridor splits the whole result: profit = kept + returned, loss = insurer + fund.
    #[test]
    fn corridor_splits_the_result(premium in 1i64..100_000_000_000, claims in 0i64..200_000_000_000) {
        let rule = insurer_rule();
        let c = insurer_corridor(premium, claims, rule.admin_cost(premium), &rule);
        prop_assert_eq!(c.kept_by_insurer + c.returned_to_fund, c.result.max(0));
        prop_assert_eq!(c.borne_by_insurer + c.borne_by_fund, (-c.result).max(0));
        prop_assert!(c.kept_by_insurer <= yibao_core::money::apply_ratio(premium, rule.profit_cap));
        prop_assert!([c.kept_by_insurer, c.returned_to_fund, c.borne_by_insurer, c.borne_by_fund].iter().all(|f| *f >= 0));
    }

    /// The year end never pays above the budget plus the paid part of the band, and what it
    /// does not pay of an overrun is the hospital's.
    #[test]
    fn year_end_is_bounded(budget in 1i64..10_000_000_000, actual in 0i64..20_000_000_000, tenths in 0i64..=1000) {
        let rule = budget_rule();
        let reserve = yibao_core::money::apply_ratio(budget, rule.quality_reserve_share);
        let score = Score::from_tenths(tenths).unwrap();
        let y = year_end_global_budget(budget, actual, budget - reserve, reserve, score, &rule);
        let band = yibao_core::money::apply_ratio(budget, rule.overrun_band);
        prop_assert!(y.recognized <= budget + yibao_core::money::apply_ratio(band, rule.overrun_paid_ratio));
        prop_assert_eq!(y.overrun_paid + y.borne_by_hospital, y.overrun);
        prop_assert!(0 <= y.reserve_returned && y.reserve_returned <= reserve);
        prop_assert_eq!(y.total_due - y.advances_paid, y.balance);
    }
}
