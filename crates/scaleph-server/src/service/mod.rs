//! The service layer: rules that are not HTTP's and not the store's.

pub mod datasources;
pub mod diff;
pub mod runner;
