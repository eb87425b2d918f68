//! The Date header (RFC 3261 §20.17): an RFC 1123 date, always in GMT.

use super::HeaderError;
use core::fmt;

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A `SIP-date` (RFC 3261 §25.1 `rfc1123-date`): `Sat, 13 Nov 2010 23:29:00 GMT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipDate {
    /// The year, four digits.
    pub year: u16,
    /// The month, 1 to 12.
    pub month: u8,
    /// The day of the month, 1 to 31.
    pub day: u8,
    /// The hour, 0 to 23.
    pub hour: u8,
    /// The minute, 0 to 59.
    pub minute: u8,
    /// The second, 0 to 60 (a leap second).
    pub second: u8,
}

fn two_digits(s: &str) -> Option<u8> {
    (s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

impl SipDate {
    /// Parses an RFC 1123 date. Any zone but `GMT` is refused (RFC 4475 §3.1.2.12 baddate:
    /// "EST" is not allowed), and so is a weekday or day that does not fit the date.
    pub fn parse(s: &str) -> Result<SipDate, HeaderError> {
        let bad = HeaderError::Malformed("Date");
        let mut it = s.split_whitespace();
        let (Some(wkday), Some(day), Some(month), Some(year), Some(time), Some(zone), None) = (
            it.next(),
            it.next(),
            it.next(),
            it.next(),
            it.next(),
            it.next(),
            it.next(),
        ) else {
            return Err(bad);
        };
        if zone != "GMT" {
            return Err(HeaderError::OutOfRange("Date"));
        }
        let wkday = wkday.strip_suffix(',').ok_or(bad.clone())?;
        let weekday = WEEKDAYS
            .iter()
            .position(|w| *w == wkday)
            .ok_or(bad.clone())?;
        let month = MONTHS.iter().position(|m| *m == month).ok_or(bad.clone())?;
        let day = two_digits(day).ok_or(bad.clone())?;
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad);
        }
        let year: u16 = year.parse().map_err(|_| bad.clone())?;
        let mut hms = time.split(':');
        let (Some(h), Some(m), Some(sec), None) = (hms.next(), hms.next(), hms.next(), hms.next())
        else {
            return Err(bad);
        };
        let date = SipDate {
            year,
            month: month as u8 + 1,
            day,
            hour: two_digits(h).ok_or(bad.clone())?,
            minute: two_digits(m).ok_or(bad.clone())?,
            second: two_digits(sec).ok_or(bad.clone())?,
        };
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let month_days = [
            31,
            if leap { 29 } else { 28 },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        let max_day = month_days.get(month).copied().unwrap_or(31);
        if date.day == 0 || date.day > max_day || date.hour > 23 || date.minute > 59 {
            return Err(HeaderError::OutOfRange("Date"));
        }
        if date.second > 60 || date.weekday() != weekday {
            return Err(HeaderError::OutOfRange("Date"));
        }
        Ok(date)
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    fn days(&self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// Index into `WEEKDAYS` (Monday is 0).
    fn weekday(&self) -> usize {
        // 1970-01-01 was a Thursday (index 3).
        (self.days() + 3).rem_euclid(7) as usize
    }

    /// Seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.days() * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }
}

impl fmt::Display for SipDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wk = WEEKDAYS.get(self.weekday()).copied().unwrap_or("Mon");
        let mon = MONTHS
            .get(usize::from(self.month.saturating_sub(1)))
            .copied()
            .unwrap_or("Jan");
        write!(
            f,
            "{wk}, {:02} {mon} {:04} {:02}:{:02}:{:02} GMT",
            self.day, self.year, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1123_dates() {
        let d = SipDate::parse("Sat, 15 Oct 2005 04:44:56 GMT").expect("valid");
        assert_eq!((d.year, d.month, d.day, d.hour), (2005, 10, 15, 4));
        assert_eq!(d.unix_seconds(), 1_129_351_496);
        assert_eq!(d.to_string(), "Sat, 15 Oct 2005 04:44:56 GMT");
        assert_eq!(
            SipDate::parse("Fri, 01 Jan 2010 16:00:00 EST"),
            Err(HeaderError::OutOfRange("Date"))
        );
        assert!(SipDate::parse("Mon, 15 Oct 2005 04:44:56 GMT").is_err());
        assert!(SipDate::parse("Sat, 15 Oct 2005 4:44:56 GMT").is_err());
        assert!(SipDate::parse("Sat, 29 Feb 2005 04:44:56 GMT").is_err());
        assert!(SipDate::parse("Sat 15 Oct 2005 04:44:56 GMT").is_err());
    }
}
