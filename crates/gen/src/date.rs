//! Civil (proleptic Gregorian) dates as day numbers, without a date crate.
//!
//! Day numbers count days since 1970-01-01; the conversions are Howard Hinnant's
//! `days_from_civil` / `civil_from_days`, exact for every year the generator accepts.

/// Day number (days since 1970-01-01) of the civil date `y-m-d`.
pub(crate) fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = (y - era * 400) as u32;
    let mp = (m + 9) % 12; // March = 0, so the leap day ends the year
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i32 - 719_468
}

/// Civil date `(y, m, d)` of a day number.
pub(crate) fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = (z - era * 146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i32 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Number of days in calendar year `y` (365 or 366).
pub(crate) fn days_in_year(y: i32) -> u16 {
    if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
        366
    } else {
        365
    }
}

/// Appends `YYYY-MM-DD` for a day number.
pub(crate) fn push_date(buf: &mut Vec<u8>, day: i32) {
    buf.extend_from_slice(&format_date(day));
}

/// `YYYY-MM-DD` bytes of a day number (years 0..=9999).
pub(crate) fn format_date(day: i32) -> [u8; 10] {
    let (y, m, d) = civil_from_days(day);
    let y = y.clamp(0, 9999) as u32;
    [
        b'0' + (y / 1000) as u8,
        b'0' + (y / 100 % 10) as u8,
        b'0' + (y / 10 % 10) as u8,
        b'0' + (y % 10) as u8,
        b'-',
        b'0' + (m / 10) as u8,
        b'0' + (m % 10) as u8,
        b'-',
        b'0' + (d / 10) as u8,
        b'0' + (d % 10) as u8,
    ]
}

/// The policy year: its first day number and length, plus the formatted date of every
/// day (claims print two dates each, so they are formatted once).
pub(crate) struct Year {
    /// Calendar year, e.g. 2024.
    pub year: i32,
    /// Day number of 1 January.
    pub jan1: i32,
    /// Days in the year.
    pub len: u16,
    /// `YYYY-MM-DD` of each day of the year, indexed by day of year (0-based).
    pub dates: Vec<[u8; 10]>,
    /// Month (0-based) of each day of the year.
    pub month: Vec<u8>,
}

impl Year {
    pub(crate) fn new(year: i32) -> Year {
        let jan1 = days_from_civil(year, 1, 1);
        let len = days_in_year(year);
        let dates = (0..i32::from(len)).map(|d| format_date(jan1 + d)).collect();
        let month = (0..i32::from(len))
            .map(|d| (civil_from_days(jan1 + d).1 - 1) as u8)
            .collect();
        Year {
            year,
            jan1,
            len,
            dates,
            month,
        }
    }

    /// Day of year (0-based) of the first day of month `m` (1-based).
    pub(crate) fn month_start(&self, m: u32) -> u16 {
        (days_from_civil(self.year, m, 1) - self.jan1) as u16
    }
}

/// Completed years of age on day `on` for someone born on day `birth`.
pub(crate) fn age_on(birth: i32, on: i32) -> u32 {
    let (by, bm, bd) = civil_from_days(birth);
    let (y, m, d) = civil_from_days(on);
    let mut age = y - by;
    if (m, d) < (bm, bd) {
        age -= 1;
    }
    age.max(0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        for z in -800_000..80_000 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(&format_date(days_from_civil(2024, 2, 29)), b"2024-02-29");
        assert_eq!(days_in_year(2024), 366);
        assert_eq!(days_in_year(1900), 365);
        assert_eq!(days_in_year(2000), 366);
    }

    #[test]
    fn ages() {
        let b = days_from_civil(2000, 2, 29);
        assert_eq!(age_on(b, days_from_civil(2024, 2, 28)), 23);
        assert_eq!(age_on(b, days_from_civil(2024, 2, 29)), 24);
        assert_eq!(age_on(b, days_from_civil(1990, 1, 1)), 0);
    }
}
