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
        if let Some(days) = days_from_today(text) {
            return Ok(Bound::FromToday(days));
        }
        parse_day(text)
            .map(Bound::Day)
            .ok_or_else(|| format!("`{text}` is not a day: write YYYY-MM-DD, {RELATIVE_FORMS}"))
    }

    fn resolve(self, today: Date) -> Option<Date> {
        match self {
            Bound::Day(d) => Some(d),
            Bound::FromToday(n) => today.checked_add(jiff::Span::new().days(n)).ok(),
        }
    }
}

/// The relative forms [`days_from_today`] reads, for messages.
const RELATIVE_FORMS: &str =
    "`today`, `tomorrow`, `yesterday`, or ±N followed by d (days) or w (weeks)";

/// The days from today a relative date names: `today`, `tomorrow`, `yesterday`, `+7d`, `-2w`
/// (at most three digits), as written (lower case). `None` for anything else.
///
/// The one reader of relative dates: `min_date`, `max_date` and a non-template `default` at
/// load time, and the simulated web client (`dev`) resolving a `default` or a typed value, so
/// what `check` accepts is exactly what runs.
pub(crate) fn days_from_today(text: &str) -> Option<i32> {
    match text {
        "today" => Some(0),
        "tomorrow" => Some(1),
        "yesterday" => Some(-1),
        _ => relative_days(text),
    }
}

/// A date and time without offset, `YYYY-MM-DDTHH:MM[:SS]` (or a space for the `T`), read
/// in the element's time zone: a datetime `default` the web client resolves, and what `dev`
/// takes typed. The one reader of that form, for `check` and `dev` alike.
pub(crate) fn civil_datetime(text: &str) -> Option<jiff::civil::DateTime> {
    let civil = text.trim().replacen(' ', "T", 1);
    let moment = civil.parse::<jiff::civil::DateTime>().ok()?;
    (!civil.contains(['Z', 'z', '+']) && civil.matches('-').count() <= 2).then_some(moment)
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
        if !problems.is_empty() {
            return Err(problems);
        }
        let rule = DateRule {
            with_time,
            min,
            max,
            interval: spec.time_interval,
            zone,
        };
        // A default with template markup is only known when the dialog opens.
        let written = spec
            .default
            .as_deref()
            .filter(|d| !d.is_empty() && !d.contains("{{") && !d.contains("{%"));
        if let Some(problem) = written.and_then(|d| rule.default_problem(&spec.name, d)) {
            return Err(vec![("default", problem)]);
        }
        Ok(rule)
    }

    /// Why `default` (not a template) of element `name` cannot stand, if it cannot: not a
    /// form the submission check or [`days_from_today`] reads, or a value the submission
    /// check would refuse. The range is checked only against limits of the same kind (a
    /// fixed day against fixed limits, a relative one against relative limits), so the
    /// answer does not depend on the day `check` runs.
    fn default_problem(&self, name: &str, default: &str) -> Option<String> {
        let today = Timestamp::now().to_zoned(self.zone.clone()).date();
        let (value, fixed) = match days_from_today(default) {
            // The web client resolves a relative default to the day (a datetime: its
            // midnight in the element's zone, on every time step).
            Some(days) => {
                let day = Bound::FromToday(days).resolve(today)?;
                (
                    Value {
                        day,
                        minute_of_day: 0,
                        whole_minute: true,
                    },
                    false,
                )
            }
            None => match self
                .parse_value(default)
                .ok()
                .or_else(|| self.civil(default))
            {
                Some(value) => (value, true),
                None => {
                    let (what, form) = if self.with_time {
                        (
                            "a date and time",
                            "YYYY-MM-DDTHH:MM[:SS] (in the element's time zone), or followed \
                             by Z or ±HH:MM",
                        )
                    } else {
                        ("a date", "YYYY-MM-DD")
                    };
                    return Some(format!(
                        "`{default}` (the default of element `{name}`) is not {what}: write {form}, \
                         {RELATIVE_FORMS}"
                    ));
                }
            },
        };
        let same_kind = |bound: Bound| match (bound, fixed) {
            (Bound::Day(day), true) => Some(day),
            (Bound::FromToday(_), false) => bound.resolve(today),
            _ => None,
        };
        self.check_range(value, same_kind).err().map(|refusal| {
            format!("`{default}` (the default of element `{name}`) would be refused on submit: {refusal}")
        })
    }

    /// A datetime `default` without offset ([`civil_datetime`]), in the element's zone, as
    /// the web client resolves it and submits it.
    fn civil(&self, text: &str) -> Option<Value> {
        if !self.with_time {
            return None;
        }
        let local = civil_datetime(text)?.to_zoned(self.zone.clone()).ok()?;
        Some(Value {
            day: local.date(),
            minute_of_day: i32::from(local.hour()) * 60 + i32::from(local.minute()),
            whole_minute: local.second() == 0 && local.subsec_nanosecond() == 0,
        })
    }

    /// A submitted value in the form the clients send, or the message for the user.
    fn parse_value(&self, text: &str) -> Result<Value, &'static str> {
        if self.with_time {
            let shaped = DATETIME_SHAPE.as_ref().is_some_and(|r| r.is_match(text));
            let ts: Timestamp = text
                .parse()
                .ok()
                .filter(|_| shaped)
                .ok_or("Enter a date and time like 2026-03-01T09:30:00Z.")?;
            let local = ts.to_zoned(self.zone.clone());
            Ok(Value {
                day: local.date(),
                minute_of_day: i32::from(local.hour()) * 60 + i32::from(local.minute()),
                whole_minute: local.second() == 0 && local.subsec_nanosecond() == 0,
            })
        } else {
            Ok(Value {
                day: parse_day(text).ok_or("Enter a date like 2026-03-01.")?,
                minute_of_day: 0,
                whole_minute: true,
            })
        }
    }

    /// Checks a submitted value (not blank) at `now`; the message for the user if it fails.
    pub(crate) fn check(&self, text: &str, now: Timestamp) -> Result<(), String> {
        let value = self.parse_value(text)?;
        let today = now.to_zoned(self.zone.clone()).date();
        self.check_range(value, |bound| bound.resolve(today))
    }

    /// Checks a value against the limits, each resolved to a day by `resolve` (`None`: not
    /// checked).
    fn check_range(
        &self,
        value: Value,
        resolve: impl Fn(Bound) -> Option<Date>,
    ) -> Result<(), String> {
        if let Some(min) = self.min.and_then(&resolve) {
            if value.day < min {
                return Err(format!("Choose {min} or later."));
            }
        }
        if let Some(max) = self.max.and_then(&resolve) {
            if value.day > max {
                return Err(format!("Choose {max} or earlier."));
            }
        }
        if let Some(n) = self.interval {
            let step = i32::try_from(n).unwrap_or(1);
            if !value.whole_minute || value.minute_of_day % step != 0 {
                return Err(format!("Choose a time on the {n}-minute steps offered."));
            }
        }
        Ok(())
    }
}

/// A date or datetime value, read in the element's time zone.
#[derive(Debug, Clone, Copy)]
struct Value {
    day: Date,
    /// Minutes since midnight (0 for a date).
    minute_of_day: i32,
    /// Whether the time has no seconds or fractions (always, for a date).
    whole_minute: bool,
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

    fn default_problems(kind: &str, default: &str, more: &str) -> Vec<(&'static str, String)> {
        let spec: ElementSpec = toml::from_str(&format!(
            "name='when'\ndisplay_name='When'\ntype='{kind}'\ndefault='{default}'\n{more}"
        ))
        .unwrap();
        DateRule::compile(&spec).err().unwrap_or_default()
    }

    #[test]
    fn a_default_that_is_not_a_date_is_a_declaration_problem_naming_the_element() {
        for (kind, default) in [
            ("date", "2026-13-45"),
            ("date", "garbage"),
            ("date", "2026-02-30"),
            ("date", "2026-03-01T09:30:00Z"),
            ("date", "+1m"),
            ("date", "Today"),
            ("datetime", "garbage"),
            ("datetime", "2026-03-01T25:00:00Z"),
            ("datetime", "2026-03-01T09:30:00-"),
        ] {
            let problems = default_problems(kind, default, "");
            assert_eq!(problems.len(), 1, "{kind} {default}: {problems:?}");
            assert_eq!(problems[0].0, "default");
            assert!(
                problems[0].1.contains(&format!("`{default}`"))
                    && problems[0].1.contains("element `when`"),
                "{problems:?}"
            );
        }
    }

    #[test]
    fn the_defaults_the_runtime_reads_pass() {
        for (kind, default) in [
            ("date", "2026-03-01"),
            ("date", "today"),
            ("date", "tomorrow"),
            ("date", "yesterday"),
            ("date", "+3d"),
            ("date", "-2w"),
            ("datetime", "today"),
            ("datetime", "+1w"),
            ("datetime", "2026-03-01T09:30:00Z"),
            ("datetime", "2026-03-01T09:30:00.000+05:30"),
            ("datetime", "2026-03-01T09:30:00"),
            ("datetime", "2026-03-01 09:30"),
            // Templates are known only when the dialog opens.
            ("date", "{{ args.day }}"),
            ("date", ""),
        ] {
            assert_eq!(
                default_problems(kind, default, ""),
                Vec::new(),
                "{kind} {default}"
            );
        }
    }

    #[test]
    fn a_default_outside_limits_of_its_kind_is_refused_as_a_submission_would_be() {
        let refused = default_problems("date", "2026-01-01", "min_date='2026-03-01'");
        assert!(
            refused[0].1.contains("Choose 2026-03-01 or later."),
            "{refused:?}"
        );
        let refused = default_problems("date", "today", "min_date='+1d'");
        assert!(refused[0].1.contains("or later."), "{refused:?}");
        let refused = default_problems("datetime", "2026-03-01T09:10:00Z", "time_interval=30");
        assert!(refused[0].1.contains("30-minute steps"), "{refused:?}");
        // A fixed default against a relative limit depends on the day: not judged.
        assert_eq!(
            default_problems("date", "2020-01-01", "min_date='today'"),
            Vec::new()
        );
        assert_eq!(
            default_problems("date", "+1d", "max_date='2020-01-01'"),
            Vec::new()
        );
    }

    #[test]
    fn relative_dates_are_read_by_one_function() {
        for (text, days) in [
            ("today", Some(0)),
            ("tomorrow", Some(1)),
            ("yesterday", Some(-1)),
            ("+3d", Some(3)),
            ("-2w", Some(-14)),
            ("+1000d", None),
            ("+1m", None),
            ("Today", None),
        ] {
            assert_eq!(days_from_today(text), days, "{text}");
        }
    }
}
