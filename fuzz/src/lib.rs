//! What the fuzz targets in `fuzz_targets/` share: the invariant that every position the SQL
//! front end or the engine reports points into the script it was given, and a record of the
//! input being run.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::{Mutex, OnceLock};

use scaleph_sql::{Pos, Statement, StatementKind};

/// Writes `input` to the file named by `SCALEPH_FUZZ_LAST_INPUT` (when set) before a target runs
/// it. Without a sanitizer libFuzzer cannot catch a stack overflow (its signal handler has no
/// alternate stack to run on), so the process dies without writing the input; this file keeps
/// it (`scripts/fuzz.sh` saves it as the crash input). Panics if the file cannot be written.
pub fn record_input(input: &[u8]) {
    static FILE: OnceLock<Option<Mutex<File>>> = OnceLock::new();
    let file = FILE.get_or_init(|| {
        let path = std::env::var_os("SCALEPH_FUZZ_LAST_INPUT")?;
        let file = File::create(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.to_string_lossy()));
        Some(Mutex::new(file))
    });
    if let Some(file) = file {
        let file = file.lock().unwrap_or_else(|e| e.into_inner());
        file.set_len(0)
            .and_then(|()| file.write_all_at(input, 0))
            .expect("cannot record the input");
    }
}

/// Panics unless `pos` (1-based line, column in characters) lies within `script`: on one of its
/// lines (lines end at `\n`, as the tokenizer counts them), at most one column past that line's
/// last character (the end of the line or of the script). `what` names the position in the
/// panic message.
pub fn assert_within(script: &str, pos: Pos, what: &str) {
    assert!(
        pos.line >= 1 && pos.column >= 1,
        "{what}: position {pos} is not 1-based"
    );
    let Some(line) = script.split('\n').nth(pos.line as usize - 1) else {
        panic!(
            "{what}: line {} is past the script's {} lines",
            pos.line,
            script.split('\n').count()
        );
    };
    let width = line.chars().count() as u32;
    assert!(
        pos.column <= width + 1,
        "{what}: column {} is past the end of line {} ({width} characters)",
        pos.column,
        pos.line
    );
}

/// Byte offset of an in-bounds `pos` in `script` (see [`assert_within`]).
fn offset(script: &str, pos: Pos) -> usize {
    let line_start: usize = script
        .split('\n')
        .take(pos.line as usize - 1)
        .map(|l| l.len() + 1)
        .sum();
    script[line_start..]
        .char_indices()
        .nth(pos.column as usize - 1)
        .map(|(i, _)| line_start + i)
        .unwrap_or(script.len())
}

/// Panics unless `sql`, said to start at `pos`, is the text of `script` at that position (a query
/// cut out of a script is planned with its position padding, so a wrong position misplaces every
/// error reported inside it).
fn assert_text_at(script: &str, pos: Pos, sql: &str, what: &str) {
    assert_within(script, pos, what);
    let at = &script[offset(script, pos)..];
    assert!(
        at.starts_with(sql),
        "{what}: the text at {pos} is {:?}, not the query {sql:?}",
        at.chars().take(40).collect::<String>()
    );
}

/// Checks the positions of parsed statements: each statement's, table's, column's, option's and
/// watermark's position is within
/// `script`, and each query text is found verbatim at its position.
pub fn check_statements(script: &str, stmts: &[Statement]) {
    for st in stmts {
        assert_within(script, st.pos, "statement");
        for h in &st.hints {
            assert_within(script, h.pos, "hint");
        }
        match &st.kind {
            StatementKind::CreateTable(t) => {
                assert_within(script, t.pos, "table");
                for c in &t.columns {
                    assert_within(script, c.pos, "column");
                }
                for o in &t.options {
                    assert_within(script, o.pos, "table option");
                }
                if let Some(w) = &t.watermark {
                    assert_within(script, w.pos, "watermark");
                }
                for cc in &t.computed {
                    assert_within(script, cc.pos, "computed column");
                    assert_text_at(script, cc.expr.pos, &cc.expr.sql, "computed column");
                }
                if let Some(q) = &t.as_query {
                    assert_text_at(script, q.pos, &q.sql, "CTAS query");
                }
            }
            StatementKind::CreateView(v) => {
                assert_within(script, v.pos, "view");
                assert_text_at(script, v.query.pos, &v.query.sql, "view query");
            }
            StatementKind::Insert(i) => {
                assert_within(script, i.target_pos, "insert target");
                assert_text_at(script, i.query.pos, &i.query.sql, "insert query");
            }
            StatementKind::StatementSet(set) => {
                for i in set {
                    assert_within(script, i.target_pos, "insert target");
                    assert_text_at(script, i.query.pos, &i.query.sql, "insert query");
                }
            }
            StatementKind::Query(q) => assert_text_at(script, q.pos, &q.sql, "query"),
            StatementKind::Other { text, .. } => {
                assert_text_at(script, text.pos, &text.sql, "statement")
            }
            StatementKind::Explain { statement, .. } => {
                check_statements(script, std::slice::from_ref(statement))
            }
            _ => {}
        }
    }
}
