//! Server-rendered pages: escaping and the common frame.

use crate::auth::Session;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: head, the navigation for `session` (none on the login page), `body`.
pub fn page(title: &str, session: Option<&Session>, body: &str) -> String {
    let nav = match session {
        Some(s) => format!(
            "<header><strong>yibao 医保经办</strong><nav>\
             <a href=\"/console/\">仪表盘</a></nav>\
             <span>{} · {}</span>\
             <form method=\"post\" action=\"/console/logout\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">退出</button></form>\
             </header>",
            esc(&s.login),
            s.role.chinese(),
            esc(&s.csrf)
        ),
        None => "<header><strong>yibao 医保经办</strong></header>".to_string(),
    };
    format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · yibao</title><link rel=\"stylesheet\" href=\"/console/assets/console.css\"></head>\
         <body>{nav}<main>{body}</main></body></html>",
        esc(title)
    )
}

/// A page answered with `status`.
pub fn respond(status: StatusCode, title: &str, session: Option<&Session>, body: &str) -> Response {
    (status, Html(page(title, session, body))).into_response()
}

/// A refusal (the request is wrong) or a fault (the database failed), told apart.
pub fn store_error(e: &yibao_store::StoreError, session: Option<&Session>) -> Response {
    if e.is_refusal() {
        respond(
            StatusCode::BAD_REQUEST,
            "请求被拒绝",
            session,
            &format!(
                "<h1>请求被拒绝</h1><p class=\"error\">{}</p>",
                esc(&e.to_string())
            ),
        )
    } else {
        tracing::error!(error = %e, "控制台系统错误");
        respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            "系统错误",
            session,
            "<h1>系统错误</h1><p class=\"error\">系统错误：数据库暂时不可用，请稍后重试或联系管理员。什么也没有改变。</p>",
        )
    }
}
