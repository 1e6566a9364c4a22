use super::*;

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn r(a: &str, b: &str) -> DateRange {
    DateRange {
        from: d(a),
        to: d(b),
    }
}

fn employee() -> EmployeeRule {
    EmployeeRule {
        base_floor: 400_000,
        base_ceiling: 2_000_000,
        unit_rate: Ratio::parse("0.075").unwrap(),
        personal_rate: Ratio::parse("0.02").unwrap(),
        due_day: 15,
        late_fee_per_day: Ratio::parse("0.0005").unwrap(),
        suspend_after_days: 90,
        account_active: vec![
            AgeBand {
                upto_age: Some(35),
                ratio: Ratio::parse("0.008").unwrap(),
            },
            AgeBand {
                upto_age: Some(45),
                ratio: Ratio::parse("0.01").unwrap(),
            },
            AgeBand {
                upto_age: None,
                ratio: Ratio::parse("0.012").unwrap(),
            },
        ],
        account_retiree: RetireeAccount::OfPension(Ratio::parse("0.02").unwrap()),
    }
}

fn resident() -> ResidentRule {
    ResidentRule {
        personal: 38_000,
        window: r("2023-09-01", "2023-12-31"),
        waiting_days: 90,
        subsidies: vec![
            Subsidy {
                source: "central".into(),
                name: "中央".into(),
                amount: 40_000,
            },
            Subsidy {
                source: "county".into(),
                name: "县级".into(),
                amount: 27_000,
            },
        ],
        assistance: vec![
            ("tk".into(), Ratio::ONE),
            ("pk".into(), Ratio::parse("0.5").unwrap()),
        ],
    }
}

#[test]
fn resident_dues_and_coverage() {
    let rule = resident();
    let plain = rule.due(&[]);
    assert_eq!((plain.personal, plain.assistance), (38_000, 0));
    // pk: half of 380.00 by assistance; tk and pk together: the better share (all).
    assert_eq!(rule.due(&["pk"]).assistance, 19_000);
    assert_eq!(rule.due(&["pk", "tk"]).personal, 0);
    // Paid in the window: the whole year.
    let c = rule.coverage(2024, &plain, &[(d("2023-11-01"), 38_000)]);
    assert_eq!(c.benefits_from, Some(d("2024-01-01")));
    // Paid late (2024-03-01): benefits from 2024-03-01 + 90 days = 2024-05-30 (leap year).
    let c = rule.coverage(2024, &plain, &[(d("2024-03-01"), 38_000)]);
    assert_eq!(c.benefits_from, Some(d("2024-05-30")));
    // Underpaid: nothing, with the shortfall.
    let c = rule.coverage(2024, &plain, &[(d("2023-11-01"), 30_000)]);
    assert_eq!((c.benefits_from, c.shortfall), (None, 8_000));
    // Paid in two parts: the day the second arrives counts.
    let c = rule.coverage(
        2024,
        &plain,
        &[(d("2024-01-10"), 8_000), (d("2023-10-01"), 30_000)],
    );
    assert_eq!(c.paid_in_full_on, Some(d("2024-01-10")));
}

#[test]
fn employee_dues_and_accounts() {
    let rule = employee();
    // 3,000.00 declared → the floor 4,000.00: unit 7.5% = 300.00, personal 2% = 80.00.
    let due = rule.monthly_due(300_000);
    assert_eq!(
        due,
        MonthlyDue {
            base: 400_000,
            unit: 30_000,
            personal: 8_000
        }
    );
    // 6,789.01: unit 509.17575 → 509.18; personal 135.7802 → 135.78.
    let due = rule.monthly_due(678_901);
    assert_eq!((due.unit, due.personal), (50_918, 13_578));
    // Born 1989-06-15: 34 on 2024-06-01 → 0.8% of 6,789.01 = 54.31 + 135.78 = 190.09.
    assert_eq!(
        rule.account_allocation(d("1989-06-15"), d("2024-06-01"), false, 0, &due),
        19_009
    );
    // 35 on 2024-07-01 (birthday passed) → still the first band (up to 35).
    assert_eq!(age_on(d("1989-06-15"), d("2024-07-01")), 35);
    // Retired with a pension of 3,210.55: 2% = 64.211 → 64.21.
    assert_eq!(
        rule.account_allocation(d("1955-01-01"), d("2024-06-01"), true, 321_055, &due),
        6_421
    );
}

#[test]
fn late_fees_and_suspension() {
    let rule = employee();
    let dues = [(d("2024-01-01"), 100_000), (d("2024-02-01"), 100_000)];
    // Paid on the due date: no fee, no suspension.
    let a = rule.arrears(
        &dues,
        &[(d("2024-01-15"), 100_000), (d("2024-02-15"), 100_000)],
        &[],
        d("2024-12-31"),
    );
    assert_eq!((a.late_fees(), a.outstanding()), (0, 0));
    assert!(a.suspensions.is_empty());
    // January paid 2024-01-25: 10 days late × 1,000.00 × 0.05% = 5.00.
    let a = rule.arrears(
        &dues[..1],
        &[(d("2024-01-25"), 100_000)],
        &[],
        d("2024-12-31"),
    );
    assert_eq!(a.late_fees(), 500);
    // Half paid on 01-20 (5 days on 1,000.00 = 2.50), the rest on 01-30 (10 days on
    // 500.00 = 2.50): 5.00.
    let a = rule.arrears(
        &dues[..1],
        &[(d("2024-01-20"), 50_000), (d("2024-01-30"), 50_000)],
        &[],
        d("2024-12-31"),
    );
    assert_eq!(a.late_fees(), 500);
    // Never paid: suspended from 2024-01-15 + 91 days = 2024-04-15 onwards.
    let a = rule.arrears(&dues[..1], &[], &[], d("2024-04-30"));
    assert_eq!(a.suspensions, vec![r("2024-04-15", "2199-12-31")]);
    // As of 04-30: 106 late days × 0.50 = 53.00.
    assert_eq!(a.late_fees(), 5_300);
    // Paid in full on 2024-06-10: suspended 04-15 … 06-10, benefits back on 06-11.
    let a = rule.arrears(
        &dues[..1],
        &[(d("2024-06-10"), 100_000)],
        &[],
        d("2024-12-31"),
    );
    assert_eq!(a.suspensions, vec![r("2024-04-15", "2024-06-10")]);
    // A deferral from 03-01 to 05-31 keeps benefits on and stops the fee meanwhile:
    // suspended only 06-01 … 06-10; late days 01-16…02-29 (45) + 06-01…06-10 (10) = 55.
    let defer = [r("2024-03-01", "2024-05-31")];
    let a = rule.arrears(
        &dues[..1],
        &[(d("2024-06-10"), 100_000)],
        &defer,
        d("2024-12-31"),
    );
    assert_eq!(a.suspensions, vec![r("2024-06-01", "2024-06-10")]);
    assert_eq!(a.late_fees(), 55 * 50);
    // Paid exactly at the end of the grace period: no suspension.
    let a = rule.arrears(
        &dues[..1],
        &[(d("2024-04-14"), 100_000)],
        &[],
        d("2024-12-31"),
    );
    assert!(a.suspensions.is_empty());
    // Oldest first: one payment of 1,500.00 clears January and half of February.
    let a = rule.arrears(&dues, &[(d("2024-01-10"), 150_000)], &[], d("2024-03-15"));
    assert_eq!(a.months[0].paid_in_full_on, Some(d("2024-01-10")));
    assert_eq!(a.months[1].paid, 50_000);
    let notice = a.notice("U001", "示范县某公司", d("2024-03-15")).unwrap();
    assert_eq!(notice.principal, 50_000);
    // 500.00 owed 02-16 … 03-15 (29 days) × 0.05% = 7.25.
    assert_eq!(notice.late_fee, 725);
    assert!(
        notice.text().contains("2024 年 2 月 500.00 元"),
        "{}",
        notice.text()
    );
}

#[test]
fn resident_table() {
    let rule = resident();
    let plain = rule.due(&[]);
    // Subsidies by source: 中央 400.00 + 县级 270.00.
    assert_eq!(
        plain.subsidies,
        vec![
            ("central".to_string(), 40_000),
            ("county".to_string(), 27_000)
        ]
    );
    // A category without 代缴 changes nothing.
    assert_eq!(rule.due(&["db"]), plain);
    // tk: 380.00 × 100% = 380.00 by assistance, 0.00 by the person.
    let tk = rule.due(&["tk"]);
    assert_eq!((tk.personal, tk.assistance), (0, 38_000));
    // (what, payments, benefits from, paid, shortfall)
    type Case<'a> = (&'a str, &'a [(&'a str, Fen)], Option<&'a str>, Fen, Fen);
    let cases: [Case; 8] = [
        // Last day of the window: the whole year.
        (
            "窗口末日",
            &[("2023-12-31", 38_000)],
            Some("2024-01-01"),
            38_000,
            0,
        ),
        // First day after it: 2024-01-01 + 90 = 2024-03-31 (31 + 29 + 30 days).
        (
            "窗口次日",
            &[("2024-01-01", 38_000)],
            Some("2024-03-31"),
            38_000,
            0,
        ),
        // Leap February: 2024-02-01 + 90 = 2024-05-01 (29 + 31 + 30).
        (
            "闰年二月",
            &[("2024-02-01", 38_000)],
            Some("2024-05-01"),
            38_000,
            0,
        ),
        // Overpaid in the window: covered, nothing short, 400.00 recorded.
        (
            "多缴",
            &[("2023-10-01", 40_000)],
            Some("2024-01-01"),
            40_000,
            0,
        ),
        // Nothing paid: 380.00 short.
        ("未缴", &[], None, 0, 38_000),
        // 2024-11-01 + 90 = 2025-01-30: paid, but no benefit day left in 2024.
        ("年末补缴", &[("2024-11-01", 38_000)], None, 38_000, 0),
        // 2024-10-02 + 90 = 2024-12-31 (29 + 30 + 31): one day of benefits.
        (
            "最后一天",
            &[("2024-10-02", 38_000)],
            Some("2024-12-31"),
            38_000,
            0,
        ),
        // Two parts, both in the window: 200.00 + 180.00.
        (
            "分两次",
            &[("2023-12-01", 18_000), ("2023-09-01", 20_000)],
            Some("2024-01-01"),
            38_000,
            0,
        ),
    ];
    for (what, payments, from, paid, shortfall) in cases {
        let payments: Vec<(Date, Fen)> = payments.iter().map(|(s, a)| (d(s), *a)).collect();
        let c = rule.coverage(2024, &plain, &payments);
        assert_eq!(c.benefits_from, from.map(d), "{what}");
        assert_eq!((c.paid, c.shortfall), (paid, shortfall), "{what}");
    }
    // Non-leap year: 2023-02-01 + 90 = 2023-05-02 (28 + 31 + 30 + 1).
    let rule_2023 = ResidentRule {
        window: r("2022-09-01", "2022-12-31"),
        ..resident()
    };
    let c = rule_2023.coverage(2023, &plain, &[(d("2023-02-01"), 38_000)]);
    assert_eq!(c.benefits_from, Some(d("2023-05-02")));
    // 代缴 half (pk): the person's 190.00 and assistance's 190.00 together make it paid.
    let pk = rule.due(&["pk"]);
    let c = rule.coverage(
        2024,
        &pk,
        &[(d("2023-10-01"), 19_000), (d("2023-11-15"), 19_000)],
    );
    assert_eq!(
        (c.owed, c.paid_in_full_on, c.benefits_from),
        (38_000, Some(d("2023-11-15")), Some(d("2024-01-01")))
    );
}

#[test]
fn ages_and_bases() {
    // Born 29 February: 22 on 2023-02-28, 23 on 2023-03-01, 24 on 2024-02-29.
    let b = d("2000-02-29");
    assert_eq!(b.age_on(d("2023-02-28")), 22);
    assert_eq!(b.age_on(d("2023-03-01")), 23);
    assert_eq!(b.age_on(d("2024-02-28")), 23);
    assert_eq!(b.age_on(d("2024-02-29")), 24);
    // Before birth: 0.
    assert_eq!(b.age_on(d("1999-01-01")), 0);
    assert_eq!(d("2024-06-17").month_first(), d("2024-06-01"));

    let rule = employee();
    // 25,000.00 declared → the ceiling 20,000.00: unit 7.5% = 1,500.00, personal 2% = 400.00.
    assert_eq!(
        rule.monthly_due(2_500_000),
        MonthlyDue {
            base: 2_000_000,
            unit: 150_000,
            personal: 40_000
        }
    );
    // Exactly the floor stays: 4,000.00.
    assert_eq!(rule.monthly_due(400_000).base, 400_000);
    // 5,000.10: unit 375.0075 → 375.01; personal 100.002 → 100.00.
    let due = rule.monthly_due(500_010);
    assert_eq!((due.unit, due.personal), (37_501, 10_000));
    // Age bands on the month's first day (born 1979-03-10):
    //   2024-03-01 → 44, band ≤45 = 1.0%: 100.00 + 50.0010 → 50.00 = 150.00;
    //   2025-03-01 → 45, still ≤45: 150.00;
    //   2025-04-01 → 46, band 1.2%: 100.00 + 60.0012 → 60.00 = 160.00.
    // A mid-month day counts as the month's first day: 2025-03-20 → age 45.
    let brdy = d("1979-03-10");
    for (month, allocation) in [
        ("2024-03-01", 15_000),
        ("2025-03-01", 15_000),
        ("2025-03-20", 15_000),
        ("2025-04-01", 16_000),
    ] {
        assert_eq!(
            rule.account_allocation(brdy, d(month), false, 0, &due),
            allocation,
            "{month}"
        );
    }
    // Retiree with a fixed 80.00 a month, whatever the pension.
    let fixed = EmployeeRule {
        account_retiree: RetireeAccount::Fixed(8_000),
        ..employee()
    };
    assert_eq!(
        fixed.account_allocation(brdy, d("2024-03-01"), true, 321_055, &due),
        8_000
    );
}

#[test]
fn arrears_table() {
    let rule = employee();
    let jan = [(d("2024-01-01"), 100_000)];
    let jan_feb = [(d("2024-01-01"), 100_000), (d("2024-02-01"), 100_000)];
    let none: &[DateRange] = &[];
    let end = d("2024-12-31");

    // Overpaid: 2,500.00 on 01-10 for 2,000.00 due → no fee, 500.00 credit.
    let a = rule.arrears(&jan_feb, &[(d("2024-01-10"), 250_000)], none, end);
    assert_eq!((a.outstanding(), a.late_fees(), a.credit), (0, 0, 50_000));
    assert!(a.suspensions.is_empty());
    assert!(a.notice("U1", "某单位", end).is_none());

    // Paid on the first day without benefits (04-15): one day suspended; late days
    // 01-16…04-15 = 16 + 29 + 31 + 15 = 91 × 0.50 = 45.50.
    let a = rule.arrears(&jan, &[(d("2024-04-15"), 100_000)], none, end);
    assert_eq!(a.suspensions, vec![r("2024-04-15", "2024-04-15")]);
    assert_eq!(a.late_fees(), 4_550);

    // Common year: 2023-01-15 + 91 days = 2023-04-16 (16 + 28 + 31 + 16).
    let a = rule.arrears(&[(d("2023-01-01"), 100_000)], &[], none, d("2023-04-30"));
    assert_eq!(a.suspensions, vec![r("2023-04-16", "2199-12-31")]);
    // 01-16…04-30 = 16 + 28 + 31 + 30 = 105 days × 0.50 = 52.50.
    assert_eq!(a.late_fees(), 5_250);

    // A deferral covering the whole late period: no fee, no suspension.
    let a = rule.arrears(
        &jan,
        &[(d("2024-06-10"), 100_000)],
        &[r("2024-01-10", "2024-06-30")],
        end,
    );
    assert_eq!((a.late_fees(), a.suspensions.len()), (0, 0));

    // A deferral ending before the payment: late days 02-01…02-10 = 10 × 0.50 = 5.00.
    let a = rule.arrears(
        &jan,
        &[(d("2024-02-10"), 100_000)],
        &[r("2024-01-01", "2024-01-31")],
        end,
    );
    assert_eq!(a.late_fees(), 500);

    // Rounded once: 333.33 owed 3 days × 0.05% = 49.9995 fen → 50 (not 3 × 17 = 51).
    let a = rule.arrears(
        &[(d("2024-01-01"), 33_333)],
        &[(d("2024-01-18"), 33_333)],
        none,
        end,
    );
    assert_eq!(a.late_fees(), 50);

    // As of a day before the payment: the fee runs to that day only;
    // 01-16…01-20 = 5 days × 0.50 = 2.50.
    let a = rule.arrears(&jan, &[(d("2024-03-01"), 100_000)], none, d("2024-01-20"));
    assert_eq!(a.late_fees(), 250);

    // Two months never paid, as of 06-30: Jan 01-16…06-30 = 167 days × 0.50 = 83.50,
    // Feb 02-16…06-30 = 136 days × 0.50 = 68.00; total 151.50. Jan stops benefits from
    // 04-15, Feb from 02-15 + 91 = 05-16: merged into one open range.
    let a = rule.arrears(&jan_feb, &[], none, d("2024-06-30"));
    assert_eq!(
        a.months.iter().map(|m| m.late_fee).collect::<Vec<_>>(),
        vec![8_350, 6_800]
    );
    assert_eq!(a.suspensions, vec![r("2024-04-15", "2199-12-31")]);
    let n = a.notice("U001", "示范县某公司", d("2024-06-30")).unwrap();
    assert_eq!(
        (n.principal, n.late_fee, n.months.len()),
        (200_000, 15_150, 2)
    );
    let text = n.text();
    for part in [
        "示范县某公司（单位编号 U001）",
        "截至 2024-06-30",
        "欠缴职工基本医疗保险费 2000.00 元",
        "2024 年 1 月 1000.00 元，2024 年 2 月 1000.00 元",
        "滞纳金 151.50 元，合计 2151.50 元",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }

    // Jan paid 05-01, Feb paid 06-20: two separate suspensions (04-15…05-01 and
    // 05-16…06-20).
    let a = rule.arrears(
        &jan_feb,
        &[(d("2024-05-01"), 100_000), (d("2024-06-20"), 100_000)],
        none,
        end,
    );
    assert_eq!(
        a.suspensions,
        vec![r("2024-04-15", "2024-05-01"), r("2024-05-16", "2024-06-20")]
    );
}

/// A minimal policy with `contribution` appended, through the real parser.
fn policy_with(contribution: &str) -> Result<crate::Policy, crate::PolicyError> {
    let mut text = String::from(
        "[meta]\nname = \"测试\"\nadmdvs = \"990101\"\ninsutype = \"390\"\nyear = 2024\n\
         [[category]]\ncode = \"tk\"\nname = \"特困\"\n\
         [basic]\nname = \"统筹\"\nannual_cap = \"100000\"\n\
         [basic.inpatient]\nmed_types = [\"21\"]\n",
    );
    for level in ["1", "2", "3", "3P", "OUT"] {
        text.push_str(&format!(
            "[[basic.inpatient.rates]]\nlevel = \"{level}\"\ndeductible = \"100\"\nratio = \"0.8\"\n"
        ));
    }
    text.push_str(
        "[fund_pay_types]\nhifp_pay = { code = \"390100\", name = \"城乡居民基本医疗保险基金\" }\n",
    );
    text.push_str(contribution);
    crate::Policy::from_toml("t.toml", &text)
}

const GOOD: &str = r#"
[contribution.resident]
personal = "380"
window_from = "2023-09-01"
window_to = "2023-12-31"
waiting_days = 90
[[contribution.resident.subsidy]]
source = "central"
name = "中央财政"
amount = "400"
[[contribution.resident.assistance]]
category = "tk"
share = "1"
[contribution.employee]
base_floor = "4000"
base_ceiling = "20000"
unit_rate = "0.075"
personal_rate = "0.02"
due_day = 15
late_fee_per_day = "0.0005"
suspend_after_days = 90
account_retiree = "0.02"
[[contribution.employee.account_active]]
upto_age = 35
ratio = "0.008"
[[contribution.employee.account_active]]
ratio = "0.01"
"#;

#[test]
fn policy_section_validates_with_key_paths() {
    let p = policy_with(GOOD).unwrap();
    let c = p.contribution.unwrap();
    let res = c.resident.unwrap();
    assert_eq!((res.personal, res.waiting_days), (38_000, 90));
    assert_eq!(res.assistance, vec![("tk".to_string(), Ratio::ONE)]);
    let emp = c.employee.unwrap();
    assert_eq!(
        emp.account_retiree,
        RetireeAccount::OfPension(Ratio::from_ppm(20_000))
    );
    assert_eq!(emp.account_active[1].upto_age, None);
    assert!(policy_with("").unwrap().contribution.is_none());

    let fixed = GOOD.replace(
        "account_retiree = \"0.02\"",
        "account_retiree_amount = \"80\"",
    );
    assert_eq!(
        policy_with(&fixed)
            .unwrap()
            .contribution
            .unwrap()
            .employee
            .unwrap()
            .account_retiree,
        RetireeAccount::Fixed(8_000)
    );

    // (change, key path expected, a word of the Chinese reason)
    let bad: [(&str, &str, &str, &str); 12] = [
        (
            "personal = \"380\"",
            "personal = \"-380\"",
            "contribution.resident.personal",
            "负数",
        ),
        (
            "amount = \"400\"",
            "amount = \"-1\"",
            "contribution.resident.subsidy[0].amount",
            "负数",
        ),
        (
            "window_from = \"2023-09-01\"",
            "window_from = \"2024-01-01\"",
            "contribution.resident.window_to",
            "早于",
        ),
        (
            "waiting_days = 90",
            "waiting_days = -1",
            "contribution.resident.waiting_days",
            "等待期",
        ),
        (
            "share = \"1\"",
            "share = \"1.5\"",
            "contribution.resident.assistance[0].share",
            "比例",
        ),
        (
            "category = \"tk\"",
            "category = \"xx\"",
            "contribution.resident.assistance[0].category",
            "未在",
        ),
        (
            "unit_rate = \"0.075\"",
            "unit_rate = \"7.5\"",
            "contribution.employee.unit_rate",
            "比例",
        ),
        (
            "late_fee_per_day = \"0.0005\"",
            "late_fee_per_day = \"1.0005\"",
            "contribution.employee.late_fee_per_day",
            "比例",
        ),
        (
            "base_floor = \"4000\"",
            "base_floor = \"30000\"",
            "contribution.employee.base_ceiling",
            "上限",
        ),
        (
            "upto_age = 35\nratio = \"0.008\"\n",
            "ratio = \"0.008\"\n",
            "contribution.employee.account_active[1].upto_age",
            "从小到大",
        ),
        (
            "due_day = 15",
            "due_day = 31",
            "contribution.employee.due_day",
            "1 到 28",
        ),
        (
            "account_retiree = \"0.02\"",
            "",
            "contribution.employee.account_retiree",
            "二者之一",
        ),
    ];
    for (from, to, key, word) in bad {
        assert!(GOOD.contains(from), "{from}");
        let e = policy_with(&GOOD.replace(from, to)).unwrap_err();
        let issue = e.issues.iter().find(|i| i.key == key);
        assert!(
            issue.is_some_and(|i| i.reason.contains(word)),
            "{key}: {:?}",
            e.issues
        );
    }
    // Unknown keys are refused.
    let e = policy_with(&GOOD.replace("due_day = 15", "due_day = 15\ngrace = 3")).unwrap_err();
    assert!(e.issues[0].reason.contains("grace"), "{:?}", e.issues);
}

proptest::proptest! {
    #[test]
    fn paying_everything_ends_every_suspension(
        owed in proptest::collection::vec(0i64..500_000, 1..12),
        pay_day in 0i64..700,
    ) {
        let rule = employee();
        let dues: Vec<(Date, Fen)> = owed
            .iter()
            .enumerate()
            .map(|(i, &a)| (Date::from_ymd(2024, i as u32 + 1, 1).unwrap(), a))
            .collect();
        let total: Fen = owed.iter().sum();
        let day = d("2024-01-01").add_days(pay_day).unwrap();
        let a = rule.arrears(&dues, &[(day, total)], &[], d("2026-12-31"));
        proptest::prop_assert_eq!(a.outstanding(), 0);
        for s in &a.suspensions {
            proptest::prop_assert!(s.to <= day);
        }
        // A later payment never means a smaller late fee.
        let later = rule.arrears(&dues, &[(day.add_days(1).unwrap(), total)], &[], d("2026-12-31"));
        proptest::prop_assert!(later.late_fees() >= a.late_fees());
    }

    #[test]
    fn late_fee_monotone_and_deferrals_respected(
        owed in proptest::collection::vec(1i64..500_000, 1..6),
        parts in proptest::collection::vec((0i64..400, 0i64..600_000), 0..6),
        shift in 1i64..60,
        defer in proptest::option::of((0i64..300, 0i64..120)),
    ) {
        let rule = employee();
        let dues: Vec<(Date, Fen)> = owed
            .iter()
            .enumerate()
            .map(|(i, &a)| (Date::from_ymd(2024, i as u32 + 1, 1).unwrap(), a))
            .collect();
        let jan1 = d("2024-01-01");
        let pays: Vec<(Date, Fen)> = parts
            .iter()
            .map(|&(day, a)| (jan1.add_days(day).unwrap(), a))
            .collect();
        let deferrals: Vec<DateRange> = defer
            .map(|(start, len)| DateRange {
                from: jan1.add_days(start).unwrap(),
                to: jan1.add_days(start + len).unwrap(),
            })
            .into_iter()
            .collect();
        let as_of = d("2025-06-30");
        let a = rule.arrears(&dues, &pays, &deferrals, as_of);
        // Paid and credit account for every fen paid.
        let paid: Fen = a.months.iter().map(|m| m.paid).sum();
        proptest::prop_assert_eq!(paid + a.credit, pays.iter().map(|p| p.1).sum::<Fen>());
        // No suspension day lies inside a deferral; ranges sorted and disjoint.
        for s in &a.suspensions {
            for f in &deferrals {
                proptest::prop_assert!(s.to < f.from || s.from > f.to);
            }
        }
        for w in a.suspensions.windows(2) {
            proptest::prop_assert!(w[0].to < w[1].from);
        }
        // Every payment later by `shift` days: no month's fee is smaller.
        let later: Vec<(Date, Fen)> =
            pays.iter().map(|&(p, x)| (p.add_days(shift).unwrap(), x)).collect();
        let b = rule.arrears(&dues, &later, &deferrals, as_of);
        for (m, n) in a.months.iter().zip(&b.months) {
            proptest::prop_assert!(n.late_fee >= m.late_fee);
        }
    }

    #[test]
    fn resident_paid_means_covered(
        amount in 0i64..80_000,
        day in 0i64..600,
        cats in proptest::sample::subsequence(vec!["tk", "pk", "db"], 0..3),
    ) {
        let rule = resident();
        let due = rule.due(&cats);
        proptest::prop_assert_eq!(due.personal + due.assistance, rule.personal);
        let on = d("2023-09-01").add_days(day).unwrap();
        let c = rule.coverage(2024, &due, &[(on, amount)]);
        if amount < rule.personal {
            proptest::prop_assert_eq!(c.benefits_from, None);
            proptest::prop_assert_eq!(c.shortfall, rule.personal - amount);
        } else if on <= rule.window.to {
            proptest::prop_assert_eq!(c.benefits_from, Some(d("2024-01-01")));
        } else if let Some(from) = c.benefits_from {
            proptest::prop_assert_eq!(from, on.add_days(rule.waiting_days).unwrap());
            proptest::prop_assert!(from.year() == 2024);
        } else {
            proptest::prop_assert!(on.add_days(rule.waiting_days).unwrap() > d("2024-12-31"));
        }
    }
}
