//! The job-instance state machine, with Flink's state names.
//!
//! ```text
//! CREATED → INITIALIZING → RUNNING → FINISHED | FAILED
//!    │            │           └────→ CANCELLING → CANCELED
//!    └────────────┴─────────────────→ CANCELLING
//! any non-terminal state → FAILED   (errors, "platform restarted")
//! CANCELLING → FINISHED               (the job completed before the cancel took effect)
//! INITIALIZING | RUNNING → RESTARTING → INITIALIZING | CANCELLING
//!                                     (an embedded streaming job resuming from its latest
//!                                      checkpoint after the platform restarted)
//! ```
//!
//! Instances on a Flink cluster also take Flink's other states (FAILING, RESTARTING,
//! SUSPENDED, RECONCILING) and the platform's UNKNOWN (cluster unreachable: state not known)
//! and LOST (the job vanished from a reachable cluster; terminal). Those are *observed*, not
//! decided: [`JobState::observe`] is the rule for states read from a cluster, which may skip
//! intermediate states between two polls.

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
    /// Flink: failing, about to restart or fail.
    Failing,
    /// Flink: restarting after a failure (restart strategy).
    Restarting,
    /// Flink: suspended (the JobManager lost leadership); not terminal.
    Suspended,
    /// Flink: the JobManager is recovering the job.
    Reconciling,
    /// The cluster cannot be reached: the job's real state is not known (not a failure).
    Unknown,
    /// The job vanished from a reachable cluster (e.g. a JobManager restart without HA).
    Lost,
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
    pub const ALL: [JobState; 13] = [
        JobState::Created,
        JobState::Initializing,
        JobState::Running,
        JobState::Finished,
        JobState::Failed,
        JobState::Cancelling,
        JobState::Canceled,
        JobState::Failing,
        JobState::Restarting,
        JobState::Suspended,
        JobState::Reconciling,
        JobState::Unknown,
        JobState::Lost,
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
            (Initializing | Running, Restarting) => true,
            (Restarting, Initializing | Cancelling) => true,
            (from, Failed) => !from.is_terminal(),
            _ => false,
        };
        if ok {
            Ok(to)
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }

    /// The rule for a state observed on a cluster (the cluster is the source of truth and a
    /// poll may miss intermediate states): terminal states are final; from CANCELLING only an
    /// end (CANCELED, FINISHED, FAILED), UNKNOWN or LOST; from any other non-terminal state any
    /// other state.
    ///
    /// # Errors
    /// [`IllegalTransition`] otherwise, and for `self == to`.
    pub fn observe(self, to: JobState) -> Result<JobState, IllegalTransition> {
        use JobState::*;
        let ok = !self.is_terminal()
            && self != to
            && (self != Cancelling || matches!(to, Canceled | Finished | Failed | Unknown | Lost));
        if ok {
            Ok(to)
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }

    /// FINISHED, FAILED, CANCELED and LOST end an instance.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Finished | JobState::Failed | JobState::Canceled | JobState::Lost
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
            JobState::Failing => "FAILING",
            JobState::Restarting => "RESTARTING",
            JobState::Suspended => "SUSPENDED",
            JobState::Reconciling => "RECONCILING",
            JobState::Unknown => "UNKNOWN",
            JobState::Lost => "LOST",
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
        assert_eq!(Running.transition(Restarting), Ok(Restarting));
        assert_eq!(Restarting.transition(Initializing), Ok(Initializing));
        assert!(Restarting.transition(Running).is_err());
        assert!(Created.transition(Restarting).is_err());
    }

    #[test]
    fn illegal_transitions_are_rejected() {
        for from in [Finished, Failed, Canceled, Lost] {
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
    fn observed_states_may_skip_but_never_leave_an_end() {
        assert_eq!(
            Created.observe(Finished),
            Ok(Finished),
            "a short job between two polls"
        );
        assert_eq!(Running.observe(Restarting), Ok(Restarting));
        assert_eq!(Restarting.observe(Running), Ok(Running));
        assert_eq!(Running.observe(Unknown), Ok(Unknown));
        assert_eq!(Unknown.observe(Running), Ok(Running));
        assert_eq!(Unknown.observe(Lost), Ok(Lost));
        assert!(Cancelling.observe(Running).is_err());
        assert!(Running.observe(Running).is_err());
        for from in [Finished, Failed, Canceled, Lost] {
            for to in JobState::ALL {
                assert!(from.observe(to).is_err(), "{from} → {to}");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()), Some(s));
        }
    }
}
