//! The job-instance state machine, with Flink's state names.
//!
//! ```text
//! CREATED → INITIALIZING → RUNNING → FINISHED | FAILED
//!    │            │           └────→ CANCELLING → CANCELED
//!    └────────────┴─────────────────→ CANCELLING
//! any non-terminal state → FAILED   (errors, "platform restarted")
//! CANCELLING → FINISHED               (the job completed before the cancel took effect)
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

/// State of a job instance. Names and spelling are Flink's `JobStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    /// Accepted, not yet started.
    Created,
    /// Planning and preparing sources and sinks.
    Initializing,
    /// Data is flowing.
    Running,
    /// Completed successfully; output published.
    Finished,
    /// Failed; output not published.
    Failed,
    /// Cancel requested.
    Cancelling,
    /// Cancelled; output not published.
    Canceled,
}

/// A transition the state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("illegal state transition {from} → {to}")]
pub struct IllegalTransition {
    /// Current state.
    pub from: JobState,
    /// Requested state.
    pub to: JobState,
}

impl JobState {
    /// All states.
    pub const ALL: [JobState; 7] = [
        JobState::Created,
        JobState::Initializing,
        JobState::Running,
        JobState::Finished,
        JobState::Failed,
        JobState::Cancelling,
        JobState::Canceled,
    ];

    /// The one place that decides whether `self → to` is allowed.
    ///
    /// # Errors
    /// [`IllegalTransition`] for anything not in the diagram in this module's docs.
    pub fn transition(self, to: JobState) -> Result<JobState, IllegalTransition> {
        use JobState::*;
        let ok = match (self, to) {
            (Created, Initializing) | (Initializing, Running) => true,
            (Running, Finished) | (Cancelling, Finished) => true,
            (Created | Initializing | Running, Cancelling) => true,
            (Cancelling, Canceled) => true,
            (from, Failed) => !from.is_terminal(),
            _ => false,
        };
        if ok {
            Ok(to)
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }

    /// FINISHED, FAILED and CANCELED end an instance.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Finished | JobState::Failed | JobState::Canceled
        )
    }

    /// Flink's spelling, e.g. `RUNNING`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Created => "CREATED",
            JobState::Initializing => "INITIALIZING",
            JobState::Running => "RUNNING",
            JobState::Finished => "FINISHED",
            JobState::Failed => "FAILED",
            JobState::Cancelling => "CANCELLING",
            JobState::Canceled => "CANCELED",
        }
    }

    /// Parses Flink's spelling.
    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::JobState::{self, *};

    #[test]
    fn happy_paths() {
        assert_eq!(Created.transition(Initializing), Ok(Initializing));
        assert_eq!(Initializing.transition(Running), Ok(Running));
        assert_eq!(Running.transition(Finished), Ok(Finished));
        assert_eq!(Running.transition(Cancelling), Ok(Cancelling));
        assert_eq!(Cancelling.transition(Canceled), Ok(Canceled));
        assert_eq!(Running.transition(Failed), Ok(Failed));
    }

    #[test]
    fn illegal_transitions_are_rejected() {
        for from in [Finished, Failed, Canceled] {
            for to in JobState::ALL {
                assert!(from.transition(to).is_err(), "{from} → {to}");
            }
        }
        assert!(Created.transition(Running).is_err());
        assert!(Created.transition(Finished).is_err());
        assert!(Running.transition(Canceled).is_err());
        assert!(Running.transition(Initializing).is_err());
        let e = Finished.transition(Running).unwrap_err();
        assert_eq!(e.to_string(), "illegal state transition FINISHED → RUNNING");
    }

    #[test]
    fn names_round_trip() {
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
        }
    }
}
