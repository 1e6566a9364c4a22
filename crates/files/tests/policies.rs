//! Policy files: both shipped policies load; the 2013 municipal rural 大病 plan's segments pay
//! exactly; bad policy files are refused with file, key and reason.

use std::path::PathBuf;
use yibao_core::ledger::{settle, MemLedger};
use yibao_core::refdata::{CatalogItem, CatalogRow, Institution, Person, RefData};
use yibao_core::{ClaimDraft, Date, LineDraft, LinesDraft, Policy, Val};
use yibao_files::load_policy;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rural_2013() -> (Policy, RefData) {
    let policy = load_policy(&root().join("policies/municipal-rural-critical-2013.toml")).unwrap();
    let mut r = RefData::default();
    r.add_institution(Institution::new("H3", "市医院", "3").unwrap())
        .unwrap();
    let item = CatalogItem::from_row(&CatalogRow {
        code: "A1",
        name: "甲类项目",
        kind: "service",
        class: "A",
        ..Default::default()
    })
    .unwrap();
    r.add_catalog_item(item).unwrap();
    r.add_person(Person {
        psn_no: "P1".into(),
        certno: "11010519491231002X".into(),
        name: "测试".into(),
        gend: "2".into(),
        brdy: Date::parse("1949-12-31").unwrap(),
        enrolments: vec![2013],
        categories: vec![],
        chronic: vec![],
        offsite: vec![],
        suspensions: vec![],
        // 新农合 (380), the scheme the 2013 policy is for.
        scheme: yibao_core::refdata::Scheme {
            insutype: policy.insutype.clone(),
            ..Default::default()
        },
        family_aid: vec![],
    })
    .unwrap();
    (policy, r)
}

fn inpatient<'a>(id: &'a str, amount: &'a str) -> ClaimDraft<'a> {
    ClaimDraft {
        claim_id: id,
        psn_no: Val::Text("P1"),
        fixmedins_code: Val::Text("H3"),
        med_type: Val::Text("21"),
        begndate: Val::Text("2013-05-01"),
        enddate: Val::Text("2013-05-10"),
        dise_codg: Val::Text("I63.9"),
        acct_used_flag: Val::Missing,
        lines: LinesDraft::List(vec![LineDraft {
            code: Val::Text("A1"),
            price: Val::Text(amount),
            qty: Val::Text("1"),
            amount: Val::Text(amount),
            date: Val::Missing,
        }]),
    }
}

/// 新农合 pays round((in-scope − 800) × 60%) at level 3 (no repeat rule in this plan).
fn compliant_selfpay(amount_fen: i64) -> i64 {
    let fund = ((amount_fen - 80_000) * 60 + 50) / 100;
    amount_fen - fund
}

/// The 2013 scale, computed independently: 50% of (9,800, 29,800], 60% beyond, no cap.
fn critical_2013(before: i64, add: i64) -> i64 {
    let seg = |lo: i64, hi: i64, a: i64, b: i64| (b.min(hi) - a.max(lo)).max(0);
    let (a, b) = (before, before + add);
    let exact = seg(980_000, 2_980_000, a, b) * 50 + seg(2_980_000, i64::MAX, a, b) * 60;
    (exact + 50) / 100
}

#[test]
fn rural_2013_critical_segments() {
    let (policy, refdata) = rural_2013();
    let mut ledger = MemLedger::new();
    let mut before = 0;
    // Below the threshold, across it, inside the first segment, across the 20,000 boundary,
    // and far beyond (no cap).
    for (i, amount) in ["9000.00", "12000.00", "8000.00", "30000.00", "150000.00"]
        .iter()
        .enumerate()
    {
        let id = format!("C{i}");
        let s = settle(
            &policy,
            &refdata,
            &mut ledger,
            &inpatient(&id, amount),
            true,
        )
        .unwrap();
        let fen = yibao_core::money::parse_yuan(amount).unwrap();
        let cb = compliant_selfpay(fen);
        assert_eq!(s.amounts.act_pay_dedc, 80_000);
        assert_eq!(s.amounts.hifmi_pay, critical_2013(before, cb), "claim {id}");
        before += cb;
    }
    // The whole year's 大病 payment equals the scale applied to the year's total.
    assert_eq!(
        ledger.all_accumulators().next().unwrap().1.critical_paid,
        critical_2013(0, before)
    );
}

#[test]
fn both_policies_load() {
    let employee =
        yibao_files::load_policy(&root().join("policies/sample-county-employee-2024.toml"))
            .unwrap();
    assert!(employee.contribution.unwrap().employee.is_some());
    for f in [
        "sample-county-2024.toml",
        "municipal-rural-critical-2013.toml",
    ] {
        load_policy(&root().join("policies").join(f)).unwrap();
    }
}

fn policy_error(text: &str) -> String {
    Policy::from_toml("bad.toml", text).unwrap_err().to_string()
}

#[test]
fn bad_policies_name_file_key_and_reason() {
    let good = std::fs::read_to_string(root().join("policies/sample-county-2024.toml")).unwrap();
    let e = policy_error(&good.replace("ratio = \"0.90\"", "ratio = \"1.90\""));
    assert!(
        e.contains("bad.toml") && e.contains("basic.inpatient.rates[0].ratio"),
        "{e}"
    );
    let e = policy_error(&good.replace("deductible = \"500\"", "deductible = \"5x0\""));
    assert!(e.contains("basic.inpatient.rates[1].deductible"), "{e}");
    let e = policy_error(&good.replace(
        "categories = [\"pk\", \"db\", \"tk\"]",
        "categories = [\"pk\", \"zz\"]",
    ));
    assert!(
        e.contains("critical.tilts[0].categories[1]") && e.contains("zz"),
        "{e}"
    );
    let e = policy_error(&good.replace("upto = \"150000\"", "upto = \"40000\""));
    assert!(e.contains("critical.segments[1].upto"), "{e}");
    let e = policy_error(&good.replace("annual_cap = \"200000\"", "anual_cap = \"200000\""));
    assert!(e.contains("anual_cap"), "{e}");
    let e = policy_error(&good.replace("level = \"3P\"", "level = \"4\""));
    assert!(
        e.contains("basic.inpatient.rates[3].level") && e.contains("3P"),
        "{e}"
    );
    let e = policy_error(&good.replace(
        "window_from = \"2023-09-01\"",
        "window_from = \"2024-02-30\"",
    ));
    assert!(e.contains("contribution.resident.window_from"), "{e}");
    let e = policy_error(&good.replace(
        "category = \"tk\"\nshare = \"1\"",
        "category = \"xx\"\nshare = \"2\"",
    ));
    assert!(
        e.contains("contribution.resident.assistance[0].category")
            && e.contains("contribution.resident.assistance[0].share"),
        "{e}"
    );
    let employee =
        std::fs::read_to_string(root().join("policies/sample-county-employee-2024.toml")).unwrap();
    let e = policy_error(&employee.replace("upto_age = 45", "upto_age = 30"));
    assert!(
        e.contains("contribution.employee.account_active[1].upto_age"),
        "{e}"
    );
    let e = policy_error(&employee.replace("base_ceiling = \"20000\"", "base_ceiling = \"-1\""));
    assert!(e.contains("contribution.employee.base_ceiling"), "{e}");
    // 集中缴费期起日晚于止日; 单位费率超过 100%; 退休划入两种方式同时给出.
    let e = policy_error(&good.replace(
        "window_from = \"2023-09-01\"",
        "window_from = \"2024-01-01\"",
    ));
    assert!(
        e.contains("contribution.resident.window_to") && e.contains("早于"),
        "{e}"
    );
    let e = policy_error(&employee.replace("unit_rate = \"0.075\"", "unit_rate = \"7.5\""));
    assert!(
        e.contains("contribution.employee.unit_rate") && e.contains("比例"),
        "{e}"
    );
    let e = policy_error(&employee.replace(
        "account_retiree = \"0.02\"",
        "account_retiree = \"0.02\"\naccount_retiree_amount = \"80\"",
    ));
    assert!(e.contains("contribution.employee.account_retiree"), "{e}");
    let e = policy_error(&good.replace("personal = \"380\"", "personal = \"-380\""));
    assert!(
        e.contains("contribution.resident.personal") && e.contains("负数"),
        "{e}"
    );
    let e = policy_error("not toml [");
    assert!(e.contains("TOML"), "{e}");
    // Several problems are reported together.
    let e = policy_error(
        &good
            .replace("\"0.90\"", "\"9\"")
            .replace("\"0.80\"", "\"8\""),
    );
    assert!(
        e.contains("3 处错误") && e.contains("critical.segments[2].ratio"),
        "{e}"
    );
}

#[test]
fn sample_contribution_values() {
    let p = load_policy(&root().join("policies/sample-county-2024.toml")).unwrap();
    let rule = p.contribution.unwrap().resident.unwrap();
    // 个人 380.00; 财政补助 400 + 150 + 60 + 60 = 670.00.
    let due = rule.due(&[]);
    assert_eq!((due.personal, due.assistance), (38_000, 0));
    assert_eq!(due.subsidies.iter().map(|s| s.1).sum::<i64>(), 67_000);
    // 代缴: 特困、低保全额，建档立卡一半 (380.00 × 50% = 190.00).
    assert_eq!(rule.due(&["tk"]).personal, 0);
    assert_eq!(rule.due(&["db"]).personal, 0);
    assert_eq!(rule.due(&["pk"]).assistance, 19_000);
}

/// Shape problems (a misspelt key, a value of the wrong type, a missing section) are each
/// reported in Chinese with file, line and key path — every one, not only the first.
#[test]
fn shape_problems_name_file_line_and_key_each() {
    let good = std::fs::read_to_string(root().join("policies/sample-county-2024.toml")).unwrap();
    let bad = good
        .replacen("ratio = \"0.90\"", "ratoi = \"0.90\"", 1)
        .replacen("deductible = \"500\"", "deductible = 500", 1)
        .replacen("annual_cap = \"200000\"", "anual_cap = \"200000\"", 1);
    let e = policy_error(&bad);
    for needle in [
        "bad.toml",
        "第 37 行 basic.inpatient.rates[0].ratoi：未知的键 ratoi",
        "第 41 行 basic.inpatient.rates[1].deductible：值的类型错误：应为字符串",
        "第 27 行 basic.anual_cap：未知的键 anual_cap",
        "第 34 行 basic.inpatient.rates[0].ratio：缺少键 ratio",
    ] {
        assert!(e.contains(needle), "应含「{needle}」：{e}");
    }
    assert!(
        !e.contains("unknown field") && !e.contains("invalid type"),
        "{e}"
    );
    // A missing section.
    let e = policy_error(&good.replacen("[meta]", "[mta]", 1));
    assert!(
        e.contains("第 5 行") && e.contains("mta") && e.contains("未知的键"),
        "{e}"
    );
    let e = policy_error(&good.replacen("[meta]\n", "", 1).replacen("name = \"示范县城乡居民基本医疗保险 2024\"\nadmdvs = \"990101\"\ninsutype = \"390\"   # 城乡居民基本医疗保险\nyear = 2024\n", "", 1));
    assert!(e.contains("meta：缺少节 [meta]"), "{e}");
    // A syntax error: its line.
    let e = policy_error(&good.replacen("level = \"1\"", "level = \"1", 1));
    assert!(e.contains("第 35 行") && e.contains("TOML 语法错误"), "{e}");
    // Value errors name their line too.
    let e = policy_error(&good.replacen("ratio = \"0.90\"", "ratio = \"1.90\"", 1));
    assert!(
        e.contains("第 37 行 basic.inpatient.rates[0].ratio："),
        "{e}"
    );
    let e = policy_error(&good.replacen("level = \"3P\"", "level = \"4\"", 1));
    assert!(
        e.contains("第 50 行 basic.inpatient.rates[3].level："),
        "{e}"
    );
}

/// The employee layers' keys are validated like the rest: each problem names its key.
#[test]
fn bad_employee_benefit_keys_name_their_key() {
    let employee =
        std::fs::read_to_string(root().join("policies/sample-county-employee-2024.toml")).unwrap();
    let e = policy_error(&employee.replace("ratio_retired = \"0.95\"", "ratio_retired = \"1.95\""));
    assert!(e.contains("basic.inpatient.rates[0].ratio_retired"), "{e}");
    let e = policy_error(&employee.replace("factors = [\"0.5\", \"0\"]", "factors = []"));
    assert!(
        e.contains("basic.inpatient.repeat_admission.factors"),
        "{e}"
    );
    let e = policy_error(&employee.replace(
        "annual_deductible = \"200\"",
        "annual_deductible = \"200\"\nratio = \"0.5\"",
    ));
    assert!(
        e.contains("basic.outpatient") && e.contains("二者只取其一"),
        "{e}"
    );
    let e =
        policy_error(&employee.replace("chronic_classes = [\"I\"]", "chronic_classes = [\"IX\"]"));
    assert!(
        e.contains("over_cap.chronic_classes[0]") && e.contains("IX"),
        "{e}"
    );
    let e = policy_error(&employee.replace(
        "person_flag = \"civil_servant\"",
        "person_flag = \"veteran\"",
    ));
    assert!(
        e.contains("subsidy.person_flag") && e.contains("veteran"),
        "{e}"
    );
    let e = policy_error(&employee.replace("interest_rate = \"0.015\"", "interest_rate = \"15%\""));
    assert!(e.contains("account.interest_rate"), "{e}");
    // A layer's payer needs its fund pay type.
    let e = policy_error(&employee.replace(
        "hifob_pay = { code = \"330100\", name = \"大额医疗费用补助\" }",
        "",
    ));
    assert!(e.contains("fund_pay_types.hifob_pay"), "{e}");
}
