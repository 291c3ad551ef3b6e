//! Calendar days and timestamps. The core never reads a clock: every time comes from the caller and is
//! recorded in the entry it belongs to.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Milliseconds since 1970-01-01T00:00:00Z, as supplied by whoever appends the entry.
pub type Millis = i64;

/// Milliseconds in one day.
pub const MS_PER_DAY: i64 = 86_400_000;

/// A calendar day (UTC), counted in days since 1970-01-01. Written as `YYYY-MM-DD` in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Day(pub i32);

impl Day {
    /// The UTC day that contains the instant `ms`.
    pub fn from_millis(ms: Millis) -> Day {
        Day(ms.div_euclid(MS_PER_DAY) as i32)
    }

    /// The first millisecond of this day.
    pub fn start_millis(self) -> Millis {
        self.0 as i64 * MS_PER_DAY
    }

    /// Builds a day from a proleptic Gregorian date, or `None` if the date does not exist.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Day> {
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || !(1..=9999).contains(&y) {
            return None;
        }
        // Howard Hinnant's days_from_civil.
        let y = if m <= 2 { y - 1 } else { y } as i64;
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m as i64 + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(Day((era * 146_097 + doe - 719_468) as i32))
    }

    /// The (year, month, day) of this day.
    pub fn ymd(self) -> (i32, u32, u32) {
        // Howard Hinnant's civil_from_days.
        let z = self.0 as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Day, String> {
        let bad = || format!("{s:?} is not a date in the form YYYY-MM-DD");
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32, String> {
            let part = &s[r];
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        Day::from_ymd(y as i32, m, d).ok_or_else(|| format!("{s:?} is not a date that exists"))
    }
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Debug for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Day({self})")
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::ids::parse_str(d, Day::parse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_zero_is_the_unix_epoch() {
        assert_eq!(Day(0).to_string(), "1970-01-01");
        assert_eq!(Day::parse("1970-01-01").unwrap(), Day(0));
    }

    #[test]
    fn dates_round_trip_across_leap_years() {
        for n in -719_162..2_932_896 {
            if n % 997 != 0 {
                continue;
            }
            let d = Day(n);
            assert_eq!(Day::parse(&d.to_string()), Ok(d), "{n}");
        }
        assert_eq!(Day::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
    }

    #[test]
    fn impossible_dates_are_refused() {
        for s in [
            "2023-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-1-1",
            "tomorrow",
            "2026-04-31",
        ] {
            assert!(Day::parse(s).is_err(), "{s}");
        }
    }

    #[test]
    fn millis_map_to_utc_days() {
        assert_eq!(Day::from_millis(MS_PER_DAY - 1), Day(0));
        assert_eq!(Day::from_millis(-1), Day(-1));
        assert_eq!(Day(20_000).start_millis(), 20_000 * MS_PER_DAY);
    }
}
