//! Wall-clock date and time for CPIM `DateTime` (RFC 3862 §4.4), is-composing `lastactive`
//! (RFC 3994 §4) and file-date (RFC 5547 §6): the RFC 3339 §5.6 text form and the civil
//! calendar arithmetic behind it, without a time crate.
//!
//! The core never reads a clock: a shell that needs "now" passes it in, for instance with
//! [`DateTime::from_unix`] on the seconds it read from the system or from `Date.now()`.

use core::fmt;
use core::str::FromStr;
use core::time::Duration;

/// Longest RFC 3339 text accepted; real timestamps are about 35 bytes.
const MAX_TEXT_LEN: usize = 64;

/// A date and time of day with a UTC offset, to the nanosecond.
///
/// Equality compares the written fields, so `13:40:00-08:00` and `21:40:00Z` are different
/// values for the same instant; [`DateTime::unix_seconds`] compares instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    nanosecond: u32,
    offset_minutes: i16,
}

/// Why a date and time was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DateTimeError {
    /// The text does not follow the expected grammar.
    Syntax,
    /// A field is out of range: month 13, 31 April, 25 o'clock, an offset past ±23:59, ...
    OutOfRange,
    /// The text is longer than any valid timestamp.
    TooLong,
}

impl fmt::Display for DateTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateTimeError::Syntax => f.write_str("malformed date-time"),
            DateTimeError::OutOfRange => f.write_str("date-time field out of range"),
            DateTimeError::TooLong => f.write_str("date-time text too long"),
        }
    }
}

impl std::error::Error for DateTimeError {}

/// `true` for Gregorian leap years.
fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` (1–12) of `year`.
pub(crate) fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days from 1970-01-01 to the given civil date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    // Both values fit in u8: day 1..=31, month 1..=12.
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

impl DateTime {
    /// A UTC date and time; `second` may be 60 for a leap second.
    pub fn new(
        year: u16,
        month: u8,
        day: u8,
        hour: u8,
        minute: u8,
        second: u8,
    ) -> Result<DateTime, DateTimeError> {
        let valid = year <= 9999
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(i64::from(year), month)
            && hour <= 23
            && minute <= 59
            && second <= 60;
        if !valid {
            return Err(DateTimeError::OutOfRange);
        }
        Ok(DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
            nanosecond: 0,
            offset_minutes: 0,
        })
    }

    /// The same fields with a fraction of a second, below 1,000,000,000.
    pub fn with_nanosecond(self, nanosecond: u32) -> Result<DateTime, DateTimeError> {
        if nanosecond >= 1_000_000_000 {
            return Err(DateTimeError::OutOfRange);
        }
        Ok(DateTime { nanosecond, ..self })
    }

    /// The same fields read as local time at `offset_minutes` east of UTC (±23:59 at most).
    pub fn with_offset_minutes(self, offset_minutes: i16) -> Result<DateTime, DateTimeError> {
        if offset_minutes.unsigned_abs() > 23 * 60 + 59 {
            return Err(DateTimeError::OutOfRange);
        }
        Ok(DateTime {
            offset_minutes,
            ..self
        })
    }

    /// The instant `secs` seconds and `nanos` nanoseconds after 1970-01-01T00:00:00Z, written
    /// in local time at `offset_minutes`. `None` outside years 0000–9999 or for a bad offset.
    pub fn from_unix(secs: i64, nanos: u32, offset_minutes: i16) -> Option<DateTime> {
        if nanos >= 1_000_000_000 || offset_minutes.unsigned_abs() > 23 * 60 + 59 {
            return None;
        }
        let local = secs.checked_add(i64::from(offset_minutes) * 60)?;
        let (year, month, day) = civil_from_days(local.div_euclid(86_400));
        let rem = local.rem_euclid(86_400);
        let year = u16::try_from(year).ok().filter(|y| *y <= 9999)?;
        // rem < 86400, so each part fits in u8.
        DateTime::new(
            year,
            month,
            day,
            (rem / 3600) as u8,
            (rem / 60 % 60) as u8,
            (rem % 60) as u8,
        )
        .ok()?
        .with_nanosecond(nanos)
        .ok()?
        .with_offset_minutes(offset_minutes)
        .ok()
    }

    /// Seconds since 1970-01-01T00:00:00Z (a leap second counts as the next second).
    pub fn unix_seconds(&self) -> i64 {
        let days = days_from_civil(i64::from(self.year), self.month, self.day);
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(self.offset_minutes) * 60
    }

    /// Milliseconds since 1970-01-01T00:00:00Z.
    pub fn unix_millis(&self) -> i64 {
        self.unix_seconds() * 1000 + i64::from(self.nanosecond / 1_000_000)
    }

    /// This instant plus `d`, in the same offset; `None` past year 9999.
    pub fn checked_add(&self, d: Duration) -> Option<DateTime> {
        let total = i128::from(self.unix_seconds()) * 1_000_000_000
            + i128::from(self.nanosecond)
            + i128::try_from(d.as_nanos()).ok()?;
        Self::from_unix_nanos(total, self.offset_minutes)
    }

    /// This instant minus `d`, in the same offset; `None` before year 0000.
    pub fn checked_sub(&self, d: Duration) -> Option<DateTime> {
        let total = i128::from(self.unix_seconds()) * 1_000_000_000 + i128::from(self.nanosecond)
            - i128::try_from(d.as_nanos()).ok()?;
        Self::from_unix_nanos(total, self.offset_minutes)
    }

    fn from_unix_nanos(total: i128, offset_minutes: i16) -> Option<DateTime> {
        let secs = i64::try_from(total.div_euclid(1_000_000_000)).ok()?;
        let nanos = u32::try_from(total.rem_euclid(1_000_000_000)).ok()?;
        Self::from_unix(secs, nanos, offset_minutes)
    }

    /// The year, 0–9999.
    pub fn year(&self) -> u16 {
        self.year
    }
    /// The month, 1–12.
    pub fn month(&self) -> u8 {
        self.month
    }
    /// The day of the month, 1–31.
    pub fn day(&self) -> u8 {
        self.day
    }
    /// The hour, 0–23.
    pub fn hour(&self) -> u8 {
        self.hour
    }
    /// The minute, 0–59.
    pub fn minute(&self) -> u8 {
        self.minute
    }
    /// The second, 0–60 (60 only for a leap second).
    pub fn second(&self) -> u8 {
        self.second
    }
    /// The fraction of the second in nanoseconds.
    pub fn nanosecond(&self) -> u32 {
        self.nanosecond
    }
    /// The UTC offset of the written fields, in minutes east of UTC.
    pub fn offset_minutes(&self) -> i16 {
        self.offset_minutes
    }

    /// The day of the week, 0 for Sunday to 6 for Saturday.
    pub fn weekday(&self) -> u8 {
        // 1970-01-01 was a Thursday; the result is in 0..7.
        (days_from_civil(i64::from(self.year), self.month, self.day) + 4).rem_euclid(7) as u8
    }

    /// Parses an RFC 3339 §5.6 `date-time`: `2000-12-13T13:40:00-08:00`,
    /// `2003-01-27T10:43:00.25Z`. A space may replace the `T` (RFC 3339 §5.6 note);
    /// digits of the fraction past the ninth are dropped.
    pub fn parse_rfc3339(s: &str) -> Result<DateTime, DateTimeError> {
        if s.len() > MAX_TEXT_LEN {
            return Err(DateTimeError::TooLong);
        }
        let mut c = Cursor {
            b: s.as_bytes(),
            i: 0,
        };
        let year = c.digits(4)?;
        c.expect(b'-')?;
        let month = c.digits(2)?;
        c.expect(b'-')?;
        let day = c.digits(2)?;
        match c.next() {
            Some(b'T' | b't' | b' ') => {}
            _ => return Err(DateTimeError::Syntax),
        }
        let hour = c.digits(2)?;
        c.expect(b':')?;
        let minute = c.digits(2)?;
        c.expect(b':')?;
        let second = c.digits(2)?;
        let mut nanosecond = 0u32;
        if c.peek() == Some(b'.') {
            c.i += 1;
            let start = c.i;
            let mut scale = 100_000_000u32;
            while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
                nanosecond += u32::from(d - b'0') * scale;
                scale /= 10;
                c.i += 1;
            }
            if c.i == start {
                return Err(DateTimeError::Syntax);
            }
        }
        let offset = match c.next() {
            Some(b'Z' | b'z') => 0i32,
            Some(sign @ (b'+' | b'-')) => {
                let h = c.digits(2)? as i32;
                c.expect(b':')?;
                let m = c.digits(2)? as i32;
                if h > 23 || m > 59 {
                    return Err(DateTimeError::OutOfRange);
                }
                if sign == b'-' {
                    -(h * 60 + m)
                } else {
                    h * 60 + m
                }
            }
            _ => return Err(DateTimeError::Syntax),
        };
        if c.i != c.b.len() {
            return Err(DateTimeError::Syntax);
        }
        let narrow = |v: u32| u8::try_from(v).map_err(|_| DateTimeError::OutOfRange);
        DateTime::new(
            u16::try_from(year).map_err(|_| DateTimeError::OutOfRange)?,
            narrow(month)?,
            narrow(day)?,
            narrow(hour)?,
            narrow(minute)?,
            narrow(second)?,
        )?
        .with_nanosecond(nanosecond)?
        .with_offset_minutes(i16::try_from(offset).map_err(|_| DateTimeError::OutOfRange)?)
    }

    /// Writes the RFC 3339 form: `Z` for a zero offset and the fraction without trailing zeros.
    pub fn write_rfc3339(&self, out: &mut String) {
        use fmt::Write;
        // Writing to a String cannot fail.
        let _ = write!(out, "{self}");
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.nanosecond != 0 {
            let mut frac = self.nanosecond;
            let mut width = 9;
            while frac % 10 == 0 {
                frac /= 10;
                width -= 1;
            }
            write!(f, ".{frac:0width$}")?;
        }
        if self.offset_minutes == 0 {
            f.write_str("Z")
        } else {
            let sign = if self.offset_minutes < 0 { '-' } else { '+' };
            let abs = self.offset_minutes.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", abs / 60, abs % 60)
        }
    }
}

impl FromStr for DateTime {
    type Err = DateTimeError;
    fn from_str(s: &str) -> Result<DateTime, DateTimeError> {
        DateTime::parse_rfc3339(s)
    }
}

/// A byte cursor for the fixed-width grammars of RFC 3339 and RFC 5322 dates.
pub(crate) struct Cursor<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) i: usize,
}

impl Cursor<'_> {
    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    pub(crate) fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    pub(crate) fn expect(&mut self, want: u8) -> Result<(), DateTimeError> {
        match self.next() {
            Some(c) if c == want => Ok(()),
            _ => Err(DateTimeError::Syntax),
        }
    }

    /// Exactly `n` ASCII digits (n ≤ 9) as a number.
    pub(crate) fn digits(&mut self, n: usize) -> Result<u32, DateTimeError> {
        let mut v = 0u32;
        for _ in 0..n {
            match self.next() {
                Some(d) if d.is_ascii_digit() => v = v * 10 + u32::from(d - b'0'),
                _ => return Err(DateTimeError::Syntax),
            }
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_across_eras() {
        for days in [-719_528, -1, 0, 1, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn fraction_formatting_trims_zeros() {
        let t = DateTime::new(2003, 1, 27, 10, 43, 0)
            .and_then(|t| t.with_nanosecond(250_000_000))
            .expect("valid");
        assert_eq!(t.to_string(), "2003-01-27T10:43:00.25Z");
    }
}
