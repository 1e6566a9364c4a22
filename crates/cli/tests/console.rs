//! The console from the real binary: `yibao user add` reads the password from standard input
//! (short passwords and unknown roles refused, nothing stored), and `yibao serve` answers
//! `/console/` on the gateway's own address: login, the dashboard of the loaded year.

mod common;

use common::{free_address, loaded_county, root, wait_healthy, Child};
use std::io::Write;
use std::process::{Command, Stdio};
use yibao_his::HisClient;

/// `yibao user add` with `password` on standard input: success, standard error.
fn user_add(url: &str, login: &str, role: &str, password: &str) -> (bool, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_yibao"))
        .args([
            "user",
            "add",
            "--login",
            login,
            "--role",
            role,
            "--database",
            url,
        ])
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    let o = c.wait_with_output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn serve_answers_the_console() {
    let (_, url, key_file, _) = loaded_county("console", "H99010110000");

    let (ok, err) = user_add(&url, "admin", "admin", "short\n");
    assert!(!ok && err.contains("太短"), "{err}");
    let (ok, err) = user_add(&url, "admin", "boss", "long enough password\n");
    assert!(!ok && err.contains("--role=boss"), "{err}");
    let (ok, err) = user_add(&url, "admin", "admin", "long enough password\n");
    assert!(ok, "{err}");
    let (ok, err) = user_add(&url, "admin", "operator", "long enough password\n");
    assert!(!ok && err.contains("已存在"), "{err}");

    let addr = free_address();
    let _server = Child(Some(
        Command::new(env!("CARGO_BIN_EXE_yibao"))
            .args(["serve", "--listen", &addr, "--database", &url])
            .arg("--key-file")
            .arg(&key_file)
            .current_dir(root())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    yibao_store::testing::runtime().block_on(async {
        let base = format!("http://{addr}");
        wait_healthy(&HisClient::new(&base, Default::default())).await;
        let c = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = c
            .post(format!("{base}/console/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("login=admin&password=long+enough+password")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let cookie = r.headers()["set-cookie"].to_str().unwrap();
        let cookie = cookie.split(';').next().unwrap().to_string();
        let r = c
            .get(format!("{base}/console/?year=2024"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("仪表盘 · 2024 年度") && html.contains("可支付月数"),
            "{html}"
        );
        let r = c
            .get(format!("{base}/console/assets/console.css"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        // The gateway's own routes are still there.
        let r = c.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    });
}
