//! `'connector' = 'datagen'`: bounded generated rows (Flink's DataGen SQL connector).
//!
//! Per field `fields.<f>.kind` is `random` (default) or `sequence`. Sequences take
//! `start`/`end` (inclusive, required) and make the source bounded at `end - start + 1` rows;
//! random fields take `min`/`max` (numbers), `length` (strings, default 100), `max-past`
//! (temporal, in milliseconds, default 0) and `null-rate` (0..1). The row count is the smallest of
//! `number-of-rows` and every sequence length; with neither the source is unbounded, which batch
//! execution rejects and streaming execution reads until the job stops, at `rows-per-second`
//! (default 10,000, as Flink). A bounded table is throttled only when `rows-per-second` is set
//! (Flink's default would make every bounded embedded run artificially slow). Random defaults: integers over their type's range,
//! floating point in [0, 1), decimals in [0, 10^(p-s)).

use crate::{Connector, Options, Sink};
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Float32Builder, Float64Builder,
    Int16Builder, Int32Builder, Int64Builder, Int8Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder, TimestampMillisecondBuilder, TimestampNanosecondBuilder,
    TimestampSecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::catalog::TableProvider;
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use scaleph_sql::{SqlError, TableDef};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BATCH: u64 = 8192;
/// Longest random string or bytes value (`fields.<f>.length`), in bytes.
const MAX_LENGTH: usize = 1 << 20;
/// Random string/bytes bytes per batch; batches get fewer rows when values are long.
const BATCH_BYTES: usize = 8 << 20;

#[derive(Debug, Clone)]
enum Kind {
    Sequence {
        start: i64,
    },
    Random {
        min: Option<f64>,
        max: Option<f64>,
        length: usize,
        max_past_ms: i64,
    },
}

#[derive(Debug, Clone)]
struct FieldGen {
    data_type: DataType,
    kind: Kind,
    null_rate: f64,
}

pub(crate) struct Datagen {
    def: TableDef,
    schema: SchemaRef,
    fields: Arc<Vec<FieldGen>>,
    /// `None`: unbounded.
    rows: Option<u64>,
    rows_per_second: Option<u64>,
}

impl Datagen {
    pub(crate) fn new(def: &TableDef) -> Result<Self, SqlError> {
        let mut o = Options::new(def);
        let number_of_rows: Option<u64> = o.parse("number-of-rows", "a row count")?;
        let rows_per_second: Option<u64> = o.parse("rows-per-second", "a rate")?;
        if rows_per_second == Some(0) {
            return Err(SqlError::invalid(
                o.pos("rows-per-second"),
                "option 'rows-per-second' must be positive",
            ));
        }
        o.get("scan.parallelism");
        let mut fields = Vec::new();
        let mut rows = number_of_rows;
        for c in &def.columns {
            let p = format!("fields.{}.", c.name);
            let kind_key = format!("{p}kind");
            let dt = c.data_type.to_arrow();
            let unsupported = || {
                SqlError::unsupported(
                    c.pos,
                    format!("datagen for column `{}` of type {}", c.name, c.data_type),
                )
            };
            let kind = match o.get(&kind_key).unwrap_or("random") {
                "sequence" => {
                    if !sequence_type(&dt) {
                        return Err(unsupported());
                    }
                    let start: i64 =
                        o.parse(&format!("{p}start"), "an integer")?
                            .ok_or_else(|| {
                                SqlError::invalid(
                                    o.pos(&kind_key),
                                    format!(
                                        "missing required option '{p}start' for a sequence field"
                                    ),
                                )
                            })?;
                    let end: i64 = o.parse(&format!("{p}end"), "an integer")?.ok_or_else(|| {
                        SqlError::invalid(
                            o.pos(&kind_key),
                            format!("missing required option '{p}end' for a sequence field"),
                        )
                    })?;
                    if end < start {
                        return Err(SqlError::invalid(
                            o.pos(&format!("{p}end")),
                            format!("'{p}end' ({end}) is less than '{p}start' ({start})"),
                        ));
                    }
                    let len = (end - start) as u64 + 1;
                    rows = Some(rows.map_or(len, |r| r.min(len)));
                    Kind::Sequence { start }
                }
                "random" => {
                    if !random_type(&dt) {
                        return Err(unsupported());
                    }
                    let min: Option<f64> = o.parse(&format!("{p}min"), "a number")?;
                    let max: Option<f64> = o.parse(&format!("{p}max"), "a number")?;
                    if let (Some(a), Some(b)) = (min, max) {
                        if b < a {
                            return Err(SqlError::invalid(
                                o.pos(&format!("{p}max")),
                                format!("'{p}max' is less than '{p}min'"),
                            ));
                        }
                    }
                    let length_key = format!("{p}length");
                    let length: usize = o.parse(&length_key, "a length")?.unwrap_or(100);
                    if length > MAX_LENGTH {
                        return Err(SqlError::invalid(
                            o.pos(&length_key),
                            format!("'{length_key}' is at most {MAX_LENGTH} (bytes per value), found {length}"),
                        ));
                    }
                    let max_past_ms = o.duration_ms(&format!("{p}max-past"))?.unwrap_or(0);
                    o.get(&format!("{p}var-len"));
                    Kind::Random {
                        min,
                        max,
                        length,
                        max_past_ms,
                    }
                }
                other => {
                    return Err(SqlError::invalid(
                        o.pos(&kind_key),
                        format!("'{kind_key}' must be 'random' or 'sequence', found '{other}'"),
                    ))
                }
            };
            let null_rate: f64 = o
                .parse(&format!("{p}null-rate"), "a fraction")?
                .unwrap_or(0.0);
            if !(0.0..=1.0).contains(&null_rate) {
                return Err(SqlError::invalid(
                    o.pos(&format!("{p}null-rate")),
                    "null-rate must be within 0..1",
                ));
            }
            fields.push(FieldGen {
                data_type: dt,
                kind,
                null_rate,
            });
        }
        // Options for columns that do not exist; unknown keys of existing columns are left to
        // `finish`, which reports them as unsupported.
        for opt in def.options.iter().filter(|o| o.key.starts_with("fields.")) {
            let field = opt.key["fields.".len()..]
                .rsplit_once('.')
                .map(|(f, _)| f)
                .unwrap_or("");
            if def.column_index(field).is_none() {
                return Err(SqlError::invalid(
                    opt.pos,
                    format!("option '{}' names no column of `{}`", opt.key, def.name),
                ));
            }
        }
        o.finish()?;
        // Unbounded: Flink's default rate of 10,000 rows per second.
        let rows_per_second = match rows {
            None => Some(rows_per_second.unwrap_or(10_000)),
            Some(_) => rows_per_second,
        };
        Ok(Self {
            def: def.clone(),
            schema: Arc::new(def.arrow_schema()),
            fields: Arc::new(fields),
            rows,
            rows_per_second,
        })
    }
}

/// Types a `sequence` field can have.
fn sequence_type(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal128(..)
            | DataType::Utf8
    )
}

/// Types a `random` field can have.
fn random_type(dt: &DataType) -> bool {
    sequence_type(dt)
        || matches!(
            dt,
            DataType::Boolean | DataType::Date32 | DataType::Timestamp(..)
        )
}

impl Connector for Datagen {
    fn source(&self) -> Result<Arc<dyn TableProvider>, SqlError> {
        // Long random values make smaller batches, so one batch stays near BATCH_BYTES.
        let row_bytes: usize = self
            .fields
            .iter()
            .map(|f| match f.kind {
                Kind::Random { length, .. } => length,
                Kind::Sequence { .. } => 0,
            })
            .sum();
        let batch = (BATCH_BYTES / row_bytes.max(1)).clamp(1, BATCH as usize) as u64;
        let part = Arc::new(DatagenPartition {
            schema: self.schema.clone(),
            fields: self.fields.clone(),
            rows: self.rows,
            rows_per_second: self.rows_per_second,
            batch,
        });
        StreamingTable::try_new(self.schema.clone(), vec![part])
            .map(|t| Arc::new(t) as Arc<dyn TableProvider>)
            .map_err(|e| SqlError::invalid(self.def.pos, e.to_string()))
    }

    fn bounded(&self) -> bool {
        self.rows.is_some()
    }

    fn sink(&self) -> Result<Arc<dyn Sink>, SqlError> {
        Err(SqlError::invalid(
            self.def.pos,
            format!(
                "table `{}` uses connector 'datagen', which can only be read",
                self.def.name
            ),
        ))
    }
}

#[derive(Debug)]
struct DatagenPartition {
    schema: SchemaRef,
    fields: Arc<Vec<FieldGen>>,
    /// `None`: unbounded.
    rows: Option<u64>,
    rows_per_second: Option<u64>,
    /// Rows per batch.
    batch: u64,
}

impl PartitionStream for DatagenPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let schema = self.schema.clone();
        let fields = self.fields.clone();
        let total = self.rows.unwrap_or(u64::MAX);
        let rps = self.rows_per_second;
        let batch = self.batch;
        let started = Instant::now();
        // A restored job continues the sequence where its checkpoint left it.
        let first = match ctx.session_config().get_extension::<crate::StartAt>() {
            Some(at) => {
                at.honored.store(true, std::sync::atomic::Ordering::SeqCst);
                at.rows.min(total)
            }
            None => 0,
        };
        let state = (first, SmallRng::from_entropy());
        let s = futures::stream::unfold(state, move |(done, mut rng)| {
            let schema = schema.clone();
            let fields = fields.clone();
            async move {
                if done >= total {
                    return None;
                }
                let n = match rps {
                    // A tenth of a second's rows per batch, so rows flow steadily.
                    Some(r) => batch.min((r / 10).max(1)).min(total - done),
                    None => batch.min(total - done),
                };
                if let Some(r) = rps {
                    // Emit no faster than `r` rows per second since the start.
                    let due = Duration::from_secs_f64((done - first) as f64 / r as f64);
                    if let Some(wait) = due.checked_sub(started.elapsed()) {
                        tokio::time::sleep(wait).await;
                    }
                }
                // Random timestamps are `max-past` before the time of their batch.
                let now_ms = chrono::Utc::now().timestamp_millis();
                let cols: Result<Vec<ArrayRef>> = fields
                    .iter()
                    .map(|f| generate(f, done, n as usize, now_ms, &mut rng))
                    .collect();
                let batch = cols.and_then(|c| RecordBatch::try_new(schema, c).map_err(Into::into));
                Some((batch, (done + n, rng)))
            }
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), s))
    }
}

fn generate(
    f: &FieldGen,
    offset: u64,
    n: usize,
    now_ms: i64,
    rng: &mut SmallRng,
) -> Result<ArrayRef> {
    let null = |rng: &mut SmallRng| f.null_rate > 0.0 && rng.gen::<f64>() < f.null_rate;
    macro_rules! ints {
        ($b:ty, $t:ty) => {{
            let mut b = <$b>::with_capacity(n);
            for i in 0..n {
                if null(rng) {
                    b.append_null();
                    continue;
                }
                let v = match &f.kind {
                    Kind::Sequence { start, .. } => {
                        (*start as i128 + (offset + i as u64) as i128) as $t
                    }
                    Kind::Random { min, max, .. } => {
                        let lo = min.map(|m| m as i128).unwrap_or(<$t>::MIN as i128);
                        let hi = max.map(|m| m as i128).unwrap_or(<$t>::MAX as i128);
                        rng.gen_range(lo..=hi) as $t
                    }
                };
                b.append_value(v);
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    macro_rules! floats {
        ($b:ty, $t:ty) => {{
            let mut b = <$b>::with_capacity(n);
            for i in 0..n {
                if null(rng) {
                    b.append_null();
                    continue;
                }
                let v = match &f.kind {
                    Kind::Sequence { start, .. } => (*start + (offset + i as u64) as i64) as $t,
                    Kind::Random { min, max, .. } => {
                        let lo = min.unwrap_or(0.0);
                        let hi = max.unwrap_or(1.0);
                        if hi > lo {
                            rng.gen_range(lo..hi) as $t
                        } else {
                            lo as $t
                        }
                    }
                };
                b.append_value(v);
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    macro_rules! timestamps {
        ($b:ty, $mult:expr, $div:expr, $tz:expr) => {{
            let Kind::Random { max_past_ms, .. } = &f.kind else {
                unreachable!("validated")
            };
            let mut b = <$b>::with_capacity(n);
            for _ in 0..n {
                if null(rng) {
                    b.append_null();
                    continue;
                }
                let ms = now_ms - rng.gen_range(0..=*max_past_ms);
                b.append_value(ms * $mult / $div);
            }
            Arc::new(b.finish().with_timezone_opt($tz.clone())) as ArrayRef
        }};
    }
    Ok(match &f.data_type {
        DataType::Int8 => ints!(Int8Builder, i8),
        DataType::Int16 => ints!(Int16Builder, i16),
        DataType::Int32 => ints!(Int32Builder, i32),
        DataType::Int64 => ints!(Int64Builder, i64),
        DataType::Float32 => floats!(Float32Builder, f32),
        DataType::Float64 => floats!(Float64Builder, f64),
        DataType::Decimal128(p, s) => {
            let scale = 10i128.pow(*s as u32);
            let mut b = Decimal128Builder::with_capacity(n);
            for i in 0..n {
                if null(rng) {
                    b.append_null();
                    continue;
                }
                let v = match &f.kind {
                    Kind::Sequence { start, .. } => {
                        (*start as i128 + (offset + i as u64) as i128) * scale
                    }
                    Kind::Random { min, max, .. } => {
                        let lo = (min.unwrap_or(0.0) * scale as f64) as i128;
                        let hi = max
                            .map(|m| (m * scale as f64) as i128)
                            .unwrap_or(10i128.pow(*p as u32) - 1);
                        rng.gen_range(lo..=hi)
                    }
                };
                b.append_value(v);
            }
            Arc::new(b.finish().with_precision_and_scale(*p, *s)?)
        }
        DataType::Utf8 => {
            let mut b = StringBuilder::with_capacity(n, n * 16);
            for i in 0..n {
                if null(rng) {
                    b.append_null();
                    continue;
                }
                match &f.kind {
                    Kind::Sequence { start, .. } => {
                        b.append_value((*start + (offset + i as u64) as i64).to_string())
                    }
                    Kind::Random { length, .. } => {
                        let s: String = (0..*length)
                            .map(|_| rng.sample(rand::distributions::Alphanumeric) as char)
                            .collect();
                        b.append_value(s)
                    }
                }
            }
            Arc::new(b.finish())
        }
        DataType::Boolean => {
            let mut b = BooleanBuilder::with_capacity(n);
            for _ in 0..n {
                if null(rng) {
                    b.append_null();
                } else {
                    b.append_value(rng.gen());
                }
            }
            Arc::new(b.finish())
        }
        DataType::Date32 => {
            let Kind::Random { max_past_ms, .. } = &f.kind else {
                unreachable!("validated")
            };
            let mut b = Date32Builder::with_capacity(n);
            for _ in 0..n {
                if null(rng) {
                    b.append_null();
                } else {
                    let ms = now_ms - rng.gen_range(0..=*max_past_ms);
                    b.append_value(ms.div_euclid(86_400_000) as i32);
                }
            }
            Arc::new(b.finish())
        }
        DataType::Timestamp(unit, tz) => match unit {
            TimeUnit::Second => timestamps!(TimestampSecondBuilder, 1, 1000, tz),
            TimeUnit::Millisecond => timestamps!(TimestampMillisecondBuilder, 1, 1, tz),
            TimeUnit::Microsecond => timestamps!(TimestampMicrosecondBuilder, 1000, 1, tz),
            TimeUnit::Nanosecond => timestamps!(TimestampNanosecondBuilder, 1_000_000, 1, tz),
        },
        other => unreachable!("type {other} rejected at validation"),
    })
}
