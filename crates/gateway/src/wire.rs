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

impl<'a> Obj<'a> {
    /// A required text field (a JSON string, or a number given as its text), trimmed.
    pub fn text(&self, key: &str) -> Result<String, Refusal> {
        match self.map.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            Some(Value::Number(n)) => Ok(n.to_string()),
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
        let (date, stamp) = beijing_now();
        assert_eq!(stamp.len(), 17);
        assert!(stamp.starts_with(&format!("{:08}", date.as_u32())));
    }
}
