//! When a CronJob runs: robfig/cron's standard schedules (as Kubernetes uses them) turned
//! into "the next activation after T", and Kubernetes' mostRecentScheduleTime (which
//! activations were missed since the last one). Pure functions of their inputs.
//!
//! The schedule is parsed by `api::validation::cron`, the same parser that checks it (with
//! robfig's error texts) when the object is written.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};

use crate::api::validation::cron::{CronSpec, STAR_BIT as STAR, parse_spec};

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Five fields (or a descriptor such as `@daily`), as bit masks; seconds are always 0.
    Spec {
        minute: u64,
        hour: u64,
        dom: u64,
        month: u64,
        dow: u64,
        tz: TimeZone,
    },
    /// `@every DURATION`: activations `delay` apart, on whole seconds.
    Every { delay: SignedDuration },
}

/// Parse a CronJob's `spec.schedule` in `time_zone` (`spec.timeZone`; `None` is the
/// controller's local zone, UTC here as in most clusters).
pub fn parse(spec: &str, time_zone: Option<&str>) -> Result<Schedule, String> {
    let tz = match time_zone {
        None => TimeZone::UTC,
        Some(name) => TimeZone::get(name).map_err(|e| format!("invalid timeZone {name:?}: {e}"))?,
    };
    match parse_spec(spec.trim())? {
        // robfig's Every: at least one second, rounded down to whole seconds.
        CronSpec::Every(nanos) => Ok(Schedule::Every {
            delay: SignedDuration::from_secs((nanos / 1_000_000_000).max(1)),
        }),
        CronSpec::Fields([minute, hour, dom, month, dow]) => Ok(Schedule::Spec {
            minute,
            hour,
            dom,
            month,
            dow,
            tz,
        }),
    }
}

fn day_matches(dom: u64, dow: u64, t: &Zoned) -> bool {
    let d = 1u64 << t.day();
    let w = 1u64 << t.weekday().to_sunday_zero_offset();
    let (dm, wm) = (d & dom != 0, w & dow != 0);
    if dom & STAR != 0 || dow & STAR != 0 {
        dm && wm
    } else {
        dm || wm
    }
}

fn at_midnight(t: &Zoned, day: i8) -> Option<Zoned> {
    t.date()
        .with()
        .day(day)
        .build()
        .ok()?
        .to_zoned(t.time_zone().clone())
        .ok()
}

impl Schedule {
    /// The first activation strictly after `t` (robfig's Next), or `None` when there is none
    /// within five years (e.g. `0 0 30 2 *`).
    pub fn next(&self, t: Timestamp) -> Option<Timestamp> {
        match self {
            Schedule::Every { delay } => {
                // Next(t) = t + delay - t's sub-second part.
                let sub = SignedDuration::from_nanos(t.subsec_nanosecond() as i64);
                t.checked_add(*delay).ok()?.checked_sub(sub).ok()
            }
            Schedule::Spec {
                minute,
                hour,
                dom,
                month,
                dow,
                tz,
            } => next_spec([*minute, *hour, *dom, *month, *dow], tz, t),
        }
    }
}

/// robfig's SpecSchedule.Next, step by step: bump month, day, hour, minute until each
/// matches, wrapping around to the month when a field overflows.
fn next_spec(f: [u64; 5], tz: &TimeZone, t: Timestamp) -> Option<Timestamp> {
    let [minute, hour, dom, month, dow] = f;
    // The upcoming whole second; our schedules always have second 0.
    let sub = SignedDuration::from_nanos(t.subsec_nanosecond() as i64);
    let start = t
        .checked_sub(sub)
        .ok()?
        .checked_add(SignedDuration::from_secs(1))
        .ok()?;
    let mut t = start.to_zoned(tz.clone());
    let year_limit = t.year() + 5;
    let mut added = false;
    'wrap: loop {
        if t.year() > year_limit {
            return None;
        }
        while (1u64 << t.month()) & month == 0 {
            if !added {
                added = true;
                t = at_midnight(&t, 1)?;
            }
            t = t.checked_add(1.month()).ok()?;
            if t.month() == 1 {
                continue 'wrap;
            }
        }
        while !day_matches(dom, dow, &t) {
            if !added {
                added = true;
                t = at_midnight(&t, t.day())?;
            }
            t = t.checked_add(1.day()).ok()?;
            // Land back on midnight when DST moved the wall clock.
            if t.hour() != 0 {
                let h = i64::from(t.hour());
                let shift = if h > 12 { 24 - h } else { -h };
                t = t.checked_add(shift.hours()).ok()?;
            }
            if t.day() == 1 {
                continue 'wrap;
            }
        }
        while (1u64 << t.hour()) & hour == 0 {
            if !added {
                added = true;
                let into_hour = i64::from(t.minute()) * 60 + i64::from(t.second());
                t = t.checked_sub(SignedDuration::from_secs(into_hour)).ok()?;
            }
            t = t.checked_add(1.hour()).ok()?;
            if t.hour() == 0 {
                continue 'wrap;
            }
        }
        while (1u64 << t.minute()) & minute == 0 {
            if !added {
                added = true;
                t = t
                    .checked_sub(SignedDuration::from_secs(i64::from(t.second())))
                    .ok()?;
            }
            t = t.checked_add(1.minute()).ok()?;
            if t.minute() == 0 {
                continue 'wrap;
            }
        }
        // Second: always 0.
        while t.second() != 0 {
            if !added {
                added = true;
            }
            t = t.checked_add(1.second()).ok()?;
            if t.second() == 0 {
                continue 'wrap;
            }
        }
        return Some(t.timestamp());
    }
}

/// How many activations were missed, as Kubernetes' missedSchedulesType.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    None,
    Few,
    /// More than 100: Kubernetes warns TooManyMissedTimes.
    Many,
}

/// Kubernetes' mostRecentScheduleTime: from `earliest` (the last schedule time, else the
/// creation time; moved up to `now - startingDeadlineSeconds` when `deadline` is given), the
/// most recent activation not after `now`, if any, and how many were missed.
/// `Err` when two activations are less than a second apart (an impossible schedule).
pub fn most_recent(
    schedule: &Schedule,
    earliest: Timestamp,
    deadline: Option<i64>,
    now: Timestamp,
) -> Result<(Timestamp, Option<Timestamp>, Missed), String> {
    let mut earliest = earliest;
    if let Some(d) = deadline {
        let limit = now
            .checked_sub(SignedDuration::from_secs(d))
            .unwrap_or(Timestamp::MIN);
        if limit > earliest {
            earliest = limit;
        }
    }
    let Some(t1) = schedule.next(earliest) else {
        return Ok((earliest, None, Missed::None));
    };
    let Some(t2) = schedule.next(t1) else {
        return Ok((earliest, (t1 <= now).then_some(t1), Missed::None));
    };
    if now < t1 {
        return Ok((earliest, None, Missed::None));
    }
    if now < t2 {
        return Ok((earliest, Some(t1), Missed::None));
    }
    let between = (t2.as_millisecond() - t1.as_millisecond() + 500) / 1000;
    if between < 1 {
        return Err("time difference between two schedules is less than 1 second".into());
    }
    let elapsed = (now.as_millisecond() - t1.as_millisecond()) / 1000;
    let missed = elapsed / between + 1;
    // Start two intervals before the estimate and let the schedule find the exact time (it
    // may be irregular, e.g. `30 6-16/4 * * 1-5`).
    let back = SignedDuration::from_secs((missed - 2) * between);
    let mut t = t1.checked_add(back).ok().and_then(|p| schedule.next(p));
    let mut most_recent = None;
    while let Some(x) = t {
        if x > now {
            break;
        }
        most_recent = Some(x);
        t = schedule.next(x);
    }
    let kind = match missed {
        m if m > 100 => Missed::Many,
        m if m > 1 => Missed::Few,
        _ => Missed::None,
    };
    Ok((earliest, most_recent, kind))
}

/// Kubernetes' nextScheduleTimeDuration: how long from `now` until the activation after the
/// most recent one (plus 100 ms, so the sync lands after it).
pub fn requeue_after(
    schedule: &Schedule,
    earliest: Timestamp,
    now: Timestamp,
) -> std::time::Duration {
    let base = match most_recent(schedule, earliest, None, now) {
        Err(_) => now,
        Ok((e, None, Missed::None)) => e,
        Ok((_, None, _)) => now,
        Ok((_, Some(t), _)) => t,
    };
    let Some(next) = schedule.next(base) else {
        // Nothing within five years: look again in a day.
        return std::time::Duration::from_secs(86_400);
    };
    let d = now.duration_until(next) + SignedDuration::from_millis(100);
    d.try_into()
        .unwrap_or(std::time::Duration::from_millis(100))
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
