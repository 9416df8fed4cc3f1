//! Schedules: when a job or workflow fires, and with which parameters.
//!
//! - [`CronSchedule`]: a cron pattern (5 fields, or 6–7 with seconds and year; `L`, `W`, `#`;
//!   Quartz's `?` and 1 = Sunday weekdays when the pattern has a `?`) evaluated in an IANA time
//!   zone (`chrono-tz`), inside an optional start/end window. Fire times are instants (UTC).
//!   Daylight-saving changes follow croner (the Open Cron Pattern Specification): a fixed-time
//!   fire in a skipped hour runs at the first valid time after the gap, once; in a repeated
//!   hour, once; interval patterns (`*/15`) fire at every real instant that matches.
//! - [`plan`]: which fires are due at `now`, given the last fire computed, by [`Misfire`]
//!   policy (after downtime: run the latest missed fire once, or skip them).
//! - [`params`]: `${bizdate}`, `${bizdate:yyyyMMdd}`, `$[yyyyMMdd-1]`, `$[add_months(…)]` and
//!   user parameters, substituted into scripts at run time (DolphinScheduler's conventions).

pub mod dag;
pub mod params;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds};
use croner::Cron;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Errors of this crate; every message names the offending input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    /// The cron pattern does not parse.
    #[error("invalid cron pattern '{pattern}': {reason}")]
    Cron {
        /// The pattern.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// Not an IANA time zone name.
    #[error("unknown time zone '{0}' (an IANA name such as 'Asia/Shanghai' or 'UTC')")]
    TimeZone(String),
    /// The window ends before it starts.
    #[error("the schedule ends ({end}) before it starts ({start})")]
    Window {
        /// Start, RFC 3339.
        start: String,
        /// End, RFC 3339.
        end: String,
    },
    /// A parameter expression that cannot be evaluated.
    #[error("{0}")]
    Param(String),
}

/// What to do with fires missed while the platform was down (Quartz's misfire instructions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Misfire {
    /// Run once, for the latest missed fire; the others are recorded as missed.
    #[default]
    FireOnce,
    /// Run none of them; they are recorded as missed.
    Skip,
}

/// What to do when a fire comes while the previous run of the same schedule still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Overlap {
    /// Start another run beside it.
    Allow,
    /// Record the fire as skipped.
    #[default]
    Skip,
    /// Start it when the running one ends (one after another, in fire order).
    Queue,
}

/// How late (ms) a fire may be taken and still count as on time: Quartz's default
/// `misfireThreshold` (60 s).
pub const MISFIRE_THRESHOLD_MS: i64 = 60_000;

/// A parsed cron pattern in a time zone, within `[start, end]`.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    cron: Cron,
    tz: Tz,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
}

impl CronSchedule {
    /// Parses `pattern` in zone `tz` with an optional window (instants, inclusive).
    ///
    /// # Errors
    /// [`ScheduleError::Cron`], [`ScheduleError::TimeZone`], [`ScheduleError::Window`].
    pub fn parse(
        pattern: &str,
        tz: &str,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Self, ScheduleError> {
        let quartz = pattern.contains('?');
        let parser = CronParser::builder()
            .seconds(Seconds::Optional)
            .alternative_weekdays(quartz)
            .sloppy_ranges(quartz)
            .build();
        let cron = parser
            .parse(pattern.trim())
            .map_err(|e| ScheduleError::Cron {
                pattern: pattern.to_string(),
                reason: e.to_string(),
            })?;
        let tz: Tz = tz
            .trim()
            .parse()
            .map_err(|_| ScheduleError::TimeZone(tz.to_string()))?;
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                return Err(ScheduleError::Window {
                    start: s.to_rfc3339(),
                    end: e.to_rfc3339(),
                });
            }
        }
        Ok(Self {
            cron,
            tz,
            start,
            end,
        })
    }

    /// The time zone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// A human-readable description of the pattern (croner's, in English).
    pub fn describe(&self) -> String {
        self.cron.describe()
    }

    /// The first fire strictly after `t` (inside the window); `None` when there is none.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut from = t;
        if let Some(s) = self.start {
            if from < s {
                // Inclusive of the start itself.
                from = s - chrono::Duration::milliseconds(1);
            }
        }
        let local = from.with_timezone(&self.tz);
        let next = self.cron.find_next_occurrence(&local, false).ok()?;
        let next = next.with_timezone(&Utc);
        match self.end {
            Some(e) if next > e => None,
            _ => Some(next),
        }
    }

    /// Up to `n` fires strictly after `t`.
    pub fn upcoming(&self, t: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut at = t;
        while out.len() < n {
            match self.next_after(at) {
                Some(f) => {
                    out.push(f);
                    at = f;
                }
                None => break,
            }
        }
        out
    }

    /// The business date of a fire: the day before the fire's date in the schedule's zone
    /// (DolphinScheduler's `system.biz.date`: a daily run processes yesterday).
    pub fn bizdate(&self, fire: DateTime<Utc>) -> NaiveDate {
        bizdate_of(fire, self.tz)
    }

    /// The instant a run for business date `d` is scheduled at when it is not fired by the
    /// cron (a backfill without a schedule): midnight after `d` in the zone.
    pub fn logical_time_of(&self, d: NaiveDate) -> DateTime<Utc> {
        logical_time_of(d, self.tz)
    }
}

/// The business date of a fire at `fire` in `tz` (the day before its local date).
pub fn bizdate_of(fire: DateTime<Utc>, tz: Tz) -> NaiveDate {
    let local = fire.with_timezone(&tz).date_naive();
    local.pred_opt().unwrap_or(local)
}

/// Midnight (the first instant) of the day after `d` in `tz`: the logical time of a run for
/// business date `d`.
pub fn logical_time_of(d: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let next = d.succ_opt().unwrap_or(d);
    // A zone may skip midnight (e.g. America/Santiago): take the first valid instant after it.
    let mut t = next.and_hms_opt(0, 0, 0).expect("midnight");
    for _ in 0..180 {
        if let Some(x) = tz.from_local_datetime(&t).earliest() {
            return x.with_timezone(&Utc);
        }
        t += chrono::Duration::minutes(1);
    }
    Utc.from_utc_datetime(&next.and_hms_opt(0, 0, 0).expect("midnight"))
}

/// What a tick of the scheduler does for one schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Fires to run now (at most one per tick unless several are on time).
    pub run: Vec<DateTime<Utc>>,
    /// Fires missed by more than [`MISFIRE_THRESHOLD_MS`] and not run (recorded as missed).
    pub missed: Vec<DateTime<Utc>>,
    /// The next fire to wait for, after this tick.
    pub next: Option<DateTime<Utc>>,
}

/// Most missed fires recorded one by one after a long downtime (the rest are counted in the
/// last record's reason by the caller).
pub const MAX_MISSED_RECORDED: usize = 1000;

/// The fires due at `now`, starting from `next` (the earliest fire not yet handled).
///
/// Fires within [`MISFIRE_THRESHOLD_MS`] of `now` run; older ones are misfires: with
/// [`Misfire::FireOnce`] the latest of them runs (unless an on-time fire runs anyway) and the
/// others are missed; with [`Misfire::Skip`] all are missed.
pub fn plan(
    s: &CronSchedule,
    next: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    misfire: Misfire,
) -> Plan {
    let mut on_time = Vec::new();
    let mut late = Vec::new();
    let mut at = next;
    while let Some(f) = at {
        if f > now {
            break;
        }
        if (now - f).num_milliseconds() <= MISFIRE_THRESHOLD_MS {
            on_time.push(f);
        } else if late.len() < MAX_MISSED_RECORDED {
            late.push(f);
        } else {
            // Keep the latest missed fire last (it may run); drop the oldest record.
            late.remove(0);
            late.push(f);
        }
        at = s.next_after(f);
    }
    let mut run = on_time;
    if misfire == Misfire::FireOnce && run.is_empty() {
        if let Some(last) = late.pop() {
            run.push(last);
        }
    }
    Plan {
        run,
        missed: late,
        next: at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn local(tz: Tz, s: &str) -> String {
        let t: DateTime<Utc> = utc(s);
        t.with_timezone(&tz)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    }

    fn fires(s: &CronSchedule, from: &str, n: usize) -> Vec<String> {
        s.upcoming(utc(from), n)
            .into_iter()
            .map(|f| {
                f.with_timezone(&s.tz())
                    .format("%Y-%m-%d %H:%M:%S %Z")
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn daily_fire_in_the_spring_gap_runs_once_after_it() {
        // Europe/Berlin skips 02:00–03:00 on 2026-03-29.
        let s = CronSchedule::parse("0 30 2 * * *", "Europe/Berlin", None, None).unwrap();
        assert_eq!(
            fires(&s, "2026-03-27T12:00:00Z", 4),
            [
                "2026-03-28 02:30:00 CET",
                "2026-03-29 03:00:00 CEST",
                "2026-03-30 02:30:00 CEST",
                "2026-03-31 02:30:00 CEST"
            ]
        );
    }

    #[test]
    fn daily_fire_in_the_autumn_overlap_runs_once() {
        // Europe/Berlin repeats 02:00–03:00 on 2026-10-25.
        let s = CronSchedule::parse("30 2 * * *", "Europe/Berlin", None, None).unwrap();
        assert_eq!(
            fires(&s, "2026-10-23T12:00:00Z", 3),
            [
                "2026-10-24 02:30:00 CEST",
                "2026-10-25 02:30:00 CEST",
                "2026-10-26 02:30:00 CET"
            ]
        );
        // Exactly 24 h apart except around the change: never twice in a day.
        let all = s.upcoming(utc("2026-10-20T00:00:00Z"), 10);
        let mut days: Vec<_> = all
            .iter()
            .map(|f| f.with_timezone(&s.tz()).date_naive())
            .collect();
        days.dedup();
        assert_eq!(days.len(), all.len());
    }

    #[test]
    fn hourly_fires_follow_real_time_across_both_changes() {
        let s = CronSchedule::parse("0 * * * *", "America/New_York", None, None).unwrap();
        // Spring forward 2026-03-08 02:00 EST → 03:00 EDT: 01:00, 03:00 (one real hour apart).
        let spring = s.upcoming(utc("2026-03-08T05:30:00Z"), 3);
        assert_eq!(
            spring
                .iter()
                .map(|f| local(s.tz(), &f.to_rfc3339()))
                .collect::<Vec<_>>(),
            [
                "2026-03-08 01:00:00 EST",
                "2026-03-08 03:00:00 EDT",
                "2026-03-08 04:00:00 EDT"
            ]
        );
        // Fall back 2026-11-01 02:00 EDT → 01:00 EST: 01:00 EDT and 01:00 EST both fire, an hour
        // apart, in order.
        let fall = s.upcoming(utc("2026-11-01T04:30:00Z"), 3);
        let gaps: Vec<i64> = fall
            .windows(2)
            .map(|w| (w[1] - w[0]).num_minutes())
            .collect();
        assert_eq!(gaps, [60, 60]);
        assert_eq!(
            fall.iter()
                .map(|f| local(s.tz(), &f.to_rfc3339()))
                .collect::<Vec<_>>(),
            [
                "2026-11-01 01:00:00 EDT",
                "2026-11-01 01:00:00 EST",
                "2026-11-01 02:00:00 EST"
            ]
        );
    }

    #[test]
    fn quartz_patterns_with_seconds_last_day_and_nth_weekday() {
        // Quartz: 1 = Sunday; `6#3` = the third Friday.
        let s = CronSchedule::parse("0 0 9 ? * 6#3", "UTC", None, None).unwrap();
        assert_eq!(
            fires(&s, "2026-01-01T00:00:00Z", 2),
            ["2026-01-16 09:00:00 UTC", "2026-02-20 09:00:00 UTC"]
        );
        let s = CronSchedule::parse("0 0 18 L * ?", "Asia/Shanghai", None, None).unwrap();
        assert_eq!(
            fires(&s, "2026-02-01T00:00:00Z", 2),
            ["2026-02-28 18:00:00 CST", "2026-03-31 18:00:00 CST"]
        );
        let s = CronSchedule::parse("0/20 * * * * ?", "UTC", None, None).unwrap();
        assert_eq!(
            fires(&s, "2026-01-01T00:00:05Z", 3),
            [
                "2026-01-01 00:00:20 UTC",
                "2026-01-01 00:00:40 UTC",
                "2026-01-01 00:01:00 UTC"
            ]
        );
        // `15W`: the weekday nearest the 15th (2026-08-15 is a Saturday → Friday the 14th).
        let s = CronSchedule::parse("0 12 15W * *", "UTC", None, None).unwrap();
        assert_eq!(
            fires(&s, "2026-08-01T00:00:00Z", 1),
            ["2026-08-14 12:00:00 UTC"]
        );
    }

    #[test]
    fn window_and_errors() {
        let s = CronSchedule::parse(
            "0 0 * * *",
            "UTC",
            Some(utc("2026-05-03T00:00:00Z")),
            Some(utc("2026-05-05T00:00:00Z")),
        )
        .unwrap();
        assert_eq!(
            fires(&s, "2026-05-01T00:00:00Z", 9),
            [
                "2026-05-03 00:00:00 UTC",
                "2026-05-04 00:00:00 UTC",
                "2026-05-05 00:00:00 UTC"
            ]
        );
        assert!(matches!(
            CronSchedule::parse("61 * * * *", "UTC", None, None),
            Err(ScheduleError::Cron { .. })
        ));
        assert_eq!(
            CronSchedule::parse("* * * * *", "Mars/Olympus", None, None).unwrap_err(),
            ScheduleError::TimeZone("Mars/Olympus".into())
        );
        assert!(matches!(
            CronSchedule::parse(
                "* * * * *",
                "UTC",
                Some(utc("2026-05-05T00:00:00Z")),
                Some(utc("2026-05-03T00:00:00Z"))
            ),
            Err(ScheduleError::Window { .. })
        ));
    }

    #[test]
    fn misfire_policies_after_downtime() {
        let s = CronSchedule::parse("0 * * * *", "UTC", None, None).unwrap();
        let next = Some(utc("2026-05-01T01:00:00Z"));
        // Down from 00:30 to 04:20: 01:00, 02:00, 03:00, 04:00 were missed.
        let now = utc("2026-05-01T04:20:00Z");
        let p = plan(&s, next, now, Misfire::FireOnce);
        assert_eq!(p.run, [utc("2026-05-01T04:00:00Z")]);
        assert_eq!(p.missed.len(), 3);
        assert_eq!(p.next, Some(utc("2026-05-01T05:00:00Z")));
        let p = plan(&s, next, now, Misfire::Skip);
        assert!(p.run.is_empty());
        assert_eq!(p.missed.len(), 4);
        // On time (within the threshold): runs under either policy; nothing missed.
        let p = plan(
            &s,
            Some(utc("2026-05-01T04:00:00Z")),
            utc("2026-05-01T04:00:30Z"),
            Misfire::Skip,
        );
        assert_eq!(p.run, [utc("2026-05-01T04:00:00Z")]);
        assert!(p.missed.is_empty());
        // Not yet due.
        let p = plan(
            &s,
            Some(utc("2026-05-01T05:00:00Z")),
            now,
            Misfire::FireOnce,
        );
        assert!(p.run.is_empty() && p.missed.is_empty());
        assert_eq!(p.next, Some(utc("2026-05-01T05:00:00Z")));
    }

    #[test]
    fn bizdate_is_the_day_before_in_the_schedules_zone() {
        // 2026-05-01 23:30 UTC is 2026-05-02 07:30 in Shanghai: business date 2026-05-01.
        let sh: Tz = "Asia/Shanghai".parse().unwrap();
        assert_eq!(
            bizdate_of(utc("2026-05-01T23:30:00Z"), sh),
            NaiveDate::from_ymd_opt(2026, 5, 1).unwrap()
        );
        assert_eq!(
            bizdate_of(utc("2026-05-01T23:30:00Z"), Tz::UTC),
            NaiveDate::from_ymd_opt(2026, 4, 30).unwrap()
        );
        let d = NaiveDate::from_ymd_opt(2026, 5, 1).unwrap();
        assert_eq!(logical_time_of(d, sh), utc("2026-05-01T16:00:00Z"));
        assert_eq!(bizdate_of(logical_time_of(d, sh), sh), d);
    }
}

#[cfg(test)]
mod never {
    use super::*;

    #[test]
    fn a_pattern_that_never_matches_has_no_fires() {
        let s = CronSchedule::parse("0 0 31 2 *", "UTC", None, None).unwrap();
        assert!(s.upcoming(Utc::now(), 5).is_empty());
    }
}
