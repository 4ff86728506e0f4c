//! `date` and `datetime` dialog elements: their declared limits (earliest and latest day, time
//! interval, time zone) and the check of a submitted value against them.
//!
//! Mattermost's clients submit a date as `YYYY-MM-DD` and a datetime as
//! `YYYY-MM-DDTHH:mm:ss`, optional fractional seconds, then `Z` or `±HH:MM` (the mobile app's
//! `DATETIME_FORMAT_PATTERN`, `Moment.toISOString()`); both pass through the browser, so the
//! same shapes and the limits are enforced again here. Relative limits (`today`, `+7d`) are
//! reckoned on the day of the submission in the declared time zone, as the picker does on the
//! day it is shown.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::spec::{ElementSpec, ElementType};

/// One end of the allowed range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// A fixed day.
    Day(Date),
    /// Days from today (in the element's time zone).
    FromToday(i32),
}

impl Bound {
    fn parse(text: &str) -> Result<Bound, String> {
        match text {
            "today" => return Ok(Bound::FromToday(0)),
            "tomorrow" => return Ok(Bound::FromToday(1)),
            "yesterday" => return Ok(Bound::FromToday(-1)),
            _ => {}
        }
        if let Some(days) = relative_days(text) {
            return Ok(Bound::FromToday(days));
        }
        parse_day(text).map(Bound::Day).ok_or_else(|| {
            format!(
                "`{text}` is not a day: write YYYY-MM-DD, `today`, `tomorrow`, `yesterday`, or ±N followed by d (days) or w (weeks)"
            )
        })
    }

    fn resolve(self, today: Date) -> Option<Date> {
        match self {
            Bound::Day(d) => Some(d),
            Bound::FromToday(n) => today.checked_add(jiff::Span::new().days(n)).ok(),
        }
    }
}

/// `+7d`, `-2w` (Mattermost's relative forms also include months and hours, which it reads
/// differently in the server and the web client; they are refused here to avoid guessing).
fn relative_days(text: &str) -> Option<i32> {
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let body = text.get(1..)?;
    let (number, unit) = body.split_at(body.len().checked_sub(1)?);
    if number.is_empty() || number.len() > 3 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i32 = number.parse().ok()?;
    match unit {
        "d" => Some(sign * n),
        "w" => Some(sign * n * 7),
        _ => None,
    }
}

/// The datetime shape Mattermost's clients send and check.
static DATETIME_SHAPE: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$").ok()
});

/// `YYYY-MM-DD` exactly (no time, no week dates, no signs).
fn parse_day(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    text.parse::<Date>().ok()
}

/// The compiled limits of one date or datetime element.
#[derive(Debug, Clone)]
pub(crate) struct DateRule {
    with_time: bool,
    min: Option<Bound>,
    max: Option<Bound>,
    interval: Option<u32>,
    zone: TimeZone,
}

impl DateRule {
    /// The limits of `spec` (a date or datetime element), or the problems with them as
    /// (key, message).
    pub(crate) fn compile(spec: &ElementSpec) -> Result<DateRule, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let mut bound = |key: &'static str, text: &Option<String>| match text {
            None => None,
            Some(t) => match Bound::parse(t) {
                Ok(b) => Some(b),
                Err(e) => {
                    problems.push((key, e));
                    None
                }
            },
        };
        let min = bound("min_date", &spec.min_date);
        let max = bound("max_date", &spec.max_date);
        if let (Some(Bound::Day(a)), Some(Bound::Day(b))) = (min, max) {
            if a > b {
                problems.push(("min_date", "is after max_date".to_owned()));
            }
        }
        let with_time = spec.kind == ElementType::Datetime;
        if let Some(n) = spec.time_interval {
            if !with_time {
                problems.push((
                    "time_interval",
                    "only a datetime has a time_interval".into(),
                ));
            } else if n == 0 || n > 1440 || 1440 % n != 0 {
                problems.push((
                    "time_interval",
                    format!("{n} is not a divisor of 1440 minutes (a day) between 1 and 1440"),
                ));
            }
        }
        let zone = match &spec.time_zone {
            None => TimeZone::UTC,
            Some(name) => match TimeZone::get(name) {
                Ok(z) => z,
                Err(_) => {
                    problems.push((
                        "time_zone",
                        format!("`{name}` is not an IANA time zone name"),
                    ));
                    TimeZone::UTC
                }
            },
        };
        if problems.is_empty() {
            Ok(DateRule {
                with_time,
                min,
                max,
                interval: spec.time_interval,
                zone,
            })
        } else {
            Err(problems)
        }
    }

    /// Checks a submitted value (not blank) at `now`; the message for the user if it fails.
    pub(crate) fn check(&self, text: &str, now: Timestamp) -> Result<(), String> {
        let (day, minute_of_day, whole_minute) = if self.with_time {
            let shaped = DATETIME_SHAPE.as_ref().is_some_and(|r| r.is_match(text));
            let ts: Timestamp = text
                .parse()
                .ok()
                .filter(|_| shaped)
                .ok_or("Enter a date and time like 2026-03-01T09:30:00Z.")?;
            let local = ts.to_zoned(self.zone.clone());
            let minute = i32::from(local.hour()) * 60 + i32::from(local.minute());
            let whole = local.second() == 0 && local.subsec_nanosecond() == 0;
            (local.date(), minute, whole)
        } else {
            (
                parse_day(text).ok_or("Enter a date like 2026-03-01.")?,
                0,
                true,
            )
        };
        let today = now.to_zoned(self.zone.clone()).date();
        if let Some(min) = self.min.and_then(|b| b.resolve(today)) {
            if day < min {
                return Err(format!("Choose {min} or later."));
            }
        }
        if let Some(max) = self.max.and_then(|b| b.resolve(today)) {
            if day > max {
                return Err(format!("Choose {max} or earlier."));
            }
        }
        if let Some(n) = self.interval {
            let step = i32::try_from(n).unwrap_or(1);
            if !whole_minute || minute_of_day % step != 0 {
                return Err(format!("Choose a time on the {n}-minute steps offered."));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rule(toml_text: &str) -> DateRule {
        let spec: ElementSpec = toml::from_str(toml_text).unwrap();
        DateRule::compile(&spec).unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_date_is_checked_for_form_and_range() {
        let r = rule(
            "name='d'\ndisplay_name='D'\ntype='date'\nmin_date='2026-03-01'\nmax_date='2026-03-31'",
        );
        let now = at("2026-01-01T00:00:00Z");
        assert_eq!(r.check("2026-03-15", now), Ok(()));
        assert_eq!(
            r.check("2026-04-01", now),
            Err("Choose 2026-03-31 or earlier.".into())
        );
        assert_eq!(
            r.check("2026-02-28", now),
            Err("Choose 2026-03-01 or later.".into())
        );
        for bad in [
            "2026-3-15",
            "15.03.2026",
            "2026-02-30",
            "2026-03-15T10:00:00Z",
            "+2026-03-15",
        ] {
            assert_eq!(
                r.check(bad, now),
                Err("Enter a date like 2026-03-01.".into()),
                "{bad}"
            );
        }
    }

    #[test]
    fn relative_limits_count_from_today_in_the_zone() {
        let r = rule(
            "name='d'\ndisplay_name='D'\ntype='date'\nmin_date='today'\nmax_date='+1w'\ntime_zone='Pacific/Auckland'",
        );
        // 2026-03-01T20:00Z is already 2 March in Auckland.
        let now = at("2026-03-01T20:00:00Z");
        assert!(r.check("2026-03-01", now).is_err());
        assert_eq!(r.check("2026-03-02", now), Ok(()));
        assert_eq!(r.check("2026-03-09", now), Ok(()));
        assert!(r.check("2026-03-10", now).is_err());
    }

    #[test]
    fn a_datetime_falls_on_the_interval_in_its_zone() {
        let r = rule(
            "name='t'\ndisplay_name='T'\ntype='datetime'\ntime_interval=30\nmax_date='2026-03-31'\ntime_zone='Asia/Kolkata'",
        );
        let now = at("2026-01-01T00:00:00Z");
        // 04:00Z is 09:30 in Kolkata (+05:30): on the step.
        assert_eq!(r.check("2026-03-01T04:00:00Z", now), Ok(()));
        assert_eq!(r.check("2026-03-01T09:30:00+05:30", now), Ok(()));
        assert!(r.check("2026-03-01T04:15:00Z", now).is_err());
        assert!(r.check("2026-03-01T04:00:01Z", now).is_err());
        // 20:00Z on the 31st is 1 April in Kolkata.
        assert_eq!(
            r.check("2026-03-31T20:00:00Z", now),
            Err("Choose 2026-03-31 or earlier.".into())
        );
        assert_eq!(r.check("2026-03-01T04:00:00.000Z", now), Ok(()));
        for bad in [
            "2026-03-01",
            "2026-03-01T04:00:00",
            "tomorrow",
            "2026-03-01T04:00Z",
            "2026-03-01t04:00:00z",
            "2026-03-01T09:30:00+0530",
            "2026-03-01T04:00:00Z\n",
        ] {
            assert!(r.check(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_limits_are_declaration_problems() {
        let spec: ElementSpec = toml::from_str(
            "name='t'\ndisplay_name='T'\ntype='datetime'\ntime_interval=7\nmin_date='+1m'\ntime_zone='Mars/Olympus'",
        )
        .unwrap();
        let keys: Vec<_> = DateRule::compile(&spec)
            .unwrap_err()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec!["min_date", "time_interval", "time_zone"]);
    }
}
