//! 协议与支付方式: the payment agreement file and the payment calculators, with figures
//! computed by hand (the arithmetic is in the comments; 1 元 = 100 分).

use yibao_core::date::Date;
use yibao_core::engine::Amounts;
use yibao_core::payment::*;
use yibao_core::refdata::Level;

/// A small agreement with round parameters for the hand computations.
const AGREEMENT: &str = include_str!("data/payment-agreement.toml");

fn agreement() -> PaymentPolicy {
    PaymentPolicy::from_toml("test.toml", AGREEMENT).unwrap()
}

fn budget_rule() -> GlobalBudgetRule {
    agreement().global_budget.unwrap()
}

fn insurer_rule() -> InsurerRule {
    agreement().insurer.unwrap()
}

fn date(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn visit(setl_id: &str, inst: &str, med_type: &str, end: &str, amounts: Amounts) -> SettledVisit {
    SettledVisit {
        setl_id: setl_id.into(),
        fixmedins_code: inst.into(),
        med_type: med_type.into(),
        dise_codg: "J18.9".into(),
        begndate: date(end),
        enddate: date(end),
        bed_days: 0,
        amounts,
        reversed: false,
    }
}

fn amounts(medfee: i64, hifp: i64, hifmi: i64, maf: i64, cash: i64) -> Amounts {
    Amounts {
        medfee_sumamt: medfee,
        hifp_pay: hifp,
        hifmi_pay: hifmi,
        maf_pay: maf,
        fund_pay_sumamt: hifp + hifmi + maf,
        psn_part_amt: cash,
        psn_cash_pay: cash,
        ..Amounts::default()
    }
}

#[test]
fn the_sample_county_agreement_loads() {
    let text = include_str!("../../../policies/sample-county-2024-payment.toml");
    let p = PaymentPolicy::from_toml("sample-county-2024-payment.toml", text)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.institutions.len(), 18);
    assert_eq!(
        p.agreement("H99010110002").unwrap().method,
        Method::GlobalBudget {
            budget: 3_800_000_000 // 3800 万元
        }
    );
    // Every institution of the reference case has an agreement at its level.
    let csv = include_str!("../../../tests/fixtures/sample-county-2024/institutions.csv");
    for row in csv.lines().skip(1).filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = row.split(',').collect();
        let a = p
            .agreement(cols[0])
            .unwrap_or_else(|| panic!("{} 无协议", cols[0]));
        assert_eq!(a.level, Level::parse(cols[2]).unwrap(), "{row}");
    }
    assert_eq!(p.quota_for(Level::L3), Some(650_000));
    let insurer = p.insurer.unwrap();
    assert_eq!(insurer.premium_per_insured, 7_000);
    // 70 元 × 285,431 人 = 19,980,170 元 = 1,998,017,000 分，÷ 4 = 499,504,250 分整。
    let s = insurer_premium_schedule(&insurer, 285_431, 2024).unwrap();
    assert_eq!(s.total, 1_998_017_000);
    assert!(s.instalments.iter().all(|i| i.amount == 499_504_250));
}

// ---- 按项目付费 ---------------------------------------------------------------------------

#[test]
fn fee_for_service_statement() {
    let p = agreement();
    let mut reversed = visit(
        "S3",
        "H1",
        "21",
        "2024-03-20",
        amounts(150_000, 100_000, 0, 0, 50_000),
    );
    reversed.reversed = true;
    let visits = vec![
        // 住院：统筹 3000、大病 500、救助 200、现金 800，合计 4500 元
        visit(
            "S1",
            "H1",
            "21",
            "2024-03-05",
            amounts(450_000, 300_000, 50_000, 20_000, 80_000),
        ),
        // 普通门诊：统筹 60、现金 40
        visit(
            "S2",
            "H1",
            "11",
            "2024-03-18",
            amounts(10_000, 6_000, 0, 0, 4_000),
        ),
        reversed,
        visit(
            "S4",
            "H1",
            "21",
            "2024-04-01",
            amounts(99_900, 99_900, 0, 0, 0),
        ), // 下月
        visit(
            "S5",
            "H2",
            "21",
            "2024-03-05",
            amounts(99_900, 99_900, 0, 0, 0),
        ), // 别的机构
    ];
    let deductions = vec![Deduction {
        setl_id: "S1".into(),
        amount: 15_000,
        reason: "重复收费".into(),
    }];
    let s = monthly_statement(&p, "H1", 2024, 3, &visits, &deductions).unwrap();
    assert_eq!((s.visits, s.reversed_visits), (2, 1));
    assert_eq!(s.totals.medfee_sumamt, 460_000); // 4500 + 100
    assert_eq!(s.totals.hifp_pay, 306_000); // 3000 + 60
    assert_eq!(s.deductions, 15_000);
    assert_eq!(s.hifp_approved, 291_000); // 3060 − 150
    assert_eq!(s.other_layers, 70_000); // 大病 500 + 救助 200
    assert_eq!(s.net_payable, 361_000); // 2910 + 700
    assert!(s.advance.is_none());
    let by: Vec<(&str, u64, i64)> = s
        .by_med_type
        .iter()
        .map(|m| (m.med_type.as_str(), m.visits, m.amounts.hifp_pay))
        .collect();
    assert_eq!(by, vec![("11", 1, 6_000), ("21", 1, 300_000)]);
    assert_eq!(s.lines.last().unwrap().amount.0, 361_000);
}

#[test]
fn deductions_must_name_a_settlement_and_stay_within_it() {
    let p = agreement();
    let visits = vec![visit(
        "S1",
        "H1",
        "21",
        "2024-03-05",
        amounts(10_000, 6_000, 0, 0, 4_000),
    )];
    let d = |id: &str, amount| Deduction {
        setl_id: id.into(),
        amount,
        reason: String::new(),
    };
    let err = monthly_statement(&p, "H1", 2024, 3, &visits, &[d("S9", 1)]).unwrap_err();
    assert!(err.contains("S9"), "{err}");
    // 两笔核减合计 70 元，超过统筹 60 元
    let err = monthly_statement(
        &p,
        "H1",
        2024,
        3,
        &visits,
        &[d("S1", 4_000), d("S1", 3_000)],
    )
    .unwrap_err();
    assert!(err.contains("超过"), "{err}");
    assert!(monthly_statement(&p, "H9", 2024, 3, &visits, &[]).is_err());
}

#[test]
fn statement_applies_per_diem_and_single_disease() {
    let p = agreement();
    let stay = |id: &str, med: &str, dise: &str, bed_days, a: Amounts| SettledVisit {
        dise_codg: dise.into(),
        bed_days,
        ..visit(id, "H1", med, "2024-03-28", a)
    };
    let visits = vec![
        // 150 天精神分裂症（H1 在 per_diem.institutions）：应付 17,900 元，调整 −2,100 元（见按床日测试）
        stay(
            "P1",
            "21",
            "F20.0",
            150,
            amounts(2_600_000, 2_000_000, 0, 0, 600_000),
        ),
        // 30 天：不超过 60 天，按项目
        stay(
            "P2",
            "21",
            "F20.0",
            30,
            amounts(400_000, 300_000, 0, 0, 100_000),
        ),
        // 阑尾炎住院：标准 4,500 元，统筹应付 3,375 元，结算 3,800 元，调整 −425 元
        stay(
            "D1",
            "21",
            "K35.8",
            6,
            amounts(520_000, 380_000, 0, 0, 140_000),
        ),
        // 门诊不是单病种的就诊类别：按项目
        stay("O1", "11", "K35.8", 0, amounts(8_000, 5_000, 0, 0, 3_000)),
    ];
    let s = monthly_statement(&p, "H1", 2024, 3, &visits, &[]).unwrap();
    let ids = |v: Vec<&String>| v.into_iter().cloned().collect::<Vec<_>>();
    assert_eq!(ids(s.per_diem.iter().map(|(id, _)| id).collect()), ["P1"]);
    assert_eq!(
        ids(s.single_disease.iter().map(|(id, _)| id).collect()),
        ["D1"]
    );
    // 统筹合计 20,000 + 3,000 + 3,800 + 50 = 26,850 元；调整 −2,100 − 425 = −2,525 元；审核后 24,325 元
    assert_eq!(s.totals.hifp_pay, 2_685_000);
    assert_eq!(s.method_adjustment, -252_500);
    assert_eq!((s.hifp_approved, s.net_payable), (2_432_500, 2_432_500));
}

#[test]
fn quarter_quota_counts_the_quarters_admissions() {
    let p = agreement();
    let v = |id: &str, med: &str, end: &str, hifp| {
        visit(id, "H3", med, end, amounts(hifp, hifp, 0, 0, 0))
    };
    let mut reversed = v("R1", "21", "2024-05-02", 900_000);
    reversed.reversed = true;
    let visits = vec![
        v("A1", "21", "2024-04-03", 200_000),
        v("A2", "21", "2024-05-10", 150_000),
        v("A3", "21", "2024-06-30", 250_000),
        v("X1", "11", "2024-05-10", 9_000),   // 门诊，不计
        v("X2", "21", "2024-03-31", 900_000), // 一季度，不计
        reversed,
    ];
    let deductions = vec![Deduction {
        setl_id: "A3".into(),
        amount: 20_000,
        reason: "分解住院".into(),
    }];
    // 3 人次 × 1,800 = 5,400 元；实际 2,000 + 1,500 + 2,500 − 核减 200 = 5,800 元；扣减 400 元。
    let q = institution_quarter_quota(&p, "H3", 2024, 2, &visits, &deductions)
        .unwrap()
        .unwrap();
    assert_eq!(
        (q.admissions, q.allowed, q.actual, q.deduction),
        (3, 540_000, 580_000, 40_000)
    );
    assert_eq!(
        institution_quarter_quota(&p, "H1", 2024, 2, &visits, &[]),
        Ok(None)
    );
    assert!(institution_quarter_quota(&p, "H3", 2024, 5, &visits, &[]).is_err());
}

// ---- 总额控制 -----------------------------------------------------------------------------

#[test]
fn global_budget_advances_sum_to_the_budget() {
    let rule = budget_rule();
    // 预算 100 万元 = 100,000,000 分：÷ 12 = 8,333,333.33 → 8,333,333；
    // 12 月 = 100,000,000 − 11 × 8,333,333 = 8,333,337。
    // 保证金全年 10,000,000：每月 833,333，12 月 833,337；净额每月 7,500,000。
    let jan = global_budget_advance(100_000_000, &rule, 1);
    assert_eq!(
        (jan.gross, jan.reserve_withheld, jan.net),
        (8_333_333, 833_333, 7_500_000)
    );
    let dec = global_budget_advance(100_000_000, &rule, 12);
    assert_eq!(
        (dec.gross, dec.reserve_withheld, dec.net),
        (8_333_337, 833_337, 7_500_000)
    );
    // 余数过半的预算：100,000,011 ÷ 12 = 8,333,334.25 → 8,333,334；十二个月合计仍恰好相等。
    for budget in [100_000_000, 100_000_011, 1_234_567_891, 100_006] {
        let all: Vec<Advance> = (1..=12)
            .map(|m| global_budget_advance(budget, &rule, m))
            .collect();
        assert_eq!(all.iter().map(|a| a.gross).sum::<i64>(), budget);
        let reserve = yibao_core::money::apply_ratio(budget, rule.quality_reserve_share);
        assert_eq!(all.iter().map(|a| a.reserve_withheld).sum::<i64>(), reserve);
    }
}

#[test]
fn global_budget_statement_pays_the_advance_not_the_actual() {
    let p = agreement();
    // 统筹 90,000 元、大病 1,000 元；核减 2,000 元。
    let visits = vec![visit(
        "S1",
        "H2",
        "21",
        "2024-01-15",
        amounts(12_000_000, 9_000_000, 100_000, 0, 2_900_000),
    )];
    let deductions = vec![Deduction {
        setl_id: "S1".into(),
        amount: 200_000,
        reason: "超标准收费".into(),
    }];
    let s = monthly_statement(&p, "H2", 2024, 1, &visits, &deductions).unwrap();
    assert_eq!(s.hifp_approved, 8_800_000); // 90,000 − 2,000 元，计入年终实际
    assert_eq!(s.advance.as_ref().unwrap().net, 7_500_000);
    assert_eq!(s.net_payable, 7_600_000); // 预拨净额 75,000 + 大病 1,000 元
}

#[test]
fn global_budget_year_end_under_budget() {
    let rule = budget_rule();
    let score = Score::points(95).unwrap();
    // 预算 100 万，实际 95 万：结余 5 万 × 50% = 2.5 万 ≤ 上限 100 万 × 5% = 5 万。
    // 认定 95 + 2.5 = 97.5 万；保证金 10 万全额返还；已预拨 90 万，补拨 7.5 万。
    let y = year_end_global_budget(
        100_000_000,
        95_000_000,
        90_000_000,
        10_000_000,
        score,
        &rule,
    );
    assert_eq!(y.zone, BudgetZone::Under);
    assert_eq!((y.saving, y.saving_bonus), (5_000_000, 2_500_000));
    assert_eq!(y.recognized, 97_500_000);
    assert_eq!((y.reserve_returned, y.reserve_forfeited), (10_000_000, 0));
    assert_eq!((y.total_due, y.balance), (97_500_000, 7_500_000));
    // 实际 80 万：结余 20 万 × 50% = 10 万，超过上限 5 万，取 5 万；认定 85 万，追回 5 万。
    let y = year_end_global_budget(
        100_000_000,
        80_000_000,
        90_000_000,
        10_000_000,
        score,
        &rule,
    );
    assert_eq!(y.saving_bonus, 5_000_000);
    assert_eq!((y.recognized, y.balance), (85_000_000, -5_000_000));
    assert_eq!(y.lines.last().unwrap().item, "年终追回");
}

#[test]
fn global_budget_year_end_within_band() {
    let rule = budget_rule();
    // 实际 106 万：超支 6 万 ≤ 弹性区间 100 万 × 10% = 10 万；支付 6 × 50% = 3 万，医院承担 3 万。
    // 认定 100 + 3 = 103 万；得分 90（恰为全额线）全额返还；补拨 103 − 90 = 13 万。
    let score = Score::points(90).unwrap();
    let y = year_end_global_budget(
        100_000_000,
        106_000_000,
        90_000_000,
        10_000_000,
        score,
        &rule,
    );
    assert_eq!(y.zone, BudgetZone::WithinBand);
    assert_eq!(
        (y.overrun, y.overrun_paid, y.beyond_band),
        (6_000_000, 3_000_000, 0)
    );
    assert_eq!(y.borne_by_hospital, 3_000_000);
    assert_eq!(y.recognized, 103_000_000);
    assert_eq!(y.reserve_returned, 10_000_000);
    assert_eq!(y.balance, 13_000_000);
}

#[test]
fn global_budget_year_end_beyond_band_and_reserve_by_score() {
    let rule = budget_rule();
    // 实际 125 万：超支 25 万，弹性区间 10 万内支付 5 万，超出区间 15 万；医院承担 20 万。
    // 认定 105 万。得分 80：返还 10 万 × 80 ÷ 100 = 8 万，扣留 2 万；应拨 103 万，补拨 13 万。
    let score = Score::points(80).unwrap();
    let y = year_end_global_budget(
        100_000_000,
        125_000_000,
        90_000_000,
        10_000_000,
        score,
        &rule,
    );
    assert_eq!(y.zone, BudgetZone::BeyondBand);
    assert_eq!(
        (y.overrun_paid, y.beyond_band, y.borne_by_hospital),
        (5_000_000, 15_000_000, 20_000_000)
    );
    assert_eq!(y.recognized, 105_000_000);
    assert_eq!(
        (y.reserve_returned, y.reserve_forfeited),
        (8_000_000, 2_000_000)
    );
    assert_eq!((y.total_due, y.balance), (103_000_000, 13_000_000));
    // 得分 72.5：返还 10 万 × 72.5 ÷ 100 = 7.25 万；得分 55 < 60：不予返还。
    let reserve = |s: &str| {
        let score = Score::parse(s).unwrap();
        year_end_global_budget(
            100_000_000,
            100_000_000,
            90_000_000,
            10_000_000,
            score,
            &rule,
        )
        .reserve_returned
    };
    assert_eq!(reserve("72.5"), 7_250_000);
    assert_eq!(reserve("55"), 0);
    assert_eq!(reserve("60"), 6_000_000);
}

// ---- 次均定额 -----------------------------------------------------------------------------

#[test]
fn per_admission_quota_under_and_over() {
    let quota = agreement().quota_for(Level::L1).unwrap();
    assert_eq!(quota, 180_000);
    // 定额 1800 元 × 120 人次 = 216,000 元。实际 200,000 元：不扣；次均 1666.666… → 1666.67。
    let q = quarterly_quota_check(quota, 120, 20_000_000);
    assert_eq!(
        (q.allowed, q.deduction, q.average),
        (21_600_000, 0, 166_667)
    );
    // 实际 230,000 元：扣减 230,000 − 216,000 = 14,000 元；次均 1916.67。
    let q = quarterly_quota_check(quota, 120, 23_000_000);
    assert_eq!((q.deduction, q.average), (1_400_000, 191_667));
    assert_eq!(quarterly_quota_check(quota, 0, 0).deduction, 0);
}

// ---- 按床日 -------------------------------------------------------------------------------

#[test]
fn per_diem_short_and_long_stays() {
    let p = agreement();
    let rule = p.per_diem.as_ref().unwrap();
    // 45 天 ≤ 60 天：统筹 9,000 元按项目。
    let d = per_diem_payment(rule, "F20.0", 45, 900_000).unwrap();
    assert_eq!((d.long_days, d.payable, d.adjustment), (0, 900_000, 0));
    // 150 天，统筹 20,000 元：前 60 天 20,000 × 60 ÷ 150 = 8,000 元；后 90 天实际 12,000 元，
    // 标准 110 × 90 = 9,900 元；应付 17,900 元，医院承担 2,100 元。
    let d = per_diem_payment(rule, "F20.0", 150, 2_000_000).unwrap();
    assert_eq!(
        (d.short_part, d.long_actual, d.standard),
        (800_000, 1_200_000, 990_000)
    );
    assert_eq!(
        (d.payable, d.borne_by_hospital, d.kept_by_hospital),
        (1_790_000, 210_000, 0)
    );
    assert_eq!(d.adjustment, -210_000);
    // 100 天，统筹 7,000 元：前段 4,200 元，后段实际 2,800 元 < 标准 4,400 元，结余 1,600 元留用。
    let d = per_diem_payment(rule, "F20.0", 100, 700_000).unwrap();
    assert_eq!(
        (d.payable, d.kept_by_hospital, d.adjustment),
        (860_000, 160_000, 160_000)
    );
    // 61 天，统筹 1,000 元：100,000 × 60 ÷ 61 = 98,360.66 分 → 98,361 分。
    let d = per_diem_payment(rule, "F20.0", 61, 100_000).unwrap();
    assert_eq!((d.short_part, d.payable), (98_361, 98_361 + 11_000));
    // 不在床日付费类别的诊断：按项目，不适用。
    assert!(per_diem_payment(rule, "J18.9", 150, 2_000_000).is_none());
}

// ---- 单病种 -------------------------------------------------------------------------------

#[test]
fn single_disease_over_and_under_the_standard() {
    let p = agreement();
    let (disease, standard) = p.single_disease_for(Level::L2, "21", "K35.800").unwrap();
    assert!(p.single_disease_for(Level::L1, "21", "K35.800").is_none());
    // 标准 4,500 元，个人 25% = 1,125 元，统筹付 3,375 元。
    // 实际 5,200 元：超出 700 元医院承担；结算时统筹 3,800 元，调整 −425 元。
    let s = single_disease_payment(disease, standard, 520_000, 380_000);
    assert_eq!((s.patient_share, s.payable), (112_500, 337_500));
    assert_eq!(
        (s.borne_by_hospital, s.kept_by_hospital, s.adjustment),
        (70_000, 0, -42_500)
    );
    // 实际 4,000 元：结余 500 元归医院；结算时统筹 2,900 元，调整 +475 元。
    let s = single_disease_payment(disease, standard, 400_000, 290_000);
    assert_eq!(
        (s.borne_by_hospital, s.kept_by_hospital, s.adjustment),
        (0, 50_000, 47_500)
    );
}

// ---- 大病保险承办 -------------------------------------------------------------------------

#[test]
fn premium_schedule_dates_and_amounts() {
    let rule = insurer_rule();
    // 65.5 元 × 3 人 = 196.50 元 = 19,650 分；÷ 4 = 4,912.5 → 4,913；末期 19,650 − 3 × 4,913 = 4,911。
    let s = insurer_premium_schedule(&rule, 3, 2024).unwrap();
    assert_eq!(s.total, 19_650);
    let got: Vec<(String, i64)> = s
        .instalments
        .iter()
        .map(|i| (i.due.to_string(), i.amount))
        .collect();
    assert_eq!(
        got,
        vec![
            ("2024-01-31".to_string(), 4_913),
            ("2024-04-30".to_string(), 4_913),
            ("2024-07-31".to_string(), 4_913),
            ("2024-10-31".to_string(), 4_911),
        ]
    );
    // 月末按日历：闰年 2 月 29 日、12 月 31 日。
    let text = AGREEMENT.replace("due_months = [1, 4, 7, 10]", "due_months = [2, 12]");
    let rule = PaymentPolicy::from_toml("t", &text)
        .unwrap()
        .insurer
        .unwrap();
    let s = insurer_premium_schedule(&rule, 1, 2024).unwrap();
    assert_eq!(s.instalments[0].due, date("2024-02-29"));
    assert_eq!(s.instalments[1].due, date("2024-12-31"));
    assert_eq!(s.instalments.iter().map(|i| i.amount).sum::<i64>(), 6_550);
}

/// 保费 1,000 万元 = 1,000,000,000 分；经营管理费用 3.5% = 35 万元；盈利上限 4% = 40 万元，
/// 亏损上限 5% = 50 万元。
const PREMIUM: i64 = 1_000_000_000;

#[test]
fn corridor_profit_within_cap() {
    let rule = insurer_rule();
    let admin = rule.admin_cost(PREMIUM);
    assert_eq!(admin, 35_000_000);
    // 赔付 935 万：盈余 1000 − 935 − 35 = 30 万（3%）≤ 40 万，全部归承办机构。
    let c = insurer_corridor(PREMIUM, 935_000_000, admin, &rule);
    assert_eq!((c.result, c.rate_ppm), (30_000_000, 30_000));
    assert_eq!((c.kept_by_insurer, c.returned_to_fund), (30_000_000, 0));
    assert_eq!((c.borne_by_insurer, c.borne_by_fund), (0, 0));
}

#[test]
fn corridor_profit_above_cap() {
    let rule = insurer_rule();
    // 赔付 880 万：盈余 85 万（8.5%）；留存 40 万，返还基金 45 万。
    let c = insurer_corridor(PREMIUM, 880_000_000, 35_000_000, &rule);
    assert_eq!(c.rate_ppm, 85_000);
    assert_eq!(
        (c.kept_by_insurer, c.returned_to_fund),
        (40_000_000, 45_000_000)
    );
}

#[test]
fn corridor_loss_within_cap() {
    let rule = insurer_rule();
    // 赔付 1005 万：亏损 40 万（−4%）≤ 50 万，全部由承办机构承担。
    let c = insurer_corridor(PREMIUM, 1_005_000_000, 35_000_000, &rule);
    assert_eq!((c.result, c.rate_ppm), (-40_000_000, -40_000));
    assert_eq!((c.borne_by_insurer, c.borne_by_fund), (40_000_000, 0));
    assert_eq!((c.kept_by_insurer, c.returned_to_fund), (0, 0));
}

#[test]
fn corridor_loss_above_cap() {
    let rule = insurer_rule();
    // 赔付 1085 万：亏损 120 万（−12%）；上限内 50 万由承办机构承担；超出 70 万，基金分担 50% = 35 万，
    // 承办机构合计 50 + 35 = 85 万。
    let c = insurer_corridor(PREMIUM, 1_085_000_000, 35_000_000, &rule);
    assert_eq!(c.rate_ppm, -120_000);
    assert_eq!(
        (c.borne_by_insurer, c.borne_by_fund),
        (85_000_000, 35_000_000)
    );
    assert_eq!(c.borne_by_insurer + c.borne_by_fund, 120_000_000);
}

// ---- 校验 ---------------------------------------------------------------------------------

fn issues(text: &str) -> Vec<(String, String)> {
    let e = PaymentPolicy::from_toml("bad.toml", text).unwrap_err();
    assert_eq!(e.file, "bad.toml");
    e.issues.into_iter().map(|i| (i.key, i.reason)).collect()
}

#[test]
fn an_unknown_key_is_refused_with_its_path() {
    let text = AGREEMENT.replace(
        "saving_cap = \"0.05\"",
        "saving_cap = \"0.05\"\nbonus = \"1\"",
    );
    let got = issues(&text);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "global_budget.bonus");
    assert!(got[0].1.contains("未知的键"), "{got:?}");
}

#[test]
fn bad_values_are_all_named_with_their_key_paths() {
    let text = AGREEMENT
        .replace("budget = \"1000000\"", "budget = \"-100\"")
        .replace(
            "overrun_paid_ratio = \"0.50\"",
            "overrun_paid_ratio = \"1.5\"",
        )
        .replace("short_stay_days = 60", "short_stay_days = 0")
        .replace("due_months = [1, 4, 7, 10]", "due_months = [1, 4, 13, 10]")
        .replace("method = \"fee_for_service\"", "method = \"drg\"");
    let e = PaymentPolicy::from_toml("bad.toml", &text).unwrap_err();
    let keys: Vec<&str> = e.issues.iter().map(|i| i.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "global_budget.overrun_paid_ratio",
            "per_diem.short_stay_days",
            "insurer.due_months[2]",
            "insurer.due_months[3]",
            "institution[0].method",
            "institution[1].budget",
        ]
    );
    let reason = |k: &str| &e.issues.iter().find(|i| i.key == k).unwrap().reason;
    assert!(reason("institution[1].budget").contains("负数"));
    assert!(reason("global_budget.overrun_paid_ratio").contains("0 到 1"));
    assert!(e.issues.iter().all(|i| i.line.is_some()), "{e}");
    assert!(e.to_string().contains("bad.toml"));
}

#[test]
fn institutions_must_fit_their_method() {
    let text = AGREEMENT
        .replace("budget = \"1000000\"\n", "")
        .replace("fixmedins_code = \"H3\"", "fixmedins_code = \"H1\"")
        .replace(
            "level = \"1\"\nmethod = \"per_admission_quota\"",
            "level = \"3\"\nmethod = \"per_admission_quota\"",
        );
    let got = issues(&text);
    let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "institution[1].budget",
            "institution[2].fixmedins_code",
            "institution[2].level"
        ],
        "{got:?}"
    );
}

#[test]
fn per_diem_institutions_must_have_an_agreement() {
    let text = AGREEMENT.replace("institutions = [\"H1\"]", "institutions = [\"H1\", \"H9\"]");
    let got = issues(&text);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "per_diem.institutions[1]");
    assert!(got[0].1.contains("H9"), "{got:?}");
}

#[test]
fn every_result_explains_its_lines_citing_the_parameter() {
    let rule = budget_rule();
    let y = year_end_global_budget(
        100_000_000,
        125_000_000,
        90_000_000,
        10_000_000,
        Score::parse("80").unwrap(),
        &rule,
    );
    let how = |lines: &[PayLine], item: &str| {
        lines
            .iter()
            .find(|l| l.item == item)
            .unwrap_or_else(|| panic!("没有「{item}」：{lines:?}"))
            .how
            .clone()
    };
    assert!(how(&y.lines, "弹性区间内超支支付").contains("global_budget.overrun_band"));
    assert!(how(&y.lines, "返还质量保证金").contains("80 分"));
    assert_eq!(y.lines.last().unwrap().item, "年终补拨");
    let ins = insurer_rule();
    let c = insurer_corridor(PREMIUM, 1_085_000_000, 35_000_000, &ins);
    assert!(how(&c.lines, "基金分担").contains("insurer.fund_share_beyond_loss_cap"));
    assert!(how(&c.lines, "亏损").contains("亏损率 12%"));
}
