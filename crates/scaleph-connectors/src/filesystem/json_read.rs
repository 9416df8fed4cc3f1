//! Reading the `json` format (one object per line) straight into Arrow arrays.
//!
//! DataFusion's JSON scan (arrow-json) first tokenizes every value of a batch onto a tape,
//! copying each string, then builds the arrays from the tape, parsing timestamps through
//! chrono. Here a batch of lines is parsed once, guided by the table's schema: values go
//! straight into the builders, fields the table does not read are skipped without being
//! stored, and `yyyy-MM-dd[ T]HH:mm:ss[.f…]` timestamps are computed directly (days from the
//! civil date, H. Hinnant's `days_from_civil`).
//!
//! Exactness: this reads only what it reads exactly as arrow-json does: objects with unescaped,
//! distinct keys; plain JSON integers for integer columns; strict JSON numbers for `DOUBLE`;
//! strings (any escape) for `STRING`; timestamps without zone; nested `ROW`s; `null`. On any
//! other input (a number in a string, a float for an integer, an object spread over lines,
//! invalid UTF-8, a malformed line …) the file continues in arrow-json from the first line of
//! the batch, so results and error messages stay arrow-json's. Tables with other column types
//! are read by arrow-json from the start.

use bytes::Bytes;
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, BooleanBufferBuilder, Float64Array, Int32Array, Int64Array,
    NullBufferBuilder, StringBuilder, StructArray, TimestampMicrosecondArray,
    TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray,
};
use datafusion::arrow::datatypes::{DataType, Fields, SchemaRef, TimeUnit};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::json::reader::{Decoder as ArrowDecoder, ReaderBuilder};
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::{exec_datafusion_err, DataFusionError, Result, Statistics};
use datafusion::datasource::file_format::file_compression_type::FileCompressionType;
use datafusion::datasource::file_format::json::JsonFormat;
use datafusion::datasource::file_format::FileFormat;
use datafusion::datasource::physical_plan::{
    FileOpenFuture, FileOpener, FileScanConfig, FileSinkConfig, FileSource,
};
use datafusion::datasource::projection::{ProjectionOpener, SplitProjection};
use datafusion::datasource::table_schema::TableSchema;
use datafusion::physical_expr::projection::ProjectionExprs;
use datafusion::physical_expr_common::sort_expr::LexRequirement;
use datafusion::physical_plan::metrics::ExecutionPlanMetricsSet;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_datasource::decoder::{deserialize_stream, Decoder, DecoderDeserializer};
use datafusion_datasource::PartitionedFile;
use futures::stream::BoxStream;
use futures::StreamExt;
use object_store::{GetOptions, GetResultPayload, ObjectMeta, ObjectStore};
use std::sync::Arc;

/// DataFusion's [`JsonFormat`] (newline-delimited), scanning through [`LineDecoder`].
#[derive(Debug, Default)]
pub(super) struct FastJsonFormat(JsonFormat);

#[async_trait::async_trait]
impl FileFormat for FastJsonFormat {
    fn get_ext(&self) -> String {
        self.0.get_ext()
    }

    fn get_ext_with_compression(&self, c: &FileCompressionType) -> Result<String> {
        self.0.get_ext_with_compression(c)
    }

    fn compression_type(&self) -> Option<FileCompressionType> {
        self.0.compression_type()
    }

    async fn infer_schema(
        &self,
        state: &dyn datafusion::catalog::Session,
        store: &Arc<dyn ObjectStore>,
        objects: &[ObjectMeta],
    ) -> Result<SchemaRef> {
        self.0.infer_schema(state, store, objects).await
    }

    async fn infer_stats(
        &self,
        state: &dyn datafusion::catalog::Session,
        store: &Arc<dyn ObjectStore>,
        table_schema: SchemaRef,
        object: &ObjectMeta,
    ) -> Result<Statistics> {
        self.0.infer_stats(state, store, table_schema, object).await
    }

    async fn create_physical_plan(
        &self,
        state: &dyn datafusion::catalog::Session,
        conf: FileScanConfig,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.0.create_physical_plan(state, conf).await
    }

    async fn create_writer_physical_plan(
        &self,
        input: Arc<dyn ExecutionPlan>,
        state: &dyn datafusion::catalog::Session,
        conf: FileSinkConfig,
        order: Option<LexRequirement>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.0
            .create_writer_physical_plan(input, state, conf, order)
            .await
    }

    fn file_source(&self, table_schema: TableSchema) -> Arc<dyn FileSource> {
        Arc::new(FastJsonSource {
            projection: SplitProjection::unprojected(&table_schema),
            table_schema,
            batch_size: None,
            metrics: ExecutionPlanMetricsSet::new(),
        })
    }
}

/// The scan's file source: DataFusion's `JsonSource` with [`LineDecoder`] as the decoder.
#[derive(Clone)]
struct FastJsonSource {
    table_schema: TableSchema,
    batch_size: Option<usize>,
    metrics: ExecutionPlanMetricsSet,
    projection: SplitProjection,
}

impl FileSource for FastJsonSource {
    fn create_file_opener(
        &self,
        store: Arc<dyn ObjectStore>,
        base_config: &FileScanConfig,
        _partition: usize,
    ) -> Result<Arc<dyn FileOpener>> {
        let file_schema = self.table_schema.file_schema();
        let projected = Arc::new(file_schema.project(&self.projection.file_indices)?);
        let opener = Arc::new(LineOpener {
            batch_size: self.batch_size.unwrap_or(8192),
            schema: projected,
            compression: base_config.file_compression_type,
            store,
        });
        ProjectionOpener::try_new(self.projection.clone(), opener, file_schema)
    }

    fn table_schema(&self) -> &TableSchema {
        &self.table_schema
    }

    fn with_batch_size(&self, batch_size: usize) -> Arc<dyn FileSource> {
        let mut s = self.clone();
        s.batch_size = Some(batch_size);
        Arc::new(s)
    }

    fn try_pushdown_projection(
        &self,
        projection: &ProjectionExprs,
    ) -> Result<Option<Arc<dyn FileSource>>> {
        let mut s = self.clone();
        let merged = self.projection.source.try_merge(projection)?;
        s.projection = SplitProjection::new(self.table_schema.file_schema(), &merged);
        Ok(Some(Arc::new(s)))
    }

    fn projection(&self) -> Option<&ProjectionExprs> {
        Some(&self.projection.source)
    }

    fn metrics(&self) -> &ExecutionPlanMetricsSet {
        &self.metrics
    }

    fn file_type(&self) -> &str {
        "json"
    }
}

/// Opens one file (or a byte range of it, aligned to whole lines as DataFusion aligns them).
struct LineOpener {
    batch_size: usize,
    schema: SchemaRef,
    compression: FileCompressionType,
    store: Arc<dyn ObjectStore>,
}

impl FileOpener for LineOpener {
    fn open(&self, file: PartitionedFile) -> Result<FileOpenFuture> {
        let store = self.store.clone();
        let decoder = LineDecoder::new(self.schema.clone(), self.batch_size)?;
        let compression = self.compression;
        Ok(Box::pin(async move {
            let location = file.object_meta.location.clone();
            let size = file.object_meta.size;
            let (start, end) = match file.range.as_ref() {
                Some(r) => (
                    u64::try_from(r.start)
                        .map_err(|_| exec_datafusion_err!("negative range start {}", r.start))?,
                    u64::try_from(r.end)
                        .map_err(|_| exec_datafusion_err!("negative range end {}", r.end))?,
                ),
                None => (0, size),
            };
            let bytes = if start >= end || start >= size {
                futures::stream::empty().boxed()
            } else {
                match store
                    .get_opts(&location, GetOptions::default())
                    .await?
                    .payload
                {
                    GetResultPayload::File(f, _) => local_lines(f, start, end),
                    // Not a local file (the connector only names local paths): the payload's
                    // stream is dropped unread and DataFusion's ranged reader fetches the lines.
                    GetResultPayload::Stream(_) => {
                        datafusion_datasource_json::boundary_stream::AlignedBoundaryStream::new(
                            store, location, start, end, size, b'\n',
                        )
                        .await?
                        .map(|r| r.map_err(DataFusionError::from))
                        .boxed()
                    }
                }
            };
            let input = compression.convert_stream(bytes)?.fuse();
            let stream = deserialize_stream(input, DecoderDeserializer::new(decoder));
            Ok(stream.map(|r| r.map_err(Into::into)).boxed())
        }))
    }
}

/// Bytes read per chunk of a local file (DataFusion's local reads take 8 KiB per call; 64 KiB
/// chunks made Nexmark q1 0.53 → 0.8 s here, one hand-over between threads per chunk).
const CHUNK: u64 = 1 << 20;

/// The lines of `file` that DataFusion gives the byte range `start..end`: from the first line
/// starting at or after `start` through the line holding byte `end - 1`, read in [`CHUNK`]s
/// on a blocking thread (so reading overlaps decoding).
fn local_lines(file: std::fs::File, start: u64, end: u64) -> BoxStream<'static, Result<Bytes>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        let sent = read_lines(file, start, end, CHUNK, &mut |b| {
            tx.blocking_send(Ok(b)).is_ok()
        });
        if let Err(e) = sent {
            let _ = tx.blocking_send(Err(DataFusionError::IoError(e)));
        }
    });
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) }).boxed()
}

/// A read buffer that goes back to its reader's pool when the last chunk of it is dropped.
struct Pooled {
    buf: Vec<u8>,
    back: std::sync::mpsc::Sender<Vec<u8>>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        // The reader may be gone (end of file): the buffer is then freed.
        let _ = self.back.send(std::mem::take(&mut self.buf));
    }
}

/// See [`local_lines`]: `chunk` bytes per read; `send` returns false once the reader is gone.
fn read_lines(
    mut file: std::fs::File,
    start: u64,
    end: u64,
    chunk_len: u64,
    send: &mut dyn FnMut(Bytes) -> bool,
) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    // Before `start`, skip through the first line end: its line belongs to the range before.
    let mut skipping = start > 0;
    let mut pos = start.saturating_sub(1);
    file.seek(SeekFrom::Start(pos))?;
    // Buffers come back once every chunk of them is dropped: reading into pages already
    // mapped instead of fresh ones (whose faults and zeroing cost as much as the copy).
    let (back, pool) = std::sync::mpsc::channel::<Vec<u8>>();
    loop {
        let mut chunk = pool
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(usize::try_from(chunk_len).unwrap_or(1 << 20)));
        chunk.clear();
        let n = (&mut file).take(chunk_len).read_to_end(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        let chunk = Bytes::from_owner(Pooled {
            buf: chunk,
            back: back.clone(),
        });
        let mut from = 0;
        if skipping {
            match memchr::memchr(b'\n', &chunk) {
                Some(k) => {
                    from = k + 1;
                    skipping = false;
                    if pos + from as u64 >= end {
                        return Ok(());
                    }
                }
                None => {
                    pos += n as u64;
                    continue;
                }
            }
        }
        let chunk_end = pos + n as u64;
        if end <= chunk_end {
            let search = usize::try_from((end - 1).saturating_sub(pos))
                .unwrap_or(n)
                .max(from);
            if let Some(k) = memchr::memchr(b'\n', &chunk[search..]) {
                send(chunk.slice(from..search + k + 1));
                return Ok(());
            }
        }
        if !send(chunk.slice(from..)) {
            return Ok(());
        }
        pos = chunk_end;
    }
}

/// Batches of whole lines, decoded by [`decode_rows`], or by arrow-json once any batch of the
/// file is beyond it (see the module docs).
pub(super) struct LineDecoder {
    schema: SchemaRef,
    batch_size: usize,
    /// The schema's columns as [`decode_rows`] reads them; `None`: a column type it does not read.
    plan: Option<Vec<Node>>,
    /// Whole lines (then, at the end of the input, a last line without `\n`).
    pending: Vec<u8>,
    lines: usize,
    ended: bool,
    /// arrow-json, once it reads the rest of the file.
    arrow: Option<ArrowDecoder>,
}

impl std::fmt::Debug for LineDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineDecoder")
            .field("lines", &self.lines)
            .field("arrow", &self.arrow.is_some())
            .finish()
    }
}

impl LineDecoder {
    /// A decoder of `schema`'s rows, `batch_size` lines per batch.
    ///
    /// # Errors
    /// arrow-json's, for a schema it cannot read.
    pub(super) fn new(schema: SchemaRef, batch_size: usize) -> Result<Self, ArrowError> {
        let plan = plan(schema.fields());
        let mut d = LineDecoder {
            schema,
            batch_size: batch_size.max(1),
            plan,
            pending: Vec::new(),
            lines: 0,
            ended: false,
            arrow: None,
        };
        if d.plan.is_none() {
            d.arrow = Some(d.arrow_decoder()?);
        }
        Ok(d)
    }

    fn arrow_decoder(&self) -> Result<ArrowDecoder, ArrowError> {
        ReaderBuilder::new(self.schema.clone())
            .with_batch_size(self.batch_size)
            .build_decoder()
    }
}

impl Decoder for LineDecoder {
    fn decode(&mut self, buf: &[u8]) -> Result<usize, ArrowError> {
        if let Some(arrow) = &mut self.arrow {
            self.ended |= buf.is_empty();
            return arrow.decode(buf);
        }
        if buf.is_empty() {
            self.ended = true;
            return Ok(0);
        }
        let mut pos = 0;
        while self.lines < self.batch_size {
            match memchr::memchr(b'\n', &buf[pos..]) {
                Some(k) => {
                    pos += k + 1;
                    self.lines += 1;
                }
                None => {
                    pos = buf.len();
                    break;
                }
            }
        }
        self.pending.extend_from_slice(&buf[..pos]);
        Ok(pos)
    }

    fn flush(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        let mut carry = Vec::new();
        if self.arrow.is_none() {
            let decoded = std::str::from_utf8(&self.pending)
                .ok()
                .and_then(|s| decode_rows(s, self.plan.as_deref()?, &self.schema));
            self.lines = 0;
            if let Some(batch) = decoded {
                self.pending.clear();
                return Ok((batch.num_rows() > 0).then_some(batch));
            }
            self.arrow = Some(self.arrow_decoder()?);
            carry = std::mem::take(&mut self.pending);
        }
        let Some(arrow) = &mut self.arrow else {
            return Ok(None);
        };
        // The batch's lines, all given to arrow-json now: the deserializer does not call back
        // for bytes held here. A row they leave open continues in the next input (arrow-json
        // reads objects across lines); only the end of the input finishes it.
        let mut out = Vec::new();
        let mut rest = &carry[..];
        loop {
            let n = arrow.decode(rest)?;
            rest = &rest[n..];
            if rest.is_empty() {
                break;
            }
            out.extend(arrow.flush()?);
        }
        if !arrow.has_partial_record() || self.ended {
            out.extend(arrow.flush()?);
        }
        match out.len() {
            0 => Ok(None),
            1 => Ok(out.pop()),
            _ => datafusion::arrow::compute::concat_batches(&self.schema, &out).map(Some),
        }
    }

    fn can_flush_early(&self) -> bool {
        false
    }
}

/// How a column is read.
#[derive(Debug)]
struct Node {
    name: String,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Bool,
    I32,
    I64,
    F64,
    Utf8,
    Timestamp(TimeUnit),
    Row(Fields, Vec<Node>),
}

/// The read plan of `fields`, or `None` when one of them is not read here (then arrow-json
/// reads the table): nullable booleans, INT, BIGINT, DOUBLE, STRING, TIMESTAMP without zone
/// and ROWs of them, at most 64 fields per object.
fn plan(fields: &Fields) -> Option<Vec<Node>> {
    if fields.len() > 64 {
        return None;
    }
    fields
        .iter()
        .map(|f| {
            if !f.is_nullable() {
                return None;
            }
            let kind = match f.data_type() {
                DataType::Boolean => Kind::Bool,
                DataType::Int32 => Kind::I32,
                DataType::Int64 => Kind::I64,
                DataType::Float64 => Kind::F64,
                DataType::Utf8 => Kind::Utf8,
                DataType::Timestamp(u, None) => Kind::Timestamp(*u),
                DataType::Struct(children) => Kind::Row(children.clone(), plan(children)?),
                _ => return None,
            };
            Some(Node {
                name: f.name().clone(),
                kind,
            })
        })
        .collect()
}

/// Array builders, one per [`Node`].
enum Col {
    Bool(BooleanBufferBuilder, NullBufferBuilder),
    I32(Vec<i32>, NullBufferBuilder),
    /// BIGINT or a timestamp (its unit's count since the epoch).
    I64(Vec<i64>, NullBufferBuilder),
    F64(Vec<f64>, NullBufferBuilder),
    Utf8(StringBuilder),
    /// Children, the ROW's nulls, and how many NULL rows the children have yet to get (NULL
    /// rows come in runs: each Nexmark line has two NULL event ROWs).
    Row(Vec<Col>, NullBufferBuilder, usize),
}

impl Col {
    fn new(kind: &Kind, rows: usize) -> Col {
        let nulls = NullBufferBuilder::new(rows);
        match kind {
            Kind::Bool => Col::Bool(BooleanBufferBuilder::new(rows), nulls),
            Kind::I32 => Col::I32(Vec::with_capacity(rows), nulls),
            Kind::I64 | Kind::Timestamp(_) => Col::I64(Vec::with_capacity(rows), nulls),
            Kind::F64 => Col::F64(Vec::with_capacity(rows), nulls),
            Kind::Utf8 => Col::Utf8(StringBuilder::with_capacity(rows, rows * 16)),
            Kind::Row(_, nodes) => Col::Row(
                nodes.iter().map(|n| Col::new(&n.kind, rows)).collect(),
                nulls,
                0,
            ),
        }
    }

    fn push_null(&mut self) {
        self.push_nulls(1);
    }

    fn push_nulls(&mut self, k: usize) {
        match self {
            Col::Bool(v, n) => {
                v.append_n(k, false);
                n.append_n_nulls(k);
            }
            Col::I32(v, n) => {
                v.resize(v.len() + k, 0);
                n.append_n_nulls(k);
            }
            Col::I64(v, n) => {
                v.resize(v.len() + k, 0);
                n.append_n_nulls(k);
            }
            Col::F64(v, n) => {
                v.resize(v.len() + k, 0.0);
                n.append_n_nulls(k);
            }
            Col::Utf8(b) => b.append_nulls(k),
            Col::Row(_, n, pending) => {
                *pending += k;
                n.append_n_nulls(k);
            }
        }
    }

    /// Gives a ROW's children the NULL rows they have yet to get.
    fn settle(children: &mut [Col], pending: &mut usize) {
        if *pending > 0 {
            children.iter_mut().for_each(|c| c.push_nulls(*pending));
            *pending = 0;
        }
    }

    fn finish(self, kind: &Kind) -> Option<ArrayRef> {
        Some(match (self, kind) {
            (Col::Bool(mut v, mut n), _) => Arc::new(BooleanArray::new(v.finish(), n.finish())),
            (Col::I32(v, mut n), _) => Arc::new(Int32Array::new(v.into(), n.finish())),
            (Col::I64(v, mut n), Kind::Timestamp(unit)) => match unit {
                TimeUnit::Second => Arc::new(TimestampSecondArray::new(v.into(), n.finish())),
                TimeUnit::Millisecond => {
                    Arc::new(TimestampMillisecondArray::new(v.into(), n.finish()))
                }
                TimeUnit::Microsecond => {
                    Arc::new(TimestampMicrosecondArray::new(v.into(), n.finish()))
                }
                TimeUnit::Nanosecond => {
                    Arc::new(TimestampNanosecondArray::new(v.into(), n.finish()))
                }
            },
            (Col::I64(v, mut n), _) => Arc::new(Int64Array::new(v.into(), n.finish())),
            (Col::F64(v, mut n), _) => Arc::new(Float64Array::new(v.into(), n.finish())),
            (Col::Utf8(mut b), _) => Arc::new(b.finish()),
            (Col::Row(mut children, mut n, mut pending), Kind::Row(fields, nodes)) => {
                Col::settle(&mut children, &mut pending);
                let arrays = children
                    .into_iter()
                    .zip(nodes)
                    .map(|(c, node)| c.finish(&node.kind))
                    .collect::<Option<Vec<_>>>()?;
                Arc::new(StructArray::try_new(fields.clone(), arrays, n.finish()).ok()?)
            }
            (Col::Row(..), _) => return None,
        })
    }
}

/// The rows of `text` (JSON objects separated by whitespace) as a batch of `schema`, read
/// through `plan`; `None` when anything in it is beyond this reader (see the module docs).
fn decode_rows(text: &str, plan: &[Node], schema: &SchemaRef) -> Option<RecordBatch> {
    let guess = text.len() / 256 + 1;
    let mut cols: Vec<Col> = plan.iter().map(|n| Col::new(&n.kind, guess)).collect();
    let mut p = Parser {
        s: text,
        b: text.as_bytes(),
        i: 0,
        scratch: String::new(),
    };
    let mut rows = 0;
    loop {
        p.ws();
        if p.i >= p.b.len() {
            break;
        }
        if p.b[p.i] != b'{' {
            return None;
        }
        p.i += 1;
        p.object(plan, &mut cols, 0)?;
        rows += 1;
    }
    let arrays = cols
        .into_iter()
        .zip(plan)
        .map(|(c, n)| c.finish(&n.kind))
        .collect::<Option<Vec<_>>>()?;
    RecordBatch::try_new_with_options(
        schema.clone(),
        arrays,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )
    .ok()
}

/// Deepest nesting of skipped values followed before giving the input to arrow-json.
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    scratch: String,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    fn byte(&mut self) -> Option<u8> {
        let c = *self.b.get(self.i)?;
        self.i += 1;
        Some(c)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        (self.b.get(self.i..end)? == word).then(|| self.i = end)
    }

    /// The members of an object whose `{` was read, into `cols` (`nodes`' builders).
    fn object(&mut self, nodes: &[Node], cols: &mut [Col], depth: usize) -> Option<()> {
        let mut seen = 0u64;
        // Lines usually list the keys in one order: the field after the last one is tried first.
        let mut hint = 0;
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
        } else {
            loop {
                self.ws();
                let key = self.plain_string()?;
                self.ws();
                if self.byte()? != b':' {
                    return None;
                }
                self.ws();
                let found = match nodes.get(hint) {
                    Some(n) if n.name.as_bytes() == key => Some(hint),
                    _ => nodes.iter().position(|n| n.name.as_bytes() == key),
                };
                match found {
                    Some(f) => {
                        if seen & (1 << f) != 0 {
                            return None;
                        }
                        seen |= 1 << f;
                        hint = f + 1;
                        self.value(&nodes[f].kind, &mut cols[f], depth)?;
                    }
                    None => self.skip(depth)?,
                }
                self.ws();
                match self.byte()? {
                    b',' => continue,
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        for (f, col) in cols.iter_mut().enumerate() {
            if seen & (1 << f) == 0 {
                col.push_null();
            }
        }
        Some(())
    }

    /// One value of a column (whitespace before it skipped).
    fn value(&mut self, kind: &Kind, col: &mut Col, depth: usize) -> Option<()> {
        if self.b.get(self.i) == Some(&b'n') {
            self.literal(b"null")?;
            col.push_null();
            return Some(());
        }
        match (kind, col) {
            (Kind::Bool, Col::Bool(v, n)) => {
                let t = match *self.b.get(self.i)? {
                    b't' => self.literal(b"true").map(|_| true)?,
                    _ => self.literal(b"false").map(|_| false)?,
                };
                v.append(t);
                n.append_non_null();
            }
            (Kind::I32, Col::I32(v, n)) => {
                v.push(i32::try_from(self.integer()?).ok()?);
                n.append_non_null();
            }
            (Kind::I64, Col::I64(v, n)) => {
                v.push(self.integer()?);
                n.append_non_null();
            }
            (Kind::F64, Col::F64(v, n)) => {
                let start = self.i;
                self.number()?;
                v.push(self.s[start..self.i].parse().ok()?);
                n.append_non_null();
            }
            (Kind::Utf8, Col::Utf8(b)) => {
                if self.byte()? != b'"' {
                    return None;
                }
                let start = self.i;
                let len = memchr::memchr2(b'"', b'\\', &self.b[start..])?;
                if self.b[start + len] == b'"' {
                    b.append_value(&self.s[start..start + len]);
                    self.i = start + len + 1;
                } else {
                    self.escaped(start, len)?;
                    b.append_value(&self.scratch);
                }
            }
            (Kind::Timestamp(unit), Col::I64(v, n)) => {
                v.push(timestamp(self.plain_string()?, *unit)?);
                n.append_non_null();
            }
            (Kind::Row(_, nodes), Col::Row(children, n, pending)) => {
                if self.byte()? != b'{' || depth >= MAX_DEPTH {
                    return None;
                }
                Col::settle(children, pending);
                self.object(nodes, children, depth + 1)?;
                n.append_non_null();
            }
            _ => return None,
        }
        Some(())
    }

    /// The bytes of a string without escapes at the current position (its quotes consumed);
    /// `None` for anything else.
    fn plain_string(&mut self) -> Option<&'a [u8]> {
        if self.byte()? != b'"' {
            return None;
        }
        let start = self.i;
        let len = memchr::memchr2(b'"', b'\\', &self.b[start..])?;
        if self.b[start + len] != b'"' {
            return None;
        }
        self.i = start + len + 1;
        Some(&self.b[start..start + len])
    }

    /// The string from `start` (after its `"`) with its escapes decoded into `scratch`; `len`
    /// is the offset of its first `\`.
    fn escaped(&mut self, start: usize, len: usize) -> Option<()> {
        self.scratch.clear();
        self.scratch.push_str(&self.s[start..start + len]);
        self.i = start + len;
        loop {
            // At a `\`.
            self.i += 1;
            let c = match self.byte()? {
                b'"' => '"',
                b'\\' => '\\',
                b'/' => '/',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'n' => '\n',
                b'r' => '\r',
                b't' => '\t',
                b'u' => {
                    let hi = self.hex4()?;
                    match hi {
                        0xD800..=0xDBFF => {
                            self.literal(b"\\u")?;
                            let lo = self.hex4()?;
                            if !(0xDC00..=0xDFFF).contains(&lo) {
                                return None;
                            }
                            char::from_u32(0x1_0000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                        }
                        _ => char::from_u32(hi)?,
                    }
                }
                _ => return None,
            };
            self.scratch.push(c);
            let from = self.i;
            let len = memchr::memchr2(b'"', b'\\', &self.b[from..])?;
            self.scratch.push_str(&self.s[from..from + len]);
            self.i = from + len;
            if self.b[self.i] == b'"' {
                self.i += 1;
                return Some(());
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.b.get(self.i..self.i + 4)?;
        let mut v = 0;
        for c in h {
            v = v * 16 + (*c as char).to_digit(16)?;
        }
        self.i += 4;
        Some(v)
    }

    /// A plain JSON integer (`-?(0|[1-9][0-9]*)`, not followed by a fraction or exponent).
    fn integer(&mut self) -> Option<i64> {
        let neg = self.b.get(self.i) == Some(&b'-');
        if neg {
            self.i += 1;
        }
        let start = self.i;
        let mut v: i64 = 0;
        while let Some(c @ b'0'..=b'9') = self.b.get(self.i) {
            let d = i64::from(c - b'0');
            v = v.checked_mul(10)?;
            v = if neg {
                v.checked_sub(d)?
            } else {
                v.checked_add(d)?
            };
            self.i += 1;
        }
        let digits = self.i - start;
        if digits == 0 || (digits > 1 && self.b[start] == b'0') {
            return None;
        }
        if let Some(b'.' | b'e' | b'E' | b'+' | b'-') = self.b.get(self.i) {
            return None;
        }
        Some(v)
    }

    /// Skips a strict JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    fn number(&mut self) -> Option<()> {
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.i;
            while let Some(b'0'..=b'9') = p.b.get(p.i) {
                p.i += 1;
            }
            p.i - s
        };
        let start = self.i;
        let n = digits(self);
        if n == 0 || (n > 1 && self.b[start] == b'0') {
            return None;
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.b.get(self.i) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return None;
            }
        }
        if let Some(b'.' | b'e' | b'E' | b'+' | b'-') = self.b.get(self.i) {
            return None;
        }
        Some(())
    }

    /// Skips one value of a field the table does not read (whitespace before it skipped).
    fn skip(&mut self, depth: usize) -> Option<()> {
        if depth >= MAX_DEPTH {
            return None;
        }
        match *self.b.get(self.i)? {
            b'"' => {
                self.i += 1;
                loop {
                    let len = memchr::memchr2(b'"', b'\\', &self.b[self.i..])?;
                    self.i += len;
                    if self.byte()? == b'"' {
                        return Some(());
                    }
                    match self.byte()? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {}
                        b'u' => {
                            if (0xD800..=0xDFFF).contains(&self.hex4()?) {
                                return None;
                            }
                        }
                        _ => return None,
                    }
                }
            }
            b'{' => self.skip_members(b'}', true, depth),
            b'[' => self.skip_members(b']', false, depth),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number(),
        }
    }

    /// Skips the members of an object (`keyed`) or an array at its opening bracket, up to
    /// `close`.
    fn skip_members(&mut self, close: u8, keyed: bool, depth: usize) -> Option<()> {
        self.i += 1;
        self.ws();
        if self.b.get(self.i) == Some(&close) {
            self.i += 1;
            return Some(());
        }
        loop {
            self.ws();
            if keyed {
                if self.b.get(self.i) != Some(&b'"') {
                    return None;
                }
                self.skip(depth + 1)?;
                self.ws();
                if self.byte()? != b':' {
                    return None;
                }
                self.ws();
            }
            self.skip(depth + 1)?;
            self.ws();
            match self.byte()? {
                b',' => continue,
                c if c == close => return Some(()),
                _ => return None,
            }
        }
    }
}

/// `yyyy-MM-dd[ T]HH:mm:ss[.f{1,9}]` (no zone) as a count of `unit` since the epoch, floored
/// as chrono's `timestamp_millis`/`_micros` floor; `None` for any other text or out of range.
fn timestamp(t: &[u8], unit: TimeUnit) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        t.get(r)?.iter().try_fold(0i64, |v, c| {
            c.is_ascii_digit().then(|| v * 10 + i64::from(c - b'0'))
        })
    };
    if t.len() < 19
        || t[4] != b'-'
        || t[7] != b'-'
        || !matches!(t[10], b' ' | b'T')
        || t[13] != b':'
        || t[16] != b':'
    {
        return None;
    }
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m)
        || d < 1
        || d > month_days[(m - 1) as usize]
        || hh > 23
        || mm > 59
        || ss > 59
    {
        return None;
    }
    let mut nanos = 0i64;
    if t.len() > 19 {
        let frac = t.get(20..)?;
        if t[19] != b'.' || frac.is_empty() || frac.len() > 9 {
            return None;
        }
        nanos = num(20..t.len())? * 10i64.pow(9 - frac.len() as u32);
    }
    // H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", days_from_civil.
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    match unit {
        TimeUnit::Second => Some(secs),
        TimeUnit::Millisecond => Some(secs * 1000 + nanos / 1_000_000),
        TimeUnit::Microsecond => Some(secs * 1_000_000 + nanos / 1000),
        TimeUnit::Nanosecond => secs.checked_mul(1_000_000_000)?.checked_add(nanos),
    }
}

#[cfg(test)]
mod tests;
