//! The explanation of a settlement: per line which class, limit and ratio applied; per layer
//! the base, deductible or threshold, segments, ratio, cap and what was paid. The patient's
//! 明白卡 and the auditor's drill-down are views of this.

use crate::claim::Line;
use crate::money::{write_fen, Fen, Ratio};
use crate::refdata::{CatalogItem, ItemClass, PRICE_UNITS_PER_FEN};
use serde::{Serialize, Serializer};
use std::fmt;

/// Fen shown as yuan with two decimals (`"12.50"`) in explanations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Yuan(pub Fen);

impl fmt::Display for Yuan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        write_fen(&mut s, self.0);
        f.write_str(&s)
    }
}

impl Serialize for Yuan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Serialize for Ratio {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Explanation {
    pub lines: Vec<LineExplanation>,
    pub layers: Vec<LayerExplanation>,
}

#[derive(Clone, Debug, Serialize)]
pub struct LineExplanation {
    pub code: String,
    pub name: String,
    /// 甲类 / 乙类 / 丙类
    pub class: &'static str,
    pub amount: Yuan,
    pub fulamt_ownpay_amt: Yuan,
    pub overlmt_selfpay: Yuan,
    pub preselfpay_amt: Yuan,
    pub inscp_scp_amt: Yuan,
    pub note: String,
}

fn scaled_price_text(v: i64) -> String {
    // Scaled by 10^6 yuan; show at least two decimals, more only when present.
    let units_per_yuan = PRICE_UNITS_PER_FEN * 100;
    let whole = v / units_per_yuan;
    let frac = format!("{:06}", v % units_per_yuan);
    let trimmed = frac.trim_end_matches('0');
    let shown = if trimmed.len() < 2 {
        &frac[..2]
    } else {
        trimmed
    };
    format!("{whole}.{shown}")
}

impl LineExplanation {
    pub fn new(
        item: &CatalogItem,
        line: &Line,
        fulamt: Fen,
        over: Fen,
        pre: Fen,
        inscp: Fen,
    ) -> Self {
        let note = match item.class {
            ItemClass::C => "丙类（目录外），全部自费".to_string(),
            class => {
                let mut n = String::from(class.name());
                if over > 0 {
                    let limit = item.price_limit.unwrap_or_default();
                    n.push_str(&format!(
                        "；单价 {} 超过限价 {}，超出部分 {} 自费",
                        scaled_price_text(line.price),
                        scaled_price_text(limit),
                        Yuan(over)
                    ));
                }
                if class == ItemClass::B {
                    n.push_str(&format!(
                        "；先行自付比例 {}，先行自付 {}",
                        item.selfpay_prop,
                        Yuan(pre)
                    ));
                }
                n.push_str(&format!("；政策范围内 {}", Yuan(inscp)));
                n
            }
        };
        LineExplanation {
            code: item.code.clone(),
            name: item.name.clone(),
            class: item.class.name(),
            amount: Yuan(line.amount),
            fulamt_ownpay_amt: Yuan(fulamt),
            overlmt_selfpay: Yuan(over),
            preselfpay_amt: Yuan(pre),
            inscp_scp_amt: Yuan(inscp),
            note,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct SegmentExplanation {
    /// Accumulated amount where this part starts and ends (inclusive of the threshold).
    pub from: Yuan,
    pub to: Yuan,
    pub amount: Yuan,
    pub ratio: Ratio,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct LayerExplanation {
    /// Output field this layer pays into (`hifp_pay`, `hifmi_pay`, …).
    pub layer: &'static str,
    pub name: String,
    /// What the ratio was applied to.
    pub base: Yuan,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deductible: Option<Yuan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Yuan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accumulated_before: Option<Yuan>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<SegmentExplanation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<Ratio>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap: Option<Yuan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cap_room: Option<Yuan>,
    pub cap_hit: bool,
    pub paid: Yuan,
    pub note: String,
}
