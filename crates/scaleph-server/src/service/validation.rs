//! Validation against the engine a script will run on: the embedded engine plans it itself;
//! Flink scripts are validated by Flink (see [`crate::service::flink::Flink::validate`]).

use crate::error::ApiError;
use crate::AppState;
use scaleph_engine::{EngineKind, JobSettings, ValidationReport};

/// Validates `script` for `engine`.
///
/// # Errors
/// 422 with `line`/`column` when the engine refuses the script; 413/422 beyond the limits.
pub async fn validate(
    s: &AppState,
    engine: EngineKind,
    script: &str,
    settings: &JobSettings,
) -> Result<ValidationReport, ApiError> {
    match engine {
        EngineKind::Embedded => Ok(s.engine.validate(script, settings).await?),
        EngineKind::Flink => {
            s.limits
                .check_script(script)
                .map_err(crate::service::flink::positioned)?;
            s.flink.validate(script).await
        }
    }
}
