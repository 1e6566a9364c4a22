//! Hostile claims files: a byte order mark, lines far too long. Every input line still gets
//! exactly one output line, and a too-long line is refused without being held in memory.

use serde_json::Value;
use std::io::{BufReader, Read};
use std::path::PathBuf;
use yibao_files::batch::MAX_LINE_BYTES;
use yibao_files::{load_dir, load_policy, run_batch, BatchOptions};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn settle(input: impl std::io::BufRead, jobs: usize) -> Vec<Value> {
    let policy = load_policy(&root().join("policies/sample-county-2024.toml")).unwrap();
    let refdata = load_dir(&root().join("tests/fixtures/sample-county-2024")).unwrap();
    let mut out = Vec::new();
    let opts = BatchOptions {
        jobs,
        chunk_lines: 5,
        ..BatchOptions::default()
    };
    let policies = yibao_core::PolicySet::one(policy);
    run_batch(&policies, &refdata, input, &mut out, opts).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn claims() -> Vec<u8> {
    std::fs::read(root().join("tests/fixtures/sample-county-2024/claims.jsonl")).unwrap()
}

#[test]
fn a_leading_byte_order_mark_is_ignored() {
    let plain = claims();
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(&plain);
    for jobs in [1, 2] {
        let want = settle(&plain[..], jobs);
        let got = settle(&bom[..], jobs);
        assert_eq!(got[0]["ok"], want[0]["ok"], "{}", got[0]);
        assert_eq!(got, want);
    }
    // Only at the very start: a BOM later on is part of that line (and not JSON).
    let mut later = plain.clone();
    later.extend_from_slice(b"\xEF\xBB\xBF{\"claim_id\":\"LATE\"}\n");
    let got = settle(&later[..], 1);
    assert_eq!(got.last().unwrap()["error"]["code"], "INVALID_CLAIM");
}

/// A claims stream of `head`, then one line of `filler` repeated up to `len` bytes, then
/// `tail`, produced on the fly (never in memory as a whole).
struct LongLine {
    head: Vec<u8>,
    len: u64,
    written: u64,
    tail: Vec<u8>,
    tail_at: usize,
}

impl Read for LongLine {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if !self.head.is_empty() {
            let n = self.head.len().min(out.len());
            out[..n].copy_from_slice(&self.head[..n]);
            self.head.drain(..n);
            return Ok(n);
        }
        if self.written < self.len {
            // Whole fillers only (the line length is a multiple of the filler's).
            let filler = b"{\"code\":\"X\"},";
            let n =
                ((self.len - self.written) as usize).min(out.len()) / filler.len() * filler.len();
            for chunk in out[..n].chunks_exact_mut(filler.len()) {
                chunk.copy_from_slice(filler);
            }
            self.written += n as u64;
            return Ok(n);
        }
        let n = (self.tail.len() - self.tail_at).min(out.len());
        out[..n].copy_from_slice(&self.tail[self.tail_at..self.tail_at + n]);
        self.tail_at += n;
        Ok(n)
    }
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_line_too_long_is_one_invalid_claim_read_past_without_buffering() {
    let plain = claims();
    let first_line = plain.split(|&b| b == b'\n').next().unwrap().to_vec();
    let want_first = settle(&first_line[..], 1);
    let before = peak_rss_kib();
    for jobs in [1, 2] {
        // 128 MiB in one line, between two ordinary records.
        let mut head = first_line.clone();
        head.extend_from_slice(b"\n{\"claim_id\":\"HUGE\",\"psn_no\":\"P\",\"lines\":[");
        let mut tail = b"{}]}\n".to_vec();
        tail.extend_from_slice(
            b"{\"claim_id\":\"AFTER\",\"type\":\"reversal\",\"target\":\"NONE\"}",
        );
        let input = LongLine {
            head,
            len: 13 * (10 << 20),
            written: 0,
            tail,
            tail_at: 0,
        };
        let got = settle(BufReader::with_capacity(1 << 16, input), jobs);
        assert_eq!(got.len(), 3, "one output line per input line");
        assert_eq!(got[0], want_first[0]);
        assert_eq!(got[1]["claim_id"], "HUGE");
        assert_eq!(got[1]["error"]["code"], "INVALID_CLAIM");
        let message = got[1]["error"]["message"].as_str().unwrap();
        assert!(message.contains("超过单条记录的上限"), "{message}");
        assert!(message.contains(&MAX_LINE_BYTES.to_string()), "{message}");
        assert_eq!(got[2]["claim_id"], "AFTER");
        assert_eq!(got[2]["error"]["code"], "UNKNOWN_CLAIM");
    }
    let grown_mib = peak_rss_kib().saturating_sub(before) / 1024;
    assert!(grown_mib < 64, "peak memory grew by {grown_mib} MiB");

    // Just under the limit is parsed as usual; one byte over is refused, claim id or not.
    let mut at_limit = b"{\"claim_id\":\"EDGE\",\"x\":\"".to_vec();
    at_limit.resize(MAX_LINE_BYTES - 2, b'a');
    at_limit.extend_from_slice(b"\"}");
    assert_eq!(at_limit.len(), MAX_LINE_BYTES);
    let got = settle(&at_limit[..], 1);
    assert!(!got[0]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("超过单条记录的上限"));
    let mut over = b"[\"claim_id\",\"".to_vec();
    over.resize(MAX_LINE_BYTES + 1, b'a');
    over.extend_from_slice(b"\r\n\n");
    let got = settle(&over[..], 1);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["claim_id"], Value::Null);
    assert_eq!(got[0]["error"]["code"], "INVALID_CLAIM");
}
