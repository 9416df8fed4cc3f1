//! Fuzzes `scaleph_sql::parse_script` over arbitrary UTF-8 scripts: it must never panic, and
//! every position it reports (the error's, or the parsed statements') must lie within the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|script: &str| {
    scaleph_fuzz::record_input(script.as_bytes());
    match scaleph_sql::parse_script(script) {
        Ok(stmts) => scaleph_fuzz::check_statements(script, &stmts),
        Err(e) => scaleph_fuzz::assert_within(script, e.pos, &format!("error `{e}`")),
    }
});
