//! Result lines of `yibao settle` (`interface.md` §2), written by hand for speed: amounts as
//! two-decimal strings in a fixed field order.

use yibao_core::money::write_fen;
use yibao_core::{Rejection, Settlement};

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // serde_json escapes exactly as JSON requires; writing to a Vec cannot fail.
    serde_json::to_writer(&mut *out, s).expect("writing JSON to a Vec cannot fail");
}

/// `{"claim_id":…,"ok":true,"medfee_sumamt":"…",…}` (+ `"explain"` when computed).
pub fn write_settlement(out: &mut Vec<u8>, claim_id: &str, s: &Settlement) {
    out.extend_from_slice(b"{\"claim_id\":");
    push_json_str(out, claim_id);
    out.extend_from_slice(b",\"ok\":true");
    let mut num = String::with_capacity(24);
    for (name, value) in s.amounts.fields() {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\":\"");
        num.clear();
        write_fen(&mut num, value);
        out.extend_from_slice(num.as_bytes());
        out.push(b'"');
    }
    if let Some(ex) = &s.explanation {
        out.extend_from_slice(b",\"explain\":");
        serde_json::to_writer(&mut *out, ex).expect("writing JSON to a Vec cannot fail");
    }
    out.extend_from_slice(b"}\n");
}

pub fn write_reversal_ok(out: &mut Vec<u8>, claim_id: &str) {
    out.extend_from_slice(b"{\"claim_id\":");
    push_json_str(out, claim_id);
    out.extend_from_slice(b",\"ok\":true}\n");
}

/// `{"claim_id":…|null,"ok":false,"error":{"code":…,"message":…}}`
pub fn write_rejection(out: &mut Vec<u8>, claim_id: Option<&str>, r: &Rejection) {
    out.extend_from_slice(b"{\"claim_id\":");
    match claim_id {
        Some(id) => push_json_str(out, id),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"ok\":false,\"error\":{\"code\":\"");
    out.extend_from_slice(r.code.as_str().as_bytes());
    out.extend_from_slice(b"\",\"message\":");
    push_json_str(out, &r.message);
    out.extend_from_slice(b"}}\n");
}
