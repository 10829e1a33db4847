//! Time as the JSON contracts and the log commands write it: unix seconds as RFC 3339 in UTC
//! (`2026-11-26T06:14:00Z`), and the dates `--since` accepts. The calendar is the `time`
//! crate's; nothing here reads the clock.

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, Time};

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years RFC 3339 can write.
const FIRST: i64 = -62_167_219_200;
const LAST: i64 = 253_402_300_799;

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`; outside the years 0000 to 9999, the
/// nearest end of that range (a certificate can say anything).
pub fn rfc3339(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs.clamp(FIRST, LAST))
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// Parses `--since`: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SSZ`, or unix seconds.
pub fn parse_since(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(secs);
    }
    let bad = || format!("`{text}` is not a date (YYYY-MM-DD) or unix seconds");
    let (date, time) = text.split_once('T').unwrap_or((text, "00:00:00Z"));
    let mut parts = date.split('-').map(|p| p.parse::<i32>());
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(d)), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let month = u8::try_from(m)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(bad)?;
    let day = u8::try_from(d).map_err(|_| bad())?;
    let date = Date::from_calendar_date(y, month, day).map_err(|_| bad())?;
    let mut hms = time
        .trim_end_matches('Z')
        .split(':')
        .map(|p| p.parse::<i64>());
    let (Some(Ok(hh)), Some(Ok(mm)), Some(Ok(ss))) = (hms.next(), hms.next(), hms.next()) else {
        return Err(bad());
    };
    let midnight = date.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp();
    u64::try_from(midnight + hh * 3600 + mm * 60 + ss).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_609_459_200), "2021-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    fn dates_beyond_what_rfc3339_writes_stop_at_its_ends() {
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(i64::MIN), "0000-01-01T00:00:00Z");
    }

    #[test]
    fn since_takes_dates_times_and_seconds() {
        assert_eq!(parse_since("2021-01-01"), Ok(1_609_459_200));
        assert_eq!(parse_since("2000-02-29T00:00:00Z"), Ok(951_782_400));
        assert_eq!(parse_since(" 42 "), Ok(42));
        assert!(parse_since("2021-02-30").is_err());
        assert!(parse_since("1969-12-31").is_err());
    }
}
