//! One line of a claims file (`interface.md` §2) parsed leniently into a draft, so that the core
//! can reject a bad record with the right code in the right order instead of the parser
//! refusing it wholesale. Strings are borrowed from the input where they have no escapes.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;
use yibao_core::{ClaimDraft, LineDraft, LinesDraft, Val};

/// A scalar field: a string's content or a number's text, kept exactly as written.
#[derive(Debug, Default)]
pub enum Scalar<'a> {
    #[default]
    Missing,
    Text(Cow<'a, str>),
    WrongType,
}

impl Scalar<'_> {
    pub fn val(&self) -> Val<'_> {
        match self {
            Scalar::Missing => Val::Missing,
            Scalar::Text(t) => Val::Text(t),
            Scalar::WrongType => Val::WrongType,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Text(t) => Some(t),
            _ => None,
        }
    }
}

fn classify(raw: &RawValue) -> Scalar<'_> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => {
            let inner = &text[1..text.len() - 1];
            if inner.contains('\\') {
                match serde_json::from_str::<String>(text) {
                    Ok(s) => Scalar::Text(Cow::Owned(s)),
                    Err(_) => Scalar::WrongType,
                }
            } else {
                Scalar::Text(Cow::Borrowed(inner))
            }
        }
        Some(b'-' | b'0'..=b'9') => Scalar::Text(Cow::Borrowed(text)),
        _ => Scalar::WrongType,
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: &'de RawValue = Deserialize::deserialize(d)?;
        Ok(classify(raw))
    }
}

#[derive(Debug, Default)]
pub struct RawLine<'a> {
    pub code: Scalar<'a>,
    pub price: Scalar<'a>,
    pub qty: Scalar<'a>,
    pub amount: Scalar<'a>,
    pub date: Scalar<'a>,
}

/// A line that is an object, or anything else (then every field counts as of the wrong type).
#[derive(Debug)]
pub enum LineSlot<'a> {
    Line(RawLine<'a>),
    NotAnObject,
}

/// The fields of a fee line; anything else is ignored.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "lowercase")]
enum LineField {
    Code,
    Price,
    Qty,
    Amount,
    Date,
    #[serde(other)]
    Other,
}

struct LineSlotVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for LineSlotVisitor<'a> {
    type Value = LineSlot<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a fee line")
    }

    // One pass over the object: a field given twice makes the line unusable, like any other
    // line that is not a proper object.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut line = RawLine::default();
        let mut twice = false;
        while let Some(key) = map.next_key::<LineField>()? {
            let slot = match key {
                LineField::Code => &mut line.code,
                LineField::Price => &mut line.price,
                LineField::Qty => &mut line.qty,
                LineField::Amount => &mut line.amount,
                LineField::Date => &mut line.date,
                LineField::Other => {
                    map.next_value::<de::IgnoredAny>()?;
                    continue;
                }
            };
            twice |= !matches!(slot, Scalar::Missing);
            *slot = map.next_value::<Scalar<'de>>()?;
        }
        Ok(if twice {
            LineSlot::NotAnObject
        } else {
            LineSlot::Line(line)
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(LineSlot::NotAnObject)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(LineSlot::NotAnObject)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(LineSlot::NotAnObject)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(LineSlot::NotAnObject)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(LineSlot::NotAnObject)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(LineSlot::NotAnObject)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(LineSlot::NotAnObject)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for LineSlot<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LineSlotVisitor(std::marker::PhantomData))
    }
}

#[derive(Debug, Default)]
pub enum RawLines<'a> {
    #[default]
    Missing,
    List(Vec<LineSlot<'a>>),
    WrongType,
}

struct LinesVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for LinesVisitor<'a> {
    type Value = RawLines<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of fee lines")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(8).min(64));
        while let Some(slot) = seq.next_element::<LineSlot<'de>>()? {
            v.push(slot);
        }
        Ok(RawLines::List(v))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(RawLines::WrongType)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(RawLines::WrongType)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(RawLines::WrongType)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(RawLines::WrongType)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(RawLines::WrongType)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(RawLines::WrongType)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(RawLines::WrongType)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawLines<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LinesVisitor(std::marker::PhantomData))
    }
}

/// Every field a claims-file record may carry; unknown fields are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct RawRecord<'a> {
    #[serde(borrow, default, rename = "type")]
    pub record_type: Scalar<'a>,
    #[serde(borrow, default)]
    pub claim_id: Scalar<'a>,
    #[serde(borrow, default)]
    pub target: Scalar<'a>,
    #[serde(borrow, default)]
    pub psn_no: Scalar<'a>,
    #[serde(borrow, default)]
    pub fixmedins_code: Scalar<'a>,
    #[serde(borrow, default)]
    pub med_type: Scalar<'a>,
    #[serde(borrow, default)]
    pub begndate: Scalar<'a>,
    #[serde(borrow, default)]
    pub enddate: Scalar<'a>,
    #[serde(borrow, default)]
    pub dise_codg: Scalar<'a>,
    #[serde(borrow, default)]
    pub lines: RawLines<'a>,
    #[serde(borrow, default)]
    pub acct_used_flag: Scalar<'a>,
}

/// What one input line asks for.
#[derive(Debug)]
pub enum Record<'a> {
    Settle(Box<RawRecord<'a>>),
    Reverse {
        claim_id: Cow<'a, str>,
        target: Scalar<'a>,
    },
    /// Not a usable record at all; `claim_id` when one could be read.
    Invalid {
        claim_id: Option<Cow<'a, str>>,
        message: String,
    },
}

impl<'a> Record<'a> {
    /// The claim id echoed in the output line.
    pub fn claim_id(&self) -> Option<&str> {
        match self {
            Record::Settle(r) => r.claim_id.as_str(),
            Record::Reverse { claim_id, .. } => Some(claim_id),
            Record::Invalid { claim_id, .. } => claim_id.as_deref(),
        }
    }

    /// `psn_no` of a settlement record, for partitioning.
    pub fn psn_no(&self) -> Option<&str> {
        match self {
            Record::Settle(r) => r.psn_no.as_str(),
            _ => None,
        }
    }

    /// The claim id whose settled state this record reads or changes.
    pub fn claim_key(&self) -> Option<&str> {
        match self {
            Record::Settle(r) => r.claim_id.as_str(),
            Record::Reverse { target, .. } => target.as_str(),
            Record::Invalid { .. } => None,
        }
    }
}

/// Parses one line (without its newline). Never fails: a bad line becomes `Record::Invalid`.
pub fn parse_line(bytes: &[u8]) -> Record<'_> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Record::Invalid {
            claim_id: None,
            message: "该行不是有效的 UTF-8 文本".into(),
        };
    };
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        let message = if trimmed.trim().is_empty() {
            "空行：应为一条 JSON 记录".to_string()
        } else {
            "该行不是 JSON 对象".to_string()
        };
        return Record::Invalid {
            claim_id: None,
            message,
        };
    }
    let raw: RawRecord<'_> = match serde_json::from_str(text) {
        Ok(r) => r,
        Err(e) => {
            return Record::Invalid {
                claim_id: None,
                message: format!(
                    "该行不是有效的 JSON：第 {} 列，{}",
                    e.column(),
                    json_error_kind(&e)
                ),
            }
        }
    };
    let claim_id = match raw.claim_id {
        Scalar::Text(ref t) if !t.trim().is_empty() => t.clone(),
        Scalar::Text(_) => {
            return Record::Invalid {
                claim_id: None,
                message: "结算单号 claim_id 为空".into(),
            }
        }
        Scalar::Missing => {
            return Record::Invalid {
                claim_id: None,
                message: "缺少字段 claim_id".into(),
            }
        }
        Scalar::WrongType => {
            return Record::Invalid {
                claim_id: None,
                message: "字段 claim_id 的类型错误：应为字符串".into(),
            }
        }
    };
    match raw.record_type.as_str() {
        None if matches!(raw.record_type, Scalar::Missing) => Record::Settle(Box::new(raw)),
        Some("settlement" | "claim") => Record::Settle(Box::new(raw)),
        Some("reversal") => Record::Reverse {
            claim_id,
            target: raw.target,
        },
        Some(other) => Record::Invalid {
            claim_id: Some(claim_id),
            message: format!(
                "记录类型 type={} 无效：应为 reversal 或省略",
                yibao_core::claim::shown(other)
            ),
        },
        None => Record::Invalid {
            claim_id: Some(claim_id),
            message: "字段 type 的类型错误：应为字符串".into(),
        },
    }
}

fn json_error_kind(e: &serde_json::Error) -> &'static str {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax => "语法错误",
        Category::Eof => "记录不完整",
        Category::Data => "字段内容不符合格式",
        Category::Io => "读取错误",
    }
}

impl<'a> RawRecord<'a> {
    /// The core's view of this record.
    pub fn draft(&self) -> ClaimDraft<'_> {
        ClaimDraft {
            claim_id: self.claim_id.as_str().unwrap_or_default(),
            psn_no: self.psn_no.val(),
            fixmedins_code: self.fixmedins_code.val(),
            med_type: self.med_type.val(),
            begndate: self.begndate.val(),
            enddate: self.enddate.val(),
            dise_codg: self.dise_codg.val(),
            acct_used_flag: self.acct_used_flag.val(),
            lines: match &self.lines {
                RawLines::Missing => LinesDraft::Missing,
                RawLines::WrongType => LinesDraft::WrongType,
                RawLines::List(v) => LinesDraft::List(
                    v.iter()
                        .map(|slot| match slot {
                            LineSlot::Line(l) => LineDraft {
                                code: l.code.val(),
                                price: l.price.val(),
                                qty: l.qty.val(),
                                amount: l.amount.val(),
                                date: l.date.val(),
                            },
                            LineSlot::NotAnObject => LineDraft {
                                code: Val::WrongType,
                                price: Val::WrongType,
                                qty: Val::WrongType,
                                amount: Val::WrongType,
                                date: Val::Missing,
                            },
                        })
                        .collect(),
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_their_text_and_strings_borrow() {
        let line = br#"{"claim_id":"S1","psn_no":"P\u0031","med_type":21,"lines":[{"code":"X","price":12.50,"qty":"2","amount":"25.00"},7]}"#;
        let Record::Settle(r) = parse_line(line) else {
            panic!("expected a settlement")
        };
        assert_eq!(r.psn_no.as_str(), Some("P1"));
        assert_eq!(r.med_type.as_str(), Some("21"));
        let d = r.draft();
        let LinesDraft::List(lines) = d.lines else {
            panic!()
        };
        assert_eq!(lines[0].price, Val::Text("12.50"));
        assert_eq!(lines[1].code, Val::WrongType);
    }

    #[test]
    fn bad_lines_become_invalid_records() {
        for bad in [
            &b"not json"[..],
            b"",
            b"[1,2]",
            b"{\"claim_id\":",
            b"\xff\xfe{}",
            b"{}",
        ] {
            assert!(
                matches!(parse_line(bad), Record::Invalid { claim_id: None, .. }),
                "{bad:?}"
            );
        }
        match parse_line(br#"{"claim_id":"R1","type":"reversal","target":"S1"}"#) {
            Record::Reverse { claim_id, target } => {
                assert_eq!(claim_id, "R1");
                assert_eq!(target.as_str(), Some("S1"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_line(br#"{"claim_id":"X","type":"other"}"#),
            Record::Invalid {
                claim_id: Some(_),
                ..
            }
        ));
    }
}
