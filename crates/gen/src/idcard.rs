//! 居民身份证号码 (resident identity number) under GB 11643-1999.
//!
//! 18 characters: a 6-digit region code, the 8-digit birth date `YYYYMMDD`, a 3-digit
//! sequence whose last digit is odd for men and even for women, and an ISO 7064
//! MOD 11-2 check character.

use crate::date::{civil_from_days, days_from_civil};

/// Weights of the first 17 digits in the MOD 11-2 sum.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each remainder of the weighted sum modulo 11.
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// The GB 11643 check character for the first 17 characters of a resident ID, or
/// `None` unless they are exactly 17 ASCII digits.
pub fn certno_check_char(first17: &[u8]) -> Option<u8> {
    if first17.len() != 17 || !first17.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(c, w)| u32::from(c - b'0') * w)
        .sum();
    Some(CHECK_CHARS[(sum % 11) as usize])
}

/// Whether `certno` is a well-formed 18-character resident ID: digits, a real birth
/// date, and the right check character (uppercase `X`).
pub fn certno_is_valid(certno: &str) -> bool {
    let b = certno.as_bytes();
    if b.len() != 18 || certno_check_char(&b[..17]) != Some(b[17]) {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> u32 {
        b[r].iter().fold(0, |n, c| n * 10 + u32::from(c - b'0'))
    };
    let (y, m, d) = (num(6..10) as i32, num(10..12), num(12..14));
    (1..=12).contains(&m)
        && (1..=31).contains(&d)
        && civil_from_days(days_from_civil(y, m, d)) == (y, m, d)
}

/// Builds the resident ID for a region, a birth day number and a sequence `0..=999`.
pub(crate) fn make_certno(region: &[u8; 6], birth: i32, seq: u32) -> [u8; 18] {
    let mut id = [0u8; 18];
    id[..6].copy_from_slice(region);
    let date = crate::date::format_date(birth);
    id[6..10].copy_from_slice(&date[0..4]);
    id[10..12].copy_from_slice(&date[5..7]);
    id[12..14].copy_from_slice(&date[8..10]);
    id[14] = b'0' + (seq / 100 % 10) as u8;
    id[15] = b'0' + (seq / 10 % 10) as u8;
    id[16] = b'0' + (seq % 10) as u8;
    // 17 digits were just written, so the check character always exists.
    id[17] = certno_check_char(&id[..17]).unwrap_or(b'0');
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ids() {
        // The national standard's own example.
        assert!(certno_is_valid("11010519491231002X"));
        assert!(!certno_is_valid("110105194912310021"));
        assert!(!certno_is_valid("11010519491331002X"));
        // 1949 had no 29 February, whatever the check character says.
        let mut bad = *b"11010519490229002?";
        bad[17] = certno_check_char(&bad[..17]).unwrap();
        assert!(!certno_is_valid(std::str::from_utf8(&bad).unwrap()));
        let id = make_certno(b"990101", days_from_civil(1980, 5, 17), 123);
        let s = std::str::from_utf8(&id).unwrap();
        assert!(s.starts_with("99010119800517123"));
        assert!(certno_is_valid(s));
    }
}
