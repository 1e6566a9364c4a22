//! The JSON envelope and field access of the national interface, with refusals that name
//! the field and the value in Chinese.

use serde_json::{Map, Value};
use yibao_core::claim::shown;
use yibao_core::Date;

/// A refused transaction: `infcode = -1` with this `err_msg`; nothing is changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl<T: Into<String>> From<T> for Refusal {
    fn from(s: T) -> Refusal {
        Refusal(s.into())
    }
}

/// An object of the request and where it is (`input.data`), for messages.
#[derive(Clone, Copy)]
pub struct Obj<'a> {
    pub map: &'a Map<String, Value>,
    pub path: &'a str,
}

/// The object at `input.<key>`.
pub fn object<'a>(input: &'a Map<String, Value>, key: &'a str) -> Result<Obj<'a>, Refusal> {
    match input.get(key) {
        Some(Value::Object(map)) => Ok(Obj { map, path: key }),
        Some(other) => Err(Refusal(format!(
            "字段 input.{key} 的类型错误：应为对象，实际为{}",
            type_name(other)
        ))),
        None => Err(Refusal(format!("缺少字段 input.{key}"))),
    }
}

/// The array at `input.<key>`.
pub fn array<'a>(input: &'a Map<String, Value>, key: &str) -> Result<&'a [Value], Refusal> {
    match input.get(key) {
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(Refusal(format!(
            "字段 input.{key} 的类型错误：应为数组，实际为{}",
            type_name(other)
        ))),
        None => Err(Refusal(format!("缺少字段 input.{key}"))),
    }
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "布尔值",
        Value::Number(_) => "数值",
        Value::String(_) => "字符串",
        Value::Array(_) => "数组",
        Value::Object(_) => "对象",
    }
}

/// The longest value, in characters, of each text field the gateway reads (envelope, `input`
/// objects and the `x-tif-*` headers), after trimming.
///
/// Source: the field lengths of the national specification 《医疗保障信息平台定点医药机构
/// 接口规范》 as `/work/shared/national-interface.md` records them (`msgid` 30 =
/// `fixmedins_code` 12 + 14 + 4); where that file gives none, the specification's usual
/// lengths (codes and ids 30, `med_list_codg` 50, `certno`/`mdtrt_cert_no` 50, names 50,
/// amounts and counts as text of `numeric(16,n)`, date-times 19). The `x-tif-*` limits are the
/// gateway's own (`x-tif-paasid` is the institution code; a signature is 64 hex digits).
/// Fields not listed here get [`DEFAULT_MAX_CHARS`].
pub const FIELD_MAX_CHARS: &[(&str, usize)] = &[
    // Envelope.
    ("infno", 4),
    ("msgid", 30),
    ("fixmedins_code", 30),
    ("fixmedins_name", 200),
    ("opter", 30),
    ("opter_name", 50),
    ("opter_type", 3),
    ("infver", 6),
    ("sign_no", 30),
    // Persons, visits and their codes.
    ("psn_no", 30),
    ("psn_name", 50),
    ("certno", 50),
    ("psn_cert_type", 6),
    ("mdtrt_cert_type", 3),
    ("mdtrt_cert_no", 50),
    ("insutype", 6),
    ("med_type", 6),
    // The specification says 30, but this gateway issues `MD` + msgid (32 characters, see
    // `tx/visit.rs`); its own ids must come back.
    ("mdtrt_id", 32),
    ("ipt_otp_no", 30),
    ("ipt_no", 30),
    ("dise_codg", 30),
    ("dise_name", 300),
    ("dscg_way", 6),
    ("psn_setlway", 6),
    ("acct_used_flag", 3),
    // Fee lines.
    ("feedetl_sn", 30),
    ("chrg_bchno", 30),
    ("med_list_codg", 50),
    ("medins_list_codg", 150),
    ("pric", 16),
    ("cnt", 16),
    ("det_item_fee_sumamt", 16),
    // Settlements and statements.
    // As `mdtrt_id`: the gateway issues `ST` + msgid (`tx/settlement.rs`).
    ("setl_id", 32),
    ("medfee_sumamt", 16),
    ("fund_pay_sumamt", 16),
    ("acct_pay", 16),
    ("clr_type", 6),
    ("setl_optins", 6),
    ("fixmedins_setl_cnt", 10),
    // Clearing and files: the gateway issues `FL`/`FR`/`CA` + msgid (32 characters).
    ("file_qury_no", 32),
    ("clr_appy_evt_id", 32),
    ("filename", 200),
    ("setlym", 6),
    ("psntime", 10),
    // Date-times (`yyyy-MM-dd HH:mm:ss`).
    ("begntime", 19),
    ("endtime", 19),
    ("fee_ocur_time", 19),
    ("stmt_begndate", 19),
    ("stmt_enddate", 19),
    // Signature headers.
    ("x-tif-paasid", 30),
    ("x-tif-timestamp", 20),
    ("x-tif-nonce", 64),
    ("x-tif-signature", 64),
];

/// The limit of a text field not in [`FIELD_MAX_CHARS`].
pub const DEFAULT_MAX_CHARS: usize = 100;

/// How many characters of an over-long value a message shows.
const SHOWN_PREFIX_CHARS: usize = 16;

/// The longest value `key` may have, in characters ([`FIELD_MAX_CHARS`]).
pub fn max_chars(key: &str) -> usize {
    FIELD_MAX_CHARS
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(DEFAULT_MAX_CHARS, |(_, n)| *n)
}

/// Refuses `value` of the field `key` (shown as `path`) when it is longer than its limit: the
/// message names the field, the length and the limit, and shows a short prefix of the value.
pub fn check_len(path: &dyn std::fmt::Display, key: &str, value: &str) -> Result<(), String> {
    let limit = max_chars(key);
    // Characters never outnumber bytes: the common short value is not counted.
    if value.len() <= limit {
        return Ok(());
    }
    let n = value.chars().count();
    if n <= limit {
        return Ok(());
    }
    Err(format!(
        "字段 {path} 长度 {n} 个字符，超过上限 {limit}（值以 {} 开头）",
        prefix(value)
    ))
}

/// At most a short prefix of `value`, quoted and escaped, for messages and logs.
pub fn prefix(value: &str) -> String {
    let head: String = value.chars().take(SHOWN_PREFIX_CHARS).collect();
    if head.len() == value.len() {
        format!("{head:?}")
    } else {
        format!("{head:?}…")
    }
}

impl<'a> Obj<'a> {
    /// A required text field (a JSON string, or a number given as its text), trimmed, at most
    /// [`max_chars`] long.
    pub fn text(&self, key: &str) -> Result<String, Refusal> {
        match self.map.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => {
                let s = s.trim();
                check_len(&format_args!("input.{}.{key}", self.path), key, s)?;
                Ok(s.to_string())
            }
            Some(Value::Number(n)) => {
                let s = n.to_string();
                check_len(&format_args!("input.{}.{key}", self.path), key, &s)?;
                Ok(s)
            }
            Some(Value::String(_)) => {
                Err(Refusal(format!("字段 input.{}.{key} 不能为空", self.path)))
            }
            Some(Value::Null) | None => Err(Refusal(format!("缺少字段 input.{}.{key}", self.path))),
            Some(other) => Err(Refusal(format!(
                "字段 input.{}.{key} 的类型错误：应为字符串，实际为{}",
                self.path,
                type_name(other)
            ))),
        }
    }

    /// An optional text field: `None` when missing, null or empty.
    pub fn opt_text(&self, key: &str) -> Result<Option<String>, Refusal> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            _ => self.text(key).map(Some),
        }
    }

    /// A required code out of `allowed`.
    pub fn code(&self, key: &str, allowed: &[&str], what: &str) -> Result<String, Refusal> {
        let v = self.text(key)?;
        if allowed.contains(&v.as_str()) {
            Ok(v)
        } else {
            Err(Refusal(format!(
                "{what} input.{}.{key}={} 无效：应为 {}",
                self.path,
                shown(&v),
                allowed.join("/")
            )))
        }
    }

    /// A required date or date-time (`yyyy-MM-dd HH:mm:ss` or `yyyy-MM-dd`): its date.
    pub fn date(&self, key: &str) -> Result<Date, Refusal> {
        let t = self.text(key)?;
        parse_date_time(&t).ok_or_else(|| {
            Refusal(format!(
                "字段 input.{}.{key}={} 不是有效时间（应为 yyyy-MM-dd HH:mm:ss）",
                self.path,
                shown(&t)
            ))
        })
    }

    /// A required amount in yuan (string or number) as fen.
    pub fn fen(&self, key: &str) -> Result<i64, Refusal> {
        let t = self.text(key)?;
        yibao_core::money::parse_yuan(&t).map_err(|e| {
            Refusal(format!(
                "金额 input.{}.{key}={} 无效：{e}",
                self.path,
                shown(&t)
            ))
        })
    }
}

/// `yyyy-MM-dd HH:mm:ss` (or `yyyy-MM-dd`, or `yyyyMMddHHmmss`) → its date, checking the time.
pub fn parse_date_time(t: &str) -> Option<Date> {
    let t = t.trim();
    if t.len() == 14 && t.bytes().all(|b| b.is_ascii_digit()) {
        let d = Date::parse_compact(&t[..8])?;
        return valid_hms(&t[8..10], &t[10..12], &t[12..14]).then_some(d);
    }
    let (date, time) = match t.split_once(' ') {
        Some((d, tm)) => (d, Some(tm)),
        None => (t, None),
    };
    let d = Date::parse(date)?;
    match time {
        None => Some(d),
        Some(tm) => {
            let parts: Vec<&str> = tm.split(':').collect();
            (parts.len() == 3 && valid_hms(parts[0], parts[1], parts[2])).then_some(d)
        }
    }
}

fn valid_hms(h: &str, m: &str, s: &str) -> bool {
    let n = |x: &str, max: u32| {
        x.len() == 2
            && x.bytes().all(|b| b.is_ascii_digit())
            && x.parse::<u32>().is_ok_and(|v| v <= max)
    };
    n(h, 23) && n(m, 59) && n(s, 59)
}

/// Local (Beijing, UTC+8) time now: the date and `yyyyMMddHHmmssSSS`.
pub fn beijing_now() -> (Date, String) {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let ms = since.as_millis() as i64 + 8 * 3_600_000;
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let epoch = Date::from_ymd(1970, 1, 1).unwrap_or_else(unreachable_date);
    let date = epoch.add_days(days).unwrap_or(epoch);
    let (h, m, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    let stamp = format!("{:08}{h:02}{m:02}{s:02}{milli:03}", date.as_u32());
    (date, stamp)
}

#[cold]
fn unreachable_date() -> Date {
    // 1970-01-01 is a valid date; this is never reached.
    Date::from_u32(19700101).expect("1970-01-01")
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times() {
        assert_eq!(
            parse_date_time("2024-03-01 08:30:00"),
            Date::from_ymd(2024, 3, 1)
        );
        assert_eq!(parse_date_time("2024-03-01"), Date::from_ymd(2024, 3, 1));
        assert_eq!(
            parse_date_time("20240301083000"),
            Date::from_ymd(2024, 3, 1)
        );
        assert_eq!(parse_date_time("2024-02-30 08:30:00"), None);
        assert_eq!(parse_date_time("2024-03-01 24:00:00"), None);
        assert_eq!(parse_date_time("2024-03-01 8:30"), None);
        assert_eq!(parse_date_time("x"), None);
    }

    #[test]
    fn fields_name_path_and_value() {
        let v: Value = serde_json::json!({"data": {"psn_no": 12, "x": [], "e": " ", "m": "1.234"}});
        let input = v.as_object().unwrap();
        let d = object(input, "data").unwrap();
        assert_eq!(d.text("psn_no").unwrap(), "12");
        assert_eq!(
            d.text("x").unwrap_err().0,
            "字段 input.data.x 的类型错误：应为字符串，实际为数组"
        );
        assert_eq!(d.text("e").unwrap_err().0, "字段 input.data.e 不能为空");
        assert_eq!(d.text("zz").unwrap_err().0, "缺少字段 input.data.zz");
        let e = d.fen("m").unwrap_err().0;
        assert!(e.contains("input.data.m=") && e.contains("1.234"), "{e}");
        assert!(object(input, "nope").is_err());
        // Lengths: the national limit, in characters, with a short prefix shown.
        let long = "P".repeat(10_000);
        let v = serde_json::json!({"data": {"psn_no": long, "dise_codg": "长".repeat(30)}});
        let d = object(v.as_object().unwrap(), "data").unwrap();
        let e = d.text("psn_no").unwrap_err().0;
        assert!(
            e.contains("input.data.psn_no") && e.contains("10000") && e.contains("30"),
            "{e}"
        );
        assert!(e.chars().count() < 100, "{e}");
        assert_eq!(d.text("dise_codg").unwrap().chars().count(), 30);
        assert_eq!(max_chars("med_list_codg"), 50);
        assert_eq!(max_chars("no_such_field"), DEFAULT_MAX_CHARS);
        let (date, stamp) = beijing_now();
        assert_eq!(stamp.len(), 17);
        assert!(stamp.starts_with(&format!("{:08}", date.as_u32())));
    }
}
