//! CronJob schedules, as robfig/cron's standard parser (used by the API server and the
//! CronJob controller) reads them: five fields (minute hour day-of-month month day-of-week)
//! or a descriptor such as `@hourly` / `@every 1h30m`. Errors use robfig's wording. The
//! values feed the controller's schedule (`controllers::cronjob::schedule`).

/// Set in a field's mask when the field was `*` or `?` without a step above 1 (robfig's
/// starBit): then a day must match both day fields, otherwise either.
pub const STAR_BIT: u64 = 1 << 63;

/// A parsed schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CronSpec {
    /// minute, hour, day of month, month, day of week: bit `n` set when value `n` matches.
    Fields([u64; 5]),
    /// `@every DURATION`, in nanoseconds.
    Every(i64),
}

struct Bounds {
    min: u64,
    max: u64,
    names: &'static [&'static str],
    /// Value of `names[0]`.
    first_name: u64,
}

const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
    first_name: 0,
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
    first_name: 0,
};
const DOM: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
    first_name: 0,
};
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
    first_name: 1,
};
const DOW: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    first_name: 0,
};

/// Check a schedule (without any `TZ=` prefix); the error is robfig's message.
pub(crate) fn parse_schedule(spec: &str) -> Result<(), String> {
    parse_spec(spec).map(|_| ())
}

/// Parse a schedule (without any `TZ=` prefix) into its values.
pub fn parse_spec(spec: &str) -> Result<CronSpec, String> {
    if spec.is_empty() {
        return Err("empty spec string".into());
    }
    let five = match spec {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        s if s.starts_with('@') => {
            return match s.strip_prefix("@every ") {
                Some(d) => parse_go_duration(d)
                    .map(CronSpec::Every)
                    .map_err(|e| format!("failed to parse duration {spec}: {e}")),
                None => Err(format!("unrecognized descriptor: {spec}")),
            };
        }
        s => s,
    };
    let fields: Vec<&str> = five.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    let mut masks = [0u64; 5];
    for ((field, bounds), mask) in fields
        .iter()
        .zip([MINUTES, HOURS, DOM, MONTHS, DOW])
        .zip(masks.iter_mut())
    {
        for expr in field.split(',').filter(|e| !e.is_empty()) {
            *mask |= parse_range(expr, &bounds)?;
        }
    }
    Ok(CronSpec::Fields(masks))
}

/// robfig's getRange: the bits of one comma-separated part.
fn parse_range(expr: &str, b: &Bounds) -> Result<u64, String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let star = low_and_high[0] == "*" || low_and_high[0] == "?";
    let (start, mut end) = if star {
        (b.min, b.max)
    } else {
        let start = parse_int_or_name(low_and_high[0], b)?;
        let end = match low_and_high.len() {
            1 => start,
            2 => parse_int_or_name(low_and_high[1], b)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        (start, end)
    };
    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = parse_int(range_and_step[1])?;
            // "N/step" means "N-max/step".
            if low_and_high.len() == 1 {
                end = b.max;
            }
            step
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < b.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {expr}",
            b.min
        ));
    }
    if end > b.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {expr}",
            b.max
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    let mut bits = if star && step == 1 { STAR_BIT } else { 0 };
    let mut v = start;
    while v <= end {
        bits |= 1 << v;
        v += step;
    }
    Ok(bits)
}

fn parse_int_or_name(expr: &str, b: &Bounds) -> Result<u64, String> {
    let lower = expr.to_ascii_lowercase();
    if let Some(i) = b.names.iter().position(|n| *n == lower) {
        return Ok(b.first_name + i as u64);
    }
    parse_int(expr)
}

/// Go's strconv.Atoi as robfig uses it, with its error text.
fn parse_int(expr: &str) -> Result<u64, String> {
    let digits = expr.strip_prefix(['+', '-']).unwrap_or(expr);
    let syntax_ok = !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit());
    if !syntax_ok {
        return Err(format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: invalid syntax"
        ));
    }
    let n: i64 = expr.parse().map_err(|_| {
        format!(
            "failed to parse int from {expr}: strconv.Atoi: parsing {expr:?}: value out of range"
        )
    })?;
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {expr}"));
    }
    Ok(n as u64)
}

/// Go's time.ParseDuration (`1h30m`, `1.5s`, `300ms`), in nanoseconds.
fn parse_go_duration(s: &str) -> Result<i64, String> {
    let err = || format!("time: invalid duration {s:?}");
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if body == "0" {
        return Ok(0);
    }
    if body.is_empty() {
        return Err(err());
    }
    let b = body.as_bytes();
    let mut nanos = 0f64;
    let mut i = 0;
    while i < b.len() {
        let start = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let number = &body[start..i];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(err());
        }
        let number: f64 = number.parse().map_err(|_| err())?;
        let unit_start = i;
        while i < b.len() && !(b[i].is_ascii_digit() || b[i] == b'.') {
            i += 1;
        }
        let unit = match &body[unit_start..i] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration {s:?}")),
            u => return Err(format!("time: unknown unit {u:?} in duration {s:?}")),
        };
        nanos += number * unit;
    }
    Ok(if neg { -nanos } else { nanos } as i64)
}

#[cfg(test)]
mod tests {
    use super::parse_schedule;

    #[test]
    fn accepts_standard_schedules() {
        for ok in [
            "* * * * *",
            "*/5 * * * *",
            "0 0 1 1 *",
            "0 9-17 * * MON-FRI",
            "15,45 */2 1-15/3 jan,Jul sun",
            "5/15 * ? * *",
            "0 0 * * 0",
            "@hourly",
            "@annually",
            "@every 1h30m",
            "@every 1.5s",
        ] {
            assert_eq!(parse_schedule(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn reports_robfig_errors() {
        let e = |s: &str| parse_schedule(s).unwrap_err();
        assert_eq!(e(""), "empty spec string");
        assert_eq!(
            e("* * * *"),
            "expected exactly 5 fields, found 4: [* * * *]"
        );
        assert_eq!(e("60 * * * *"), "end of range (60) above maximum (59): 60");
        assert_eq!(
            e("* * 0 * *"),
            "beginning of range (0) below minimum (1): 0"
        );
        assert_eq!(
            e("5-1 * * * *"),
            "beginning of range (5) beyond end of range (1): 5-1"
        );
        assert_eq!(
            e("*/0 * * * *"),
            "step of range should be a positive number: */0"
        );
        assert_eq!(e("1-2-3 * * * *"), "too many hyphens: 1-2-3");
        assert_eq!(e("*/2/3 * * * *"), "too many slashes: */2/3");
        assert_eq!(
            e("x * * * *"),
            "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(e("* * * * 7"), "end of range (7) above maximum (6): 7");
        assert_eq!(e("@sometimes"), "unrecognized descriptor: @sometimes");
        assert_eq!(
            e("@every 5x"),
            "failed to parse duration @every 5x: time: unknown unit \"x\" in duration \"5x\""
        );
        assert!(e("@every").starts_with("unrecognized descriptor"));
    }
}
