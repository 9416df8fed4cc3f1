//! Line diff of two script versions (Myers, via the `similar` crate).

use serde::Serialize;
use similar::{ChangeTag, TextDiff};
use utoipa::ToSchema;

/// One line of a diff.
#[derive(Debug, Serialize, ToSchema)]
pub struct DiffLine {
    /// `equal`, `delete` or `insert`.
    pub tag: String,
    /// 1-based line in the old version, if the line is there.
    pub old_line: Option<usize>,
    /// 1-based line in the new version, if the line is there.
    pub new_line: Option<usize>,
    /// The line, without its newline.
    pub text: String,
}

/// A diff between two versions.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionDiff {
    /// Old version number.
    pub from: i64,
    /// New version number.
    pub to: i64,
    /// Unified diff text (3 lines of context).
    pub unified: String,
    /// Every line with its tag, for side-by-side views.
    pub lines: Vec<DiffLine>,
}

/// Diffs `old` (version `from`) against `new` (version `to`).
pub fn diff(from: i64, old: &str, to: i64, new: &str) -> VersionDiff {
    let d = TextDiff::from_lines(old, new);
    let unified = d
        .unified_diff()
        .context_radius(3)
        .header(&format!("v{from}"), &format!("v{to}"))
        .to_string();
    let lines = d
        .iter_all_changes()
        .map(|c| DiffLine {
            tag: match c.tag() {
                ChangeTag::Equal => "equal",
                ChangeTag::Delete => "delete",
                ChangeTag::Insert => "insert",
            }
            .into(),
            old_line: c.old_index().map(|i| i + 1),
            new_line: c.new_index().map(|i| i + 1),
            text: c.value().trim_end_matches('\n').to_string(),
        })
        .collect();
    VersionDiff {
        from,
        to,
        unified,
        lines,
    }
}
