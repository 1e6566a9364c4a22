//! Money, ratios, decimals and the one rounding rule.
//!
//! All money is integer fen (`i64`). Ratios are parts per million. Decimal text from files
//! and the wire is parsed exactly into scaled integers; no float ever touches an amount.

use std::fmt;

/// Integer fen (分). 1 yuan = 100 fen.
pub type Fen = i64;

/// The largest money amount accepted anywhere (10^13 fen = 1,000 亿 yuan). Bounding inputs keeps
/// every sum of a claim (at most [`MAX_LINES_PER_CLAIM`] lines) far inside `i64`.
pub const MAX_AMOUNT_FEN: Fen = 10_000_000_000_000;

/// At most this many fee lines in one claim.
pub const MAX_LINES_PER_CLAIM: usize = 10_000;

/// Parts per million in a whole (100%).
pub const PPM_ONE: i64 = 1_000_000;

/// A ratio in parts per million (`0.90` → 900,000). Policy and catalog ratios have at most six
/// decimals; the national interface uses numeric(5,4), so this is exact for every real input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ratio(i64);

impl Ratio {
    pub const ZERO: Ratio = Ratio(0);
    pub const ONE: Ratio = Ratio(PPM_ONE);

    pub fn from_ppm(ppm: i64) -> Ratio {
        Ratio(ppm)
    }

    pub fn ppm(self) -> i64 {
        self.0
    }

    /// `self + points`, never above 100%.
    pub fn plus_capped(self, points: Ratio) -> Ratio {
        Ratio((self.0 + points.0).min(PPM_ONE))
    }

    /// Parses a decimal ratio such as `0.9`, `0.10` or `1`. Must lie in [0, 1].
    pub fn parse(text: &str) -> Result<Ratio, DecimalError> {
        let ppm = parse_scaled(text, 6)?;
        if !(0..=PPM_ONE).contains(&ppm) {
            return Err(DecimalError::OutOfRange);
        }
        Ok(Ratio(ppm))
    }
}

impl fmt::Display for Ratio {
    /// Percent with as many decimals as needed: `90%`, `12.5%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 10_000;
        let frac = self.0 % 10_000;
        if frac == 0 {
            write!(f, "{whole}%")
        } else {
            let s = format!("{frac:04}");
            write!(f, "{whole}.{}%", s.trim_end_matches('0'))
        }
    }
}

/// Why a decimal text was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    #[error("不是有效的十进制数")]
    NotANumber,
    #[error("小数位数过多")]
    TooManyDecimals,
    #[error("数值超出允许范围")]
    OutOfRange,
}

/// Parses a plain decimal (`-12.5`, `3`, `0.10`) into an integer scaled by `10^scale`.
/// Refuses exponents, more than `scale` decimals, and magnitudes above 10^17 scaled units.
pub fn parse_scaled(text: &str, scale: u32) -> Result<i64, DecimalError> {
    let text = text.trim();
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(DecimalError::NotANumber);
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(DecimalError::NotANumber);
    }
    let frac_trimmed = frac_part.trim_end_matches('0');
    if frac_trimmed.len() > scale as usize {
        return Err(DecimalError::TooManyDecimals);
    }
    const LIMIT: i128 = 100_000_000_000_000_000; // 10^17
    let mut value: i128 = 0;
    for b in int_part.bytes() {
        value = value * 10 + i128::from(b - b'0');
        if value > LIMIT {
            return Err(DecimalError::OutOfRange);
        }
    }
    for i in 0..scale as usize {
        let d = frac_trimmed.as_bytes().get(i).map_or(0, |b| b - b'0');
        value = value * 10 + i128::from(d);
    }
    if value > LIMIT {
        return Err(DecimalError::OutOfRange);
    }
    let value = value as i64;
    Ok(if negative { -value } else { value })
}

/// Parses yuan text (`1234.5`) into fen; at most two decimals, at most [`MAX_AMOUNT_FEN`].
pub fn parse_yuan(text: &str) -> Result<Fen, DecimalError> {
    let fen = parse_scaled(text, 2)?;
    if fen.abs() > MAX_AMOUNT_FEN {
        return Err(DecimalError::OutOfRange);
    }
    Ok(fen)
}

/// THE rounding rule of the policy sheet: divide and round half away from zero
/// (0.5 fen rounds up for positive amounts). Every ratio application goes through here.
pub fn div_round_half_up(numerator: i128, denominator: i128) -> i128 {
    debug_assert!(denominator > 0);
    let q = numerator / denominator;
    let r = numerator % denominator;
    if 2 * r.abs() >= denominator {
        q + numerator.signum()
    } else {
        q
    }
}

/// `round(amount × ratio)` to the fen, half up.
pub fn apply_ratio(amount: Fen, ratio: Ratio) -> Fen {
    div_round_half_up(
        i128::from(amount) * i128::from(ratio.0),
        i128::from(PPM_ONE),
    ) as Fen
}

/// Formats fen as yuan with two decimals: `123450` → `"1234.50"`.
pub fn format_fen(fen: Fen) -> String {
    let mut s = String::with_capacity(16);
    write_fen(&mut s, fen);
    s
}

/// Appends fen as yuan with two decimals to `out` (no allocation for the hot output path).
pub fn write_fen(out: &mut String, fen: Fen) {
    // By hand: this runs for every amount of every result line.
    if fen < 0 {
        out.push('-');
    }
    let abs = fen.unsigned_abs();
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut yuan = abs / 100;
    loop {
        i -= 1;
        digits[i] = b'0' + (yuan % 10) as u8;
        yuan /= 10;
        if yuan == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(d as char);
    }
    let cents = (abs % 100) as u8;
    out.push('.');
    out.push((b'0' + cents / 10) as char);
    out.push((b'0' + cents % 10) as char);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimals_exactly() {
        assert_eq!(parse_yuan("1234.5"), Ok(123450));
        assert_eq!(parse_yuan("0.01"), Ok(1));
        assert_eq!(parse_yuan("7"), Ok(700));
        assert_eq!(parse_yuan("1.230"), Ok(123));
        assert_eq!(parse_yuan("-3.10"), Ok(-310));
        assert_eq!(parse_yuan("1.234"), Err(DecimalError::TooManyDecimals));
        assert_eq!(parse_yuan("1e3"), Err(DecimalError::NotANumber));
        assert_eq!(parse_yuan(""), Err(DecimalError::NotANumber));
        assert_eq!(parse_yuan("."), Err(DecimalError::NotANumber));
        assert_eq!(parse_yuan("12a"), Err(DecimalError::NotANumber));
        assert_eq!(
            parse_yuan("99999999999999999999999999"),
            Err(DecimalError::OutOfRange)
        );
        assert_eq!(parse_scaled("3.5", 6), Ok(3_500_000));
    }

    #[test]
    fn ratio_parse_and_display() {
        assert_eq!(Ratio::parse("0.9").unwrap().ppm(), 900_000);
        assert_eq!(Ratio::parse("1").unwrap(), Ratio::ONE);
        assert!(Ratio::parse("1.01").is_err());
        assert!(Ratio::parse("-0.1").is_err());
        assert_eq!(Ratio::parse("0.125").unwrap().to_string(), "12.5%");
        assert_eq!(Ratio::parse("0.6").unwrap().to_string(), "60%");
    }

    #[test]
    fn rounding_is_half_up() {
        assert_eq!(div_round_half_up(5, 10), 1);
        assert_eq!(div_round_half_up(4, 10), 0);
        assert_eq!(div_round_half_up(15, 10), 2);
        assert_eq!(div_round_half_up(-5, 10), -1);
        assert_eq!(apply_ratio(15, Ratio::parse("0.1").unwrap()), 2); // 1.5 fen → 2
        assert_eq!(apply_ratio(14, Ratio::parse("0.1").unwrap()), 1);
    }

    #[test]
    fn formats_fen() {
        assert_eq!(format_fen(123450), "1234.50");
        assert_eq!(format_fen(5), "0.05");
        assert_eq!(format_fen(0), "0.00");
        assert_eq!(format_fen(-310), "-3.10");
        assert_eq!(format_fen(i64::MIN), "-92233720368547758.08");
        assert_eq!(format_fen(i64::MAX), "92233720368547758.07");
    }
}
