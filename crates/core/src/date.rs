//! Calendar dates as compact `yyyymmdd` integers: cheap to compare, no time zones, no clock.

use std::fmt;

/// A valid Gregorian date stored as `yyyymmdd` (so `<` is chronological order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(u32);

/// An inclusive date range `[from, to]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateRange {
    pub from: Date,
    pub to: Date,
}

impl DateRange {
    pub fn contains(&self, d: Date) -> bool {
        self.from <= d && d <= self.to
    }
}

/// Days from 1900-01-01 to 1970-01-01.
const DAYS_1900_TO_1970: i64 = 25_567;

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// A date from its parts, if it exists (years 1900–2199).
    pub fn from_ymd(year: u32, month: u32, day: u32) -> Option<Date> {
        if !(1900..=2199).contains(&year) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date(year * 10_000 + month * 100 + day))
    }

    /// Parses `YYYY-MM-DD` strictly (a real date; nothing before or after).
    pub fn parse(text: &str) -> Option<Date> {
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |s: &[u8]| -> Option<u32> {
            s.iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        Date::from_ymd(num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?)
    }

    /// Parses the compact `YYYYMMDD` form used inside resident ID numbers.
    pub fn parse_compact(text: &str) -> Option<Date> {
        if text.len() != 8 || !text.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let v: u32 = text.parse().ok()?;
        Date::from_ymd(v / 10_000, v / 100 % 100, v % 100)
    }

    /// The `yyyymmdd` number (for storage).
    pub fn as_u32(self) -> u32 {
        self.0
    }

    /// A date from its `yyyymmdd` number, if it is a real date.
    pub fn from_u32(v: u32) -> Option<Date> {
        Date::from_ymd(v / 10_000, v / 100 % 100, v % 100)
    }

    pub fn year(self) -> u16 {
        (self.0 / 10_000) as u16
    }

    pub fn month(self) -> u32 {
        self.0 / 100 % 100
    }

    pub fn day(self) -> u32 {
        self.0 % 100
    }

    /// Days since 1900-01-01, for differences between dates.
    pub fn day_number(self) -> i64 {
        // Howard Hinnant's days_from_civil, shifted so that 1900-01-01 is 0.
        let (y, m, d) = (
            i64::from(self.year()),
            i64::from(self.month()),
            i64::from(self.day()),
        );
        let y = if m <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468 + DAYS_1900_TO_1970
    }

    /// The date `days` after this one (negative goes back).
    pub fn add_days(self, days: i64) -> Option<Date> {
        let z = self.day_number() + days - DAYS_1900_TO_1970 + 719_468;
        // civil_from_days (Howard Hinnant), for z counted from 0000-03-01.
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = if m <= 2 { y + 1 } else { y };
        Date::from_ymd(u32::try_from(y).ok()?, m as u32, d as u32)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.year(),
            self.month(),
            self.day()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_dates_only() {
        assert_eq!(Date::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
        assert!(Date::parse("2023-02-29").is_none());
        assert!(Date::parse("2024-13-01").is_none());
        assert!(Date::parse("2024-1-01").is_none());
        assert!(Date::parse("2024-01-01T").is_none());
        assert!(Date::parse("２０２４-01-01").is_none());
        assert_eq!(
            Date::parse_compact("19400101").unwrap().to_string(),
            "1940-01-01"
        );
        assert!(Date::parse("2024-01-02").unwrap() > Date::parse("2024-01-01").unwrap());
    }

    #[test]
    fn day_arithmetic_round_trips() {
        let d = Date::parse("2024-02-28").unwrap();
        assert_eq!(d.add_days(1).unwrap().to_string(), "2024-02-29");
        assert_eq!(d.add_days(2).unwrap().to_string(), "2024-03-01");
        assert_eq!(d.add_days(-59).unwrap().to_string(), "2023-12-31");
        let a = Date::parse("1900-01-01").unwrap();
        assert_eq!(a.day_number(), 0);
        let b = Date::parse("2024-12-31").unwrap();
        assert_eq!(a.add_days(b.day_number()).unwrap(), b);
    }
}
