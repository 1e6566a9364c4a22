//! Logging in and out, sessions, CSRF tokens, roles.

use crate::html::{esc, respond, store_error};
use crate::{Console, COOKIE, SESSION_SECONDS};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use sha2::{Digest, Sha256};
use yibao_store::console::unix_now;

/// A console role (`yibao_store::console::ROLES`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Operator,
    Auditor,
    Finance,
    Admin,
    Insurer,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "operator" => Role::Operator,
            "auditor" => Role::Auditor,
            "finance" => Role::Finance,
            "admin" => Role::Admin,
            "insurer" => Role::Insurer,
            _ => return None,
        })
    }

    pub fn chinese(self) -> &'static str {
        match self {
            Role::Operator => "经办员",
            Role::Auditor => "审核员",
            Role::Finance => "财务",
            Role::Admin => "管理员",
            Role::Insurer => "保险公司",
        }
    }

    /// Whether this role sees full ID numbers and names (operator, admin).
    pub fn sees_full_identity(self) -> bool {
        matches!(self, Role::Operator | Role::Admin)
    }
}

/// An argon2id hash (PHC string) of `password` with a random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `password` matches the stored `hash` (a malformed hash matches nothing).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

fn random_hex() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The logged-in user of a request.
#[derive(Clone, Debug)]
pub struct Session {
    pub login: String,
    pub role: Role,
    pub csrf: String,
    pub(crate) token_hash: String,
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 64 && v.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The request's session; `Err` is the answer to give without one (to the login page, or a
/// system error page when the database fails).
pub async fn session(console: &Console, headers: &HeaderMap) -> Result<Session, Response> {
    let Some(token) = cookie_token(headers) else {
        return Err(Redirect::to("/console/login").into_response());
    };
    let hash = token_hash(&token);
    match console.store.console_session(&hash, unix_now()).await {
        Ok(Some(s)) => match Role::parse(&s.role) {
            Some(role) => Ok(Session {
                login: s.login,
                role,
                csrf: s.csrf,
                token_hash: hash,
            }),
            None => Err(store_error(
                &yibao_store::StoreError::Fault(format!("库中用户角色 {} 不认识", s.role)),
                None,
            )),
        },
        Ok(None) => Err(Redirect::to("/console/login").into_response()),
        Err(e) => Err(store_error(&e, None)),
    }
}

/// A state-changing request's session: also its CSRF token must be the session's.
pub async fn session_for_change(
    console: &Console,
    headers: &HeaderMap,
    csrf: &str,
) -> Result<Session, Response> {
    let s = session(console, headers).await?;
    if !constant_eq(csrf.as_bytes(), s.csrf.as_bytes()) {
        return Err(respond(
            StatusCode::FORBIDDEN,
            "请求被拒绝",
            Some(&s),
            "<h1>请求被拒绝</h1><p class=\"error\">表单令牌（csrf）缺失或不对：请回到页面重新提交。什么也没有改变。</p>",
        ));
    }
    Ok(s)
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn login_form(error: Option<&str>, login: &str) -> String {
    let err = error
        .map(|e| format!("<p class=\"error\">{}</p>", esc(e)))
        .unwrap_or_default();
    format!(
        "<form class=\"login\" method=\"post\" action=\"/console/login\"><h1>登录</h1>{err}\
         <label for=\"login\">登录名</label><input type=\"text\" id=\"login\" name=\"login\" value=\"{}\" autocomplete=\"username\" required>\
         <label for=\"password\">密码</label><input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
         <p><button type=\"submit\">登录</button></p></form>",
        esc(login)
    )
}

pub async fn login_page() -> Response {
    respond(StatusCode::OK, "登录", None, &login_form(None, ""))
}

#[derive(serde::Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

pub async fn login(State(console): State<Console>, Form(f): Form<LoginForm>) -> Response {
    let refuse = |msg: &str, login: &str| {
        respond(
            StatusCode::UNAUTHORIZED,
            "登录",
            None,
            &login_form(Some(msg), login),
        )
    };
    let login = f.login.trim().to_string();
    if login.is_empty() || f.password.is_empty() {
        return refuse("请填写登录名（login）与密码（password）", &login);
    }
    let now = unix_now();
    match console.store.console_locked_until(&login, now).await {
        Ok(Some(until)) => {
            let minutes = (until - now + 59) / 60;
            return refuse(
                &format!("连续密码错误次数过多，该登录名已锁定，约 {minutes} 分钟后再试"),
                &login,
            );
        }
        Ok(None) => {}
        Err(e) => return store_error(&e, None),
    }
    let user = match console.store.console_user(&login).await {
        Ok(u) => u,
        Err(e) => return store_error(&e, None),
    };
    let ok = user
        .as_ref()
        .is_some_and(|u| !u.disabled && verify_password(&f.password, &u.password_hash));
    if !ok {
        return match console.store.console_login_failed(&login, now).await {
            Ok(_) => refuse("登录名或密码不对（或该用户已停用）", &login),
            Err(e) => store_error(&e, None),
        };
    }
    let token = random_hex();
    let csrf = random_hex();
    if let Err(e) = console
        .store
        .open_console_session(&login, &token_hash(&token), &csrf, now + SESSION_SECONDS)
        .await
    {
        return store_error(&e, None);
    }
    let cookie = format!(
        "{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}"
    );
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, "/console/".to_string()),
        ],
    )
        .into_response()
}

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    let s = match session_for_change(&console, &headers, &f.csrf).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(e) = console
        .store
        .close_console_session(&s.login, &s.token_hash)
        .await
    {
        return store_error(&e, Some(&s));
    }
    let cookie = format!("{COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0");
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, cookie),
            (header::LOCATION, "/console/login".to_string()),
        ],
    )
        .into_response()
}
