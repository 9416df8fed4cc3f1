//! Reading a filesystem table through DataFusion's listing table.

use super::{Format, FsConfig};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::catalog::TableProvider;
use datafusion::common::stats::Precision;
use datafusion::common::Column;
use datafusion::common::ScalarValue;
use datafusion::common::Statistics;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::provider_as_source;
use datafusion::datasource::ViewTable;
use datafusion::logical_expr::{lit, when, Cast, Expr, LogicalPlanBuilder, TryCast};
use scaleph_sql::SqlError;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// The table's provider, reporting an estimated row count (see [`FileTable`]). With `views`,
/// parquet STRING columns are read as `Utf8View`: decoding then keeps dictionary values in
/// place (16-byte views, no copy of short strings), which filters, joins and grouping use as
/// they are (see [`crate::Connector::batch_source`]).
pub(super) fn build(cfg: &FsConfig, views: bool) -> Result<Arc<dyn TableProvider>, SqlError> {
    let inner = build_scan(cfg, views && cfg.format == Format::Parquet)?;
    Ok(Arc::new(FileTable {
        inner,
        path: cfg.path.clone(),
        format: cfg.format,
        columns: cfg.def.columns.len(),
        rows: OnceLock::new(),
    }))
}

fn build_scan(cfg: &FsConfig, views: bool) -> Result<Arc<dyn TableProvider>, SqlError> {
    let def = &cfg.def;
    // Arrow's CSV reader honours an escape only inside quotes and cannot turn quoting off;
    // Flink's (Jackson) reads `a\,b` as `a,b` and `"a"` unquoted as `"a"`: such tables are
    // read by `csv_read`, as text.
    let escaped =
        cfg.format == Format::Csv && (cfg.csv.escape.is_some() || cfg.csv.quote.is_none());
    let path_pos = def.option_pos("path");
    let meta = std::fs::metadata(&cfg.path).map_err(|e| {
        SqlError::invalid(
            path_pos,
            format!(
                "path '{}' of table `{}` cannot be read: {}",
                cfg.path.display(),
                def.name,
                if e.kind() == std::io::ErrorKind::NotFound {
                    "it does not exist".to_string()
                } else {
                    e.to_string()
                }
            ),
        )
    })?;
    let abs =
        std::fs::canonicalize(&cfg.path).map_err(|e| SqlError::invalid(path_pos, e.to_string()))?;
    let mut url = abs.to_string_lossy().to_string();
    if meta.is_dir() && !url.ends_with('/') {
        url.push('/');
    }
    let url =
        ListingTableUrl::parse(&url).map_err(|e| SqlError::invalid(path_pos, e.to_string()))?;

    let csv = cfg.format == Format::Csv;
    let lenient = csv && cfg.csv.ignore_parse_errors;
    // DataFusion's CSV reader ignores `null_regex` (it only serves schema inference), so with
    // `csv.null-literal` the fields are read as text, the literal becomes NULL, then the text
    // is cast to the declared type.
    let null_literal = cfg.csv.null_literal.as_deref().filter(|_| csv);
    let as_text = lenient || null_literal.is_some() || escaped;
    let is_part = |name: &str| def.partitioned_by.iter().any(|p| p == name);
    // Flink reads an empty CSV field of a STRING column as '' (NULL only through
    // `csv.null-literal`); Arrow's reader gives NULL for every empty field.
    let is_text = |c: &scaleph_sql::ColumnDef| c.data_type.to_arrow() == DataType::Utf8;
    let empty_strings = csv && def.columns.iter().any(|c| !is_part(&c.name) && is_text(c));
    let file_fields: Vec<Field> = def
        .columns
        .iter()
        .filter(|c| !is_part(&c.name))
        .map(|c| {
            let dt = match c.data_type.to_arrow() {
                _ if as_text => DataType::Utf8,
                DataType::Utf8 if views => DataType::Utf8View,
                dt => dt,
            };
            Field::new(&c.name, dt, true)
        })
        .collect();
    let file_count = file_fields.len();
    let part_cols: Vec<(String, DataType)> = def
        .partitioned_by
        .iter()
        .map(|p| {
            let c = &def.columns[def.column_index(p).expect("checked by the parser")];
            (p.clone(), c.data_type.to_arrow())
        })
        .collect();

    let listing: Arc<dyn TableProvider> = if escaped {
        let fields: Vec<Field> = file_fields
            .iter()
            .cloned()
            .chain(
                part_cols
                    .iter()
                    .map(|(n, _)| Field::new(n, DataType::Utf8, true)),
            )
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let part = Arc::new(super::csv_read::EscapedCsv {
            cfg: Arc::new(cfg.clone()),
            schema: schema.clone(),
            file_columns: file_count,
        });
        Arc::new(
            datafusion::catalog::streaming::StreamingTable::try_new(schema, vec![part])
                .map_err(|e| SqlError::invalid(def.pos, e.to_string()))?,
        )
    } else {
        listing_table(cfg, url, file_fields, part_cols)?
    };

    // The listing table yields file columns then partition columns; restore the declared order
    // and apply lenient casts.
    let listed: Vec<&str> = def
        .columns
        .iter()
        .filter(|c| !is_part(&c.name))
        .map(|c| c.name.as_str())
        .chain(def.partitioned_by.iter().map(String::as_str))
        .collect();
    let same_order = listed.iter().zip(&def.columns).all(|(a, c)| *a == c.name);
    if same_order && !as_text && !empty_strings {
        return Ok(listing);
    }
    let exprs: Vec<Expr> = def
        .columns
        .iter()
        .map(|c| {
            let mut e = Expr::Column(Column::new_unqualified(&c.name));
            if is_part(&c.name) {
                let to = c.data_type.to_arrow();
                return if escaped && to != DataType::Utf8 {
                    Expr::Cast(Cast::new(Box::new(e), to)).alias(&c.name)
                } else {
                    e
                };
            }

            if csv && is_text(c) {
                e = when(e.clone().is_null(), lit(""))
                    .otherwise(e)
                    .expect("one WHEN branch");
            }
            if !as_text {
                return e.alias(&c.name);
            }
            if let Some(n) = null_literal {
                e = when(e.clone().eq(lit(n)), lit(ScalarValue::Utf8(None)))
                    .otherwise(e)
                    .expect("one WHEN branch");
            }
            let to = c.data_type.to_arrow();
            if to != DataType::Utf8 {
                e = if lenient {
                    Expr::TryCast(TryCast::new(Box::new(e), to))
                } else {
                    Expr::Cast(Cast::new(Box::new(e), to))
                };
            }
            e.alias(&c.name)
        })
        .collect();
    let plan = LogicalPlanBuilder::scan(def.name.as_str(), provider_as_source(listing), None)
        .and_then(|b| b.project(exprs))
        .and_then(|b| b.build())
        .map_err(|e| SqlError::invalid(def.pos, e.to_string()))?;
    Ok(Arc::new(FileRows(Arc::new(ViewTable::new(plan, None)))))
}

/// DataFusion's listing table over the table's files (`file_fields`, then `part_cols` from
/// `k=v` directories).
fn listing_table(
    cfg: &FsConfig,
    url: ListingTableUrl,
    file_fields: Vec<Field>,
    part_cols: Vec<(String, DataType)>,
) -> Result<Arc<dyn TableProvider>, SqlError> {
    let format: Arc<dyn FileFormat> = match cfg.format {
        Format::Csv => {
            let c = &cfg.csv;
            let mut f = CsvFormat::default()
                .with_has_header(false)
                .with_delimiter(c.delimiter)
                .with_escape(c.escape)
                .with_comment(c.allow_comments.then_some(b'#'));
            if let Some(q) = c.quote {
                f = f.with_quote(q);
            }
            Arc::new(f)
        }
        Format::Json => Arc::new(super::json_read::FastJsonFormat::default()),
        Format::Parquet => Arc::new(ParquetFormat::default()),
    };
    // One scan partition per core (DataFusion's default here is 1: one thread decoding every
    // file) and file statistics (parquet footers: row counts, min/max), which join ordering
    // and row-group pruning need.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let options = ListingOptions::new(format)
        .with_file_extension("")
        .with_table_partition_cols(part_cols)
        .with_target_partitions(cores)
        .with_collect_stat(true);
    let config = ListingTableConfig::new(url)
        .with_listing_options(options)
        .with_schema(Arc::new(Schema::new(file_fields)));
    Ok(Arc::new(ListingTable::try_new(config).map_err(|e| {
        SqlError::invalid(cfg.def.pos, e.to_string())
    })?))
}

/// The converted rows of a file table. Filters are not pushed into it, so a table's source
/// metrics count the rows read from its files, before the query's filters (a CSV scan cannot
/// skip rows anyway).
#[derive(Debug)]
struct FileRows(Arc<dyn TableProvider>);

#[async_trait::async_trait]
impl TableProvider for FileRows {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.0.schema()
    }

    fn table_type(&self) -> datafusion::datasource::TableType {
        self.0.table_type()
    }

    async fn scan(
        &self,
        state: &dyn datafusion::catalog::Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        self.0.scan(state, projection, &[], limit).await
    }
}

/// `source.monitor-interval` (Flink's continuous file monitoring): the path is listed now and
/// then every `every`; each file not seen before (hidden `.`/`_` names skipped, nested
/// directories included, in path order) is read once, as the table's own scan of that file.
/// Unbounded.
///
/// # Errors
/// None at build time beyond the table's; reading a file fails the stream.
pub(super) fn monitored(
    cfg: &Arc<FsConfig>,
    every: std::time::Duration,
) -> Result<Arc<dyn TableProvider>, SqlError> {
    let schema = Arc::new(cfg.def.arrow_schema());
    let part = Arc::new(Monitor {
        cfg: cfg.clone(),
        every,
        schema: schema.clone(),
    });
    datafusion::catalog::streaming::StreamingTable::try_new(schema, vec![part])
        .map(|t| Arc::new(t.with_infinite_table(true)) as Arc<dyn TableProvider>)
        .map_err(|e| SqlError::invalid(cfg.def.pos, e.to_string()))
}

#[derive(Debug)]
struct Monitor {
    cfg: Arc<FsConfig>,
    every: std::time::Duration,
    schema: datafusion::arrow::datatypes::SchemaRef,
}

/// The table as one file of it: its data columns only when partitioned, with the partition
/// values the file's `k=v` directories give (none for an unpartitioned table).
fn one_file(cfg: &FsConfig, file: &std::path::Path) -> (FsConfig, Vec<Option<String>>) {
    let mut one = cfg.clone();
    one.path = file.to_path_buf();
    let keys = &cfg.def.partitioned_by;
    if keys.is_empty() {
        return (one, Vec::new());
    }
    let parts = super::csv_read::partition_values(&cfg.path, file, keys, &cfg.default_partition);
    one.def.columns.retain(|c| !keys.contains(&c.name));
    one.def.partitioned_by.clear();
    (one, parts)
}

/// `b` (a file's data columns) with the partition columns added, in the table's column order.
fn with_partitions(
    cfg: &FsConfig,
    schema: &datafusion::arrow::datatypes::SchemaRef,
    parts: &[Option<String>],
    b: datafusion::arrow::array::RecordBatch,
) -> datafusion::error::Result<datafusion::arrow::array::RecordBatch> {
    let n = b.num_rows();
    let cols = schema
        .fields()
        .iter()
        .map(
            |f| match cfg.def.partitioned_by.iter().position(|k| k == f.name()) {
                Some(i) => {
                    let v = ScalarValue::Utf8(parts[i].clone()).to_array_of_size(n)?;
                    Ok(datafusion::arrow::compute::cast(&v, f.data_type())?)
                }
                None => Ok(b.column_by_name(f.name()).cloned().ok_or_else(|| {
                    datafusion::error::DataFusionError::Internal(format!(
                        "column {} missing from a file's rows",
                        f.name()
                    ))
                })?),
            },
        )
        .collect::<datafusion::error::Result<Vec<_>>>()?;
    Ok(datafusion::arrow::array::RecordBatch::try_new(
        schema.clone(),
        cols,
    )?)
}

/// The files under `root` (or `root` itself), hidden names skipped.
pub(super) fn list_files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let hidden = |p: &std::path::Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') || n.starts_with('_'))
    };
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    if root.is_file() {
        return vec![root.to_path_buf()];
    }
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if hidden(&p) {
                continue;
            }
            match e.file_type() {
                Ok(t) if t.is_dir() => dirs.push(p),
                Ok(t) if t.is_file() => out.push(p),
                _ => {}
            }
        }
    }
    out.sort();
    out
}

struct MonitorState {
    cfg: Arc<FsConfig>,
    every: std::time::Duration,
    seen: std::collections::HashSet<std::path::PathBuf>,
    pending: std::collections::VecDeque<std::path::PathBuf>,
    current: Option<datafusion::execution::SendableRecordBatchStream>,
    listed: bool,
}

impl datafusion::physical_plan::streaming::PartitionStream for Monitor {
    fn schema(&self) -> &datafusion::arrow::datatypes::SchemaRef {
        &self.schema
    }

    fn execute(
        &self,
        _ctx: Arc<datafusion::execution::TaskContext>,
    ) -> datafusion::execution::SendableRecordBatchStream {
        use futures::StreamExt;
        let state = MonitorState {
            cfg: self.cfg.clone(),
            every: self.every,
            seen: Default::default(),
            pending: Default::default(),
            current: None,
            listed: false,
        };
        let s = futures::stream::unfold(state, |mut st| async move {
            loop {
                if let Some(cur) = st.current.as_mut() {
                    match cur.next().await {
                        Some(b) => return Some((b, st)),
                        None => st.current = None,
                    }
                }
                if let Some(file) = st.pending.pop_front() {
                    let cfg = st.cfg.clone();
                    let stream = async move {
                        let (one, parts) = one_file(&cfg, &file);
                        let table = build(&one, false).map_err(|e| {
                            datafusion::error::DataFusionError::Execution(e.to_string())
                        })?;
                        let ctx = datafusion::prelude::SessionContext::new();
                        let s = ctx.read_table(table)?.execute_stream().await?;
                        if parts.is_empty() {
                            return Ok(s);
                        }
                        let schema = Arc::new(cfg.def.arrow_schema());
                        let out = schema.clone();
                        let with_parts = futures::StreamExt::map(s, move |b| {
                            with_partitions(&cfg, &out, &parts, b?)
                        });
                        Ok(Box::pin(
                            datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                                schema, with_parts,
                            ),
                        )
                            as datafusion::execution::SendableRecordBatchStream)
                    };
                    match stream.await {
                        Ok(s) => st.current = Some(s),
                        Err(e) => return Some((Err(e), st)),
                    }
                    continue;
                }
                if st.listed {
                    tokio::time::sleep(st.every).await;
                }
                st.listed = true;
                let root = st.cfg.path.clone();
                let files = tokio::task::spawn_blocking(move || list_files(&root))
                    .await
                    .unwrap_or_default();
                for f in files {
                    if st.seen.insert(f.clone()) {
                        st.pending.push_back(f);
                    }
                }
            }
        });
        Box::pin(
            datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                self.schema.clone(),
                s,
            ),
        )
    }
}

/// A file table's provider plus statistics for join ordering, computed once on first use (a
/// bounded amount of synchronous reading: at most [`MAX_FOOTERS`] footers and dictionary pages
/// of at most [`MAX_DICT_BYTES`]): parquet footers' row counts (exact), integer columns'
/// min/max over all row groups (as `BIGINT` values, whatever the column's type) and string
/// columns' distinct values from the first row group's dictionary pages; for text formats the
/// files' bytes over an assumed 12 bytes per column (a guess, reported as inexact). Hidden
/// (`.`/`_`) files are skipped.
#[derive(Debug)]
struct FileTable {
    inner: Arc<dyn TableProvider>,
    path: PathBuf,
    format: Format,
    columns: usize,
    rows: OnceLock<FileStats>,
}

/// Row count, integer column ranges and string columns' distinct values.
type FileStats = (Precision<usize>, Vec<IntRange>, Vec<(String, usize)>);

/// Largest dictionary page read for a distinct-value estimate.
const MAX_DICT_BYTES: i64 = 256 * 1024;

/// Distinct values of each dictionary-encoded byte-array column of `m`'s first row group (its
/// dictionary page's entry count), extrapolated to `total_rows` unless the dictionary is small
/// next to the row group (then it is taken as the column's whole domain).
fn dictionary_ndv(
    file: &Arc<std::fs::File>,
    m: &datafusion::parquet::file::metadata::ParquetMetaData,
    total_rows: usize,
) -> Vec<(String, usize)> {
    use datafusion::parquet::basic::Type as Physical;
    use datafusion::parquet::column::page::{Page, PageReader};
    use datafusion::parquet::file::serialized_reader::SerializedPageReader;
    let Some(rg) = m.row_groups().first() else {
        return Vec::new();
    };
    let rg_rows = rg.num_rows().max(1) as usize;
    let mut out = Vec::new();
    for cc in rg.columns() {
        let Some(dict_at) = cc.dictionary_page_offset() else {
            continue;
        };
        let span = cc.data_page_offset() - dict_at;
        if cc.column_type() != Physical::BYTE_ARRAY || !(1..=MAX_DICT_BYTES).contains(&span) {
            continue;
        }
        let Ok(mut pages) = SerializedPageReader::new(file.clone(), cc, rg_rows, None) else {
            continue;
        };
        if let Ok(Some(Page::DictionaryPage { num_values, .. })) = pages.get_next_page() {
            let d = num_values as usize;
            let ndv = if d.saturating_mul(10) < rg_rows {
                d
            } else {
                (d as f64 * total_rows as f64 / rg_rows as f64).min(total_rows as f64) as usize
            };
            out.push((cc.column_path().string(), ndv.max(1)));
        }
    }
    out
}

/// Parquet footers read for one table's statistics.
const MAX_FOOTERS: usize = 256;

/// An integer column's name and (min, max) over a table's files.
type IntRange = (String, i64, i64);

impl FileTable {
    /// Row count and, for parquet, each integer column's (name, min, max) over all row groups
    /// and string columns' distinct values ([`dictionary_ndv`]).
    fn count_rows(&self) -> FileStats {
        use datafusion::parquet::file::statistics::Statistics as PqStats;
        let files = list_files(&self.path);
        match self.format {
            Format::Parquet => {
                let mut rows = 0usize;
                let mut ranges: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
                let mut unbounded: std::collections::BTreeSet<String> = Default::default();
                let mut first = None;
                // Footers read at planning are bounded; more files extrapolate the count.
                for f in files.iter().take(MAX_FOOTERS) {
                    let Ok(file) = std::fs::File::open(f) else {
                        return (Precision::Absent, Vec::new(), Vec::new());
                    };
                    let Ok(m) = datafusion::parquet::file::metadata::ParquetMetaDataReader::new()
                        .parse_and_finish(&file)
                    else {
                        return (Precision::Absent, Vec::new(), Vec::new());
                    };
                    let file = Arc::new(file);
                    if first.is_none() {
                        first = Some((file.clone(), m.clone()));
                    }
                    rows += m.file_metadata().num_rows().max(0) as usize;
                    for rg in m.row_groups() {
                        for cc in rg.columns() {
                            let name = cc.column_path().string();
                            // Unscaled DECIMAL ranges say little about distinct values.
                            let decimal = cc.column_descr().converted_type()
                                == datafusion::parquet::basic::ConvertedType::DECIMAL;
                            let range = match cc.statistics().filter(|_| !decimal) {
                                Some(PqStats::Int32(v)) => v
                                    .min_opt()
                                    .zip(v.max_opt())
                                    .map(|(a, b)| (*a as i64, *b as i64)),
                                Some(PqStats::Int64(v)) => {
                                    v.min_opt().zip(v.max_opt()).map(|(a, b)| (*a, *b))
                                }
                                _ => None,
                            };
                            match range {
                                Some((lo, hi)) => {
                                    let r = ranges.entry(name).or_insert((lo, hi));
                                    *r = (r.0.min(lo), r.1.max(hi));
                                }
                                None => {
                                    unbounded.insert(name);
                                }
                            }
                        }
                    }
                }
                let ranges: Vec<IntRange> = ranges
                    .into_iter()
                    .filter(|(name, _)| !unbounded.contains(name))
                    .map(|(name, (lo, hi))| (name, lo, hi))
                    .collect();
                if files.len() > MAX_FOOTERS {
                    let all = rows as f64 * files.len() as f64 / MAX_FOOTERS as f64;
                    return (Precision::Inexact(all as usize), Vec::new(), Vec::new());
                }
                let ndv = first
                    .map(|(f, m)| dictionary_ndv(&f, &m, rows))
                    .unwrap_or_default();
                (Precision::Exact(rows), ranges, ndv)
            }
            Format::Csv | Format::Json => {
                let bytes: u64 = files
                    .iter()
                    .filter_map(|f| std::fs::metadata(f).ok())
                    .map(|m| m.len())
                    .sum();
                (
                    Precision::Inexact((bytes / (12 * self.columns.max(1) as u64)) as usize),
                    Vec::new(),
                    Vec::new(),
                )
            }
        }
    }
}

#[async_trait::async_trait]
impl TableProvider for FileTable {
    fn schema(&self) -> datafusion::arrow::datatypes::SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> datafusion::datasource::TableType {
        self.inner.table_type()
    }

    async fn scan(
        &self,
        state: &dyn datafusion::catalog::Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::error::Result<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
        self.inner.scan(state, projection, filters, limit).await
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::error::Result<Vec<datafusion::logical_expr::TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    fn statistics(&self) -> Option<Statistics> {
        let (rows, ranges, ndv) = self.rows.get_or_init(|| self.count_rows());
        let schema = self.inner.schema();
        let mut s = Statistics::new_unknown(&schema);
        s.num_rows = *rows;
        for (name, lo, hi) in ranges {
            if let Ok(i) = schema.index_of(name) {
                let c = &mut s.column_statistics[i];
                c.min_value = Precision::Exact(ScalarValue::Int64(Some(*lo)));
                c.max_value = Precision::Exact(ScalarValue::Int64(Some(*hi)));
            }
        }
        for (name, d) in ndv {
            if let Ok(i) = schema.index_of(name) {
                s.column_statistics[i].distinct_count = Precision::Inexact(*d);
            }
        }
        Some(s)
    }
}
