//! `yibao audit screen` and `yibao audit eval` on files: claims JSONL in (the settlement
//! format, read with [`crate::record`]), findings JSONL out; labels CSV for the evaluation.
//!
//! Reading is chunked and parsed in parallel; reversals are applied in input order (a
//! reversal removes its target from screening; a claim id already present is screened
//! once). Screening runs in parallel by person, and the findings are sorted into the core's
//! one order, so any number of jobs gives the same bytes.

use crate::batch::read_chunk;
use crate::record::Record;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::io::{self, BufRead, Write};
use yibao_core::audit::{by_person, AuditRules, Finding, ScreenClaim, Screener};
use yibao_core::money::format_fen;
use yibao_core::RefData;

/// What reading the claims found besides the claims screened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadStats {
    pub records: u64,
    /// Settlements that could not be screened (unknown person, bad line …).
    pub unreadable: u64,
    /// Settlements removed by a reversal.
    pub reversed: u64,
    /// Reversals of a claim id not present, and settlements of a claim id already present.
    pub ignored: u64,
    /// The first few problems, `第 N 条记录（claim_id）：message`.
    pub examples: Vec<String>,
}

const EXAMPLES: usize = 5;
/// Lines parsed per chunk.
const CHUNK_LINES: usize = 32_768;

enum Parsed {
    Claim(ScreenClaim),
    Reverse(String),
    Bad(Option<String>, String),
}

fn parse(refdata: &RefData, rec: &Record<'_>, seq: u32) -> Parsed {
    match rec {
        Record::Settle(raw) => match ScreenClaim::from_draft(refdata, &raw.draft(), seq) {
            Ok(c) => Parsed::Claim(c),
            Err(r) => Parsed::Bad(rec.claim_id().map(str::to_string), r.to_string()),
        },
        Record::Reverse { target, .. } => match target.as_str() {
            Some(t) => Parsed::Reverse(t.to_string()),
            None => Parsed::Bad(
                rec.claim_id().map(str::to_string),
                "撤销记录缺少字符串字段 target".into(),
            ),
        },
        Record::Invalid { claim_id, message } => {
            Parsed::Bad(claim_id.as_deref().map(str::to_string), message.clone())
        }
    }
}

/// Reads a claims stream into the claims to screen (numbered 0.. in input order).
pub fn read_claims<R: BufRead>(
    refdata: &RefData,
    mut input: R,
    jobs: usize,
) -> io::Result<(Vec<ScreenClaim>, ReadStats)> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(io::Error::other)?;
    let mut stats = ReadStats::default();
    // Claims by chunk (no vector regrown and copied as the year's claims accumulate), and
    // where each claim id present is.
    let mut chunks: Vec<Vec<Option<ScreenClaim>>> = Vec::new();
    let mut present: FxHashMap<Box<str>, (u32, u32)> = FxHashMap::default();
    // Two buffers: the next chunk is read on this thread while the pool parses this one.
    let (mut buf, mut next_buf) = (Vec::new(), Vec::new());
    let mut at_start = true;
    let mut chunk = read_chunk(&mut input, &mut buf, CHUNK_LINES, &mut at_start)?;
    while !chunk.is_empty() {
        let mut parsed: Vec<Parsed> = Vec::new();
        let mut next = Ok(Vec::new());
        pool.in_place_scope(|scope| {
            let (this, this_buf) = (&chunk, &buf);
            let parsed = &mut parsed;
            scope.spawn(move |_| {
                *parsed = this
                    .par_iter()
                    .map(|slot| parse(refdata, &slot.record(this_buf), 0))
                    .collect();
            });
            next = read_chunk(&mut input, &mut next_buf, CHUNK_LINES, &mut at_start);
        });
        std::mem::swap(&mut buf, &mut next_buf);
        chunk = next?;
        let mut kept = Vec::with_capacity(parsed.len());
        for p in parsed {
            stats.records += 1;
            match p {
                Parsed::Claim(c) if present.contains_key(&c.claim_id) => stats.ignored += 1,
                Parsed::Claim(c) => {
                    let at = (chunks.len() as u32, kept.len() as u32);
                    present.insert(c.claim_id.clone(), at);
                    kept.push(Some(c));
                }
                Parsed::Reverse(target) => match present.remove(target.as_str()) {
                    Some((k, i)) => {
                        match chunks.get_mut(k as usize) {
                            Some(earlier) => earlier[i as usize] = None,
                            None => kept[i as usize] = None,
                        }
                        stats.reversed += 1;
                    }
                    None => stats.ignored += 1,
                },
                Parsed::Bad(id, message) => {
                    stats.unreadable += 1;
                    if stats.examples.len() < EXAMPLES {
                        let id = id.map(|i| format!("（{i}）")).unwrap_or_default();
                        stats
                            .examples
                            .push(format!("第 {} 条记录{id}：{message}", stats.records));
                    }
                }
            }
        }
        chunks.push(kept);
    }
    let count = chunks.iter().flatten().filter(|c| c.is_some()).count();
    let mut claims: Vec<ScreenClaim> = Vec::with_capacity(count);
    for chunk in chunks {
        claims.extend(chunk.into_iter().flatten());
    }
    for (i, c) in claims.iter_mut().enumerate() {
        c.seq = i as u32;
    }
    Ok((claims, stats))
}

/// Screens `claims` with `jobs` threads, by person; the findings in the core's order.
pub fn screen_claims(
    rules: &AuditRules,
    refdata: &RefData,
    claims: &[ScreenClaim],
    jobs: usize,
) -> io::Result<Vec<Finding>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .map_err(io::Error::other)?;
    let screener = Screener::new(rules, refdata, claims);
    let groups = by_person(claims);
    let mut findings: Vec<Finding> = pool.install(|| {
        groups
            .par_iter()
            .flat_map_iter(|g| {
                let mine: Vec<&ScreenClaim> = g.iter().map(|&i| &claims[i as usize]).collect();
                screener.person(&mine)
            })
            .collect()
    });
    findings.par_sort_unstable_by_key(Finding::order);
    Ok(findings)
}

#[derive(serde::Serialize)]
struct FindingLine<'a> {
    claim_id: &'a str,
    family: &'a str,
    rule: &'a str,
    severity: &'a str,
    amount: String,
    message: &'a str,
}

/// Writes one JSON object a line: `{"claim_id","family","rule","severity","amount","message"}`.
pub fn write_findings<W: Write>(
    rules: &AuditRules,
    claims: &[ScreenClaim],
    findings: &[Finding],
    mut out: W,
) -> io::Result<()> {
    let mut line = Vec::with_capacity(1024);
    for f in findings {
        let Some(rule) = rules.rule(f.family) else {
            continue;
        };
        line.clear();
        serde_json::to_writer(
            &mut line,
            &FindingLine {
                claim_id: &claims[f.claim as usize].claim_id,
                family: f.family.code(),
                rule: &rule.id,
                severity: rule.severity.as_str(),
                amount: format_fen(f.amount),
                message: &f.message,
            },
        )
        .map_err(io::Error::other)?;
        line.push(b'\n');
        out.write_all(&line)?;
    }
    out.flush()
}

/// (claim id, family) of each finding line of a findings file; a bad line names its number.
pub fn read_flags<R: BufRead>(input: R) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("读取审核结果失败：{e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| format!("审核结果第 {} 行不是有效的 JSON：{e}", n + 1))?;
        let field = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .map(str::to_string)
                .ok_or_else(|| format!("审核结果第 {} 行缺少字符串字段 {k}", n + 1))
        };
        pairs.push((field("claim_id")?, field("family")?));
    }
    Ok(pairs)
}

/// (claim id, family) of each row of a labels file `claim_id,family` (a header row
/// `claim_id,family` is skipped); a bad row names its number and value.
pub fn read_labels<R: BufRead>(input: R) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("读取标注文件失败：{e}"))?;
        let line = line.trim();
        if line.is_empty() || (n == 0 && line == "claim_id,family") {
            continue;
        }
        match line.split_once(',') {
            Some((id, family)) if !id.trim().is_empty() && !family.trim().is_empty() => {
                pairs.push((id.trim().to_string(), family.trim().to_string()))
            }
            _ => {
                return Err(format!(
                    "标注文件第 {} 行应为 claim_id,family：{}",
                    n + 1,
                    yibao_core::claim::shown(line)
                ))
            }
        }
    }
    Ok(pairs)
}

/// `{"institutions":[…]}`: each institution's indicators, amounts as yuan strings with two
/// decimals, ratios with four (`null` where there is no denominator).
pub fn indicators_json(
    refdata: &RefData,
    list: &[yibao_core::audit::indicators::InstitutionIndicators],
) -> serde_json::Value {
    let ratio = |v: Option<i64>| v.map(|p| yibao_core::audit::eval::ratio_text(Some(p)));
    let rows: Vec<serde_json::Value> = list
        .iter()
        .map(|i| {
            let inst = &refdata.institutions()[i.institution as usize];
            serde_json::json!({
                "fixmedins_code": inst.code,
                "name": inst.name,
                "level": inst.level.code(),
                "admissions": i.admissions,
                "outpatient_visits": i.outpatient_visits,
                "medfee_sumamt": format_fen(i.total),
                "cost_per_admission": i.cost_per_admission().map(format_fen),
                "drug_share": ratio(i.drug_share_ppm()),
                "selfpay_share": ratio(i.selfpay_share_ppm()),
                "admissions_per_100_outpatient": ratio(i.admissions_per_100_outpatient_ppm()),
                "readmissions": i.readmissions,
                "readmission_rate": ratio(i.readmission_rate_ppm()),
            })
        })
        .collect();
    serde_json::json!({ "institutions": rows })
}
