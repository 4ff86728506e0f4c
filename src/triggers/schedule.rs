//! `[schedule]`: one task per process runs every scheduled route at its ticks.
//!
//! Tick times come from the route's cron expression (in its time zone) or its interval
//! (aligned on multiples of it since the Unix epoch), so every replica computes the same
//! times; each tick is claimed in the store under the route and the tick's time, and only the
//! replica that claims it runs it ([`super::claims`]; a replica killed mid-tick has it taken over). The route set is re-read on each
//! round, so a reload adds, changes or drops schedules.
//!
//! A tick is *missed* when it passed while Switchboard was not running (the last tick run is
//! kept in the store) or more than 30 s ago while this task could not keep up. Missed ticks are skipped, counted
//! (`outcome="missed"`) and logged, never replayed in a burst — unless the route declares
//! `catch_up = true`, which runs each one (at most [`MAX_CATCH_UP`]).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::integrations::{Context, Delivery, Fired, ScheduleTrigger, resolve_channel};
use crate::server::AppState;

/// Most missed ticks a `catch_up` route runs at once.
pub const MAX_CATCH_UP: usize = 10;

/// A tick this late is missed rather than run late.
const LATE: chrono::TimeDelta = chrono::TimeDelta::seconds(30);

/// How long the last tick run is remembered (to notice ticks missed while down).
const LAST_RUN_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

/// Longest sleep between looks at the route set (a reload is noticed this fast).
const ROUND: Duration = Duration::from_secs(1);

/// Starts the scheduler; it runs until aborted.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // Route → the last tick handled (here or by another replica).
        let mut last: HashMap<String, DateTime<Utc>> = HashMap::new();
        loop {
            let now = Utc::now();
            let routes = state.routes.current();
            let scheduled: Vec<(String, ScheduleTrigger)> = routes
                .iter()
                .filter_map(|r| r.schedule.clone().map(|s| (r.name.clone(), s)))
                .collect();
            last.retain(|name, _| scheduled.iter().any(|(n, _)| n == name));
            let mut next_wake = now + chrono::TimeDelta::from_std(ROUND).unwrap_or_default();
            for (name, trigger) in &scheduled {
                let since = match last.get(name) {
                    Some(t) => *t,
                    None => {
                        let since = first_look(&state, name, trigger, now).await;
                        last.insert(name.clone(), since);
                        since
                    }
                };
                let due = due_ticks(trigger, since, now);
                if let Some(newest) = due.last() {
                    last.insert(name.clone(), *newest);
                    let (run, missed) = split_missed(trigger, &due, now);
                    if missed > 0 {
                        tracing::warn!(route = %name, missed, "schedule ticks missed (late); skipped, not replayed (declare catch_up = true to run them)");
                        for _ in 0..missed {
                            crate::metrics::trigger("schedule", name, "missed");
                        }
                    }
                    for tick in run {
                        let state = state.clone();
                        let (name, trigger) = (name.clone(), trigger.clone());
                        state
                            .background
                            .clone()
                            .spawn(async move { tick_once(&state, &name, &trigger, tick).await });
                    }
                }
                if let Some(next) = trigger.when.next_after(*last.get(name).unwrap_or(&now)) {
                    next_wake = next_wake.min(next);
                }
            }
            let sleep = (next_wake - Utc::now()).to_std().unwrap_or_default();
            tokio::time::sleep(sleep.min(ROUND)).await;
        }
    })
}

/// Where a route's ticks start when this process first sees it: the last tick run (by any
/// replica, when the store is shared), with the ticks missed meanwhile reported; else now.
async fn first_look(
    state: &AppState,
    name: &str,
    trigger: &ScheduleTrigger,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let key = state.store.key("schedule-last", name);
    let stored = match state.store.cache_get(&key).await {
        Ok(value) => value
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(DateTime::from_timestamp_millis),
        Err(e) => {
            tracing::warn!(route = %name, error = %e, "cannot read the schedule's last run");
            None
        }
    };
    let Some(stored) = stored else {
        return now;
    };
    // Ticks of the last [`LATE`] are not missed: another replica may be running them now, and
    // the normal round runs (or claims) them.
    let missed = due_ticks(trigger, stored, now - LATE);
    if missed.is_empty() {
        return stored;
    }
    if trigger.spec.catch_up {
        tracing::info!(route = %name, missed = missed.len(), "catching up on schedule ticks missed while down");
        return stored;
    }
    tracing::warn!(
        route = %name,
        missed = missed.len(),
        last_run = %stored.to_rfc3339(),
        "schedule ticks missed while Switchboard was down; skipped (declare catch_up = true to run them)"
    );
    for _ in 0..missed.len() {
        crate::metrics::trigger("schedule", name, "missed");
    }
    now - LATE
}

/// Ticks after `since` up to and including `now` (at most a few more than [`MAX_CATCH_UP`]
/// are computed; older ones only count as missed).
fn due_ticks(
    trigger: &ScheduleTrigger,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let mut ticks = Vec::new();
    let mut at = since;
    while let Some(next) = trigger.when.next_after(at) {
        if next > now || ticks.len() > 10_000 {
            break;
        }
        ticks.push(next);
        at = next;
    }
    ticks
}

/// Which of the due ticks run, and how many are skipped as missed.
fn split_missed(
    trigger: &ScheduleTrigger,
    due: &[DateTime<Utc>],
    now: DateTime<Utc>,
) -> (Vec<DateTime<Utc>>, usize) {
    if trigger.spec.catch_up {
        let skip = due.len().saturating_sub(MAX_CATCH_UP);
        return (due[skip..].to_vec(), skip);
    }
    // Ticks at most [`LATE`] old run (a busy machine may see two in one round); older ones, and
    // any beyond the newest [`MAX_CATCH_UP`], are missed.
    let on_time: Vec<DateTime<Utc>> = due.iter().copied().filter(|t| now - *t <= LATE).collect();
    let skip = on_time.len().saturating_sub(MAX_CATCH_UP);
    let run = on_time[skip..].to_vec();
    let ran = run.len();
    (run, due.len() - ran)
}

/// Runs one tick of `name` if this replica claims it.
pub async fn tick_once(
    state: &AppState,
    name: &str,
    trigger: &ScheduleTrigger,
    tick: DateTime<Utc>,
) -> Option<Fired> {
    let id = format!("{name}:{}", tick.timestamp_millis());
    let event = super::claims::Event {
        kind: "tick",
        id: &id,
        trigger: "schedule",
        route: name,
    };
    let fired = super::claims::run_once(state, event, async {
        let key = state.store.key("schedule-last", name);
        if let Err(e) = state
            .store
            .cache_put(&key, &tick.timestamp_millis().to_string(), LAST_RUN_TTL)
            .await
        {
            tracing::warn!(route = %name, error = %e, "cannot record the schedule's last run");
        }
        fire(state, name, trigger, tick).await
    })
    .await?;
    tracing::info!(route = %name, tick = %tick.to_rfc3339(), outcome = ?fired, "schedule tick");
    Some(fired)
}

/// Fires `name` for `tick` without claiming it (`dev`'s `!tick`, and [`tick_once`]).
pub async fn fire(
    state: &AppState,
    name: &str,
    trigger: &ScheduleTrigger,
    tick: DateTime<Utc>,
) -> Fired {
    let Some(route) = super::declared(state, name) else {
        return Fired::Failed(format!("route `{name}` is gone"));
    };
    let mut context = Context {
        route: name.to_owned(),
        ..Context::default()
    };
    let Some(team) = super::team_of(state, trigger.spec.team.as_deref()) else {
        tracing::error!(route = %name, "the schedule names no team and none is configured");
        crate::metrics::trigger("schedule", name, "failed");
        return Fired::Failed("no team".into());
    };
    match resolve_channel(&state.client, &team, &trigger.spec.channel).await {
        Ok((team, channel)) => {
            context.team = team;
            context.channel = channel;
        }
        Err(e) => {
            tracing::error!(route = %name, %team, channel = %trigger.spec.channel, error = %e, "the schedule's channel cannot be found");
            crate::metrics::trigger("schedule", name, "failed");
            return Fired::Failed(e.to_string());
        }
    }
    let context = context.with_result("tick", tick_values(trigger, tick));
    let cx = state.cx(name, String::new());
    let fired = route.fire(&cx, context, &Delivery::default()).await;
    crate::metrics::trigger("schedule", name, outcome(&fired));
    fired
}

/// `tick` as templates see it: `time` (RFC 3339) and `local` in the schedule's `timezone` —
/// for `every_secs` too, whose ticks are aligned on the epoch but read by people where they
/// are — and `timestamp`.
fn tick_values(trigger: &ScheduleTrigger, tick: DateTime<Utc>) -> serde_json::Value {
    let zone = match &trigger.when {
        crate::integrations::When::Cron(_, tz) => *tz,
        // `check` refused a name that is not a zone.
        crate::integrations::When::Every(_) => trigger
            .spec
            .timezone
            .parse::<chrono_tz::Tz>()
            .unwrap_or(chrono_tz::UTC),
    };
    let local = tick.with_timezone(&zone).fixed_offset();
    json!({
        "time": local.to_rfc3339(),
        "timestamp": tick.timestamp(),
        "local": local.format("%Y-%m-%d %H:%M").to_string(),
    })
}

fn outcome(fired: &Fired) -> &'static str {
    match fired {
        Fired::Posted(_) => "posted",
        Fired::Edited(_) => "edited",
        Fired::Refused(_) => "refused",
        Fired::Failed(_) => "failed",
        _ => "nothing",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn every(secs: u64, catch_up: bool) -> ScheduleTrigger {
        schedule(&format!(
            "every_secs = {secs}\ncatch_up = {catch_up}\ntimezone = \"Asia/Kolkata\""
        ))
    }

    fn schedule(keys: &str) -> ScheduleTrigger {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("s.toml"),
            format!(
                "[schedule]\n{keys}\nchannel = \"c\"\n[reply]\ntext = \"{{{{ tick.time }}}}\"\n"
            ),
        )
        .unwrap();
        crate::integrations::load_dir(dir.path())
            .unwrap()
            .get("s")
            .unwrap()
            .schedule
            .clone()
            .unwrap()
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    /// The declared zone is where people read the tick, for an interval as for a cron.
    #[test]
    fn a_tick_is_shown_in_the_schedule_s_time_zone() {
        let tick = DateTime::parse_from_rfc3339("2026-07-01T06:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for s in [
            every(3600, false),
            schedule("cron = \"0 * * * *\"\ntimezone = \"Asia/Kolkata\""),
        ] {
            let values = tick_values(&s, tick);
            assert_eq!(values["time"], "2026-07-01T11:30:00+05:30", "{s:?}");
            assert_eq!(values["local"], "2026-07-01 11:30", "{s:?}");
            assert_eq!(values["timestamp"], tick.timestamp(), "{s:?}");
        }
        let utc = tick_values(&schedule("every_secs = 60"), tick);
        assert_eq!(utc["time"], "2026-07-01T06:00:00+00:00");
    }

    #[test]
    fn late_ticks_are_skipped_and_on_time_ones_run() {
        let s = every(10, false);
        let due = due_ticks(&s, at(1000), at(1105));
        assert_eq!(due.len(), 10);
        // 1080, 1090 and 1100 are at most 30 s old.
        let (run, missed) = split_missed(&s, &due, at(1105));
        assert_eq!(run, vec![at(1080), at(1090), at(1100)]);
        assert_eq!(missed, 7);
        // Everything too old: nothing runs.
        let (run, missed) = split_missed(&s, &due, at(1200));
        assert!(run.is_empty());
        assert_eq!(missed, 10);
    }

    #[test]
    fn catch_up_runs_missed_ticks_up_to_the_cap() {
        let s = every(10, true);
        let due = due_ticks(&s, at(1000), at(1205));
        assert_eq!(due.len(), 20);
        let (run, missed) = split_missed(&s, &due, at(1205));
        assert_eq!(run.len(), MAX_CATCH_UP);
        assert_eq!(run.last(), Some(&at(1200)));
        assert_eq!(missed, 10);
    }
}
