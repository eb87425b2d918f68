//! The RFC 5322 §3.3 date-time that `file-date` carries (RFC 5547 §6):
//! `Mon, 15 May 2006 15:01:31 +0300`.

use crate::cpim::{DateTime, DateTimeError};

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
/// Longest text accepted; real dates are about 31 bytes.
const MAX_TEXT_LEN: usize = 64;

/// Parses `[day-of-week ","] day month year hour ":" minute [":" second] zone`. The zone is
/// numeric (`+0300`) as RFC 5547 requires; `GMT`, `UT` and `Z` are read as `+0000`. The
/// day of the week, when present, must be a valid name but is not checked against the date.
pub fn parse_rfc5322(s: &str) -> Result<DateTime, DateTimeError> {
    use DateTimeError::{OutOfRange, Syntax};
    if s.len() > MAX_TEXT_LEN {
        return Err(DateTimeError::TooLong);
    }
    let rest = match s.split_once(',') {
        Some((dow, rest)) => {
            if !DAYS.iter().any(|d| d.eq_ignore_ascii_case(dow.trim())) {
                return Err(Syntax);
            }
            rest
        }
        None => s,
    };
    let mut words = rest.split_whitespace();
    let (Some(day), Some(month), Some(year), Some(time), Some(zone), None) = (
        words.next(),
        words.next(),
        words.next(),
        words.next(),
        words.next(),
        words.next(),
    ) else {
        return Err(Syntax);
    };
    let num = |s: &str, min: usize, max: usize| -> Result<u32, DateTimeError> {
        if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Syntax);
        }
        s.parse().map_err(|_| Syntax)
    };
    let day = num(day, 1, 2)?;
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month))
        .ok_or(Syntax)?
        + 1;
    let year = num(year, 4, 4)?;
    let mut hms = time.split(':');
    let hour = num(hms.next().ok_or(Syntax)?, 2, 2)?;
    let minute = num(hms.next().ok_or(Syntax)?, 2, 2)?;
    let second = hms.next().map_or(Ok(0), |s| num(s, 2, 2))?;
    if hms.next().is_some() {
        return Err(Syntax);
    }
    let offset = match zone.as_bytes() {
        [sign @ (b'+' | b'-'), ..] if zone.len() == 5 => {
            let hhmm = num(zone.get(1..).ok_or(Syntax)?, 4, 4)?;
            let (h, m) = (hhmm / 100, hhmm % 100);
            if h > 23 || m > 59 {
                return Err(OutOfRange);
            }
            let minutes = (h * 60 + m) as i16;
            if *sign == b'-' {
                -minutes
            } else {
                minutes
            }
        }
        _ if ["GMT", "UT", "Z"]
            .iter()
            .any(|z| z.eq_ignore_ascii_case(zone)) =>
        {
            0
        }
        _ => return Err(Syntax),
    };
    let narrow = |v: u32| u8::try_from(v).map_err(|_| OutOfRange);
    DateTime::new(
        u16::try_from(year).map_err(|_| OutOfRange)?,
        narrow(month as u32)?,
        narrow(day)?,
        narrow(hour)?,
        narrow(minute)?,
        narrow(second)?,
    )?
    .with_offset_minutes(offset)
}

/// Writes `d` as `Mon, 15 May 2006 15:01:31 +0300`, dropping any fraction of a second.
pub fn format_rfc5322(d: &DateTime) -> String {
    let dow = DAYS.get(usize::from(d.weekday())).copied().unwrap_or("Sun");
    let month = MONTHS
        .get(usize::from(d.month()).saturating_sub(1))
        .copied()
        .unwrap_or("Jan");
    let off = d.offset_minutes();
    let sign = if off < 0 { '-' } else { '+' };
    let abs = off.unsigned_abs();
    format!(
        "{dow}, {} {month} {:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
        d.day(),
        d.year(),
        d.hour(),
        d.minute(),
        d.second(),
        abs / 60,
        abs % 60
    )
}
