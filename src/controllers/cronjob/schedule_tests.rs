//! Next activation times, checked against what robfig/cron (and so Kubernetes) computes.

use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn next(spec: &str, tz: Option<&str>, after: &str) -> String {
    parse(spec, tz)
        .unwrap()
        .next(ts(after))
        .map(|t| t.to_string())
        .unwrap_or_default()
}

#[test]
fn five_field_schedules() {
    assert_eq!(
        next("* * * * *", None, "2024-05-01T10:00:00Z"),
        "2024-05-01T10:01:00Z"
    );
    assert_eq!(
        next("* * * * *", None, "2024-05-01T10:00:30.5Z"),
        "2024-05-01T10:01:00Z"
    );
    assert_eq!(
        next("*/15 * * * *", None, "2024-05-01T10:07:00Z"),
        "2024-05-01T10:15:00Z"
    );
    assert_eq!(
        next("5/15 * * * *", None, "2024-05-01T10:50:00Z"),
        "2024-05-01T11:05:00Z"
    );
    assert_eq!(
        next("30 2 * * *", None, "2024-12-31T03:00:00Z"),
        "2025-01-01T02:30:00Z"
    );
    // Mon-Fri at 9: from Friday 10:00 to Monday 9:00.
    assert_eq!(
        next("0 9 * * MON-FRI", None, "2024-05-03T10:00:00Z"),
        "2024-05-06T09:00:00Z"
    );
    // Leap day.
    assert_eq!(
        next("0 0 29 2 *", None, "2024-03-01T00:00:00Z"),
        "2028-02-29T00:00:00Z"
    );
    // Never: 30 February.
    assert_eq!(next("0 0 30 2 *", None, "2024-01-01T00:00:00Z"), "");
    // Names and lists.
    assert_eq!(
        next("15,45 */2 1-15/3 jan,Jul sun", None, "2024-06-01T00:00:00Z"),
        // July 2024: days 1,4,7,10,13 or Sundays; July 1 is a Monday and day 1 matches.
        "2024-07-01T00:15:00Z"
    );
}

#[test]
fn day_of_month_and_week_combine_as_robfig() {
    // Both restricted: either matches. 2024-05-13 is a Monday; the 15th comes later.
    assert_eq!(
        next("0 0 15 * 1", None, "2024-05-12T00:00:00Z"),
        "2024-05-13T00:00:00Z"
    );
    // A star in one field: the other decides.
    assert_eq!(
        next("0 0 * * 1", None, "2024-05-12T00:00:00Z"),
        "2024-05-13T00:00:00Z"
    );
    // `*/2` in the day of month is not a star: either field matches.
    assert_eq!(
        next("0 0 */2 * 1", None, "2024-05-01T00:00:00Z"),
        "2024-05-03T00:00:00Z"
    );
}

#[test]
fn descriptors() {
    let at = "2024-05-01T10:20:00Z"; // a Wednesday
    assert_eq!(next("@hourly", None, at), "2024-05-01T11:00:00Z");
    assert_eq!(next("@daily", None, at), "2024-05-02T00:00:00Z");
    assert_eq!(next("@midnight", None, at), "2024-05-02T00:00:00Z");
    assert_eq!(next("@weekly", None, at), "2024-05-05T00:00:00Z");
    assert_eq!(next("@monthly", None, at), "2024-06-01T00:00:00Z");
    assert_eq!(next("@yearly", None, at), "2025-01-01T00:00:00Z");
    assert_eq!(next("@annually", None, at), "2025-01-01T00:00:00Z");
    assert_eq!(
        next("@every 1h30m", None, "2024-05-01T10:20:00.700Z"),
        "2024-05-01T11:50:00Z"
    );
    assert_eq!(
        next("@every 500ms", None, "2024-05-01T10:20:00Z"),
        "2024-05-01T10:20:01Z"
    );
    assert!(parse("@sometimes", None).is_err());
    assert!(parse("* * * *", None).is_err());
    assert!(parse("* * * * *", Some("Mars/Olympus")).is_err());
}

#[test]
fn time_zones() {
    // 09:00 in Tokyo (UTC+9, no DST) is 00:00 UTC.
    assert_eq!(
        next("0 9 * * *", Some("Asia/Tokyo"), "2024-05-01T01:00:00Z"),
        "2024-05-02T00:00:00Z"
    );
    // India is UTC+5:30.
    assert_eq!(
        next("0 0 * * *", Some("Asia/Kolkata"), "2024-05-01T00:00:00Z"),
        "2024-05-01T18:30:00Z"
    );
    // New York in summer is UTC-4, in winter UTC-5.
    assert_eq!(
        next(
            "0 12 * * *",
            Some("America/New_York"),
            "2024-07-01T00:00:00Z"
        ),
        "2024-07-01T16:00:00Z"
    );
    assert_eq!(
        next(
            "0 12 * * *",
            Some("America/New_York"),
            "2024-01-01T00:00:00Z"
        ),
        "2024-01-01T17:00:00Z"
    );
    // Daily at midnight across the spring-forward day keeps midnight local time.
    assert_eq!(
        next(
            "0 0 * * *",
            Some("America/New_York"),
            "2024-03-10T06:00:00Z"
        ),
        "2024-03-11T04:00:00Z"
    );
}

#[test]
fn most_recent_and_missed() {
    let s = parse("*/1 * * * *", None).unwrap();
    let created = ts("2024-05-01T10:00:30Z");
    // Before the first activation: nothing due.
    let (_, t, m) = most_recent(&s, created, None, ts("2024-05-01T10:00:50Z")).unwrap();
    assert_eq!((t, m), (None, Missed::None));
    // One due.
    let (_, t, m) = most_recent(&s, created, None, ts("2024-05-01T10:01:10Z")).unwrap();
    assert_eq!((t, m), (Some(ts("2024-05-01T10:01:00Z")), Missed::None));
    // Several missed: the latest is returned.
    let (_, t, m) = most_recent(&s, created, None, ts("2024-05-01T10:05:10Z")).unwrap();
    assert_eq!((t, m), (Some(ts("2024-05-01T10:05:00Z")), Missed::Few));
    // More than 100 missed.
    let (_, t, m) = most_recent(&s, created, None, ts("2024-05-01T12:00:10Z")).unwrap();
    assert_eq!((t, m), (Some(ts("2024-05-01T12:00:00Z")), Missed::Many));
    // startingDeadlineSeconds moves the earliest time up: only recent misses count.
    let (e, t, m) = most_recent(&s, created, Some(200), ts("2024-05-01T12:00:10Z")).unwrap();
    assert_eq!(e, ts("2024-05-01T11:56:50Z"));
    assert_eq!((t, m), (Some(ts("2024-05-01T12:00:00Z")), Missed::Few));
    // An irregular schedule: 6:30, 10:30, 14:30 on weekdays.
    let irregular = parse("30 6-16/4 * * 1-5", None).unwrap();
    let (_, t, _) = most_recent(
        &irregular,
        ts("2024-05-01T00:00:00Z"),
        None,
        ts("2024-05-02T12:00:00Z"),
    )
    .unwrap();
    assert_eq!(t, Some(ts("2024-05-02T10:30:00Z")));
}

#[test]
fn requeue_lands_just_after_the_next_activation() {
    let s = parse("*/5 * * * *", None).unwrap();
    let d = requeue_after(&s, ts("2024-05-01T10:00:00Z"), ts("2024-05-01T10:02:00Z"));
    assert_eq!(d, std::time::Duration::from_millis(180_100));
    // After a missed activation: the one after it.
    let d = requeue_after(&s, ts("2024-05-01T09:00:00Z"), ts("2024-05-01T10:02:00Z"));
    assert_eq!(d, std::time::Duration::from_millis(180_100));
}
