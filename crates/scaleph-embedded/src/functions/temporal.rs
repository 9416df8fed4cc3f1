//! Flink's temporal functions that DataFusion lacks: `FLOOR/CEIL(t TO unit)`, `TIMESTAMPDIFF`,
//! `TIMESTAMPADD`, `CONVERT_TZ`, `TO_TIMESTAMP_LTZ`.
//!
//! Semantics follow Flink 2.x (Calcite's `SqlFunctions` / `DateTimeUtils`): `TIMESTAMPDIFF`
//! counts whole units from the first to the second argument, truncated toward zero, months by
//! the calendar (a month passes when the day and time of month are reached); `TIMESTAMPADD`
//! and interval months clamp to the month's last day; weeks start on Sunday. A
//! `TIMESTAMP_LTZ` is floored/ceiled in the session time zone (`table.local-time-zone`).

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, NaiveDateTime, TimeZone, Timelike};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Date32Builder, Int32Builder, StringBuilder,
    TimestampMicrosecondArray, TimestampMillisecondBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{
    DataType, Date32Type, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use datafusion::common::{exec_err, plan_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};
use std::sync::Arc;

/// Which function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TimeFn {
    /// `flink_floor('UNIT', t)`, from `FLOOR(t TO UNIT)`.
    Floor,
    /// `flink_ceil('UNIT', t)`, from `CEIL(t TO UNIT)`.
    Ceil,
    /// `TIMESTAMPDIFF(UNIT, t1, t2)` → INT.
    Diff,
    /// `TIMESTAMPADD(UNIT, n, t)`.
    Add,
    /// `CONVERT_TZ(s, from, to)` → STRING.
    ConvertTz,
    /// `TO_TIMESTAMP_LTZ(n, precision)` → `TIMESTAMP_LTZ(3)`.
    ToLtz,
    /// `flink_to_local(t)`: a `TIMESTAMP_LTZ` as the wall clock of `table.local-time-zone`,
    /// `TIMESTAMP(3)` (from `LOCALTIMESTAMP`, `LOCALTIME`, `CURRENT_TIME`, `CURRENT_DATE`).
    ToLocal,
    /// `flink_time_add(t, interval, sign)`: `t ± interval` typed as `t`; a TIME wraps around
    /// midnight, as in Flink (DataFusion reads `TIME + INTERVAL` as an interval). Set by the
    /// decimal analyzer rule for TIME, and by `OVERLAPS` periods for any temporal start.
    TimeAdd,
}

/// A temporal function as a DataFusion UDF.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct TimeUdf {
    kind: TimeFn,
    signature: Signature,
}

impl TimeUdf {
    pub(crate) fn new(kind: TimeFn) -> Self {
        Self {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

/// A time unit of `FLOOR … TO`, `TIMESTAMPDIFF`, `TIMESTAMPADD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
    Millisecond,
}

impl Unit {
    fn parse(s: &str) -> Option<Unit> {
        Some(match s.to_ascii_uppercase().as_str() {
            "YEAR" | "SQL_TSI_YEAR" => Unit::Year,
            "QUARTER" | "SQL_TSI_QUARTER" => Unit::Quarter,
            "MONTH" | "SQL_TSI_MONTH" => Unit::Month,
            "WEEK" | "SQL_TSI_WEEK" => Unit::Week,
            "DAY" | "SQL_TSI_DAY" => Unit::Day,
            "HOUR" | "SQL_TSI_HOUR" => Unit::Hour,
            "MINUTE" | "SQL_TSI_MINUTE" => Unit::Minute,
            "SECOND" | "SQL_TSI_SECOND" => Unit::Second,
            "MILLISECOND" => Unit::Millisecond,
            _ => return None,
        })
    }

    /// Months per unit for calendar units.
    fn months(self) -> Option<u32> {
        match self {
            Unit::Year => Some(12),
            Unit::Quarter => Some(3),
            Unit::Month => Some(1),
            _ => None,
        }
    }

    /// Microseconds per unit for fixed units.
    fn micros(self) -> i64 {
        match self {
            Unit::Week => 7 * 86_400_000_000,
            Unit::Day => 86_400_000_000,
            Unit::Hour => 3_600_000_000,
            Unit::Minute => 60_000_000,
            Unit::Second => 1_000_000,
            Unit::Millisecond => 1_000,
            _ => 0,
        }
    }
}

/// `t` floored to `unit`.
fn floor(t: NaiveDateTime, unit: Unit) -> Option<NaiveDateTime> {
    let d = t.date();
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0);
    match unit {
        Unit::Year => midnight(NaiveDate::from_ymd_opt(d.year(), 1, 1)?),
        Unit::Quarter => midnight(NaiveDate::from_ymd_opt(
            d.year(),
            (d.month() - 1) / 3 * 3 + 1,
            1,
        )?),
        Unit::Month => midnight(NaiveDate::from_ymd_opt(d.year(), d.month(), 1)?),
        // Calcite's weeks start on Sunday.
        Unit::Week => midnight(d - Duration::days(i64::from(d.weekday().num_days_from_sunday()))),
        Unit::Day => midnight(d),
        Unit::Hour => t.with_nanosecond(0)?.with_second(0)?.with_minute(0),
        Unit::Minute => t.with_nanosecond(0)?.with_second(0),
        Unit::Second => t.with_nanosecond(0),
        Unit::Millisecond => t.with_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000),
    }
}

/// `t` plus `n` units (months clamp to the month's last day).
fn add(t: NaiveDateTime, unit: Unit, n: i64) -> Option<NaiveDateTime> {
    match unit.months() {
        Some(m) => {
            let months = n.checked_mul(i64::from(m))?;
            let abs = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
            if months >= 0 {
                t.checked_add_months(abs)
            } else {
                t.checked_sub_months(abs)
            }
        }
        None => t.checked_add_signed(Duration::microseconds(n.checked_mul(unit.micros())?)),
    }
}

/// Whole units from `a` to `b`, truncated toward zero.
fn diff(a: NaiveDateTime, b: NaiveDateTime, unit: Unit) -> Option<i64> {
    match unit.months() {
        Some(per) => {
            let months = |t: NaiveDateTime| i64::from(t.year()) * 12 + i64::from(t.month0());
            // Calcite's `subtractMonths`: a month has passed when the day and time of month
            // are reached, or the later date is its month's last day.
            let (lo, hi, sign) = if b >= a { (a, b, 1) } else { (b, a, -1) };
            let mut m = months(hi) - months(lo);
            let last_day = hi.date().checked_add_days(chrono::Days::new(1))?.day() == 1;
            let short_day = hi.day() < lo.day() && !last_day;
            let same_day_earlier = (hi.day() == lo.day() || (last_day && hi.day() < lo.day()))
                && hi.time() < lo.time();
            if m > 0 && (short_day || same_day_earlier) {
                m -= 1;
            }
            Some(sign * m / i64::from(per))
        }
        None => {
            let us = (b - a).num_microseconds()?;
            Some(us / unit.micros())
        }
    }
}

const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("epoch"),
};

/// The session time zone (`table.local-time-zone`), UTC when unset or unknown.
pub(super) fn session_tz(args: &ScalarFunctionArgs) -> chrono_tz::Tz {
    args.config_options
        .execution
        .time_zone
        .as_deref()
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::UTC)
}

/// Wall-clock values of a DATE or TIMESTAMP[_LTZ] array (LTZ in `tz`), or `None` per NULL.
fn wall_clock(a: &ArrayRef, tz: chrono_tz::Tz) -> Result<Vec<Option<NaiveDateTime>>> {
    Ok(match a.data_type() {
        DataType::Date32 => {
            let d = a.as_primitive::<Date32Type>();
            (0..d.len())
                .map(|r| {
                    (!d.is_null(r))
                        .then(|| EPOCH + Duration::days(i64::from(d.value(r))))
                        .and_then(|d| d.and_hms_opt(0, 0, 0))
                })
                .collect()
        }
        DataType::Timestamp(_, zone) => {
            let us = cast(a, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
            let us = us.as_primitive::<TimestampMicrosecondType>();
            (0..us.len())
                .map(|r| {
                    if us.is_null(r) {
                        return None;
                    }
                    let utc = DateTime::from_timestamp_micros(us.value(r))?;
                    Some(match zone {
                        Some(_) => utc.with_timezone(&tz).naive_local(),
                        None => utc.naive_utc(),
                    })
                })
                .collect()
        }
        other => return exec_err!("expected a DATE or TIMESTAMP, got {other}"),
    })
}

/// Builds an array of `like`'s type from wall-clock values (LTZ interpreted in `tz`).
fn from_wall_clock(
    v: &[Option<NaiveDateTime>],
    like: &DataType,
    tz: chrono_tz::Tz,
) -> Result<ArrayRef> {
    match like {
        DataType::Date32 => {
            let mut b = Date32Builder::with_capacity(v.len());
            for t in v {
                b.append_option(t.map(|t| (t.date() - EPOCH).num_days() as i32));
            }
            Ok(Arc::new(b.finish()))
        }
        DataType::Timestamp(_, zone) => {
            let micros: TimestampMicrosecondArray = v
                .iter()
                .map(|t| {
                    t.and_then(|t| match zone {
                        Some(_) => tz
                            .from_local_datetime(&t)
                            .earliest()
                            .map(|l| l.timestamp_micros()),
                        None => Some(t.and_utc().timestamp_micros()),
                    })
                })
                .collect();
            let micros: ArrayRef = Arc::new(micros.with_timezone_opt(zone.clone()));
            Ok(cast(&micros, like)?)
        }
        other => exec_err!("expected a DATE or TIMESTAMP, got {other}"),
    }
}

/// The unit named by constant string argument `a` (first row).
fn unit_arg(a: &ArrayRef, f: &str) -> Result<Unit> {
    let s = cast(a, &DataType::Utf8)?;
    let s = s.as_string::<i32>();
    if s.is_empty() || s.is_null(0) {
        return exec_err!("{f} needs a time unit");
    }
    match Unit::parse(s.value(0)) {
        Some(u) => Ok(u),
        None => exec_err!("{f}: unknown time unit {}", s.value(0)),
    }
}

fn is_temporal(t: &DataType) -> bool {
    matches!(t, DataType::Date32 | DataType::Timestamp(..))
}

impl ScalarUDFImpl for TimeUdf {
    fn name(&self) -> &str {
        match self.kind {
            TimeFn::Floor => "flink_floor",
            TimeFn::Ceil => "flink_ceil",
            TimeFn::Diff => "timestampdiff",
            TimeFn::Add => "timestampadd",
            TimeFn::ConvertTz => "convert_tz",
            TimeFn::ToLtz => "to_timestamp_ltz",
            TimeFn::ToLocal => "flink_to_local",
            TimeFn::TimeAdd => "flink_time_add",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, t: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name().to_uppercase();
        let ts = |d: &DataType| {
            if is_temporal(d) {
                d.clone()
            } else {
                DataType::Timestamp(TimeUnit::Microsecond, None)
            }
        };
        match (self.kind, t) {
            (TimeFn::Floor | TimeFn::Ceil, [_, x]) => Ok(vec![DataType::Utf8, ts(x)]),
            (TimeFn::Diff, [_, a, b]) => Ok(vec![DataType::Utf8, ts(a), ts(b)]),
            (TimeFn::Add, [_, _, x]) => Ok(vec![DataType::Utf8, DataType::Int64, ts(x)]),
            (TimeFn::ConvertTz, [_, _, _]) => Ok(vec![DataType::Utf8; 3]),
            (TimeFn::ToLtz, [_]) => Ok(vec![DataType::Int64]),
            (TimeFn::ToLtz, [_, _]) => Ok(vec![DataType::Int64, DataType::Int32]),
            (TimeFn::TimeAdd, [t, _, _]) => Ok(vec![
                t.clone(),
                DataType::Interval(datafusion::arrow::datatypes::IntervalUnit::MonthDayNano),
                DataType::Int64,
            ]),
            (TimeFn::ToLocal, [_]) => Ok(vec![DataType::Timestamp(
                TimeUnit::Microsecond,
                Some(Arc::from("UTC")),
            )]),
            _ => plan_err!("{name}: wrong number of arguments ({})", t.len()),
        }
    }

    fn return_type(&self, t: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            TimeFn::Floor | TimeFn::Ceil => t[1].clone(),
            TimeFn::Diff => DataType::Int32,
            // A DATE plus hours and smaller becomes a TIMESTAMP (resolved per call below, so
            // the declared type is the input's; units below a day on a DATE are refused).
            TimeFn::Add => t[2].clone(),
            TimeFn::ConvertTz => DataType::Utf8,
            TimeFn::ToLtz => DataType::Timestamp(TimeUnit::Millisecond, Some(Arc::from("UTC"))),
            TimeFn::ToLocal => DataType::Timestamp(TimeUnit::Millisecond, None),
            TimeFn::TimeAdd => t[0].clone(),
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let tz = session_tz(&args);
        let arrays = super::arg_arrays(&args)?;
        let name = self.name().to_uppercase();
        let out: ArrayRef = match self.kind {
            TimeFn::Floor | TimeFn::Ceil => {
                let unit = unit_arg(&arrays[0], &name)?;
                let v: Vec<Option<NaiveDateTime>> = wall_clock(&arrays[1], tz)?
                    .into_iter()
                    .map(|t| {
                        let t = t?;
                        let f = floor(t, unit)?;
                        if self.kind == TimeFn::Ceil && f != t {
                            add(f, unit, 1)
                        } else {
                            Some(f)
                        }
                    })
                    .collect();
                from_wall_clock(&v, arrays[1].data_type(), tz)?
            }
            TimeFn::Diff => {
                let unit = unit_arg(&arrays[0], &name)?;
                let a = wall_clock(&arrays[1], tz)?;
                let b = wall_clock(&arrays[2], tz)?;
                let mut out = Int32Builder::with_capacity(n);
                for (a, b) in a.into_iter().zip(b) {
                    match (a, b) {
                        (Some(a), Some(b)) => match diff(a, b, unit).map(i32::try_from) {
                            Some(Ok(v)) => out.append_value(v),
                            _ => return exec_err!("{name}: result out of INT range"),
                        },
                        _ => out.append_null(),
                    }
                }
                Arc::new(out.finish())
            }
            TimeFn::Add => {
                let unit = unit_arg(&arrays[0], &name)?;
                if arrays[2].data_type() == &DataType::Date32
                    && unit.months().is_none()
                    && !matches!(unit, Unit::Day | Unit::Week)
                {
                    return exec_err!(
                        "{name} of {unit:?} to a DATE: cast the date to TIMESTAMP first"
                    );
                }
                let counts = arrays[1].as_primitive::<Int64Type>();
                let v: Vec<Option<NaiveDateTime>> = wall_clock(&arrays[2], tz)?
                    .into_iter()
                    .enumerate()
                    .map(|(r, t)| {
                        if counts.is_null(r) {
                            return None;
                        }
                        add(t?, unit, counts.value(r))
                    })
                    .collect();
                from_wall_clock(&v, arrays[2].data_type(), tz)?
            }
            TimeFn::ConvertTz => {
                let s = arrays[0].as_string::<i32>();
                let from = arrays[1].as_string::<i32>();
                let to = arrays[2].as_string::<i32>();
                let mut out = StringBuilder::with_capacity(n, n * 19);
                for r in 0..n {
                    if s.is_null(r) || from.is_null(r) || to.is_null(r) {
                        out.append_null();
                        continue;
                    }
                    let (Ok(f), Ok(t)) = (
                        from.value(r).parse::<chrono_tz::Tz>(),
                        to.value(r).parse::<chrono_tz::Tz>(),
                    ) else {
                        return exec_err!(
                            "CONVERT_TZ: unknown time zone '{}' or '{}'",
                            from.value(r),
                            to.value(r)
                        );
                    };
                    let parsed =
                        NaiveDateTime::parse_from_str(s.value(r).trim(), "%Y-%m-%d %H:%M:%S")
                            .ok()
                            .and_then(|d| f.from_local_datetime(&d).earliest());
                    out.append_option(
                        parsed.map(|d| d.with_timezone(&t).format("%Y-%m-%d %H:%M:%S").to_string()),
                    );
                }
                Arc::new(out.finish())
            }
            TimeFn::ToLtz => {
                let v = arrays[0].as_primitive::<Int64Type>();
                let precision: Vec<Option<i32>> = match arrays.get(1) {
                    Some(p) => {
                        let p = p.as_primitive::<Int32Type>();
                        (0..n)
                            .map(|r| (!p.is_null(r)).then(|| p.value(r)))
                            .collect()
                    }
                    None => vec![Some(3); n],
                };
                let mut out = TimestampMillisecondBuilder::with_capacity(n);
                for (r, p) in precision.iter().enumerate() {
                    let ms = match (v.is_null(r), *p) {
                        (false, Some(0)) => v.value(r).checked_mul(1000),
                        (false, Some(3)) => Some(v.value(r)),
                        (false, Some(p)) => {
                            return exec_err!("TO_TIMESTAMP_LTZ: precision {p} is not 0 or 3")
                        }
                        _ => None,
                    };
                    out.append_option(ms);
                }
                Arc::new(out.finish().with_timezone("UTC"))
            }
            TimeFn::TimeAdd
                if !matches!(
                    arrays[0].data_type(),
                    DataType::Time32(_) | DataType::Time64(_)
                ) =>
            {
                use datafusion::arrow::compute::kernels::numeric::{add, sub};
                let neg = arrays[2].as_primitive::<Int64Type>();
                let minus = !neg.is_empty() && neg.is_valid(0) && neg.value(0) < 0;
                let r = if minus {
                    sub(&arrays[0], &arrays[1])?
                } else {
                    add(&arrays[0], &arrays[1])?
                };
                cast(&r, arrays[0].data_type())?
            }
            TimeFn::TimeAdd => {
                use datafusion::arrow::array::Time64NanosecondArray;
                use datafusion::arrow::datatypes::{
                    IntervalMonthDayNanoType, Time64NanosecondType,
                };
                const DAY_NS: i64 = 86_400_000_000_000;
                let t = cast(&arrays[0], &DataType::Time64(TimeUnit::Nanosecond))?;
                let t = t.as_primitive::<Time64NanosecondType>();
                let iv = arrays[1].as_primitive::<IntervalMonthDayNanoType>();
                let sign = arrays[2].as_primitive::<Int64Type>();
                let out: Time64NanosecondArray = (0..n)
                    .map(|r| {
                        if t.is_null(r) || iv.is_null(r) || sign.is_null(r) {
                            return None;
                        }
                        let v = iv.value(r);
                        let d = i64::from(v.days)
                            .wrapping_mul(DAY_NS)
                            .wrapping_add(v.nanoseconds)
                            .rem_euclid(DAY_NS);
                        Some((t.value(r) + sign.value(r) * d).rem_euclid(DAY_NS))
                    })
                    .collect();
                cast(&out, arrays[0].data_type())?
            }
            TimeFn::ToLocal => {
                let mut out = TimestampMillisecondBuilder::with_capacity(n);
                for t in wall_clock(&arrays[0], tz)? {
                    out.append_option(t.map(|t| t.and_utc().timestamp_millis()));
                }
                Arc::new(out.finish())
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// `PROCTIME()`: the processing time, as `TIMESTAMP_LTZ(3)` (epoch ms, UTC). Volatile: every
/// batch reads the clock when it is evaluated (a streaming source's rows, when they are read).
/// In streaming mode a `PROCTIME()` column of a table without a watermark is its time
/// attribute (windows over it close on the wall clock).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct Proctime {
    signature: Signature,
}

impl Proctime {
    /// The UDF.
    pub(crate) fn new() -> Self {
        Self {
            signature: Signature::exact(vec![], Volatility::Volatile),
        }
    }
}

impl ScalarUDFImpl for Proctime {
    fn name(&self) -> &str {
        "proctime"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(
            TimeUnit::Millisecond,
            Some(Arc::from("UTC")),
        ))
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let now = chrono::Utc::now().timestamp_millis();
        Ok(ColumnarValue::Scalar(
            datafusion::common::ScalarValue::TimestampMillisecond(
                Some(now),
                Some(Arc::from("UTC")),
            ),
        ))
    }
}
