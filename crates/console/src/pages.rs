//! The pages.

use crate::auth::session;
use crate::html::{esc, respond, store_error};
use crate::Console;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use yibao_core::money::format_fen;

const CSS: &str = include_str!("assets/console.css");

pub async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

pub async fn to_root() -> Redirect {
    Redirect::permanent("/console/")
}

pub async fn not_found(State(console): State<Console>, headers: HeaderMap) -> Response {
    let s = match session(&console, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    respond(
        StatusCode::NOT_FOUND,
        "没有这个页面",
        Some(&s),
        "<h1>没有这个页面</h1><p class=\"error\">没有这个页面。</p>",
    )
}

#[derive(serde::Deserialize)]
pub struct YearQuery {
    year: Option<String>,
}

/// The year of `?year=`, else this year; a bad value is refused with its field.
fn year_of(q: &YearQuery) -> Result<u16, String> {
    match &q.year {
        None => Ok(yibao_store::now_text()[..4].parse().unwrap_or(2024)),
        Some(y) => y
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|y| (1990..=2100).contains(y))
            .ok_or_else(|| format!("年度 year={y:?} 不合格：须为 1990–2100 的四位年份")),
    }
}

/// 仪表盘: the year's funds from `fund_report` (balance, months it lasts, spending by layer,
/// visits by type), and its warnings.
pub async fn dashboard(
    State(console): State<Console>,
    headers: HeaderMap,
    Query(q): Query<YearQuery>,
) -> Response {
    let s = match session(&console, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let year = match year_of(&q) {
        Ok(y) => y,
        Err(msg) => {
            return respond(
                StatusCode::BAD_REQUEST,
                "仪表盘",
                Some(&s),
                &format!("<h1>仪表盘</h1><p class=\"error\">{}</p>", esc(&msg)),
            )
        }
    };
    let report = match console.store.fund_report(year).await {
        Ok(r) => r,
        Err(e) => return store_error(&e, Some(&s)),
    };
    let mut body = format!(
        "<h1>仪表盘 · {year} 年度</h1><form method=\"get\" action=\"/console/\">\
         <label>年度 <input type=\"text\" name=\"year\" value=\"{year}\" size=\"6\"></label> \
         <button type=\"submit\">查看</button></form>"
    );
    if report.funds.is_empty() {
        body.push_str("<p class=\"error\">该年度库中没有记账的政策（或没有数据）。</p>");
    }
    for w in &report.warnings {
        body.push_str(&format!("<p class=\"warn\">预警：{}</p>", esc(w)));
    }
    for f in &report.funds {
        let months = f
            .months_left_tenths()
            .map(|t| format!("{}.{}", t / 10, (t % 10).abs()))
            .unwrap_or_else(|| "—".into());
        body.push_str(&format!(
            "<h2>{} （{}）</h2><div class=\"cards\">\
             <div class=\"card\"><div class=\"l\">可用资金</div><div class=\"n\">{}</div></div>\
             <div class=\"card\"><div class=\"l\">支出</div><div class=\"n\">{}</div></div>\
             <div class=\"card\"><div class=\"l\">结余</div><div class=\"n\">{}</div></div>\
             <div class=\"card\"><div class=\"l\">可支付月数</div><div class=\"n\">{months}</div></div>\
             <div class=\"card\"><div class=\"l\">结算人次</div><div class=\"n\">{}</div></div>\
             </div>",
            esc(&f.fund),
            esc(&f.insutype),
            format_fen(f.available()),
            format_fen(f.spending()),
            format_fen(f.balance()),
            f.visits
        ));
        body.push_str("<table><tr><th>支付层</th><th class=\"num\">金额（元）</th></tr>");
        for (field, amount) in &f.expenditure {
            let name = f.names.get(*field).map(String::as_str).unwrap_or(field);
            body.push_str(&format!(
                "<tr><td>{}</td><td class=\"num\">{}</td></tr>",
                esc(name),
                format_fen(*amount)
            ));
        }
        body.push_str("</table><table><tr><th>就诊类型</th><th class=\"num\">人次</th></tr>");
        for (med_type, n) in &f.visits_by_med_type {
            body.push_str(&format!(
                "<tr><td>{}</td><td class=\"num\">{n}</td></tr>",
                esc(med_type)
            ));
        }
        body.push_str("</table>");
    }
    respond(StatusCode::OK, "仪表盘", Some(&s), &body)
}
