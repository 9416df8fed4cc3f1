//! Fuzzes the embedded engine's `validate` (parse, DDL, DataFusion planning; nothing executes,
//! so no input reads data or writes files) over arbitrary UTF-8 scripts.
//!
//! One engine serves the whole process, driven by a small current-thread Tokio runtime. A
//! script error must carry a position within the input; `EngineError::Internal` (an engine bug,
//! including a panic the engine caught) is turned into a panic so libFuzzer reports it.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use scaleph_embedded::EmbeddedEngine;
use scaleph_engine::{Engine, EngineError, JobSettings};

/// The process-wide engine and the runtime that drives its futures.
fn engine() -> &'static (EmbeddedEngine, tokio::runtime::Runtime) {
    static ENGINE: OnceLock<(EmbeddedEngine, tokio::runtime::Runtime)> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread Tokio runtime");
        (EmbeddedEngine::new(), rt)
    })
}

fuzz_target!(|script: &str| {
    scaleph_fuzz::record_input(script.as_bytes());
    let (engine, rt) = engine();
    match rt.block_on(engine.validate(script, &JobSettings::default())) {
        Ok(_) => {}
        Err(EngineError::Sql(e)) => {
            scaleph_fuzz::assert_within(script, e.pos, &format!("error `{e}`"))
        }
        Err(EngineError::Internal(msg)) => panic!("engine bug: {msg}"),
        Err(other) => panic!("validate answered neither a script error nor a report: {other}"),
    }
});
