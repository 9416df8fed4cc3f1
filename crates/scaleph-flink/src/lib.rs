//! A typed client of the Apache Flink JobManager REST API (v1), as specified in
//! apache/flink `docs/static/generated/rest_v1_dispatcher.yml` and checked against Flink 2.3.
//!
//! Errors carry Flink's own text: for a failed call, [`FlinkError::Api`] holds the `errors`
//! array Flink answered and a one-line root cause (the last `Caused by:` of the stack trace).
#![warn(missing_docs)]

mod client;
mod types;

pub use client::{root_cause, FlinkClient, FlinkError, Result};
pub use types::*;
