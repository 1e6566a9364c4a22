//! The `yibao` binary as users and scripts call it: exit status, stdout/stderr, files.

mod common;

use common::root;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn yibao(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("yibao-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const POLICY: &str = "policies/sample-county-2024.toml";
const DATA: &str = "tests/fixtures/sample-county-2024";

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn settle_reference_case_to_file_and_stdout() {
    let dir = tmp("ref");
    let out = dir.join("out.jsonl");
    let claims = format!("{DATA}/claims.jsonl");
    let o = yibao(&[
        "settle",
        "--policy",
        POLICY,
        "--data",
        DATA,
        "--claims",
        &claims,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("已处理 207 条"), "{}", stderr(&o));
    let got = std::fs::read_to_string(&out).unwrap();
    let want = std::fs::read_to_string(root().join(DATA).join("expected.jsonl")).unwrap();
    assert_eq!(got.lines().count(), want.lines().count());
    // stdout and --claims - give the same bytes.
    let o2 = yibao(&[
        "settle", "--policy", POLICY, "--data", DATA, "--claims", &claims,
    ]);
    assert_eq!(String::from_utf8(o2.stdout).unwrap(), got);
    let mut child = Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args([
            "settle", "--policy", POLICY, "--data", DATA, "--claims", "-",
        ])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = std::fs::read(root().join(&claims)).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(&input).unwrap();
    });
    let o3 = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(String::from_utf8(o3.stdout).unwrap(), got);
}

/// The employee reference case through the binary, to the fen (amounts and rejection codes),
/// with the employee policy alone and with both policies (each person under their scheme's).
#[test]
fn settle_employee_reference_case_with_one_or_both_policies() {
    const EMPLOYEE: &str = "tests/fixtures/sample-county-employee-2024";
    let claims = format!("{EMPLOYEE}/claims.jsonl");
    let run = |policies: &[&str]| {
        let mut args = vec!["settle"];
        for p in policies {
            args.extend(["--policy", p]);
        }
        args.extend(["--data", EMPLOYEE, "--claims", &claims]);
        let o = yibao(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let alone = run(&["policies/sample-county-employee-2024.toml"]);
    let want = std::fs::read_to_string(root().join(EMPLOYEE).join("expected.jsonl")).unwrap();
    assert_eq!(alone.lines().count(), want.lines().count());
    for (g, w) in alone.lines().zip(want.lines()) {
        let (g, w): (serde_json::Value, serde_json::Value) = (
            serde_json::from_str(g).unwrap(),
            serde_json::from_str(w).unwrap(),
        );
        if w["ok"] == true {
            for (k, v) in w.as_object().unwrap() {
                assert_eq!(&g[k], v, "{} {k}", w["claim_id"]);
            }
        } else {
            assert_eq!(g["error"]["code"], w["error"]["code"], "{}", w["claim_id"]);
        }
    }
    let both = run(&[POLICY, "policies/sample-county-employee-2024.toml"]);
    let settled = |out: &str| {
        out.lines()
            .filter(|l| l.contains("\"medfee_sumamt\""))
            .count()
    };
    assert!(settled(&both) > settled(&alone), "the residents settle too");
    // Two policies of one scheme are refused, in Chinese.
    let o = yibao(&[
        "settle", "--policy", POLICY, "--policy", POLICY, "--data", EMPLOYEE, "--claims", &claims,
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("每个险种只能加载一个政策"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn runs_that_cannot_proceed_fail_with_a_chinese_message() {
    let claims = format!("{DATA}/claims.jsonl");
    let o = yibao(&[
        "settle",
        "--policy",
        "policies/none.toml",
        "--data",
        DATA,
        "--claims",
        &claims,
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("无法读取政策文件"), "{}", stderr(&o));

    let o = yibao(&[
        "settle",
        "--policy",
        POLICY,
        "--data",
        DATA,
        "--claims",
        "nope.jsonl",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("无法打开结算单文件"), "{}", stderr(&o));

    let o = yibao(&[
        "settle", "--policy", POLICY, "--data", DATA, "--claims", &claims, "--jobs", "0",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--jobs=0"), "{}", stderr(&o));

    // A bad policy names the key.
    let dir = tmp("badpolicy");
    let text = std::fs::read_to_string(root().join(POLICY))
        .unwrap()
        .replace("\"0.65\"", "\"abc\"");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, text).unwrap();
    let o = yibao(&[
        "settle",
        "--policy",
        bad.to_str().unwrap(),
        "--data",
        DATA,
        "--claims",
        &claims,
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("basic.inpatient.rates[2].ratio"),
        "{}",
        stderr(&o)
    );

    // A bad reference data row names the file, line, field and value.
    let data = tmp("baddata");
    for f in ["institutions.csv", "persons.jsonl"] {
        std::fs::copy(root().join(DATA).join(f), data.join(f)).unwrap();
    }
    let catalog = std::fs::read_to_string(root().join(DATA).join("catalog.csv")).unwrap();
    std::fs::write(
        data.join("catalog.csv"),
        catalog.replacen(",A,,", ",Q,,", 1),
    )
    .unwrap();
    let o = yibao(&[
        "settle",
        "--policy",
        POLICY,
        "--data",
        data.to_str().unwrap(),
        "--claims",
        &claims,
    ]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("catalog.csv")
            && e.contains("第 3 行")
            && e.contains("class")
            && e.contains("\"Q\""),
        "{e}"
    );
}

#[test]
fn bad_lines_are_rejected_and_the_run_goes_on() {
    let dir = tmp("badlines");
    let claims = dir.join("claims.jsonl");
    let mut input = Vec::new();
    input.extend_from_slice(b"not json\n");
    input.extend_from_slice(b"\xff\xfe\n");
    input.extend_from_slice(br#"{"claim_id":"X1","psn_no":"P01000001","fixmedins_code":"H99010110000","med_type":"21","begndate":"2024-03-01","enddate":"2024-03-02","dise_codg":"I10","lines":[{"code":"S0100001","price":"1e400","qty":"1","amount":"1"}]}"#);
    input.push(b'\n');
    input.extend_from_slice(br#"{"claim_id":"X2","psn_no":"P01000001","fixmedins_code":"H99010110000","med_type":"21","begndate":"2024-03-01","enddate":"2024-03-02","dise_codg":"I10","lines":[{"code":"S0100001","price":"99999999999999999999999","qty":"1","amount":"1"}]}"#);
    input.push(b'\n');
    input.extend_from_slice(br#"{"claim_id":"X3","psn_no":"P01000001","fixmedins_code":"H99010110000","med_type":"21","begndate":"2024-03-01","enddate":"2024-03-02","dise_codg":"I10","lines":[{"code":"S0100001","price":"100","qty":"2","amount":"200.00"}]}"#);
    input.push(b'\n');
    std::fs::write(&claims, input).unwrap();
    let o = yibao(&[
        "settle",
        "--policy",
        POLICY,
        "--data",
        DATA,
        "--claims",
        claims.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    for l in &lines[..4] {
        assert_eq!(l["ok"], false);
        assert_eq!(l["error"]["code"], "INVALID_CLAIM");
    }
    assert!(lines[0]["claim_id"].is_null());
    assert!(lines[1]["claim_id"].is_null());
    assert_eq!(lines[2]["claim_id"], "X1");
    assert!(lines[3]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("price"));
    assert_eq!(lines[4]["ok"], true);
    assert_eq!(lines[4]["medfee_sumamt"], "200.00");
}

fn files_equal(a: &Path, b: &Path) {
    for f in [
        "institutions.csv",
        "catalog.csv",
        "persons.jsonl",
        "claims.jsonl",
    ] {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs"
        );
    }
}

#[test]
fn generated_data_is_deterministic_and_settles_cleanly() {
    let (a, b) = (tmp("gen-a"), tmp("gen-b"));
    for d in [&a, &b] {
        let o = yibao(&[
            "gen",
            "--out",
            d.to_str().unwrap(),
            "--persons",
            "3000",
            "--seed",
            "7",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    files_equal(&a, &b);
    let claims = a.join("claims.jsonl");
    let mut outs = Vec::new();
    for jobs in ["1", "2"] {
        let o = yibao(&[
            "settle",
            "--policy",
            POLICY,
            "--data",
            a.to_str().unwrap(),
            "--claims",
            claims.to_str().unwrap(),
            "--jobs",
            jobs,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        // Typical generated data has no malformed or unknown references.
        let e = stderr(&o);
        for code in [
            "INVALID_CLAIM",
            "UNKNOWN_PERSON",
            "UNKNOWN_INSTITUTION",
            "UNKNOWN_ITEM",
        ] {
            assert!(!e.contains(code), "{e}");
        }
        outs.push(o.stdout);
    }
    assert!(
        outs[0] == outs[1],
        "--jobs 1 and --jobs 2 differ on generated data"
    );
}

#[test]
fn generated_employees_settle_under_both_policies() {
    let d = tmp("gen-emp");
    let o = yibao(&[
        "gen",
        "--out",
        d.to_str().unwrap(),
        "--persons",
        "1000",
        "--employees",
        "1500",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("参保人 2500（其中职工 1500，"),
        "{}",
        stderr(&o)
    );
    let claims = d.join("claims.jsonl");
    let o = yibao(&[
        "settle",
        "--policy",
        POLICY,
        "--policy",
        "policies/sample-county-employee-2024.toml",
        "--data",
        d.to_str().unwrap(),
        "--claims",
        claims.to_str().unwrap(),
        "--jobs",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    for code in [
        "INVALID_CLAIM",
        "UNKNOWN_PERSON",
        "UNKNOWN_INSTITUTION",
        "UNKNOWN_ITEM",
        "NOT_REGISTERED",
    ] {
        assert!(!e.contains(code), "{e}");
    }
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.contains("\"acct_pay\":\"")
            && !out.lines().all(|l| l.contains("\"acct_pay\":\"0.00\""))
    );
    // Out of range: a Chinese message, no files.
    for (args, says) in [
        (&["--employees", "10000001"][..], "职工人数"),
        (&["--persons", "0", "--employees", "0"][..], "参保人数"),
        (
            &["--persons", "6000000", "--employees", "6000000"][..],
            "参保人数",
        ),
    ] {
        let bad = tmp("gen-emp-bad");
        let mut a = vec!["gen", "--out", bad.to_str().unwrap()];
        a.extend_from_slice(args);
        let o = yibao(&a);
        assert!(!o.status.success(), "{args:?}");
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
        assert!(!bad.join("persons.jsonl").exists(), "{args:?}");
    }
}

/// Runs the binary with stdout going to `stdout`; asserts it neither panicked nor exited 101.
fn no_panic_writing_to(args: &[&str], stdout: Stdio) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args(args)
        .current_dir(root())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_ne!(o.status.code(), Some(101), "{args:?}: {}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
    o
}

#[test]
fn a_closed_or_full_stdout_is_an_exit_status_not_a_panic() {
    let claims = format!("{DATA}/claims.jsonl");
    let settle = [
        "settle", "--policy", POLICY, "--data", DATA, "--claims", &claims,
    ];
    let check = ["policy", "check", POLICY];
    for args in [&settle[..], &check[..]] {
        // stdout to /dev/full: every write fails with ENOSPC.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = no_panic_writing_to(args, Stdio::from(full));
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("错误"), "{args:?}: {}", stderr(&o));

        // stdout a pipe whose reader has gone (`| head -1` after its line): quiet, status 1.
        let mut child = Command::new(env!("CARGO_BIN_EXE_yibao"))
            .args(args)
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        assert_ne!(o.status.code(), Some(101), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{args:?}: {}", stderr(&o));
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn an_output_file_that_is_the_input_is_refused_and_outputs_appear_whole_or_not_at_all() {
    let dir = tmp("samefile");
    let claims = dir.join("claims.jsonl");
    std::fs::copy(root().join(DATA).join("claims.jsonl"), &claims).unwrap();
    let original = std::fs::read(&claims).unwrap();
    let link = dir.join("link.jsonl");
    std::fs::hard_link(&claims, &link).unwrap();
    let dotted = format!("{}/./claims.jsonl", dir.display());
    // The same file by the same path, another spelling, and a hard link (same inode).
    for out in [claims.to_str().unwrap(), &dotted, link.to_str().unwrap()] {
        let o = yibao(&[
            "settle",
            "--policy",
            POLICY,
            "--data",
            DATA,
            "--claims",
            claims.to_str().unwrap(),
            "--out",
            out,
        ]);
        assert!(!o.status.success(), "--out {out}");
        assert!(stderr(&o).contains("是同一个文件"), "{}", stderr(&o));
        assert_eq!(std::fs::read(&claims).unwrap(), original, "--out {out}");
    }
    // The policy is an input too.
    let policy = dir.join("policy.toml");
    std::fs::copy(root().join(POLICY), &policy).unwrap();
    let o = yibao(&[
        "settle",
        "--policy",
        policy.to_str().unwrap(),
        "--data",
        DATA,
        "--claims",
        claims.to_str().unwrap(),
        "--out",
        policy.to_str().unwrap(),
    ]);
    assert!(stderr(&o).contains("是同一个文件"), "{}", stderr(&o));

    // A run that fails leaves an existing output untouched and no temporary file behind.
    let out = dir.join("out.jsonl");
    std::fs::write(&out, "previous results\n").unwrap();
    let o = yibao(&[
        "settle",
        "--policy",
        POLICY,
        "--data",
        "no-such-dir",
        "--claims",
        claims.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous results\n");
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");

    // --errors naming the roster itself is refused before anything is read or imported.
    let roster = dir.join("roster.csv");
    let o = yibao(&[
        "gen-roster",
        "--out",
        roster.to_str().unwrap(),
        "--persons",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = std::fs::read(&roster).unwrap();
    let db = format!("sqlite://{}/db.sqlite?mode=rwc", dir.display());
    let o = yibao(&[
        "enrol",
        "import",
        roster.to_str().unwrap(),
        "--database",
        &db,
        "--errors",
        roster.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("是同一个文件"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&roster).unwrap(), before);
}

#[test]
fn enrol_import_prints_the_first_problems_and_writes_them_all_to_errors() {
    let dir = tmp("manyproblems");
    let roster = dir.join("roster.csv");
    let o = yibao(&[
        "gen-roster",
        "--out",
        roster.to_str().unwrap(),
        "--persons",
        "45",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&roster)
        .unwrap()
        .replace(",670.00", ",x");
    std::fs::write(&roster, text).unwrap();
    let errors = dir.join("问题.csv");
    let db = format!("sqlite://{}/db.sqlite?mode=rwc", dir.display());
    let o = yibao(&[
        "enrol",
        "import",
        roster.to_str().unwrap(),
        "--database",
        &db,
        "--errors",
        errors.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert_eq!(
        e.lines().filter(|l| l.contains("财政补助")).count(),
        20,
        "{e}"
    );
    assert!(e.contains("共 45 个问题") && e.contains("--errors"), "{e}");
    let written = std::fs::read_to_string(&errors).unwrap();
    assert_eq!(written.lines().count(), 46, "header and every problem");
}
