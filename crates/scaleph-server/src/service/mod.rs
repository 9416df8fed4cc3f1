//! The service layer: rules that are not HTTP's and not the store's.

pub mod accounts;
pub mod alerts;
pub mod datasources;
pub mod diff;
pub mod flink;
pub mod lifecycle;
pub mod names;
pub mod runner;
pub mod scheduler;
pub mod validation;
pub mod workflows;
