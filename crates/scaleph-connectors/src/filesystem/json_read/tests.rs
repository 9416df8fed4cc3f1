//! [`LineDecoder`] against arrow-json's decoder (what DataFusion's scan uses) on the same
//! bytes, fed in chunks of several sizes: equal batches, or both failing.

use super::*;
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{Field, Schema};

fn schema() -> SchemaRef {
    let bid = Fields::from(vec![
        Field::new("auction", DataType::Int64, true),
        Field::new("price", DataType::Int64, true),
        Field::new("channel", DataType::Utf8, true),
        Field::new(
            "dateTime",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            true,
        ),
    ]);
    Arc::new(Schema::new(vec![
        Field::new("event_type", DataType::Int32, true),
        Field::new("bid", DataType::Struct(bid), true),
        Field::new("ok", DataType::Boolean, true),
        Field::new("score", DataType::Float64, true),
        Field::new(
            "ts_us",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            true,
        ),
        Field::new("ts_s", DataType::Timestamp(TimeUnit::Second, None), true),
    ]))
}

/// Runs `decoder` as DataFusion's `DecoderDeserializer` drives it, over `input` in `chunk`-byte
/// pieces.
fn run(
    d: &mut dyn Decoder,
    input: &[u8],
    chunk: usize,
    schema: &SchemaRef,
) -> Result<RecordBatch, ArrowError> {
    let mut out = Vec::new();
    let mut pieces: Vec<&[u8]> = input.chunks(chunk).collect();
    pieces.push(&[]);
    for piece in pieces {
        let mut rest = piece;
        loop {
            let n = d.decode(rest)?;
            rest = &rest[n..];
            if n == 0 {
                out.extend(d.flush()?);
            }
            if rest.is_empty() && !(piece.is_empty() && n > 0) {
                break;
            }
        }
    }
    concat_batches(schema, &out)
}

/// arrow-json's decoder behind DataFusion's `Decoder` trait.
#[derive(Debug)]
struct Arrow(ArrowDecoder);

impl Decoder for Arrow {
    fn decode(&mut self, buf: &[u8]) -> Result<usize, ArrowError> {
        self.0.decode(buf)
    }
    fn flush(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        self.0.flush()
    }
    fn can_flush_early(&self) -> bool {
        false
    }
}

fn same(input: &str) {
    let schema = schema();
    for batch in [1, 2, 3, 8192] {
        for chunk in [1, 7, 64, usize::MAX] {
            let arrow = ReaderBuilder::new(schema.clone())
                .with_batch_size(batch)
                .build_decoder()
                .unwrap();
            let want = run(
                &mut Arrow(arrow),
                input.as_bytes(),
                chunk.min(input.len().max(1)),
                &schema,
            );
            let mut ours = LineDecoder::new(schema.clone(), batch).unwrap();
            let got = run(
                &mut ours,
                input.as_bytes(),
                chunk.min(input.len().max(1)),
                &schema,
            );
            match (&want, &got) {
                (Ok(w), Ok(g)) => assert_eq!(w, g, "input {input:?}, batch {batch}, chunk {chunk}"),
                (Err(_), Err(_)) => {}
                _ => panic!("input {input:?}, batch {batch}, chunk {chunk}: arrow-json {want:?}, here {got:?}"),
            }
        }
    }
}

#[test]
fn plain_rows_as_arrow_json_reads_them() {
    same(concat!(
        r#"{"event_type":2,"bid":{"auction":1000,"price":-73134520,"channel":"Apple","dateTime":"2026-11-23 20:28:32.8"},"ok":true,"score":1.5e3}"#,
        "\n",
        r#"{"event_type":0,"bid":null,"person":{"id":1,"name":"x","tags":[1,2,{"a":[]}]},"ok":false,"score":-0.0}"#,
        "\n",
        "\n",
        r#"  { "bid" : { "channel" : "" , "dateTime" : "1969-12-31T23:59:59.9995" } , "score" : 0 }  "#,
        "\n",
        r#"{}"#,
        "\n",
        r#"{"ts_us":"1900-02-28 01:02:03.123456789","ts_s":"2000-02-29 00:00:00.999","score":12345678901234567890}"#,
        "\n",
        r#"{"event_type":-2147483648,"bid":{"auction":-9223372036854775808,"price":9223372036854775807}}"#,
    ));
}

#[test]
fn escapes_and_unicode_as_arrow_json_reads_them() {
    same(concat!(
        r#"{"bid":{"channel":"a\"b\\c\/d\b\f\n\r\t\u00e9\u4e2d\ud83d\ude00 end"}}"#,
        "\n",
        r#"{"bid":{"channel":"plain ünïcödé 中文 😀"},"skipped":"x\u0041\"y"}"#,
        "\n",
        "{\"bid\":{\"channel\":\"raw\ttab\"}}\n",
    ));
}

#[test]
fn what_arrow_json_reads_otherwise_is_left_to_it() {
    // Each is read by arrow-json (to a value or an error), never differently here.
    for line in [
        r#"{"event_type":"7"}"#,
        r#"{"event_type":7.0}"#,
        r#"{"event_type":1e2}"#,
        r#"{"event_type":2147483648}"#,
        r#"{"event_type":01}"#,
        r#"{"bid":{"auction":9223372036854775808}}"#,
        r#"{"bid":{"dateTime":"2026-11-23"}}"#,
        r#"{"bid":{"dateTime":"2026-11-23 20:28:32+02:00"}}"#,
        r#"{"bid":{"dateTime":"2026-02-30 20:28:32"}}"#,
        r#"{"bid":{"dateTime":1700000000000}}"#,
        r#"{"bid":{"channel":5}}"#,
        r#"{"bid":{"channel":"\ud800"}}"#,
        r#"{"bid":[1,2]}"#,
        r#"{"a\u0062":1}"#,
        r#"{"event_type":1,"event_type":2}"#,
        r#"{,"event_type":1}"#,
        r#"{"event_type":1,}"#,
        r#"[1,2]"#,
        r#"null"#,
        r#"{"event_type":1} {"event_type":2}"#,
        "{\"event_type\":\n1}",
        r#"{"event_type":1"#,
        r#"{"event_type":tru}"#,
        r#"{"ok":"true"}"#,
        r#"{"score":"1.5"}"#,
        r#"{"score":1.}"#,
        r#"{"x":1.2.3}"#,
        r#"{"x":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#,
        "{\"bid\":{\"channel\":\"\u{0}\"}}",
    ] {
        same(&format!(
            "{{\"event_type\":3}}\n{line}\n{{\"event_type\":4}}\n"
        ));
        same(line);
    }
}

#[test]
fn invalid_utf8_fails_as_in_arrow_json() {
    let schema = schema();
    let input = b"{\"bid\":{\"channel\":\"\xff\"}}\n";
    let arrow = ReaderBuilder::new(schema.clone()).build_decoder().unwrap();
    assert!(run(&mut Arrow(arrow), input, 64, &schema).is_err());
    let mut ours = LineDecoder::new(schema.clone(), 8192).unwrap();
    assert!(run(&mut ours, input, 64, &schema).is_err());
}

#[test]
fn timestamps_match_chrono() {
    for t in [
        "2026-11-23 20:28:32.8",
        "1970-01-01 00:00:00",
        "1969-12-31 23:59:59.999999999",
        "0001-01-01T00:00:00.1",
        "9999-12-31 23:59:59.123",
        "2024-02-29 12:00:00.000001",
        "1600-03-01 00:00:00",
    ] {
        let naive = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
            .or_else(|_| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f"))
            .unwrap()
            .and_utc();
        assert_eq!(
            timestamp(t.as_bytes(), TimeUnit::Millisecond),
            Some(naive.timestamp_millis()),
            "{t}"
        );
        assert_eq!(
            timestamp(t.as_bytes(), TimeUnit::Microsecond),
            Some(naive.timestamp_micros()),
            "{t}"
        );
        assert_eq!(
            timestamp(t.as_bytes(), TimeUnit::Second),
            Some(naive.timestamp()),
            "{t}"
        );
        assert_eq!(
            timestamp(t.as_bytes(), TimeUnit::Nanosecond),
            naive.timestamp_nanos_opt(),
            "{t}"
        );
    }
    for t in [
        "2026-13-01 00:00:00",
        "2023-02-29 00:00:00",
        "2026-11-23 24:00:00",
        "2026-11-23 20:28:32.",
        "2026-11-23 20:28:32.1234567890",
        "2026/11/23 20:28:32",
    ] {
        assert_eq!(timestamp(t.as_bytes(), TimeUnit::Millisecond), None, "{t}");
    }
}

#[test]
fn plain_lines_stay_on_the_fast_path() {
    let schema = schema();
    let mut d = LineDecoder::new(schema.clone(), 2).unwrap();
    let input = concat!(
        r#"{"event_type":2,"bid":{"auction":1,"channel":"a\nb","dateTime":"2026-11-23 20:28:32.8"}}"#,
        "\n",
        r#"{"event_type":1,"auction":{"id":5,"extra":"x"},"bid":null}"#,
        "\n",
        r#"{"event_type":0}"#,
    );
    let batch = run(&mut d, input.as_bytes(), 16, &schema).unwrap();
    assert_eq!(batch.num_rows(), 3);
    assert!(d.arrow.is_none(), "fell back to arrow-json");
}

/// The bytes `read_lines` gives for `start..end` of `path`.
fn range_of(path: &std::path::Path, start: u64, end: u64, chunk: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let file = std::fs::File::open(path).unwrap();
    read_lines(file, start, end, chunk, &mut |b| {
        out.extend_from_slice(&b);
        true
    })
    .unwrap();
    out
}

#[test]
fn byte_ranges_split_a_file_into_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    for text in [
        "a\nbb\n\nccc\ndddd",
        "a\nbb\n\nccc\ndddd\n",
        "\n\nx\n",
        "single",
    ] {
        let path = dir.path().join("f.json");
        std::fs::write(&path, text).unwrap();
        let len = text.len() as u64;
        for chunk in [1, 2, 3, 1 << 20] {
            assert_eq!(range_of(&path, 0, len, chunk), text.as_bytes());
            for a in 1..len {
                for b in a + 1..len {
                    let parts = [
                        range_of(&path, 0, a, chunk),
                        range_of(&path, a, b, chunk),
                        range_of(&path, b, len, chunk),
                    ];
                    for p in &parts {
                        let s = String::from_utf8(p.clone()).unwrap();
                        let whole_start = p.is_empty()
                            || text.starts_with(&s)
                            || text.contains(&format!("\n{s}"));
                        assert!(whole_start, "{text:?} {a} {b}: part {s:?} starts mid-line");
                    }
                    assert_eq!(
                        parts.concat(),
                        text.as_bytes(),
                        "{text:?} split at {a}, {b}, chunk {chunk}"
                    );
                }
            }
        }
    }
}
