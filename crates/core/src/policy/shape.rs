//! The shape of a policy file (TOML syntax, known keys, value types, required sections),
//! reported like the value errors: every problem, each with its line and key path, in
//! Chinese. serde stops at the first problem, so the file is parsed again with each
//! offending line (or misnamed table, or array element missing a key) blanked out — line
//! numbers stay those of the file — until it parses or what is left cannot be repaired (a
//! missing section, or a key missing from a plain table).

use super::PolicyIssue;
use serde::de::DeserializeOwned;

/// At most this many shape problems are reported (a file that is not a policy at all would
/// otherwise give one per line).
const MAX_ISSUES: usize = 50;

/// Parses `text` as `T`, or every shape problem found.
pub(crate) fn parse<T: DeserializeOwned>(text: &str) -> Result<T, Vec<PolicyIssue>> {
    let mut current = text.to_string();
    let mut issues: Vec<PolicyIssue> = Vec::new();
    loop {
        let e = match toml::from_str::<T>(&current) {
            Ok(v) if issues.is_empty() => return Ok(v),
            Ok(_) => return Err(issues),
            Err(e) => e,
        };
        let span = e.span();
        let line = span.as_ref().map(|s| line_of(&current, s.start));
        let message = e.message().trim().to_string();
        let kind = Kind::of(&message);
        // Lines are kept by the blanking, so the original text names the key (its tables
        // all still there, array indices as the author counts them).
        let key = key_path(text, line, &kind);
        // A key blanked out for a wrong value is then missing: already reported.
        let repeated = issues.iter().any(|i| i.key == key && !key.is_empty());
        if !repeated {
            // A section missing from the file is on no line.
            let top = matches!(kind, Kind::Missing(_)) && !key.contains('.');
            issues.push(PolicyIssue {
                reason: kind.reason(&message, top),
                key,
                line: line.filter(|_| !top).map(|l| l + 1),
            });
        }
        // A key missing from one table of an array: that table is left out and the rest
        // read on; missing elsewhere (a section, a key of a plain table), leaving it out
        // would only make its parent incomplete — stop.
        let repaired = match (&kind, line) {
            (_, None) => false,
            (Kind::Missing(_), Some(l)) => {
                let array = current
                    .split('\n')
                    .nth(l)
                    .and_then(header)
                    .is_some_and(|(_, array)| array);
                array && blank(&mut current, l)
            }
            (_, Some(l)) => blank(&mut current, l),
        };
        if !repaired || issues.len() >= MAX_ISSUES {
            return Err(issues);
        }
    }
}

/// What serde said, by kind.
enum Kind {
    Unknown(String),
    Missing(String),
    Other,
}

impl Kind {
    fn of(message: &str) -> Kind {
        let quoted = |prefix: &str| {
            message
                .strip_prefix(prefix)
                .and_then(|r| r.split('`').next())
                .map(str::to_string)
        };
        if let Some(k) = quoted("unknown field `") {
            Kind::Unknown(k)
        } else if let Some(k) = quoted("missing field `") {
            Kind::Missing(k)
        } else {
            Kind::Other
        }
    }

    /// The reason in Chinese.
    fn reason(&self, message: &str, top: bool) -> String {
        let expected = |m: &str| {
            m.split_once("expected ")
                .map(|(_, e)| {
                    let names: Vec<&str> = e
                        .split('`')
                        .enumerate()
                        .filter(|(i, _)| i % 2 == 1)
                        .map(|(_, s)| s)
                        .collect();
                    if names.is_empty() {
                        type_name(e)
                    } else {
                        names.join("、")
                    }
                })
                .unwrap_or_default()
        };
        match self {
            Kind::Unknown(k) => format!(
                "未知的键 {k}（拼写错误？此处可用的键：{}）",
                expected(message)
            ),
            Kind::Missing(k) if top => format!("缺少节 [{k}]"),
            Kind::Missing(k) => format!("缺少键 {k}"),
            Kind::Other => {
                if let Some(rest) = message.strip_prefix("invalid type: ") {
                    let (found, want) = rest.split_once(", expected ").unwrap_or((rest, ""));
                    format!(
                        "值的类型错误：应为{}，实际为{}",
                        type_name(want),
                        found_name(found)
                    )
                } else if let Some(rest) = message.strip_prefix("unknown variant `") {
                    let v = rest.split('`').next().unwrap_or_default();
                    format!("取值 {v} 无效（可选：{}）", expected(message))
                } else if message.starts_with("invalid length") {
                    format!("元素个数不对（{message}）")
                } else if message.starts_with("duplicate key") {
                    format!("键重复（{message}）")
                } else {
                    format!("TOML 语法错误（解析器：{message}）")
                }
            }
        }
    }
}

/// serde's "expected …" in Chinese.
fn type_name(want: &str) -> String {
    let w = want.trim();
    let name = if w.contains("string") {
        "字符串（加引号，如 \"0.90\"）"
    } else if w.contains("sequence") {
        "数组 [...]"
    } else if w.contains("bool") {
        "布尔值 true/false"
    } else if w.starts_with("struct") || w.contains("map") || w.contains("table") {
        "表（[节] 或 {...}）"
    } else if w.starts_with('u') || w.starts_with('i') || w.contains("integer") {
        "整数"
    } else if w.contains("float") || w.starts_with('f') {
        "数字"
    } else {
        return w.to_string();
    };
    name.to_string()
}

/// serde's "found" (`integer `90``, `string "x"`, `sequence` …) in Chinese.
fn found_name(found: &str) -> String {
    let f = found.trim();
    let (kind, value) = f.split_once(' ').unwrap_or((f, ""));
    let kind = match kind {
        "string" => "字符串",
        "integer" => "整数",
        "floating" => "小数",
        "boolean" => "布尔值",
        "sequence" => "数组",
        "map" => "表",
        _ => return f.to_string(),
    };
    let value = value
        .trim_start_matches("point ")
        .trim_matches('`')
        .to_string();
    if value.is_empty() {
        kind.to_string()
    } else {
        format!("{kind} {value}")
    }
}

/// The 0-based line of byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// A table header line's name and whether it is an array of tables (`[[…]]`).
fn header(line: &str) -> Option<(String, bool)> {
    let t = line.trim();
    let t = t.split('#').next().unwrap_or(t).trim();
    if let Some(name) = t.strip_prefix("[[").and_then(|r| r.strip_suffix("]]")) {
        Some((name.trim().to_string(), true))
    } else {
        t.strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .map(|name| (name.trim().to_string(), false))
    }
}

/// The key path at 0-based line `at` (the table it is in, as the value errors name it —
/// `basic.inpatient.rates[2]` — and the key on that line), for a problem of `kind`.
fn key_path(text: &str, at: Option<usize>, kind: &Kind) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut table = String::new();
    let mut on_header = false;
    if let Some(at) = at {
        if let Some(h) = lines.get(at).and_then(|l| header(l)) {
            on_header = true;
            table = indexed(&lines, at, &h);
        } else if let Some(i) = (0..at).rev().find(|&i| header(lines[i]).is_some()) {
            if let Some(h) = header(lines[i]) {
                table = indexed(&lines, i, &h);
            }
        }
    }
    let join = |t: &str, k: &str| {
        if t.is_empty() {
            k.to_string()
        } else {
            format!("{t}.{k}")
        }
    };
    match kind {
        Kind::Missing(k) => join(&table, k),
        Kind::Unknown(k) if on_header => {
            // A misnamed table: its own name ends with the unknown key.
            if table.ends_with(k.as_str()) || table.contains(&format!("{k}[")) {
                table
            } else {
                join(&table, k)
            }
        }
        Kind::Unknown(k) => join(&table, k),
        Kind::Other => {
            let key = at
                .and_then(|a| lines.get(a))
                .filter(|_| !on_header)
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| k.trim().trim_matches('"').to_string())
                .unwrap_or_default();
            if key.is_empty() {
                table
            } else {
                join(&table, &key)
            }
        }
    }
}

/// `name` of the header at line `at`, with `[n]` for an array of tables (its n-th since
/// its parent last began).
fn indexed(lines: &[&str], at: usize, (name, array): &(String, bool)) -> String {
    if !*array {
        return name.clone();
    }
    let parent = name.rsplit_once('.').map(|(p, _)| p.to_string());
    let mut n = 0;
    for l in lines[..at].iter().rev() {
        match header(l) {
            Some((h, _)) if &h == name => n += 1,
            Some((h, _)) if Some(&h) == parent.as_ref() => break,
            _ => {}
        }
    }
    match name.rsplit_once('.') {
        Some((p, last)) => format!("{}.{last}[{n}]", indexed_parent(lines, at, p)),
        None => format!("{name}[{n}]"),
    }
}

/// The parent table path of an array of tables at line `at`, itself indexed when it is an
/// array (`critical.tilts[0]` …).
fn indexed_parent(lines: &[&str], at: usize, parent: &str) -> String {
    for i in (0..at).rev() {
        if let Some(h) = header(lines[i]) {
            if h.0 == parent {
                return indexed(lines, i, &h);
            }
        }
    }
    parent.to_string()
}

/// Blanks the 0-based line `at` (keeping the line count) so that the next parse goes past
/// it: a table header with everything up to the next header, a key with its value's
/// continuation lines (a multi-line array). False when nothing is left to blank.
fn blank(text: &mut String, at: usize) -> bool {
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let Some(first) = lines.get(at) else {
        return false;
    };
    if first.trim().is_empty() || first.trim_start().starts_with('#') {
        return false;
    }
    let end = if header(first).is_some() {
        (at + 1..lines.len())
            .find(|&i| header(&lines[i]).is_some())
            .unwrap_or(lines.len())
    } else {
        // Continuation lines of a value: until brackets balance.
        let mut depth: i64 = 0;
        let mut i = at;
        loop {
            for c in lines[i].chars() {
                match c {
                    '[' | '{' => depth += 1,
                    ']' | '}' => depth -= 1,
                    _ => {}
                }
            }
            i += 1;
            if depth <= 0 || i >= lines.len() {
                break i;
            }
        }
    };
    for l in &mut lines[at..end] {
        *l = String::new();
    }
    *text = lines.join("\n");
    true
}

/// The line (1-based) of key path `key` (as the validator names it:
/// `basic.inpatient.rates[2].ratio`, `critical.tilts[0].categories[1]`) in `text`: the
/// line of the key, or of the nearest enclosing key or table found. `None` when none is.
pub(crate) fn line_of_key(text: &str, key: &str) -> Option<usize> {
    let lines: Vec<&str> = text.split('\n').collect();
    // Every line's full key path: a header's table, or the table and the key before `=`.
    let mut table = String::new();
    let mut paths: Vec<Option<String>> = Vec::with_capacity(lines.len());
    for (i, l) in lines.iter().enumerate() {
        if let Some(h) = header(l) {
            table = indexed(&lines, i, &h);
            paths.push(Some(table.clone()));
        } else if let Some((k, _)) = l
            .split_once('=')
            .filter(|_| !l.trim_start().starts_with('#'))
        {
            let k = k.trim().trim_matches('"');
            paths.push(Some(if table.is_empty() {
                k.to_string()
            } else {
                format!("{table}.{k}")
            }));
        } else {
            paths.push(None);
        }
    }
    let mut want = key.to_string();
    loop {
        if let Some(i) = paths
            .iter()
            .position(|p| p.as_deref() == Some(want.as_str()))
        {
            return Some(i + 1);
        }
        // Up one: a trailing index, else the last key.
        if want.ends_with(']') {
            want.truncate(want.rfind('[')?);
        } else {
            want.truncate(want.rfind('.')?);
        }
    }
}
