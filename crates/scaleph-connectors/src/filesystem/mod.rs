//! `'connector' = 'filesystem'`: directories of csv, json (one object per line) or parquet files,
//! optionally Hive-partitioned (`k=v/` directories), as Flink's FileSystem SQL connector.

mod csv_read;
mod encode;
mod json_read;
mod sink;
mod source;
mod stream_sink;

use crate::access::{FileAccess, Use};
use crate::{Connector, ConnectorContext, Options, Sink};
use datafusion::catalog::TableProvider;
use scaleph_sql::{FlinkType, SqlError, Statement, StatementKind, TableDef};
use std::path::PathBuf;
use std::sync::Arc;

/// Default name of the partition directory for NULL partition values (Flink's
/// `partition.default-name`).
const DEFAULT_PARTITION: &str = "__DEFAULT_PARTITION__";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Csv,
    Json,
    Parquet,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Parquet => "parquet",
        }
    }
}

/// Flink `csv.*` format options.
#[derive(Debug, Clone)]
pub(crate) struct CsvOpts {
    delimiter: u8,
    quote: Option<u8>,
    escape: Option<u8>,
    allow_comments: bool,
    ignore_parse_errors: bool,
    null_literal: Option<String>,
    array_delimiter: String,
}

impl CsvOpts {
    /// What the CSV writer needs of these options.
    fn style(&self) -> encode::CsvStyle {
        encode::CsvStyle {
            delimiter: self.delimiter,
            quote: self.quote,
            escape: self.escape,
            null_literal: self.null_literal.clone(),
            array_delimiter: self.array_delimiter.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct FsConfig {
    def: TableDef,
    path: PathBuf,
    format: Format,
    csv: CsvOpts,
    json: encode::JsonStyle,
    default_partition: String,
    /// Where the staging directories of writes are noted for crash clean-up.
    journal: Option<PathBuf>,
    /// `source.monitor-interval`: the source keeps listing the path for new files.
    monitor: Option<std::time::Duration>,
    /// How a streaming job writes the table (rolling, partition commit).
    stream: stream_sink::StreamOpts,
}

impl FsConfig {
    /// Column indices of the partition keys and of the columns written into files.
    fn layout(&self) -> (Vec<usize>, Vec<usize>) {
        let def = &self.def;
        let part_idx: Vec<usize> = def
            .partitioned_by
            .iter()
            .map(|p| def.column_index(p).expect("checked by the parser"))
            .collect();
        let data_idx = (0..def.columns.len())
            .filter(|i| !part_idx.contains(i))
            .collect();
        (part_idx, data_idx)
    }
}

/// The streaming sink's options (`sink.rolling-policy.*`, `sink.partition-commit.*`,
/// `partition.time-extractor.*`), Flink's defaults where absent.
///
/// # Errors
/// Malformed values; `custom` policies and extractors, `auto-compaction` (unsupported).
fn stream_opts(o: &mut Options) -> Result<stream_sink::StreamOpts, SqlError> {
    use stream_sink::{StreamOpts, Trigger};
    let mut s = StreamOpts::default();
    let positive = |o: &Options, key: &str, v: i64| {
        if v <= 0 {
            Err(SqlError::invalid(
                o.pos(key),
                format!("option '{key}' must be positive"),
            ))
        } else {
            Ok(v)
        }
    };
    if let Some(b) = o.bytes("sink.rolling-policy.file-size")? {
        s.file_size = positive(o, "sink.rolling-policy.file-size", b as i64)? as u64;
    }
    if let Some(ms) = o.duration_ms("sink.rolling-policy.rollover-interval")? {
        s.rollover_ms = positive(o, "sink.rolling-policy.rollover-interval", ms)?;
    }
    if let Some(ms) = o.duration_ms("sink.rolling-policy.inactivity-interval")? {
        s.inactivity_ms = positive(o, "sink.rolling-policy.inactivity-interval", ms)?;
    }
    // Time policies are checked on every write and checkpoint.
    o.duration_ms("sink.rolling-policy.check-interval")?;
    o.bool("sink.rolling-policy.rolling-on-checkpoint", false)?;
    if o.bool("auto-compaction", false)? {
        return Err(SqlError::unsupported(
            o.pos("auto-compaction"),
            "'auto-compaction' = 'true'",
        ));
    }
    o.get("compaction.file-size");
    if let Some(ms) = o.duration_ms("sink.partition-commit.delay")? {
        if ms < 0 {
            return Err(SqlError::invalid(
                o.pos("sink.partition-commit.delay"),
                "option 'sink.partition-commit.delay' must not be negative",
            ));
        }
        s.delay_ms = ms;
    }
    let zone_key = "sink.partition-commit.watermark-time-zone";
    let zone: chrono_tz::Tz = match o.get(zone_key) {
        None => chrono_tz::UTC,
        Some(z) => z.parse().map_err(|_| {
            SqlError::invalid(
                o.pos(zone_key),
                format!("option '{zone_key}': unknown time zone '{z}'"),
            )
        })?,
    };
    let pattern = o
        .get("partition.time-extractor.timestamp-pattern")
        .map(str::to_string);
    let formatter = o
        .get("partition.time-extractor.timestamp-formatter")
        .unwrap_or("yyyy-MM-dd HH:mm:ss")
        .to_string();
    match o.get("partition.time-extractor.kind") {
        None | Some("default") => {}
        Some(k) => {
            return Err(SqlError::unsupported(
                o.pos("partition.time-extractor.kind"),
                format!("'partition.time-extractor.kind' = '{k}'"),
            ))
        }
    }
    o.get("partition.time-extractor.class");
    s.trigger = match o.get("sink.partition-commit.trigger") {
        None | Some("process-time") => Trigger::ProcessTime,
        Some("partition-time") => Trigger::PartitionTime {
            pattern,
            formatter,
            zone,
        },
        Some(t) => {
            return Err(SqlError::invalid(
                o.pos("sink.partition-commit.trigger"),
                format!("'sink.partition-commit.trigger' must be process-time or partition-time, found '{t}'"),
            ))
        }
    };
    let name = o
        .get("sink.partition-commit.success-file.name")
        .unwrap_or("_SUCCESS")
        .to_string();
    if name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".." {
        return Err(SqlError::invalid(
            o.pos("sink.partition-commit.success-file.name"),
            "'sink.partition-commit.success-file.name' must be a plain file name",
        ));
    }
    if let Some(kinds) = o.get("sink.partition-commit.policy.kind") {
        for k in kinds.split(',').map(str::trim) {
            match k {
                "success-file" => s.success_file = Some(name.clone()),
                // Filesystem tables keep partitions as directories: nothing to add to a
                // metastore (Flink's `EmptyMetaStoreFactory`).
                "metastore" => {}
                "custom" => {
                    return Err(SqlError::unsupported(
                        o.pos("sink.partition-commit.policy.kind"),
                        "partition commit policy 'custom'",
                    ))
                }
                other => {
                    return Err(SqlError::invalid(
                        o.pos("sink.partition-commit.policy.kind"),
                        format!("unknown partition commit policy '{other}'; available: metastore, success-file, custom"),
                    ))
                }
            }
        }
    }
    o.get("sink.partition-commit.policy.class");
    Ok(s)
}

pub(crate) struct Filesystem {
    cfg: Arc<FsConfig>,
    files: FileAccess,
    /// The path as written in the DDL, for messages.
    given: String,
}

impl Filesystem {
    /// Validates the options; the path must be readable under `ctx`'s file-access policy.
    pub(crate) fn new(def: &TableDef, ctx: &ConnectorContext) -> Result<Self, SqlError> {
        let mut o = Options::new(def);
        let raw_path = o.required("path")?;
        let local = local_path(raw_path).ok_or_else(|| {
            SqlError::unsupported(
                o.pos("path"),
                format!("filesystem scheme of '{raw_path}' (only local paths and file://)"),
            )
        })?;
        let given = local.to_string_lossy().to_string();
        let path = ctx
            .files
            .check(&given, Use::Read)
            .map_err(|e| SqlError::invalid(o.pos("path"), e.to_string()))?;
        let format = match o.required("format")? {
            "csv" => Format::Csv,
            "json" => Format::Json,
            "parquet" => Format::Parquet,
            f @ ("avro" | "orc" | "raw" | "debezium-json" | "canal-json" | "maxwell-json") => {
                return Err(SqlError::unsupported(
                    o.pos("format"),
                    format!("format '{f}'"),
                ))
            }
            f => {
                return Err(SqlError::invalid(
                    o.pos("format"),
                    format!("unknown format '{f}'; available: csv, json, parquet"),
                ))
            }
        };
        if format == Format::Csv {
            check_csv_types(def)?;
        }
        let mut csv = CsvOpts {
            delimiter: b',',
            quote: Some(b'"'),
            escape: None,
            allow_comments: false,
            ignore_parse_errors: false,
            null_literal: None,
            array_delimiter: ";".into(),
        };
        let mut json = encode::JsonStyle::default();
        if format == Format::Csv {
            csv.delimiter = o.char("csv.field-delimiter", b',')?;
            let quote = o.char("csv.quote-character", b'"')?;
            csv.quote = (!o.bool("csv.disable-quote-character", false)?).then_some(quote);
            if o.get("csv.escape-character").is_some() {
                csv.escape = Some(o.char("csv.escape-character", b'\\')?);
            }
            csv.allow_comments = o.bool("csv.allow-comments", false)?;
            csv.ignore_parse_errors = o.bool("csv.ignore-parse-errors", false)?;
            csv.null_literal = o.get("csv.null-literal").map(str::to_string);
            csv.array_delimiter = o
                .get("csv.array-element-delimiter")
                .unwrap_or(";")
                .to_string();
            // Flink 2.3 writes DECIMALs the same way whatever this says (checked).
            o.bool("csv.write-bigdecimal-in-scientific-notation", true)?;
        }
        if format == Format::Json {
            json.iso_timestamps = match o.get("json.timestamp-format.standard") {
                None | Some("SQL") => false,
                Some("ISO-8601") => true,
                Some(other) => {
                    return Err(SqlError::invalid(
                        o.pos("json.timestamp-format.standard"),
                        format!("'{other}': expected SQL or ISO-8601"),
                    ))
                }
            };
            json.plain_decimals = o.bool("json.encode.decimal-as-plain-number", false)?;
            json.ignore_null_fields = o.bool("json.encode.ignore-null-fields", false)?;
            // Reading: a missing field is NULL, as with Flink's default `false`.
            if o.bool("json.fail-on-missing-field", false)? {
                return Err(SqlError::unsupported(
                    o.pos("json.fail-on-missing-field"),
                    "'json.fail-on-missing-field' = 'true'",
                ));
            }
            if o.bool("json.ignore-parse-errors", false)? {
                return Err(SqlError::unsupported(
                    o.pos("json.ignore-parse-errors"),
                    "'json.ignore-parse-errors' = 'true'",
                ));
            }
            o.get("json.map-null-key.mode");
            o.get("json.map-null-key.literal");
            o.bool("json.decode.json-parser.enabled", true)?;
        }
        let default_partition = o
            .get("partition.default-name")
            .unwrap_or(DEFAULT_PARTITION)
            .to_string();
        let monitor = match o.duration_ms("source.monitor-interval")? {
            None => None,
            Some(ms) if ms <= 0 => {
                return Err(SqlError::invalid(
                    o.pos("source.monitor-interval"),
                    "option 'source.monitor-interval' must be positive",
                ))
            }
            Some(ms) => Some(std::time::Duration::from_millis(ms as u64)),
        };
        let stream = stream_opts(&mut o)?;
        o.get("sink.parallelism");
        o.get("sink.shuffle-by-partition.enable");
        o.finish()?;
        Ok(Self {
            cfg: Arc::new(FsConfig {
                def: def.clone(),
                path,
                format,
                csv,
                json,
                default_partition,
                journal: ctx.files.journal().map(PathBuf::from),
                monitor,
                stream,
            }),
            files: ctx.files.clone(),
            given,
        })
    }
}

/// The column types Flink's CSV format has a text for (its `CsvRowSchemaConverter`): no MAP,
/// and ARRAY and ROW only of simple types. Flink refuses the others when it plans the scan or
/// the sink, with these messages.
///
/// # Errors
/// [`SqlError`] at the first column of another type.
fn check_csv_types(def: &TableDef) -> Result<(), SqlError> {
    let nested = |t: &FlinkType| {
        matches!(
            t,
            FlinkType::Array(..) | FlinkType::Map(..) | FlinkType::Row(_)
        )
    };
    for c in def.columns.iter().filter(|c| c.metadata.is_none()) {
        let inner = match &c.data_type {
            FlinkType::Map(..) => {
                return Err(SqlError::invalid(
                    c.pos,
                    format!(
                        "Unsupported type '{}' for field '{}' (format 'csv')",
                        c.data_type, c.name
                    ),
                ))
            }
            FlinkType::Array(t, _) => nested(t).then_some(t.as_ref()),
            FlinkType::Row(fields) => fields.iter().map(|f| &f.1).find(|t| nested(t)),
            _ => None,
        };
        if let Some(t) = inner {
            return Err(SqlError::invalid(
                c.pos,
                format!(
                    "Only simple types are supported in the second level nesting of fields '{}' but was: {t} (format 'csv')",
                    c.name
                ),
            ));
        }
    }
    Ok(())
}

/// Checks the local paths of `filesystem` tables in a script that another engine (a Flink
/// cluster) runs, before it is sent there: every declared table's path must lie inside the
/// allowed paths, and a table an `INSERT` writes must not be an allowed path itself. Paths
/// with another scheme (`hdfs://`, `s3://`) are the cluster's and pass.
///
/// # Errors
/// A [`SqlError`] at the table's `'path'` option naming the path and the rule.
pub fn check_script_paths(stmts: &[Statement], files: &FileAccess) -> Result<(), SqlError> {
    let mut local: std::collections::HashMap<&str, (&TableDef, String)> = Default::default();
    let check = |given: &str, usage: Use, pos: scaleph_sql::Pos| match local_path(given) {
        Some(p) => files
            .check(&p.to_string_lossy(), usage)
            .map(|_| ())
            .map_err(|e| SqlError::invalid(pos, e.to_string())),
        None => Ok(()),
    };
    for st in stmts {
        // `/*+ OPTIONS('path' = …) */` overrides a table's options in Flink.
        let writes = matches!(
            st.kind,
            StatementKind::Insert(_) | StatementKind::StatementSet(_)
        );
        for h in &st.hints {
            for (k, v) in h.options().unwrap_or_default() {
                if is_path_key(&k) || v.starts_with("file:") {
                    let usage = if writes { Use::Write } else { Use::Read };
                    check(&v, usage, h.pos)?;
                }
            }
        }
        match &st.kind {
            StatementKind::Set { key, value }
                if key == "pipeline.jars" || key == "pipeline.classpaths" =>
            {
                for p in value.split(';').filter(|p| !p.trim().is_empty()) {
                    check(p.trim(), Use::Read, st.pos)?;
                }
            }
            StatementKind::AddJar { path } => check(path, Use::Read, st.pos)?,
            StatementKind::CreateFunction(f) => {
                for j in &f.jars {
                    check(j, Use::Read, st.pos)?;
                }
            }
            StatementKind::CreateCatalog { options, .. }
            | StatementKind::CreateDatabase { options, .. } => {
                for o in options {
                    if is_path_key(&o.key) || o.value.starts_with("file:") {
                        check(&o.value, Use::Read, o.pos)?;
                    }
                }
            }
            StatementKind::CreateTable(def) if def.option("connector") != Some("filesystem") => {
                for o in &def.options {
                    if is_path_key(&o.key) || o.value.starts_with("file:") {
                        check(&o.value, Use::Read, o.pos)?;
                    }
                }
            }
            StatementKind::CreateTable(def) if def.option("connector") == Some("filesystem") => {
                if let Some(p) = def.option("path").and_then(local_path) {
                    let given = p.to_string_lossy().to_string();
                    files
                        .check(&given, Use::Read)
                        .map_err(|e| SqlError::invalid(def.option_pos("path"), e.to_string()))?;
                    local.insert(def.name.as_str(), (def, given));
                }
            }
            StatementKind::Insert(i) => check_sink(&local, &i.target, files)?,
            StatementKind::StatementSet(set) => {
                for i in set {
                    check_sink(&local, &i.target, files)?;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_sink(
    local: &std::collections::HashMap<&str, (&TableDef, String)>,
    target: &str,
    files: &FileAccess,
) -> Result<(), SqlError> {
    if let Some((def, given)) = local.get(target) {
        files
            .check(given, Use::Write)
            .map_err(|e| SqlError::invalid(def.option_pos("path"), e.to_string()))?;
    }
    Ok(())
}

/// Option keys that name a file or directory in Flink connectors and catalogs.
fn is_path_key(k: &str) -> bool {
    matches!(
        k,
        "path"
            | "warehouse"
            | "sink.path"
            | "hive-conf-dir"
            | "hadoop-conf-dir"
            | "default-database.path"
    ) || k.ends_with(".path")
}

/// `/a/b`, `file:///a/b` or `file:/a/b` → `/a/b`; relative paths stay relative. Other schemes → None.
fn local_path(p: &str) -> Option<PathBuf> {
    if let Some(rest) = p.strip_prefix("file://") {
        return Some(PathBuf::from(rest));
    }
    if let Some(rest) = p.strip_prefix("file:") {
        return Some(PathBuf::from(rest));
    }
    if p.contains("://") {
        return None;
    }
    Some(PathBuf::from(p))
}

impl Connector for Filesystem {
    fn source(&self) -> Result<Arc<dyn TableProvider>, SqlError> {
        match self.cfg.monitor {
            Some(every) => source::monitored(&self.cfg, every),
            None => source::build(&self.cfg, false),
        }
    }

    fn batch_source(&self) -> Result<Arc<dyn TableProvider>, SqlError> {
        match self.cfg.monitor {
            Some(_) => self.source(),
            None => source::build(&self.cfg, true),
        }
    }

    fn bounded(&self) -> bool {
        self.cfg.monitor.is_none()
    }

    fn sink(&self) -> Result<Arc<dyn Sink>, SqlError> {
        self.files
            .check(&self.given, Use::Write)
            .map_err(|e| SqlError::invalid(self.cfg.def.option_pos("path"), e.to_string()))?;
        Ok(Arc::new(sink::FsSink::new(self.cfg.clone())))
    }
}

/// Escapes a partition value for a directory name as Hive and Flink do (`%XX` for reserved
/// characters).
fn escape_partition_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for ch in v.chars() {
        if ch.is_control() || "\"#%'*/:=?\\\u{7f}{[]^".contains(ch) {
            for b in ch.to_string().bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(ch);
        }
    }
    out
}

/// The value an [`escape_partition_value`]d directory name stands for (`%XX` decoded; a
/// malformed escape is kept as written).
fn unescape_partition_value(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
