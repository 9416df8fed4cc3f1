//! Reading CSV as Flink's `csv` format reads it (Jackson's `CsvParser`, 2.x) where Arrow's
//! reader cannot: `csv.escape-character` outside quotes and `csv.disable-quote-character`.
//!
//! Rules (Jackson `CsvDecoder` as Flink 2.3 configures it, checked against Flink by
//! `tests/formats.rs`):
//! - a field that starts with the quote character is quoted: it ends at the next lone quote
//!   character (a doubled one is a quote); separators and line breaks inside are data; text
//!   after the closing quote is an error (Jackson: "Expected column separator character");
//! - the escape character, quoted or not, takes the next character as data; `0`, `n`, `r`, `t`
//!   after it stand for NUL, LF, CR, TAB;
//! - records end at LF, CR or CRLF outside quotes; an empty line is a record of one empty
//!   field; with `csv.allow-comments` a line starting with `#` is skipped;
//! - a record with fewer fields than the file's columns is an error naming the line (Flink:
//!   "Row length mismatch"), so is one with more ("Too many entries"); with
//!   `csv.ignore-parse-errors` missing fields are NULL and malformed records are skipped;
//! - an empty field is `''`: casting it to a number fails as in Flink (NULL when lenient).
//!
//! Every field is read as text: the table's projection applies `csv.null-literal` and casts.

use super::{CsvOpts, FsConfig};
use datafusion::arrow::array::{ArrayRef, StringBuilder};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows per batch.
const BATCH_ROWS: usize = 8192;

/// One partition stream over every file of a table (in path order), yielding `schema`: the
/// file's columns as `Utf8`, then the partition columns (`k=v` directories) as `Utf8`.
#[derive(Debug)]
pub(super) struct EscapedCsv {
    pub(super) cfg: Arc<FsConfig>,
    pub(super) schema: SchemaRef,
    /// Number of columns stored in the files (the rest of `schema` are partition columns).
    pub(super) file_columns: usize,
}

impl PartitionStream for EscapedCsv {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<RecordBatch>>(2);
        let cfg = self.cfg.clone();
        let schema = self.schema.clone();
        let file_columns = self.file_columns;
        tokio::task::spawn_blocking(move || {
            let sent = read_table(&cfg, &schema, file_columns, &mut |b| {
                tx.blocking_send(Ok(b)).is_ok()
            });
            if let Err(e) = sent {
                let _ = tx.blocking_send(Err(e));
            }
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream))
    }
}

/// Reads every file of the table, handing batches to `emit` (which answers `false` when the
/// consumer is gone).
fn read_table(
    cfg: &FsConfig,
    schema: &SchemaRef,
    file_columns: usize,
    emit: &mut dyn FnMut(RecordBatch) -> bool,
) -> Result<()> {
    let root = &cfg.path;
    for file in super::source::list_files(root) {
        let parts = partition_values(root, &file, &cfg.def.partitioned_by, &cfg.default_partition);
        let f = std::fs::File::open(&file)
            .map_err(|e| DataFusionError::Execution(format!("{}: {e}", file.display())))?;
        let mut reader = Records::new(BufReader::with_capacity(1 << 16, f), &cfg.csv);
        let mut batch = Batch::new(schema.fields().len());
        let lenient = cfg.csv.ignore_parse_errors;
        loop {
            let line = reader.line;
            let fail = |m: String| {
                DataFusionError::Execution(format!("{}: line {line}: {m}", file.display()))
            };
            let fields = match reader.next_record() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) if lenient && e.kind() == std::io::ErrorKind::InvalidData => {
                    reader.skip_line().map_err(|e| fail(e.to_string()))?;
                    continue;
                }
                Err(e) => return Err(fail(e.to_string())),
            };
            if fields.len() > file_columns {
                if lenient {
                    continue;
                }
                return Err(fail(format!(
                    "Too many entries: expected at most {file_columns} (value #{file_columns} ({} chars) \"{}\")",
                    fields[file_columns].chars().count(),
                    fields[file_columns]
                )));
            }
            if fields.len() < file_columns && !lenient {
                return Err(fail(format!(
                    "Row length mismatch. {file_columns} fields expected but was {}.",
                    fields.len()
                )));
            }
            batch.push(&fields, file_columns, &parts);
            if batch.rows == BATCH_ROWS && !emit(batch.finish(schema)?) {
                return Ok(());
            }
        }
        if batch.rows > 0 && !emit(batch.finish(schema)?) {
            return Ok(());
        }
    }
    Ok(())
}

/// The values of the partition columns `keys` named by `file`'s `k=v` directories under
/// `root` (`%XX` decoded; `default` — `partition.default-name` — is NULL).
pub(super) fn partition_values(
    root: &Path,
    file: &Path,
    keys: &[String],
    default: &str,
) -> Vec<Option<String>> {
    let rel: PathBuf = file.strip_prefix(root).unwrap_or(file).to_path_buf();
    keys.iter()
        .map(|k| {
            rel.components().find_map(|c| {
                let c = c.as_os_str().to_str()?;
                let (name, value) = c.split_once('=')?;
                (name == k && value != default).then(|| super::unescape_partition_value(value))
            })
        })
        .collect()
}

/// Text columns being filled.
struct Batch {
    cols: Vec<StringBuilder>,
    rows: usize,
}

impl Batch {
    fn new(n: usize) -> Self {
        Self {
            cols: (0..n).map(|_| StringBuilder::new()).collect(),
            rows: 0,
        }
    }

    /// Appends a row: the first `n` of `fields` (missing ones NULL), then `parts`.
    fn push(&mut self, fields: &[String], n: usize, parts: &[Option<String>]) {
        for (i, b) in self.cols[..n].iter_mut().enumerate() {
            b.append_option(fields.get(i));
        }
        for (b, p) in self.cols[n..].iter_mut().zip(parts) {
            b.append_option(p.as_deref());
        }
        self.rows += 1;
    }

    fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch> {
        let cols: Vec<ArrayRef> = self
            .cols
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        self.rows = 0;
        Ok(RecordBatch::try_new(schema.clone(), cols)?)
    }
}

/// A CSV tokenizer with Jackson's rules (module docs) over UTF-8 text.
pub(super) struct Records<R> {
    input: R,
    delimiter: u8,
    quote: Option<u8>,
    escape: Option<u8>,
    comments: bool,
    /// 1-based line of the next record's start.
    pub(super) line: u64,
    /// A byte read ahead (after a CR, to see whether LF follows).
    peeked: Option<u8>,
}

impl<R: BufRead> Records<R> {
    pub(super) fn new(input: R, o: &CsvOpts) -> Self {
        Self {
            input,
            delimiter: o.delimiter,
            quote: o.quote,
            escape: o.escape,
            comments: o.allow_comments,
            line: 1,
            peeked: None,
        }
    }

    fn byte(&mut self) -> std::io::Result<Option<u8>> {
        if let Some(b) = self.peeked.take() {
            return Ok(Some(b));
        }
        let b = self.input.fill_buf()?.first().copied();
        if b.is_some() {
            self.input.consume(1);
        }
        Ok(b)
    }

    /// Consumes the LF of a CRLF after `b` = CR; counts the line.
    fn end_of_line(&mut self, b: u8) -> std::io::Result<()> {
        if b == b'\r' {
            match self.byte()? {
                Some(b'\n') | None => {}
                other => self.peeked = other,
            }
        }
        self.line += 1;
        Ok(())
    }

    /// Skips the rest of the current line; `false` at the end of the input.
    pub(super) fn skip_line(&mut self) -> std::io::Result<bool> {
        loop {
            match self.byte()? {
                None => return Ok(false),
                Some(b @ (b'\n' | b'\r')) => {
                    self.end_of_line(b)?;
                    return Ok(true);
                }
                Some(_) => {}
            }
        }
    }

    /// The byte(s) an escape stands for, given the byte after it.
    fn unescaped(b: u8) -> u8 {
        match b {
            b'0' => 0,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            other => other,
        }
    }

    /// The next record's fields, or `None` at the end of the input.
    ///
    /// # Errors
    /// Reading fails; a field is not UTF-8; the input ends inside quotes or after an escape.
    pub(super) fn next_record(&mut self) -> std::io::Result<Option<Vec<String>>> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        loop {
            // Start of a line.
            let Some(first) = self.byte()? else {
                return Ok(None);
            };
            self.peeked = Some(first);
            if self.comments && first == b'#' {
                if !self.skip_line()? {
                    return Ok(None);
                }
                continue;
            }
            break;
        }
        let mut fields = Vec::new();
        let mut field: Vec<u8> = Vec::new();
        let mut at_start = true;
        let mut quoted = false;
        loop {
            let Some(b) = self.byte()? else {
                if quoted {
                    return Err(bad("the input ends inside a quoted value"));
                }
                fields.push(String::from_utf8(field).map_err(|_| bad("not UTF-8"))?);
                return Ok(Some(fields));
            };
            if quoted {
                if Some(b) == self.escape {
                    let n = self
                        .byte()?
                        .ok_or_else(|| bad("the input ends after an escape"))?;
                    field.push(Self::unescaped(n));
                } else if Some(b) == self.quote {
                    match self.byte()? {
                        Some(n) if Some(n) == self.quote => field.push(n),
                        Some(n) if n != self.delimiter && n != b'\n' && n != b'\r' => {
                            return Err(bad(&format!(
                                "Unexpected character ('{}' (code {n})): Expected column separator character ('{}' (code {})) or end-of-line",
                                n as char, self.delimiter as char, self.delimiter
                            )));
                        }
                        other => {
                            quoted = false;
                            self.peeked = other;
                        }
                    }
                } else {
                    if b == b'\n' {
                        self.line += 1;
                    }
                    field.push(b);
                }
                continue;
            }
            if at_start && Some(b) == self.quote {
                quoted = true;
                at_start = false;
                continue;
            }
            at_start = false;
            if b == self.delimiter {
                fields.push(
                    String::from_utf8(std::mem::take(&mut field)).map_err(|_| bad("not UTF-8"))?,
                );
                at_start = true;
            } else if b == b'\n' || b == b'\r' {
                self.end_of_line(b)?;
                fields.push(String::from_utf8(field).map_err(|_| bad("not UTF-8"))?);
                return Ok(Some(fields));
            } else if Some(b) == self.escape {
                let n = self
                    .byte()?
                    .ok_or_else(|| bad("the input ends after an escape"))?;
                field.push(Self::unescaped(n));
            } else {
                field.push(b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(quote: Option<u8>, escape: Option<u8>, comments: bool) -> CsvOpts {
        CsvOpts {
            delimiter: b',',
            quote,
            escape,
            allow_comments: comments,
            ignore_parse_errors: false,
            null_literal: None,
            array_delimiter: ";".into(),
        }
    }

    fn all(text: &str, o: &CsvOpts) -> Vec<Vec<String>> {
        let mut r = Records::new(text.as_bytes(), o);
        let mut out = Vec::new();
        while let Some(f) = r.next_record().unwrap() {
            out.push(f);
        }
        out
    }

    #[test]
    fn escapes_quotes_and_line_ends() {
        let o = opts(Some(b'"'), Some(b'\\'), false);
        assert_eq!(
            all("a\\,b,\"c\"\"d\",\"e\\\"f\"\r\n\n\\n\\x,\"g\nh\"\r", &o),
            vec![
                vec!["a,b".to_string(), "c\"d".into(), "e\"f".into()],
                vec!["".to_string()],
                vec!["\nx".to_string(), "g\nh".into()],
            ]
        );
        let o = opts(None, None, true);
        assert_eq!(
            all("#skip\n\"a\",b\\c,\n", &o),
            vec![vec!["\"a\"".to_string(), "b\\c".into(), "".into()]]
        );
    }

    #[test]
    fn counts_lines_and_refuses_open_quotes() {
        let o = opts(Some(b'"'), None, false);
        let mut r = Records::new("\"a\nb\",c\nd\n".as_bytes(), &o);
        assert_eq!(r.next_record().unwrap().unwrap(), vec!["a\nb", "c"]);
        assert_eq!(r.line, 3);
        assert!(Records::new("\"ab".as_bytes(), &o).next_record().is_err());
        let e = Records::new("\"r\"s,5".as_bytes(), &o)
            .next_record()
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("Unexpected character ('s' (code 115))"),
            "{e}"
        );
    }
}
