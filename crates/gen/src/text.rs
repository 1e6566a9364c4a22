//! Hand-written byte formatting for the output files: integers, money in fen, quantities
//! in thousandths. `write!` is several times slower and the claims file is large.

/// Appends the decimal digits of `v`.
pub(crate) fn push_u64(buf: &mut Vec<u8>, v: u64) {
    push_padded(buf, v, 1);
}

/// Appends `v` in decimal, left-padded with zeros to at least `width` digits.
pub(crate) fn push_padded(buf: &mut Vec<u8>, mut v: u64, width: usize) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    while v > 0 || tmp.len() - i < width.min(20) {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// Appends an amount in fen as yuan with exactly two decimals: `1234` → `12.34`,
/// `-5` → `-0.05`.
pub(crate) fn push_fen(buf: &mut Vec<u8>, fen: i64) {
    if fen < 0 {
        buf.push(b'-');
    }
    let v = fen.unsigned_abs();
    push_u64(buf, v / 100);
    buf.push(b'.');
    push_padded(buf, v % 100, 2);
}

/// Appends a quantity given in thousandths, without trailing zeros: `2000` → `2`,
/// `2500` → `2.5`, `125` → `0.125`.
pub(crate) fn push_qty(buf: &mut Vec<u8>, milli: u32) {
    push_u64(buf, u64::from(milli / 1000));
    let frac = milli % 1000;
    let (digits, shown) = match frac {
        0 => return,
        f if f % 100 == 0 => (1, f / 100),
        f if f % 10 == 0 => (2, f / 10),
        f => (3, f),
    };
    buf.push(b'.');
    push_padded(buf, u64::from(shown), digits);
}

/// `price × qty` rounded half up (away from zero) to the fen, in exact integers:
/// the line `amount` (`det_item_fee_sumamt`).
pub(crate) fn amount_fen(price_fen: i64, qty_milli: u32) -> i64 {
    let prod = i128::from(price_fen) * i128::from(qty_milli);
    let mag = (prod.abs() + 500) / 1000;
    let amount = if prod < 0 { -mag } else { mag };
    // Prices and quantities are bounded far below this, but never wrap silently.
    i64::try_from(amount).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl Fn(&mut Vec<u8>)) -> String {
        let mut b = Vec::new();
        f(&mut b);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn formats() {
        assert_eq!(s(|b| push_u64(b, 0)), "0");
        assert_eq!(s(|b| push_u64(b, 1_234_567)), "1234567");
        assert_eq!(s(|b| push_padded(b, 42, 8)), "00000042");
        assert_eq!(s(|b| push_padded(b, 123_456_789, 8)), "123456789");
        assert_eq!(s(|b| push_fen(b, 0)), "0.00");
        assert_eq!(s(|b| push_fen(b, 1250)), "12.50");
        assert_eq!(s(|b| push_fen(b, -5)), "-0.05");
        assert_eq!(s(|b| push_qty(b, 2000)), "2");
        assert_eq!(s(|b| push_qty(b, 2500)), "2.5");
        assert_eq!(s(|b| push_qty(b, 125)), "0.125");
        assert_eq!(s(|b| push_qty(b, 1030)), "1.03");
    }

    #[test]
    fn amounts_round_half_up() {
        assert_eq!(amount_fen(1250, 2000), 2500);
        assert_eq!(amount_fen(1, 500), 1); // 0.5 fen rounds up
        assert_eq!(amount_fen(1, 499), 0);
        assert_eq!(amount_fen(-1, 500), -1); // away from zero
        assert_eq!(amount_fen(333, 1500), 500); // 4.995 → 5.00
    }
}
