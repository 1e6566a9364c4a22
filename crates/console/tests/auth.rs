//! Logging in over real HTTP, on SQLite and (with YIBAO_TEST_POSTGRES) PostgreSQL: no
//! session, no page; 5 wrong passwords lock the login even for the right one; a change
//! without the session's CSRF token is refused and changes nothing; every answer has the
//! security headers.

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use yibao_store::{Operator, Store};

const PASSWORD: &str = "correct horse battery";

async fn serve(store: Store) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = yibao_console::router(store);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn add(store: &Store, login: &str, role: &str) {
    let hash = yibao_console::hash_password(PASSWORD).unwrap();
    store
        .add_console_user(&Operator("test".into()), login, role, &hash)
        .await
        .unwrap();
}

async fn post_form(
    c: &reqwest::Client,
    url: &str,
    cookie: Option<&str>,
    body: &str,
) -> reqwest::Response {
    let mut req = c
        .post(url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body.to_string());
    if let Some(k) = cookie {
        req = req.header(COOKIE, k);
    }
    req.send().await.unwrap()
}

/// Logs in; the session cookie (`name=value`).
async fn login(
    c: &reqwest::Client,
    base: &str,
    login: &str,
    password: &str,
) -> Result<String, StatusCode> {
    let body = format!("login={login}&password={}", password.replace(' ', "+"));
    let r = post_form(c, &format!("{base}/console/login"), None, &body).await;
    if r.status() != StatusCode::SEE_OTHER {
        return Err(r.status());
    }
    assert_eq!(r.headers()[LOCATION], "/console/");
    let set = r.headers()[SET_COOKIE].to_str().unwrap().to_string();
    for attr in ["HttpOnly", "SameSite=Strict", "Max-Age=", "Path=/console"] {
        assert!(set.contains(attr), "会话 cookie 缺 {attr}：{set}");
    }
    Ok(set.split(';').next().unwrap().to_string())
}

fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("页面上有 csrf 字段")
        + 19;
    html[at..at + 64].to_string()
}

#[test]
fn sessions_lockout_and_csrf() {
    yibao_store::testing::runtime().block_on(async {
        for (backend, store) in yibao_store::testing::stores("console_auth").await {
            let base = serve(store.clone()).await;
            let c = client();
            add(&store, "ada", "admin").await;
            add(&store, "bob", "auditor").await;

            // No session: to the login page; the headers are there all the same.
            let r = c.get(format!("{base}/console/")).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "{backend}");
            assert_eq!(r.headers()[LOCATION], "/console/login");
            let r = c.get(format!("{base}/console/login")).send().await.unwrap();
            let h = r.headers();
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(
                csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
                "{csp}"
            );
            assert!(csp.contains("frame-ancestors 'none'"));
            assert_eq!(h["x-frame-options"], "DENY");
            assert_eq!(h["x-content-type-options"], "nosniff");
            assert_eq!(h["referrer-policy"], "no-referrer");
            assert_eq!(h["cache-control"], "no-store");
            // A made-up cookie is no session.
            let r = c
                .get(format!("{base}/console/"))
                .header(COOKIE, format!("yibao_console={}", "ab".repeat(32)))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER);

            // Logged in, the dashboard answers.
            let cookie = login(&c, &base, "ada", PASSWORD).await.unwrap();
            let r = c
                .get(format!("{base}/console/?year=2024"))
                .header(COOKIE, &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{backend}");
            let html = r.text().await.unwrap();
            assert!(html.contains("仪表盘") && html.contains("管理员"), "{html}");
            let csrf = csrf_of(&html);
            // A bad year is refused naming the field.
            let r = c
                .get(format!("{base}/console/?year=abc"))
                .header(COOKIE, &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::BAD_REQUEST);
            assert!(r.text().await.unwrap().contains("year="));

            // Logging out without (or with a wrong) CSRF token is refused and changes nothing.
            let log_before = store.operation_log().await.unwrap().len();
            for body in ["", "csrf=", &format!("csrf={}", "0".repeat(64))] {
                let r = post_form(&c, &format!("{base}/console/logout"), Some(&cookie), body).await;
                assert_eq!(r.status(), StatusCode::FORBIDDEN, "{backend} {body:?}");
            }
            // Nor without a session, even with the right token.
            let r = post_form(
                &c,
                &format!("{base}/console/logout"),
                None,
                &format!("csrf={csrf}"),
            )
            .await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            assert_eq!(r.headers()[LOCATION], "/console/login");
            assert_eq!(store.operation_log().await.unwrap().len(), log_before);
            let r = c
                .get(format!("{base}/console/"))
                .header(COOKIE, &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK, "会话仍然有效");
            // With it, the session ends.
            let r = post_form(
                &c,
                &format!("{base}/console/logout"),
                Some(&cookie),
                &format!("csrf={csrf}"),
            )
            .await;
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            let r = c
                .get(format!("{base}/console/"))
                .header(COOKIE, &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER, "退出后会话失效");

            // Five wrong passwords: locked, the right one too; another login is not.
            for i in 0..5 {
                assert_eq!(
                    login(&c, &base, "bob", "wrong password").await,
                    Err(StatusCode::UNAUTHORIZED),
                    "{backend} 第 {i} 次"
                );
            }
            assert_eq!(
                login(&c, &base, "bob", PASSWORD).await,
                Err(StatusCode::UNAUTHORIZED)
            );
            let r = post_form(
                &c,
                &format!("{base}/console/login"),
                None,
                &format!("login=bob&password={}", PASSWORD.replace(' ', "+")),
            )
            .await;
            assert!(r.text().await.unwrap().contains("锁定"));
            assert!(login(&c, &base, "ada", PASSWORD).await.is_ok());

            // A disabled user cannot log in, and its sessions end.
            let cookie = login(&c, &base, "ada", PASSWORD).await.unwrap();
            store
                .disable_console_user(&Operator("test".into()), "ada")
                .await
                .unwrap();
            let r = c
                .get(format!("{base}/console/"))
                .header(COOKIE, &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            assert_eq!(
                login(&c, &base, "ada", PASSWORD).await,
                Err(StatusCode::UNAUTHORIZED)
            );

            // Refusals of the store: an unknown role, a taken login.
            let hash = yibao_console::hash_password(PASSWORD).unwrap();
            let e = store
                .add_console_user(&Operator("t".into()), "cy", "boss", &hash)
                .await
                .unwrap_err();
            assert!(
                e.is_refusal() && e.to_string().contains("--role=boss"),
                "{e}"
            );
            let e = store
                .add_console_user(&Operator("t".into()), "bob", "admin", &hash)
                .await
                .unwrap_err();
            assert!(e.is_refusal(), "{e}");
        }
    });
}
