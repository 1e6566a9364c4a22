//! yibao 控制台：操作员的网页，挂在 `yibao serve` 同一端口的 `/console/` 下。
//!
//! 只是又一个适配器：读写都经 `yibao_store`，金额来自核心，不在这里计算。
//! 会话：随机 32 字节 token 放在 HttpOnly、SameSite=Strict 的 cookie 里，库里只存其 SHA-256；
//! 每个改变状态的请求须带该会话的 CSRF token（表单字段 `csrf`）；连续 5 次密码错误锁定 15 分钟
//! （`yibao_store::console`）。每个应答都带安全头（[`security_headers`]）。

mod auth;
mod html;
mod pages;

pub use auth::{hash_password, verify_password, Role};

use axum::http::{header, HeaderValue, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use yibao_store::Store;

/// How long a session lasts, in seconds (8 hours: a working day).
pub const SESSION_SECONDS: i64 = 8 * 3600;
/// The session cookie's name.
pub const COOKIE: &str = "yibao_console";

/// The console's shared state.
#[derive(Clone)]
pub struct Console {
    pub(crate) store: Store,
}

/// The console's routes, every path under `/console/`; merge into the gateway's router.
pub fn router(store: Store) -> Router {
    Router::new()
        .route("/console", get(pages::to_root))
        .route("/console/", get(pages::dashboard))
        .route("/console/login", get(auth::login_page).post(auth::login))
        .route("/console/logout", post(auth::logout))
        .route("/console/assets/console.css", get(pages::css))
        .route(
            "/console/{*rest}",
            get(pages::not_found).post(pages::not_found),
        )
        .layer(middleware::from_fn(security_headers))
        .with_state(Console { store })
}

/// Every console answer: CSP without inline scripts, no framing, no sniffing, no referrer,
/// never cached.
async fn security_headers(req: Request<axum::body::Body>, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (k, v) in set {
        h.insert(k, HeaderValue::from_static(v));
    }
    res
}
