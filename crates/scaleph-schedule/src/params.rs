//! Run parameters substituted into scripts and arguments (DolphinScheduler's conventions).
//!
//! - `${bizdate}`: the run's business date, `yyyyMMdd`; `${bizdate:yyyy-MM-dd}` in another
//!   Java-style pattern (`yyyy`, `yy`, `MM`, `dd`, `HH`, `mm`, `ss`, `SSS`).
//! - `${name}`: a workflow or run parameter (run parameters win); its value may itself hold
//!   `$[…]` expressions.
//! - `$[pattern]`, `$[pattern±N]` (days), `$[pattern±N/24]` (hours), `$[pattern±N*7]` (weeks),
//!   `$[add_months(pattern,±N)]`, `$[month_first_day(pattern,±N)]`,
//!   `$[month_last_day(pattern,±N)]`, `$[this_day(pattern)]`, `$[last_day(pattern)]`: the
//!   run's logical time (the scheduled instant, in the schedule's zone) shifted and formatted,
//!   so `$[yyyyMMdd-1]` equals `${bizdate}`.
//!
//! An unknown `${name}` or a malformed `$[…]` is an error naming it: a run never starts with
//! a half-substituted script.

use crate::ScheduleError;
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// What parameters are evaluated against.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The run's logical (scheduled) instant.
    pub logical: DateTime<Utc>,
    /// The schedule's zone: dates are local to it.
    pub tz: Tz,
    /// Business date (normally the day before the logical time's local date).
    pub bizdate: NaiveDate,
    /// Workflow and run parameters, by name.
    pub params: &'a BTreeMap<String, String>,
}

/// `text` with every parameter replaced.
///
/// # Errors
/// [`ScheduleError::Param`] naming the first unknown parameter or malformed expression.
pub fn substitute(text: &str, ctx: &Context) -> Result<String, ScheduleError> {
    expand(text, ctx, true)
}

fn expand(text: &str, ctx: &Context, named: bool) -> Result<String, ScheduleError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['$']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let (open, close) = if tail.starts_with("${") && named {
            ('{', '}')
        } else if tail.starts_with("$[") {
            ('[', ']')
        } else {
            out.push('$');
            rest = &tail[1..];
            continue;
        };
        let Some(end) = tail.find(close) else {
            return Err(ScheduleError::Param(format!(
                "unclosed parameter '{}': add '{close}'",
                tail.chars().take(40).collect::<String>()
            )));
        };
        let inner = &tail[2..end];
        let value = if open == '{' {
            named_value(inner, ctx)?
        } else {
            time_expr(inner, ctx)?
        };
        out.push_str(&value);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn named_value(inner: &str, ctx: &Context) -> Result<String, ScheduleError> {
    let (name, fmt) = match inner.split_once(':') {
        Some((n, f)) => (n.trim(), Some(f.trim())),
        None => (inner.trim(), None),
    };
    if name == "bizdate" {
        let d = ctx
            .bizdate
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists in a naive date");
        return format_java(&d, fmt.unwrap_or("yyyyMMdd"));
    }
    match ctx.params.get(name) {
        Some(v) if fmt.is_none() => expand(v, ctx, false),
        Some(_) => Err(ScheduleError::Param(format!(
            "parameter '${{{inner}}}': only ${{bizdate}} takes a date pattern"
        ))),
        None => Err(ScheduleError::Param(format!(
            "unknown parameter '${{{name}}}' (built in: bizdate; defined: {})",
            if ctx.params.is_empty() {
                "none".to_string()
            } else {
                ctx.params.keys().cloned().collect::<Vec<_>>().join(", ")
            }
        ))),
    }
}

/// `$[…]`: the logical time in the zone, shifted and formatted.
fn time_expr(inner: &str, ctx: &Context) -> Result<String, ScheduleError> {
    let bad = |why: &str| ScheduleError::Param(format!("parameter '$[{inner}]': {why}"));
    let base = ctx.logical.with_timezone(&ctx.tz).naive_local();
    let inner = inner.trim();
    if let Some(args) = inner.strip_suffix(')') {
        let (func, args) = args
            .split_once('(')
            .ok_or_else(|| bad("expected f(pattern, n)"))?;
        let (fmt, n) = match args.rsplit_once(',') {
            Some((f, n)) => (
                f.trim(),
                n.trim()
                    .parse::<i32>()
                    .map_err(|_| bad("the offset must be an integer"))?,
            ),
            None => (args.trim(), 0),
        };
        let shifted = |m: i32| -> Result<NaiveDateTime, ScheduleError> {
            let r = if m >= 0 {
                base.checked_add_months(Months::new(m as u32))
            } else {
                base.checked_sub_months(Months::new(m.unsigned_abs()))
            };
            r.ok_or_else(|| bad("out of range"))
        };
        let t = match func.trim() {
            "add_months" => shifted(n)?,
            "month_first_day" => first_of_month(shifted(n)?),
            "month_last_day" => last_of_month(shifted(n)?),
            "this_day" => base,
            "last_day" => base - Duration::days(1),
            other => return Err(bad(&format!("unknown function '{other}'"))),
        };
        return format_java(&t, fmt);
    }
    // `pattern±N`, `pattern±N/24`, `pattern±N*7`: a sign after the pattern's last letter.
    let split = inner
        .char_indices()
        .rev()
        .find(|(_, c)| *c == '+' || *c == '-')
        .filter(|(i, _)| {
            let after = &inner[i + 1..];
            !after.is_empty()
                && after
                    .trim_end_matches("/24")
                    .trim_end_matches("*7")
                    .chars()
                    .all(|c| c.is_ascii_digit())
                && inner[..*i].ends_with(|c: char| c.is_ascii_alphabetic())
        });
    let (fmt, shift) = match split {
        None => (inner, Duration::zero()),
        Some((i, sign)) => {
            let after = &inner[i + 1..];
            let (num, unit) = if let Some(n) = after.strip_suffix("/24") {
                (n, Duration::hours(1))
            } else if let Some(n) = after.strip_suffix("*7") {
                (n, Duration::days(7))
            } else {
                (after, Duration::days(1))
            };
            let n: i32 = num.parse().map_err(|_| bad("the offset is too large"))?;
            let d = unit * n;
            (&inner[..i], if sign == '-' { -d } else { d })
        }
    };
    format_java(&(base + shift), fmt)
}

fn first_of_month(t: NaiveDateTime) -> NaiveDateTime {
    t.with_day(1).expect("day 1 exists")
}

fn last_of_month(t: NaiveDateTime) -> NaiveDateTime {
    let first = first_of_month(t);
    let next = first.checked_add_months(Months::new(1)).unwrap_or(first);
    next - Duration::days(1)
}

/// Formats `t` with a Java `SimpleDateFormat`-style pattern (letters `y M d H m s S`; other
/// characters are literal; `'…'` quotes literal letters).
fn format_java(t: &NaiveDateTime, pattern: &str) -> Result<String, ScheduleError> {
    let mut out = String::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let end = chars[i + 1..]
                .iter()
                .position(|x| *x == '\'')
                .map(|p| i + 1 + p)
                .unwrap_or(chars.len());
            out.extend(&chars[i + 1..end]);
            i = end + 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            out.push(c);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|x| **x == c).count();
        let piece = match (c, run) {
            ('y', 2) => format!("{:02}", t.year().rem_euclid(100)),
            ('y', _) => format!("{:04}", t.year()),
            ('M', _) => format!("{:0w$}", t.month(), w = run.min(2)),
            ('d', _) => format!("{:0w$}", t.day(), w = run.min(2)),
            ('H', _) => format!("{:0w$}", t.hour_of_day(), w = run.min(2)),
            ('m', _) => format!("{:0w$}", t.minute_of_hour(), w = run.min(2)),
            ('s', _) => format!("{:0w$}", t.second_of_minute(), w = run.min(2)),
            ('S', _) => format!("{:03}", t.and_utc().timestamp_subsec_millis()),
            _ => {
                return Err(ScheduleError::Param(format!(
                    "date pattern '{pattern}': unsupported letter '{c}' (use yyyy, MM, dd, HH, mm, ss, SSS)"
                )))
            }
        };
        out.push_str(&piece);
        i += run;
    }
    Ok(out)
}

/// Time-of-day accessors under names that do not clash with `Datelike`.
trait Clock {
    fn hour_of_day(&self) -> u32;
    fn minute_of_hour(&self) -> u32;
    fn second_of_minute(&self) -> u32;
}

impl Clock for NaiveDateTime {
    fn hour_of_day(&self) -> u32 {
        chrono::Timelike::hour(self)
    }
    fn minute_of_hour(&self) -> u32 {
        chrono::Timelike::minute(self)
    }
    fn second_of_minute(&self) -> u32 {
        chrono::Timelike::second(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(params: &BTreeMap<String, String>) -> Context<'_> {
        // Fired at 2026-03-01 00:30 in Shanghai: business date 2026-02-28.
        let logical = DateTime::parse_from_rfc3339("2026-02-28T16:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let tz: Tz = "Asia/Shanghai".parse().unwrap();
        Context {
            logical,
            tz,
            bizdate: crate::bizdate_of(logical, tz),
            params,
        }
    }

    #[test]
    fn builtins_and_date_arithmetic() {
        let p = BTreeMap::new();
        let c = ctx(&p);
        let s = |t: &str| substitute(t, &c).unwrap();
        assert_eq!(s("dt='${bizdate}'"), "dt='20260228'");
        assert_eq!(s("${bizdate:yyyy-MM-dd}"), "2026-02-28");
        assert_eq!(s("$[yyyyMMdd]"), "20260301");
        assert_eq!(s("$[yyyyMMdd-1]"), s("${bizdate}"));
        assert_eq!(s("$[yyyy-MM-dd+1]"), "2026-03-02");
        assert_eq!(s("$[yyyy-MM-dd HH:mm:ss-1/24]"), "2026-02-28 23:30:00");
        assert_eq!(s("$[yyyyMMdd-1*7]"), "20260222");
        assert_eq!(s("$[add_months(yyyyMM,-1)]"), "202602");
        assert_eq!(s("$[month_first_day(yyyy-MM-dd,-1)]"), "2026-02-01");
        assert_eq!(s("$[month_last_day(yyyy-MM-dd,-1)]"), "2026-02-28");
        assert_eq!(s("$[last_day(yyyyMMdd)]"), "20260228");
        assert_eq!(s("cost $5 and $x"), "cost $5 and $x");
    }

    #[test]
    fn user_parameters_and_errors() {
        let mut p = BTreeMap::new();
        p.insert("region".to_string(), "eu".to_string());
        p.insert("since".to_string(), "$[yyyyMMdd-7]".to_string());
        let c = ctx(&p);
        assert_eq!(
            substitute("${region}/${since}/${bizdate}", &c).unwrap(),
            "eu/20260222/20260228"
        );
        let e = substitute("SELECT '${regoin}'", &c)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unknown parameter '${regoin}'") && e.contains("region"),
            "{e}"
        );
        let e = substitute("x ${bizdate", &c).unwrap_err().to_string();
        assert!(e.contains("unclosed parameter"), "{e}");
        let e = substitute("$[yyyyQQ]", &c).unwrap_err().to_string();
        assert!(e.contains("unsupported letter 'Q'"), "{e}");
        let e = substitute("$[next_day(yyyy)]", &c).unwrap_err().to_string();
        assert!(e.contains("unknown function 'next_day'"), "{e}");
    }
}
