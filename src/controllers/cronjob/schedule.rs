//! When a CronJob runs: robfig/cron's standard schedules (as Kubernetes uses them) turned
//! into "the next activation after T", and Kubernetes' mostRecentScheduleTime (which
//! activations were missed since the last one). Pure functions of their inputs.
//!
//! The syntax itself is checked by `api::validation::cron` (with robfig's error texts) when
//! the object is written; this module parses again into bit sets because it needs the values.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};

/// Set in the day-of-month / day-of-week masks when the field was `*` or `?` (robfig's
/// starBit): then a day must match both fields, otherwise either.
const STAR: u64 = 1 << 63;

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

struct Field {
    min: u32,
    max: u32,
    names: &'static [&'static str],
    first_name: u32,
}

const MINUTE: Field = Field {
    min: 0,
    max: 59,
    names: &[],
    first_name: 0,
};
const HOUR: Field = Field {
    min: 0,
    max: 23,
    names: &[],
    first_name: 0,
};
const DOM: Field = Field {
    min: 1,
    max: 31,
    names: &[],
    first_name: 0,
};
const MONTH: Field = Field {
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
    first_name: 1,
};
const DOW: Field = Field {
    min: 0,
    max: 6,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    first_name: 0,
};

fn bits(min: u32, max: u32, step: u32) -> u64 {
    let mut b = 0u64;
    let mut i = min;
    while i <= max {
        b |= 1 << i;
        i += step;
    }
    b
}

fn value(s: &str, f: &Field) -> Result<u32, String> {
    let lower = s.to_ascii_lowercase();
    if let Some(i) = f.names.iter().position(|n| *n == lower) {
        return Ok(f.first_name + i as u32);
    }
    s.parse::<u32>()
        .map_err(|_| format!("failed to parse int from {s}"))
}

/// robfig's getRange for one comma-separated part.
fn range(expr: &str, f: &Field) -> Result<u64, String> {
    let (range, step) = match expr.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (expr, None),
    };
    let (start, mut end, mut extra) = if range == "*" || range == "?" {
        (f.min, f.max, STAR)
    } else {
        let (lo, hi) = match range.split_once('-') {
            Some((lo, hi)) => (value(lo, f)?, value(hi, f)?),
            None => {
                let v = value(range, f)?;
                (v, v)
            }
        };
        (lo, hi, 0)
    };
    let step = match step {
        Some(s) => {
            let s = s
                .parse::<u32>()
                .map_err(|_| format!("failed to parse int from {s}"))?;
            if !range.contains('-') && range != "*" && range != "?" {
                end = f.max;
            }
            if s > 1 {
                extra = 0;
            }
            s
        }
        None => 1,
    };
    if start < f.min || end > f.max || start > end || step == 0 {
        return Err(format!("invalid range {expr}"));
    }
    Ok(bits(start, end, step) | extra)
}

fn field(s: &str, f: &Field) -> Result<u64, String> {
    let mut b = 0;
    for part in s.split(',').filter(|p| !p.is_empty()) {
        b |= range(part, f)?;
    }
    Ok(b)
}

/// Go's time.ParseDuration for `@every` (units ns us µs ms s m h, decimals allowed).
fn go_duration(s: &str) -> Result<SignedDuration, String> {
    let err = || format!("time: invalid duration {s:?}");
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if body == "0" {
        return Ok(SignedDuration::ZERO);
    }
    let mut nanos: f64 = 0.0;
    let mut rest = body;
    if rest.is_empty() {
        return Err(err());
    }
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..n_end].parse().map_err(|_| err())?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(err()),
        };
        rest = &rest[u_end..];
        nanos += number * unit;
    }
    let nanos = if neg { -nanos } else { nanos };
    Ok(SignedDuration::from_nanos(nanos as i64))
}

/// Parse a CronJob's `spec.schedule` in `time_zone` (`spec.timeZone`; `None` is the
/// controller's local zone, UTC here as in most clusters).
pub fn parse(spec: &str, time_zone: Option<&str>) -> Result<Schedule, String> {
    let tz = match time_zone {
        None => TimeZone::UTC,
        Some(name) => TimeZone::get(name).map_err(|e| format!("invalid timeZone {name:?}: {e}"))?,
    };
    let spec = spec.trim();
    let five = match spec {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        s if s.starts_with("@every ") => {
            let d = go_duration(s.trim_start_matches("@every ").trim())?;
            // robfig's Every: at least one second, rounded down to whole seconds.
            let secs = d.as_secs().max(1);
            return Ok(Schedule::Every {
                delay: SignedDuration::from_secs(secs),
            });
        }
        s if s.starts_with('@') => return Err(format!("unrecognized descriptor: {s}")),
        s => s,
    };
    let f: Vec<&str> = five.split_whitespace().collect();
    if f.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            f.len(),
            f.join(" ")
        ));
    }
    Ok(Schedule::Spec {
        minute: field(f[0], &MINUTE)?,
        hour: field(f[1], &HOUR)?,
        dom: field(f[2], &DOM)?,
        month: field(f[3], &MONTH)?,
        dow: field(f[4], &DOW)?,
        tz,
    })
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
